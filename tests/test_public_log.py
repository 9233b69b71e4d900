"""The log in public as C2SP tlog-tiles, and a monitor that follows it from the tiles alone.

A monitor accepts a log that grows consistently, and reports an operator who rewrites an
anchored event in its database and serves the new tiles (with the old signed checkpoint,
or with a freshly signed one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchoring.chain import Chain
from anchoring.worker import AnchorPolicy, AnchorWorker
from carbon_verifier.merkle.hasher import leaf_hash
from carbon_verifier.monitor import MonitorState, check
from carbon_verifier.tiles import (
    LogUnavailableError,
    TileReader,
    parse_note,
    parse_tile_index,
    tile_path,
)
from carbon_verifier.trust import TrustAnchor
from tests.anchoring_world import anchored_world, verifier_rpc, worker_for
from tests.api_world import Client, api_client
from tests.ledger_world import World


@pytest.fixture
def log(tmp_path: Path) -> Iterator[tuple[World, Chain, AnchorWorker, Client]]:
    world, chain = anchored_world(tmp_path / "registry.db")
    world.issue("alice", 100_000)
    for _ in range(300):  # more than 256 leaves: a full tile at level 0, one at level 1
        world.transfer("alice", "bob", 1)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
    worker.attach()
    worker.run_once()
    with api_client(world) as client:
        yield world, chain, worker, client
    world.store.close()


def fetcher(client: Client) -> Any:
    def fetch(path: str) -> bytes:
        answer = client.get(f"/log/{path}")
        if answer.status_code != 200:
            raise LogUnavailableError(f"{path}: {answer.status_code}")
        return answer.content

    return fetch


def trust_of(world: World) -> TrustAnchor:
    domain = world.registry.domain
    return TrustAnchor(
        world.registry.log_id, domain.chain_id, domain.verifying_contract, (world.operator.address,)
    )


def test_tile_paths_follow_c2sp() -> None:
    assert tile_path(0, 5) == "tile/0/005"
    assert tile_path(1, 1234067, 17) == "tile/1/x001/x234/067.p/17"
    assert parse_tile_index(["x001", "x234", "067"]) == 1234067


def test_the_checkpoint_and_tiles_give_every_root(
    log: tuple[World, Chain, AnchorWorker, Client],
) -> None:
    world, _, worker, client = log
    answer = client.get("/log/checkpoint")
    assert answer.headers["content-type"].startswith("text/plain")
    signed = parse_note(answer.text, world.registry.domain)
    assert signed.signer == world.operator.address
    size = signed.checkpoint.tree_size
    assert size == worker.tree.size > 256
    full = client.get("/log/tile/0/000")
    assert len(full.content) == 256 * 32 and "immutable" in full.headers["cache-control"]
    assert full.content[:32] == leaf_hash(world.store.event_body(0) or b"")
    assert client.get("/log/tile/0/001").status_code == 404  # not complete yet
    assert client.get(f"/log/tile/0/001.p/{size - 256}").status_code == 200
    # digits that are not ASCII ("²", "٣") are no tile coordinates: 404, never a crash
    for odd in ("/log/tile/0/001.p/²", "/log/tile/0/00²", "/log/tile/0/x٣٣٣/000"):
        assert client.get(odd).status_code == 404, odd
    tiles = TileReader(fetcher(client), size)
    for n in (1, 2, 255, 256, 257, size):
        assert tiles.root(n) == worker.tree.root(n)


def test_the_monitor_accepts_consistent_growth_and_names_the_chain(
    log: tuple[World, Chain, AnchorWorker, Client],
) -> None:
    world, chain, worker, client = log
    rpc, trust = verifier_rpc(chain), trust_of(world)
    first = check(fetcher(client), rpc, trust, MonitorState())
    assert first.ok, first.problems
    assert first.state.tree_size == worker.tree.size
    world.transfer("alice", "bob", 5)
    worker.run_once()
    second = check(fetcher(client), rpc, trust, first.state)
    assert second.ok, second.problems
    assert second.state.tree_size == first.state.tree_size + 1
    assert any("matches the root anchored on chain" in n for n in second.notes)
    other = TrustAnchor("another.log/x", trust.chain_id, trust.contract, trust.signers)
    assert not check(fetcher(client), rpc, other, first.state).ok


def rewrite_event(world: World, chain: Chain, seq: int) -> AnchorWorker:
    """What a dishonest operator does: edit an anchored event, rebuild its Merkle log."""
    conn = world.store.conn
    conn.execute(
        "UPDATE events SET body = replace(body, '\"amount\":1,', '\"amount\":2,') WHERE seq = ?",
        (seq,),
    )
    conn.execute("DELETE FROM merkle_tiles")
    conn.execute("UPDATE merkle_state SET tree_size = 0")
    rebuilt = worker_for(world, chain, AnchorPolicy(confirmations=1))  # a restarted worker
    rebuilt.sync_tree()
    return rebuilt


def test_the_monitor_reports_a_rewritten_history(
    log: tuple[World, Chain, AnchorWorker, Client],
) -> None:
    world, chain, worker, client = log
    rpc, trust = verifier_rpc(chain), trust_of(world)
    seen = check(fetcher(client), rpc, trust, MonitorState())
    assert seen.ok
    worker = rewrite_event(world, chain, 5)
    with_old_note = check(fetcher(client), rpc, trust, seen.state)
    assert not with_old_note.ok
    assert any("do not give the signed root" in p for p in with_old_note.problems)
    # The operator signs a checkpoint of the rewritten tree and serves it as the latest.
    world.transfer("alice", "bob", 1)
    worker.sync_tree()
    signed = worker.cut_if_due(force=True)
    assert signed is not None
    world.store.conn.execute(
        "UPDATE anchor_checkpoints SET status = 'confirmed' WHERE tree_size = ?",
        (signed.checkpoint.tree_size,),
    )
    with_new_note = check(fetcher(client), rpc, trust, seen.state)
    problems = " ".join(with_new_note.problems)
    assert "the log was rewritten" in problems, problems
    assert "anchored on chain" in problems, problems
