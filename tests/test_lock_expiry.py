"""Nothing stuck: a lock nobody can mint is released after its mint deadline, with the chain's
evidence, and the proof of reserve stays exact throughout (embedded chain, time-travelled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from anchoring.chain import ChainError
from bridge.release import check_release_evidence, release_evidence
from bridge.reserve import check_anchored_reserve, check_state_reserve
from bridge.token import MINTED, BridgeEvent
from bridge.watcher import BridgeIntegrityError
from registry import errors
from registry.bridge import mint_deadline, token_id
from registry.ledger import Receipt
from registry.replay import replay
from registry.storage.bridge import BridgeCursor
from tests.anchoring_world import anchored_world
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.ledger_world import CLASS, check_invariants


@pytest.fixture
def bridge(tmp_path: Path) -> Bridge:
    world, chain = anchored_world(tmp_path / "r.db")
    world.issue("alice", 10_000)
    return Bridge.start(world, chain)


def travel(bridge: Bridge, to_timestamp: int) -> None:
    """Mine the embedded chain's next block at `to_timestamp`."""
    tester = bridge.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    # py-evm stamps the travelled-to block one second early (it expects mining to add one).
    bridge.chain.call("time travel", lambda: tester.time_travel(to_timestamp + 1))
    header = bridge.chain.block_header(bridge.chain.head())
    assert header is not None and header[1] == to_timestamp


def deadline_of(bridge: Bridge, lock: Receipt) -> int:
    return mint_deadline(bridge.world.store, lock.seq)


def release(bridge: Bridge, lock: Receipt, evidence: dict[str, Any], by: str = "alice") -> Receipt:
    world = bridge.world
    signer = world.operator if by == "operator" else world.people[by]
    return world.registry.execute(
        *signer.request(
            world.registry.domain,
            "ReleaseLock",
            owner=world.addr("alice"),
            lockSeq=lock.seq,
            **evidence,
        )  # fmt: skip
    )


def reserve_is_exact(bridge: Bridge) -> dict[str, int]:
    """Both reserve checks hold; returns the supply per class."""
    store = bridge.world.store
    state = check_state_reserve(store, BridgeCursor(store.conn), bridge.token)
    anchored = check_anchored_reserve(store, bridge.chain, bridge.token)
    assert state.ok and anchored.ok, (state.problems, anchored.problems)
    return {c.asset_class: c.total_supply for c in state.classes}


def test_a_lock_to_a_non_receiver_is_released_after_its_deadline(bridge: Bridge) -> None:
    world, token = bridge.world, bridge.token
    stuck = bridge.chain.anchor_address  # a contract without onERC1155Received
    assert stuck is not None
    lock = bridge.lock("alice", 3_000, stuck)
    bridge.worker.run_once()
    with pytest.raises(ChainError, match="ERC1155InvalidReceiver"):
        bridge.mint(bridge.wallet(), lock.seq)
    lock_no = world.store.lock_by_seq(lock.seq)["lock_no"]
    deadline = deadline_of(bridge, lock)
    with pytest.raises(errors.LockStateError, match="can be minted until"):
        release_evidence(token, lock_no, deadline, 1)
    assert reserve_is_exact(bridge) == {CLASS: 0}
    assert world.active("alice") == 7_000

    travel(bridge, deadline + 1)
    evidence = release_evidence(token, lock_no, deadline, 1)
    assert evidence["blockTime"] > deadline
    receipt = release(bridge, lock, evidence)
    assert receipt.event_type == "LockReleased"
    assert world.active("alice") == 10_000
    assert world.store.locked_by_class() == {}
    assert world.store.lock_by_seq(lock.seq)["released_seq"] == receipt.seq
    with pytest.raises(errors.LockStateError, match="was released"):
        release(bridge, lock, evidence)
    bridge.worker.run_once()
    assert reserve_is_exact(bridge) == {CLASS: 0}
    with pytest.raises(ChainError, match="CarbonCreditsLockExpired"):
        bridge.mint(bridge.wallet(), lock.seq)  # anchored, proven, and still refused
    world.transfer("alice", "bob", 10_000)  # the grams are the owner's again, all of them
    check_invariants(world.store)
    assert replay(world.store).clean  # the release is decided again from the lock's event


def test_a_mint_after_the_deadline_reverts(bridge: Bridge) -> None:
    holder = bridge.wallet()
    lock = bridge.lock("alice", 1_000, holder.address)
    bridge.worker.run_once()
    travel(bridge, deadline_of(bridge, lock) + 1)
    with pytest.raises(ChainError, match="CarbonCreditsLockExpired"):
        bridge.mint(holder, lock.seq)
    assert bridge.token.balance_of(holder.address, TOKEN) == 0
    assert reserve_is_exact(bridge) == {CLASS: 0}


def test_a_lock_minted_just_before_its_deadline_cannot_be_released(bridge: Bridge) -> None:
    world, token = bridge.world, bridge.token
    holder = bridge.wallet()
    lock = bridge.lock("alice", 2_000, holder.address)
    bridge.worker.run_once()
    deadline = deadline_of(bridge, lock)
    travel(bridge, deadline - 5)
    bridge.mint(holder, lock.seq)  # mined at deadline - 4: still in time
    travel(bridge, deadline + 60)
    lock_no = world.store.lock_by_seq(lock.seq)["lock_no"]
    # Before the watcher records the mint, the chain's state refuses the release...
    with pytest.raises(errors.LockStateError, match="was minted on chain"):
        release_evidence(token, lock_no, deadline, 1)
    assert reserve_is_exact(bridge) == {CLASS: 2_000}  # minted, not recorded yet: counted
    # ...and once recorded, the registry does.
    receipts = bridge.watcher.poll()
    assert [r.event_type for r in receipts] == ["CreditsMinted"]
    head = bridge.chain.head()
    block_hash, block_time = bridge.chain.block_header(head) or (b"", 0)
    forged = {"chainHeight": head, "blockHash": "0x" + block_hash.hex(), "blockTime": block_time}
    with pytest.raises(errors.LockStateError, match="was minted"):
        release(bridge, lock, forged)
    assert token.balance_of(holder.address, TOKEN) == 2_000
    assert reserve_is_exact(bridge) == {CLASS: 2_000}
    check_invariants(world.store)


def test_the_registry_refuses_a_release_citing_a_block_before_the_deadline(bridge: Bridge) -> None:
    world = bridge.world
    lock = bridge.lock("alice", 500, bridge.wallet().address)
    deadline = deadline_of(bridge, lock)
    early = {"chainHeight": 1, "blockHash": "0x" + "11" * 32, "blockTime": deadline}
    before = world.snapshot()
    with pytest.raises(errors.LockStateError, match="can be minted until"):
        release(bridge, lock, early)
    late = {**early, "blockTime": deadline + 1}
    with pytest.raises(errors.NotAuthorisedError):
        release(bridge, lock, late, by="bob")  # neither the owner nor the operator
    assert world.snapshot() == before
    # The chain check behind the API and CLI refuses a block that is not the chain's.
    lock_no = world.store.lock_by_seq(lock.seq)["lock_no"]
    with pytest.raises(errors.ValidationError, match="block 1 of the chain is"):
        check_release_evidence(bridge.token, lock_no, deadline, late, 1)
    assert release(bridge, lock, late, by="operator").event_type == "LockReleased"


def test_a_release_takes_other_locked_grams_when_a_burn_took_its_own(bridge: Bridge) -> None:
    """Burns release the oldest locked grams of a class, whoever locked them: tokens are
    fungible. An unminted lock's release then takes the grams that are still locked."""
    world, token = bridge.world, bridge.token
    holder = bridge.wallet()
    stuck = bridge.lock("alice", 1_000, bridge.chain.anchor_address or "")
    minted = bridge.lock("alice", 1_000, holder.address)
    bridge.worker.run_once()
    bridge.mint(holder, minted.seq)
    token.return_to_registry(key_of(holder), TOKEN, 1_000, world.addr("bob"))
    bridge.worker.run_once()
    assert world.active("bob") == 1_000
    travel(bridge, deadline_of(bridge, stuck) + 1)
    lock_no = world.store.lock_by_seq(stuck.seq)["lock_no"]
    release(bridge, stuck, release_evidence(token, lock_no, deadline_of(bridge, stuck), 1))
    assert world.active("alice") == 9_000 and world.store.locked_by_class() == {}
    assert reserve_is_exact(bridge) == {CLASS: 0}
    check_invariants(world.store)


def test_the_watcher_stops_on_a_mint_the_log_cannot_account_for(bridge: Bridge) -> None:
    world = bridge.world
    lock = bridge.lock("alice", 800, bridge.chain.anchor_address or "")
    travel(bridge, deadline_of(bridge, lock) + 1)
    lock_no = world.store.lock_by_seq(lock.seq)["lock_no"]
    release(bridge, lock, release_evidence(bridge.token, lock_no, deadline_of(bridge, lock), 1))
    ghost = BridgeEvent(MINTED, world.addr("bob"), token_id(CLASS), 800, None, "", "",
                        b"\x01" * 32, 0, bridge.chain.head(), lock_seq=lock.seq)  # fmt: skip
    before = world.snapshot()
    with pytest.raises(BridgeIntegrityError, match="was released"):
        bridge.watcher.record(ghost, {token_id(CLASS): CLASS}, bridge.chain.chain_id)
    assert world.snapshot() == before


def test_a_chain_that_lost_minted_tokens_is_reported_and_stops_the_watcher(bridge: Bridge) -> None:
    world = bridge.world
    lock = bridge.lock("alice", 700, bridge.wallet().address)
    bridge.worker.run_once()
    tester = bridge.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    before_mint = bridge.chain.call("snapshot", tester.take_snapshot)
    bridge.mint(bridge.wallet(), lock.seq)
    bridge.worker.run_once()  # the mint is recorded in the log
    assert world.store.lock_by_seq(lock.seq)["minted_seq"] is not None
    assert reserve_is_exact(bridge) == {CLASS: 700}
    bridge.chain.call("lose blocks", lambda: tester.revert_to_snapshot(before_mint))
    state = check_state_reserve(world.store, BridgeCursor(world.store.conn), bridge.token)
    assert not state.ok and any("700" in p for p in state.problems), state.problems
    with pytest.raises(BridgeIntegrityError, match="the reserve does not hold"):
        bridge.watcher.poll()
