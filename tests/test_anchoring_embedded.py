"""Anchoring on the embedded chain: worker, bundles, the standalone verifier, audit."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchoring.audit import audit
from anchoring.bundle import build_bundle, consistency_bundle
from anchoring.chain import Chain, ChainConfigError
from anchoring.worker import AnchorPolicy, AnchorWorker, HistoryDivergedError
from carbon_verifier.trust import TrustAnchor
from carbon_verifier.verify import verify_consistency
from tests.anchoring_world import anchored_world, verifier_rpc, verify, worker_for
from tests.ledger_world import World

pytestmark = pytest.mark.both_backends


@pytest.fixture
def anchored(store_url: str) -> Iterator[tuple[World, Chain, AnchorWorker, int]]:
    world, chain = anchored_world(store_url)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=2))
    worker.attach()
    world.issue("alice", 1_000)
    world.transfer("alice", "bob", 400)
    retirement = world.retire("bob", 150)
    worker.run_once()
    world.transfer("bob", "alice", 50)
    worker.run_once()
    yield world, chain, worker, retirement.seq
    world.store.close()


def inflate_amount(world: World, seq: int) -> None:
    """Edit logged event `seq` behind the ledger's back (150 g become 999)."""
    body = world.store.event_body(seq)
    assert body is not None and b'"amount":150' in body
    edited = body.replace(b'"amount":150', b'"amount":999')
    world.store.conn.execute("UPDATE events SET body = ? WHERE seq = ?", (edited, seq))


def failed(checks: list[Any]) -> list[str]:
    return [c.name for c in checks if not c.ok]


def test_every_check_of_a_fresh_bundle_passes(
    anchored: tuple[World, Chain, AnchorWorker, int],
) -> None:
    world, chain, worker, seq = anchored
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, seq)
    assert bundle["anchor"]["chain_id"] == chain.chain_id
    trust = TrustAnchor(
        world.registry.log_id,
        chain.chain_id,
        world.registry.domain.verifying_contract,
        (world.operator.address,),
    )
    checks = verify(json.loads(json.dumps(bundle)), chain, min_confirmations=2, trust=trust)
    assert [c.name for c in checks] == [
        "format",
        "inclusion",
        "trust",
        "signature",
        "chain",
        "signer role",
        "root on chain",
        "transaction",
        "confirmations",
    ]
    assert failed(checks) == []


def _mutate(bundle: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    tampered = copy.deepcopy(bundle)
    *parents, last = path.split(".")
    target = tampered
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return tampered


@pytest.mark.sqlite_only("tampers with a bundle, not with the storage: once is enough")
@pytest.mark.parametrize(
    ("path", "value", "first_failure"),
    [
        ("event.payload.request.amount", 151, "inclusion"),
        ("event.payload.request.reason", "someone else", "inclusion"),
        ("leaf_index", 2, "format"),
        ("inclusion.path.0", "00" * 32, "inclusion"),
        ("checkpoint.root_hash", "11" * 32, "inclusion"),
        ("checkpoint.timestamp", 1, "signature"),
        ("checkpoint.signature", "0x" + "22" * 64 + "1b", "signature"),
        ("anchor.block_hash", "0x" + "33" * 32, "transaction"),
        ("anchor.chain_id", 1, "signature"),
    ],
)
def test_tampered_bundles_fail_the_right_check(
    anchored: tuple[World, Chain, AnchorWorker, int], path: str, value: Any, first_failure: str
) -> None:
    world, chain, worker, seq = anchored
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, seq)
    checks = verify(_mutate(bundle, path, value), chain)
    assert failed(checks)[0] == first_failure


def test_too_many_confirmations_required(anchored: tuple[World, Chain, AnchorWorker, int]) -> None:
    world, chain, worker, seq = anchored
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, seq)
    assert failed(verify(bundle, chain, min_confirmations=1_000)) == ["confirmations"]


def test_another_operator_is_refused(anchored: tuple[World, Chain, AnchorWorker, int]) -> None:
    world, chain, worker, seq = anchored
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, seq)
    other = world.people["alice"].address
    trust = TrustAnchor(
        world.registry.log_id, chain.chain_id, world.registry.domain.verifying_contract, (other,)
    )
    assert failed(verify(bundle, chain, trust=trust)) == ["trust"]


def test_a_logged_but_unanchored_event_says_pending(
    anchored: tuple[World, Chain, AnchorWorker, int],
) -> None:
    world, chain, worker, _ = anchored
    receipt = world.transfer("alice", "bob", 1)
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, receipt.seq)
    assert bundle["anchor"] is None
    assert bundle["pending"]["status"] == "awaiting_checkpoint"
    assert bundle["pending"]["expected_by"].endswith("Z")
    assert failed(verify(bundle, chain)) == ["anchored"]
    worker.sync_tree()
    worker.cut_if_due(force=True)
    pending = build_bundle(world.store, worker.tree, worker.checkpoints, receipt.seq)
    assert pending["pending"]["status"] == "awaiting_confirmation"
    assert pending["checkpoint"]["tree_size"] == receipt.seq + 1


def test_consistency_bundle_verifies(anchored: tuple[World, Chain, AnchorWorker, int]) -> None:
    world, chain, worker, _ = anchored
    sizes = [row.tree_size for row in worker.checkpoints.all()]
    bundle = consistency_bundle(worker.tree, worker.checkpoints, sizes[0], sizes[1])
    assert failed(verify_consistency(bundle, verifier_rpc(chain)).checks) == []
    bundle["proof"][0] = "00" * 32
    assert failed(verify_consistency(bundle, verifier_rpc(chain)).checks) == ["consistency"]


def test_audit_is_clean_then_names_an_edited_event(
    anchored: tuple[World, Chain, AnchorWorker, int],
) -> None:
    world, chain, worker, seq = anchored
    report = audit(world.store, world.registry.log_id, world.registry.domain, chain)
    assert report.clean, report.problems
    assert report.anchored_checked == 2
    inflate_amount(world, seq)
    problems = audit(world.store, world.registry.log_id, world.registry.domain, chain).problems
    assert problems[0].startswith(f"event(s) {seq} changed")
    assert any("signed root" in p for p in problems)
    assert any("the chain holds root" in p for p in problems)


def test_rewriting_events_and_merkle_tables_together_is_caught_by_the_chain(
    anchored: tuple[World, Chain, AnchorWorker, int], tmp_path: Path
) -> None:
    world, chain, worker, seq = anchored
    inflate_amount(world, seq)
    world.store.conn.execute("DELETE FROM merkle_tiles")
    world.store.conn.execute("UPDATE merkle_state SET tree_size = 0")
    world.store.conn.execute("UPDATE anchor_checkpoints SET root_hash = ?", (bytes(32),))
    rebuilt = worker_for(world, chain)
    rebuilt.sync_tree()
    problems = audit(world.store, world.registry.log_id, world.registry.domain, chain).problems
    assert any("history was rewritten" in p for p in problems)


def test_a_lost_embedded_chain_is_refused_unless_reanchoring_is_asked_for(
    anchored: tuple[World, Chain, AnchorWorker, int], caplog: pytest.LogCaptureFixture
) -> None:
    world, _, worker, seq = anchored
    fresh_chain = Chain.create_embedded()  # the anchors were on another chain
    with pytest.raises(ChainConfigError, match="the chain was lost or replaced"):
        worker_for(world, fresh_chain).attach()
    restarted = worker_for(world, fresh_chain, AnchorPolicy(reanchor_lost_chain=True))
    with caplog.at_level("WARNING"):
        restarted.attach()
    assert "anchored again" in caplog.text
    rows = restarted.run_once()
    assert [r.status for r in rows] == ["confirmed", "confirmed"]
    assert fresh_chain.latest()[0] == rows[-1].tree_size
    bundle = build_bundle(world.store, restarted.tree, restarted.checkpoints, seq)
    assert failed(verify(bundle, fresh_chain)) == []


def test_a_persistent_chain_is_found_again_and_nothing_is_reanchored(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.chain"
    chain = Chain.create_embedded(path)
    world, _ = anchored_world(tmp_path / "registry.db", chain)
    worker = worker_for(world, chain)
    worker.attach()
    world.issue("alice", 10)
    before = worker.run_once()
    chain.close()
    again = Chain.create_embedded(path)
    restarted = worker_for(world, again)
    restarted.attach()
    assert restarted.checkpoints.all() == before  # nothing sent back to be anchored
    assert again.latest() == (before[-1].tree_size, before[-1].signed.checkpoint.root_hash)
    world.issue("alice", 5)
    rows = restarted.run_once()
    assert len(rows) == len(before) + 1 and rows[-1].status == "confirmed"
    again.close()


def test_checkpoints_are_cut_by_count_and_by_age(tmp_path: Path) -> None:
    world, chain = anchored_world(tmp_path / "r.db")
    now = [1_000.0]
    worker = worker_for(world, chain, AnchorPolicy(max_pending_events=3, max_age_s=60))
    worker.clock = lambda: now[0]
    worker._last_cut = now[0]
    worker.attach()
    worker.sync_tree()
    assert worker.cut_if_due() is not None  # genesis + 4 setup events >= 3
    world.issue("alice", 5)
    worker.sync_tree()
    assert worker.cut_if_due() is None  # 1 pending, young
    now[0] += 61
    assert worker.cut_if_due() is not None  # 1 pending, old enough
    assert worker.cut_if_due() is None  # nothing pending


def test_a_rewritten_history_stops_the_worker_naming_where_it_diverged(
    anchored: tuple[World, Chain, AnchorWorker, int],
) -> None:
    world, chain, worker, seq = anchored
    first_size = worker.checkpoints.all()[0].tree_size
    inflate_amount(world, seq)
    world.store.conn.execute("DELETE FROM merkle_tiles")  # the operator rebuilds its tree too
    world.store.conn.execute("UPDATE merkle_state SET tree_size = 0")
    world.transfer("alice", "bob", 1)
    rebuilt = worker_for(world, chain, AnchorPolicy(max_pending_events=1))
    assert chain.anchor_address is not None
    rebuilt.chain.bind(chain.anchor_address)
    with pytest.raises(HistoryDivergedError) as diverged:
        rebuilt.run_forever(lambda: False)
    assert f"the events at seq 0..{first_size - 1} were rewritten" in str(diverged.value)
    assert seq < first_size
    assert rebuilt.health.state == "failed"
    assert "history diverged" in (rebuilt.health.last_error or "")


def test_the_verifier_says_reset_not_reorg_on_a_chain_that_lost_everything(
    anchored: tuple[World, Chain, AnchorWorker, int],
) -> None:
    world, _, worker, seq = anchored
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, seq)
    fresh_chain = Chain.create_embedded()  # same chain id, none of its blocks or contracts
    try:
        details = " ".join(c.detail for c in verify(bundle, fresh_chain) if not c.ok)
    finally:
        fresh_chain.close()
    assert "the chain was reset" in details and "reorg" not in details, details
