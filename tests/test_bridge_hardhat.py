"""The bridge end to end against a real Hardhat node: lock -> anchor -> mint -> transfer ->
retire on chain -> certificate in the registry -> bundle verified; and burn back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anchoring.worker import AnchorPolicy
from bridge.reserve import check_anchored_reserve
from bridge.watcher import BridgeWatcher
from tests.anchoring_world import verify
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.hardhat_node import connect, fund, rpc
from tests.ledger_world import check_invariants
from tests.test_anchoring_hardhat import _world

POLICY = AnchorPolicy(confirmations=2, poll_s=0.05)


def settle(bridge: Bridge, url: str, timeout_s: float = 30) -> None:
    """Step the worker (watcher first) and mine until every checkpoint is confirmed."""
    deadline = time.monotonic() + timeout_s
    while True:
        rpc(url, "evm_mine")
        done = bridge.worker.step(force_checkpoint=True)
        rpc(url, "evm_mine")
        if done and bridge.worker.step():
            return
        assert time.monotonic() < deadline


def test_bridge_lifecycle_on_a_hardhat_node(hardhat_url: str, tmp_path: Path) -> None:
    world = _world(hardhat_url, tmp_path)
    bridge = Bridge.start(world, connect(hardhat_url), POLICY)
    funder = lambda address: fund(hardhat_url, address)  # noqa: E731
    holder, buyer = bridge.wallet(funder), bridge.wallet(funder)
    lock = bridge.lock("alice", 3_000, holder.address)
    settle(bridge, hardhat_url)
    bridge.mint(buyer, lock.seq)
    token = bridge.token
    assert token.balance_of(holder.address, TOKEN) == 3_000
    token.transfer(key_of(holder), buyer.address, TOKEN, 1_200)
    token.retire(key_of(buyer), TOKEN, 700, "0x" + "ac" * 32, "offset 2026 fleet")
    token.return_to_registry(key_of(holder), TOKEN, 800, world.addr("bob"))

    # The watcher is killed after seeing the burns and before recording them.
    registry = world.registry
    real_execute = registry.execute

    def killed(*args: object) -> object:
        raise KeyboardInterrupt("killed between seeing and recording")

    registry.execute = killed  # type: ignore[method-assign]
    rpc(hardhat_url, "evm_mine")
    with pytest.raises(KeyboardInterrupt):
        bridge.watcher.poll()
    registry.execute = real_execute  # type: ignore[method-assign]
    bridge.worker.watchers = [BridgeWatcher(registry, token, world.operator, confirmations=2).poll]
    settle(bridge, hardhat_url)

    kinds = [row[1] for row in world.store.event_rows()]
    assert kinds.count("CreditsRetiredOnChain") == 1 and kinds.count("CreditsReturned") == 1
    assert world.active("bob") == 800
    seq = kinds.index("CreditsRetiredOnChain")
    certificate = registry.certificate(f"CERT-{seq:010d}")
    assert certificate["amount"] == 700 and certificate["chain_event"].startswith("31337:0x")
    bundle = bridge.bundle(seq)
    checks = verify(bundle, connect(hardhat_url), min_confirmations=2)
    assert all(c.ok for c in checks), checks
    chain = connect(hardhat_url)
    chain.bind(registry.domain.verifying_contract)
    report = check_anchored_reserve(world.store, chain, token)
    assert report.ok and report.classes[0].total_supply == 1_500
    check_invariants(world.store)
