"""The anchoring worker against a real Hardhat node: crashes, a reorg, an RPC outage.

At the end of each scenario every checkpoint is anchored exactly once: one `Anchored` event
per tree size and the contract's roots equal our log's.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from anchoring.audit import audit
from anchoring.bundle import build_bundle
from anchoring.chain import Chain, ChainError
from anchoring.worker import AnchorPolicy, AnchorWorker
from registry.signing import Signer
from registry.storage import Store
from tests.anchoring_world import anchored_world, verify, worker_for
from tests.hardhat_node import FlakyProxy, connect, fund, rpc
from tests.ledger_world import World

POLICY = AnchorPolicy(confirmations=2, poll_s=0.05, max_backoff_s=0.5)


@pytest.fixture
def node(hardhat_url: str) -> str:
    return hardhat_url


def _world(node: str, tmp_path: Path) -> World:
    operator = Signer.generate()
    fund(node, operator.address)
    chain = connect(node)
    contract = chain.deploy_anchor(
        bytes.fromhex(operator.private_key_hex[2:]), operator.address, operator.address
    )
    world, _ = anchored_world(tmp_path / "r.db", chain, contract, operator)
    world.issue("alice", 10_000)
    return world


def _worker(world: World, url: str) -> AnchorWorker:
    worker = worker_for(world, connect(url), POLICY)
    worker.attach()
    return worker


def _mine_until_confirmed(worker: AnchorWorker, url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not worker.step():
        rpc(url, "evm_mine")
        assert time.monotonic() < deadline, "anchors not confirmed in time"


def assert_each_anchored_once(world: World, url: str) -> None:
    chain = connect(url)
    chain.bind(world.registry.domain.verifying_contract)
    rows = worker_for(world, chain).checkpoints.all()
    assert rows and all(r.status == "confirmed" for r in rows)
    logs = chain.anchor_contract.events.Anchored.get_logs(from_block=0)
    sizes = [int(log["args"]["treeSize"]) for log in logs]
    assert sorted(sizes) == [r.tree_size for r in rows], "an anchor is missing or doubled"
    for r in rows:
        assert chain.root_at(r.tree_size) == r.signed.checkpoint.root_hash
        record = chain.find_anchor(r.tree_size)
        assert (
            record is not None and record.tx_hash == r.tx_hash and record.block_hash == r.block_hash
        )


def test_crash_after_recording_before_broadcast(node: str, tmp_path: Path) -> None:
    world = _world(node, tmp_path)
    crashing = _worker(world, node)

    def die(raw: bytes) -> None:
        raise KeyboardInterrupt("killed between recording and sending")

    crashing.chain.broadcast = die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        crashing.step(force_checkpoint=True)
    assert [r.status for r in crashing.checkpoints.all()] == ["sent"]
    _mine_until_confirmed(_worker(world, node), node)
    assert_each_anchored_once(world, node)


def test_crash_after_broadcast_before_confirmation(node: str, tmp_path: Path) -> None:
    world = _world(node, tmp_path)
    first = _worker(world, node)
    first.step(force_checkpoint=True)  # signed and sent; not confirmed (needs 2 blocks)
    in_flight = audit(world.store, world.registry.log_id, world.registry.domain, first.chain)
    assert in_flight.clean, in_flight.problems  # on chain, awaiting confirmations: no alarm
    assert any("awaits its confirmations" in note for note in in_flight.notes)
    world.transfer("alice", "bob", 10)
    restarted = _worker(world, node)
    _mine_until_confirmed(restarted, node)
    restarted.step(force_checkpoint=True)
    _mine_until_confirmed(restarted, node)
    assert len(restarted.checkpoints.all()) == 2
    assert_each_anchored_once(world, node)


def test_a_reorg_that_drops_the_anchor_is_detected_and_anchored_again(
    node: str, tmp_path: Path
) -> None:
    world = _world(node, tmp_path)
    worker = _worker(world, node)
    worker.step(force_checkpoint=True)
    _mine_until_confirmed(worker, node)
    snapshot = rpc(node, "evm_snapshot")
    world.transfer("alice", "bob", 25)
    worker.step(force_checkpoint=True)
    _mine_until_confirmed(worker, node)
    second = worker.checkpoints.all()[-1]
    assert second.status == "confirmed"
    rpc(node, "evm_revert", snapshot)  # the block holding the second anchor is gone
    for _ in range(3):
        rpc(node, "evm_mine")
    worker.check_reorgs()
    assert worker.checkpoints.get(second.tree_size).status == "sent"  # type: ignore[union-attr]
    _mine_until_confirmed(worker, node)
    again = worker.checkpoints.get(second.tree_size)
    assert again is not None and again.block_hash != second.block_hash
    assert_each_anchored_once(world, node)
    receipt = world.store.event_count() - 1
    bundle = build_bundle(world.store, worker.tree, worker.checkpoints, receipt)
    assert all(c.ok for c in verify(bundle, connect(node), min_confirmations=2))


def test_rpc_down_then_up(node: str, tmp_path: Path) -> None:
    world = _world(node, tmp_path)
    proxy = FlakyProxy(int(node.rsplit(":", 1)[1]))
    attached, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def run() -> None:  # the worker owns its own connection, in its own thread
        try:
            store = Store(world.store.path)
            worker = AnchorWorker(
                store,
                store.conn,
                log_id=world.registry.log_id,
                domain=world.registry.domain,
                operator_key=bytes.fromhex(world.operator.private_key_hex[2:]),
                operator=world.operator.address,
                chain=connect(proxy.url),
                policy=AnchorPolicy(confirmations=2, poll_s=0.05, max_backoff_s=0.5, max_age_s=0.2),
            )
            worker.attach()
            attached.set()
            worker.run_forever(stop.is_set)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            attached.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert attached.wait(30) and not failures, failures
        proxy.go_down()
        time.sleep(1.5)  # the worker retries with backoff while the RPC is down
        assert worker_for(world, connect(node)).checkpoints.all()[-1].status != "confirmed"
        world.transfer("alice", "bob", 5)
        proxy.up = True
        deadline = time.monotonic() + 30
        while True:
            rpc(node, "evm_mine")
            rows = worker_for(world, connect(node)).checkpoints.all()
            done = rows and rows[-1].tree_size == world.store.event_count()
            if done and all(r.status == "confirmed" for r in rows):
                break
            assert time.monotonic() < deadline and not failures, (
                [r.status for r in rows],
                failures,
            )
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=10)
        proxy.close()
    assert not failures, failures
    assert_each_anchored_once(world, node)


def test_the_contract_refuses_another_anchorer(node: str, tmp_path: Path) -> None:
    world = _world(node, tmp_path)
    intruder = Signer.generate()
    fund(node, intruder.address)
    chain = connect(node)
    chain.bind(world.registry.domain.verifying_contract)
    key = bytes.fromhex(intruder.private_key_hex[2:])
    raw, tx_hash = chain.anchor_transaction(
        key, chain.nonce(intruder.address), 5, b"\x01" * 32, b"\x02" * 32, []
    )
    with pytest.raises(ChainError, match="revert"):
        chain.broadcast(raw)  # Hardhat's automine reports the revert at once
    receipt = chain.receipt(tx_hash)
    assert receipt is None or receipt["status"] == 0
    assert chain.latest() == (0, bytes(32))


def test_a_chain_without_the_contract_is_refused(node: str, tmp_path: Path) -> None:
    world = _world(node, tmp_path)
    world.registry.domain = type(world.registry.domain)(31337, "0x" + "12" * 20)
    worker = worker_for(world, Chain.connect(node), POLICY)
    with pytest.raises(ChainError, match="no RegistryAnchor contract"):
        worker.attach()
