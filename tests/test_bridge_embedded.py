"""Lock -> anchor -> mint with proof -> trade -> retire or return on chain -> back in the
registry, on the embedded chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from anchoring.chain import ChainError
from registry import errors
from registry.bridge import token_id
from registry.commitments import commit_text
from tests.anchoring_world import anchored_world, verify
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.ledger_world import CLASS, check_invariants

pytestmark = pytest.mark.both_backends


@pytest.fixture
def bridge(store_url: str) -> Iterator[Bridge]:
    world, chain = anchored_world(store_url)
    world.issue("alice", 10_000)
    yield Bridge.start(world, chain)
    world.store.close()


def test_the_token_id_is_the_contracts(bridge: Bridge) -> None:
    assert bridge.token.contract.functions.tokenIdOf(CLASS).call() == token_id(CLASS)


def test_the_contract_rebuilds_the_logged_lock_event_byte_for_byte(bridge: Bridge) -> None:
    holder = bridge.wallet()
    receipt = bridge.lock("alice", 4_000, holder.address)
    body = next(bridge.world.store.event_rows(receipt.seq - 1, 1))[3]
    bundle = bridge.bundle(receipt.seq)
    assert bridge.token.lock_event_bytes(bundle["event"]) == body


def test_lock_anchor_mint_trade_retire_and_return(bridge: Bridge) -> None:
    world, token = bridge.world, bridge.token
    holder, buyer = bridge.wallet(), bridge.wallet()
    lock = bridge.lock("alice", 4_000, holder.address)
    assert world.registry.balances(world.addr("alice"))[0]["locked"] == 4_000
    event = bridge.bundle(lock.seq)["event"]
    with pytest.raises(ChainError, match="CarbonCreditsLockNotAnchored"):
        token.mint_with_proof(key_of(holder), event, lock.seq + 1, [])
    bridge.worker.run_once()
    anchored = bridge.bundle(lock.seq)
    proof = [bytes.fromhex(h) for h in anchored["inclusion"]["path"]]
    size = anchored["inclusion"]["tree_size"]
    for field, value in (
        ("amount", 4_001),
        ("recipient", buyer.address),
        ("assetClass", "OTHER-1-2026-CN"),
    ):
        forged = {
            **event,
            "payload": {
                **event["payload"],
                "request": {**event["payload"]["request"], field: value},
            },
        }
        with pytest.raises(
            ChainError, match="CarbonCreditsInvalidProof|CarbonCreditsRangesMismatch"
        ):
            token.mint_with_proof(key_of(buyer), forged, size, proof)
    assert bridge.mint(buyer, lock.seq)["status"] == 1  # anyone may pay for the mint
    assert token.balance_of(holder.address, TOKEN) == 4_000
    with pytest.raises(ChainError, match="CarbonCreditsLockAlreadyMinted"):
        bridge.mint(buyer, lock.seq)
    token.transfer(key_of(holder), buyer.address, TOKEN, 1_000)
    _, named = commit_text("Acme Logistics")
    token.retire(key_of(buyer), TOKEN, 600, named, "offset 2026 fleet")
    token.return_to_registry(key_of(holder), TOKEN, 500, world.addr("bob"))
    bridge.worker.run_once()
    recorded = {row[1] for row in world.store.event_rows(lock.seq)}
    assert {"CreditsRetiredOnChain", "CreditsReturned"} <= recorded
    assert world.active("bob") == 500
    assert token.total_supply(TOKEN) == 2_900
    assert world.store.locked_by_class() == {CLASS: 2_900}
    certificates = [r for r in world.store.event_rows() if r[1] == "CreditsRetiredOnChain"]
    seq = certificates[0][0]
    cert = world.registry.certificate(f"CERT-{seq:010d}")
    assert cert["amount"] == 600 and cert["beneficiary_commitment"] == named
    assert cert["beneficiary_name"] is None  # the chain holds only the commitment
    assert cert["chain_event"].startswith(f"{bridge.chain.chain_id}:0x")
    bundle = bridge.bundle(seq)
    assert all(c.ok for c in verify(bundle, bridge.chain))
    assert bridge.watcher.poll() == []  # nothing recorded twice
    check_invariants(world.store)


def test_a_watcher_killed_before_recording_records_once_after_restart(bridge: Bridge) -> None:
    holder = bridge.wallet()
    lock = bridge.lock("alice", 1_000, holder.address)
    bridge.worker.run_once()
    bridge.mint(holder, lock.seq)
    bridge.token.retire(key_of(holder), TOKEN, 300, "0x" + "00" * 32, "y")
    registry = bridge.world.registry
    real_execute = registry.execute

    def killed(*args: object) -> object:
        raise KeyboardInterrupt("killed between seeing the chain event and recording it")

    registry.execute = killed  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        bridge.watcher.poll()
    registry.execute = real_execute  # type: ignore[method-assign]
    from bridge.watcher import BridgeWatcher

    restarted = BridgeWatcher(registry, bridge.token, bridge.world.operator)
    assert [r.event_type for r in restarted.poll()] == ["CreditsMinted", "CreditsRetiredOnChain"]
    assert restarted.poll() == []
    kinds = [row[1] for row in bridge.world.store.event_rows()]
    assert kinds.count("CreditsRetiredOnChain") == 1 and kinds.count("CreditsMinted") == 1


def test_recording_a_chain_event_twice_is_refused(bridge: Bridge) -> None:
    holder = bridge.wallet()
    lock = bridge.lock("alice", 1_000, holder.address)
    world = bridge.world
    request = world.operator.request(
        world.registry.domain,
        "RecordChainRetirement",
        chainEvent="1:0x" + "ab" * 32 + ":0",
        holder=holder.address,
        assetClass=CLASS,
        amount=10,
        beneficiaryCommitment="0x" + "00" * 32,
        reason="r",
    )
    world.registry.execute(*request)
    again = world.operator.request(
        world.registry.domain,
        "RecordChainRetirement",
        chainEvent="1:0x" + "ab" * 32 + ":0",
        holder=holder.address,
        assetClass=CLASS,
        amount=10,
        beneficiaryCommitment="0x" + "00" * 32,
        reason="r",
    )
    with pytest.raises(errors.DuplicateChainEventError):
        world.registry.execute(*again)
    assert lock.seq > 0


def test_locked_grams_cannot_move_in_the_registry(bridge: Bridge) -> None:
    bridge.lock("alice", 10_000, bridge.wallet().address)
    with pytest.raises(errors.CreditsLockedError):
        bridge.world.transfer("alice", "bob", 1)


def test_only_the_owner_locks(bridge: Bridge) -> None:
    world = bridge.world
    bob = world.people["bob"]
    request = bob.request(
        world.registry.domain,
        "Lock",
        owner=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1,
        recipient=bob.address,
    )
    with pytest.raises(errors.WrongSignerError):
        world.registry.execute(*request)
