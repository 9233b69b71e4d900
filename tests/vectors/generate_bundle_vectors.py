"""Generate tests/vectors/bundles/: proof bundles of every event type and their tampers.

    .venv/bin/python tests/vectors/generate_bundle_vectors.py [OUT_DIR]

A registry on the embedded chain goes through every operation (accounts, roles, a class,
ingestion, attestation, an issuance run, a reversal, issuance, transfer, retirement,
cancellation, a lock minted as tokens (and one released unminted), a return and an on-chain
retirement recorded by the bridge watcher, a merchant's offer redeemed both ways and
withdrawn, a community joined and left), everything is anchored, and these files are
written:

- valid.json: {event type: anchored bundle}, one bundle of every type;
- pending.json: a bundle of an event logged but not anchored (well-formed, never verifies);
- consistency.json: the consistency bundle from the first anchored checkpoint to the last;
- chain.json: the chain they were anchored on, as `tests/chain_snapshot.py` records it;
- trust.json: the registry's trust anchor (log id, chain id, contract, signer);
- tamper.json: [{name, field, bundle}]: for every field of the retirement bundle and every
  kind of change that applies to it (tests/bundle_mutations.py), a bundle that must fail
  with `field` among the fields of a failing check.

The Python light verifier (tests/test_bundle_vectors.py), the JavaScript verifier under
Node's test runner and in headless Chromium all run these same files. The chain's block
hashes depend on the time, so a new generation differs from the last; both must verify.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "bundles"
RETIREMENT_NONCE = 3_141_592_653_589


def generate(out: Path) -> None:
    from anchoring.bundle import consistency_bundle
    from anchoring.rpc_server import embedded_transport
    from anchoring.worker import AnchorPolicy
    from bridge.release import release_evidence
    from registry.bridge import mint_deadline
    from registry.eip712 import contract_address_of
    from tests.anchoring_world import anchored_world
    from tests.api_world import MrvParties
    from tests.bridge_world import TOKEN, Bridge, key_of
    from tests.bundle_mutations import tamper_cases
    from tests.chain_snapshot import record
    from tests.people_world import join, leave, publish, redeem, withdraw

    with tempfile.TemporaryDirectory() as tmp:
        world, chain = anchored_world(Path(tmp) / "registry.db")
        bridge = Bridge.start(world, chain, AnchorPolicy(confirmations=1))
        mrv = MrvParties(world)
        batch = mrv.submit("batch-1", mrv.trips("alice", 3))
        world.registry.execute(*batch)
        claims = [c["claim_id"] for c in world.store.claims(status="pending")]
        world.registry.attest(*mrv.attest(claims)[1:])
        world.registry.run_issuance(*mrv.run()[1:])
        world.op("ReverseClaim", claimId=claims[0], reason="trip double reported",
                 evidenceHash="0x" + "cd" * 32)  # fmt: skip
        world.issue("alice", 10_000)
        world.transfer("alice", "bob", 4_000)
        # A nonce below 2^52, so that adding 0.5 to it (a tamper case) changes it in a
        # JavaScript number too.
        world.retire("bob", 1_500, nonce=RETIREMENT_NONCE)
        world.cancel("alice", 100)
        world.op("RevokeRole", account=mrv.platform.address, role="platform")
        holder = bridge.wallet()
        lock = bridge.lock("alice", 2_000, holder.address)
        bridge.worker.run_once()
        bridge.mint(holder, lock.seq)
        bridge.token.return_to_registry(key_of(holder), TOKEN, 500, world.addr("bob"))
        bridge.token.retire(key_of(holder), TOKEN, 700, "0x" + "ac" * 32, "offset fleet")
        bridge.worker.run_once()  # records the burns, then anchors those records
        stuck = bridge.lock("alice", 300, chain.anchor_address or "")  # cannot receive
        deadline = mint_deadline(world.store, stuck.seq)
        tester = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        chain.call("time travel", lambda: tester.time_travel(deadline + 2))
        lock_no = world.store.lock_by_seq(stuck.seq)["lock_no"]
        evidence = release_evidence(bridge.token, lock_no, deadline, 1)
        alice = world.people["alice"]
        world.registry.execute(*alice.request(world.registry.domain, "ReleaseLock",
                                              owner=alice.address, lockSeq=stuck.seq,
                                              **evidence))  # fmt: skip
        world.open("cafe", kind="merchant")
        world.open("estate", kind="community")
        publish(world, "cafe", "coffee", 500)
        redeem(world, "alice", "cafe", "coffee", "retire")  # the first OfferRedeemed
        redeem(world, "alice", "cafe", "coffee", "transfer")
        withdraw(world, "cafe", "coffee")
        join(world, "alice", "estate", "绿色狐狸")
        leave(world, "alice", "estate")
        bridge.worker.run_once()
        pending_receipt = world.transfer("alice", "bob", 1)
        pending = bridge.bundle(pending_receipt.seq)

        valid: dict[str, Any] = {}
        for seq, event_type, _, _ in world.store.event_rows(-1, pending_receipt.seq):
            if event_type not in valid:
                valid[event_type] = bridge.bundle(seq)
        assert all(b["anchor"] is not None for b in valid.values()), "all anchored"
        answer = embedded_transport(chain)

        def rpc_call(method: str, params: list[Any]) -> Any:
            return answer({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})["result"]

        contract = world.registry.domain.verifying_contract
        tx_hashes = sorted({b["anchor"]["tx_hash"] for b in valid.values()})
        snapshot = record(rpc_call, contract, tx_hashes, world.operator.address)
        trust = {
            "log_id": world.registry.log_id,
            "chain_id": chain.chain_id,
            "contract": contract,
            "signers": [world.operator.address],
            "token": contract_address_of(world.operator.address, 1),
        }
        sizes = [row.tree_size for row in bridge.worker.checkpoints.all()]
        consistency = consistency_bundle(bridge.worker.tree, bridge.worker.checkpoints,
                                         sizes[0], sizes[-1])  # fmt: skip
        others = [b for t, b in valid.items() if t != "CreditsRetired"]
        tamper = [
            {"name": name, "field": field, "bundle": bundle}
            for name, field, bundle in tamper_cases(valid["CreditsRetired"], others)
        ]
    out.mkdir(parents=True, exist_ok=True)
    for name, value in (
        ("valid", valid),
        ("pending", pending),
        ("consistency", consistency),
        ("chain", snapshot),
        ("trust", trust),
        ("tamper", tamper),
    ):
        (out / f"{name}.json").write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {OUT if len(sys.argv) < 2 else sys.argv[1]}")
