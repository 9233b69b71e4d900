"""Replay rebuilds the state from the log and names every difference with the tables."""

from __future__ import annotations

import json

import pytest

from registry.canonical import canonical_bytes
from registry.handlers.common import LATEST_RANGE_RULE
from registry.ledger import Registry
from registry.replay import replay
from registry.storage import Store
from tests.ledger_world import World

pytestmark = pytest.mark.both_backends


def lifecycle(world: World) -> None:
    world.issue("alice", 1_000)
    world.issue("bob", 700)
    world.transfer("alice", "bob", 300)
    world.retire("bob", 800)
    world.cancel("alice", 100)


def test_replay_of_an_untouched_registry_is_clean(world: World) -> None:
    lifecycle(world)
    report = replay(world.store)
    assert report.clean, report.problems
    assert report.events == world.store.event_count()


def test_a_table_edited_behind_the_log_is_named(world: World) -> None:
    lifecycle(world)
    world.store.conn.execute("UPDATE balances SET active = active + 1 WHERE active > 0")
    world.store.conn.execute(
        "UPDATE holdings SET owner = ? WHERE status = 'retired'", (world.addr("carol"),)
    )
    problems = replay(world.store).problems
    assert any(p.startswith("table balances") for p in problems)
    assert any(p.startswith("table holdings") for p in problems)


def test_an_event_edited_is_caught(world: World) -> None:
    lifecycle(world)
    seq, _, _, body = [row for row in world.store.event_rows() if row[1] == "CreditsTransferred"][0]
    event = json.loads(body)
    event["payload"]["request"]["amount"] = 301
    world.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (canonical_bytes(event), seq)
    )
    problems = replay(world.store).problems
    assert problems and f"event {seq}" in problems[0]


def test_a_genesis_naming_an_unknown_range_rule_is_refused(world: World) -> None:
    """A registry cannot be created under a serial-range rule this program does not have,
    and a log whose genesis names one does not replay."""
    with pytest.raises(ValueError, match="unknown range_rule 3"):
        Registry.create(
            Store(":memory:"),
            chain_id=1,
            verifying_contract="0x" + "00" * 20,
            operator=world.operator.address,
            log_id="x",
            range_rule=3,
        )
    lifecycle(world)
    genesis = json.loads(next(world.store.event_rows())[3])
    assert genesis["payload"]["range_rule"] == LATEST_RANGE_RULE
    genesis["payload"]["range_rule"] = 3
    world.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = 0", (canonical_bytes(genesis),)
    )
    problems = replay(world.store).problems
    assert problems and "event 0" in problems[0] and "unknown range_rule 3" in problems[0]


def test_a_non_canonical_event_is_caught(world: World) -> None:
    lifecycle(world)
    seq, _, _, body = list(world.store.event_rows())[-1]
    world.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (body.replace(b",", b", ", 1), seq)
    )
    assert "canonical" in replay(world.store).problems[0]


def test_a_deleted_event_is_a_gap(world: World) -> None:
    lifecycle(world)
    world.store.conn.execute("DELETE FROM events WHERE seq = 3")
    assert "gap" in replay(world.store).problems[0]


def test_a_forged_signer_is_caught_when_signatures_are_checked(world: World) -> None:
    lifecycle(world)
    seq, _, _, body = [row for row in world.store.event_rows() if row[1] == "CreditsRetired"][0]
    event = json.loads(body)
    event["signatures"][0]["signature"] = event["signatures"][0]["signature"][:-4] + "1b1c"[:4]
    world.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (canonical_bytes(event), seq)
    )
    problems = replay(world.store).problems
    assert problems and f"event {seq}" in problems[0]


def busy(world: World) -> None:
    lifecycle(world)
    for i in range(40):
        world.transfer(*(("alice", "bob") if i % 2 else ("bob", "alice")), 1 + i)


def forge_signature(world: World, seq: int) -> None:
    (body,) = world.store.conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
    event = json.loads(body)
    signature = event["signatures"][0]["signature"]
    event["signatures"][0]["signature"] = signature[:-2] + (
        "1c" if signature[-2:] == "1b" else "1b"
    )
    world.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (canonical_bytes(event), seq)
    )


def test_replay_in_worker_processes_checks_every_signature(world: World) -> None:
    busy(world)
    alone, parallel = replay(world.store, workers=1), replay(world.store, workers=2)
    assert alone.clean and parallel.clean, parallel.problems
    assert parallel.events == alone.events == world.store.event_count()
    # Every event but the genesis is signed, and each signature was recovered again.
    assert parallel.signatures_verified == alone.signatures_verified == parallel.events - 1
    assert replay(world.store, workers=2, verify_signatures=False).signatures_verified == 0


def test_replay_in_worker_processes_reports_the_first_forged_signature(world: World) -> None:
    busy(world)
    count = world.store.event_count()
    late, later = count - 12, count - 3  # past the first chunks the workers check
    forge_signature(world, later)
    forge_signature(world, late)
    alone, parallel = replay(world.store, workers=1), replay(world.store, workers=2)
    assert parallel.problems == alone.problems
    assert parallel.problems[0].startswith(f"event {late}: signature recovers to ")
    assert parallel.events == late + 1


def test_replay_in_worker_processes_finds_a_gap_after_the_genesis(world: World) -> None:
    busy(world)
    world.store.conn.execute("DELETE FROM events WHERE seq = 30")
    problems = replay(world.store, workers=2).problems
    assert problems == ["event log has a gap: expected seq 30, found 31"]


def test_a_request_logged_twice_is_a_nonce_used_twice(world: World) -> None:
    """A signed transfer copied to the end of the log, with its own seq: its signature still
    recovers to its signer, and replay names the nonce it uses again."""
    lifecycle(world)
    _, event_type, time, body = [
        row for row in world.store.event_rows() if row[1] == "CreditsTransferred"
    ][0]
    copy = json.loads(body)
    seq = world.store.next_seq()
    copy["seq"] = seq
    with world.store.write():
        world.store.append_event(seq, event_type, time, canonical_bytes(copy))
    nonce, signer = copy["payload"]["request"]["nonce"], copy["signatures"][0]["signer"]
    problems = replay(world.store).problems
    assert problems == [f"event {seq}: nonce {nonce} of {signer} used twice"]
