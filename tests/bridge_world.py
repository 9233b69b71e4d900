"""A registry, its anchoring worker, the token contract and the bridge watcher, for tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anchoring.bundle import build_bundle
from anchoring.chain import Chain
from anchoring.worker import AnchorPolicy, AnchorWorker
from bridge.token import TokenContract
from bridge.watcher import BridgeWatcher
from registry.bridge import token_id
from registry.ledger import Receipt
from registry.signing import Signer
from tests.anchoring_world import worker_for
from tests.ledger_world import CLASS, World

TOKEN = token_id(CLASS)


@dataclass
class Bridge:
    world: World
    chain: Chain
    worker: AnchorWorker
    token: TokenContract
    watcher: BridgeWatcher

    @classmethod
    def start(cls, world: World, chain: Chain, policy: AnchorPolicy | None = None) -> Bridge:
        worker = worker_for(world, chain, policy)
        worker.attach()
        key = bytes.fromhex(world.operator.private_key_hex[2:])
        assert chain.anchor_address is not None
        token = TokenContract.deploy(chain, key, chain.anchor_address)
        watcher = BridgeWatcher(
            world.registry, token, world.operator, confirmations=worker.policy.confirmations
        )
        worker.watchers.append(watcher.poll)
        return cls(world, chain, worker, token, watcher)

    def wallet(self, funder: Any = None) -> Signer:
        signer = Signer.generate()
        (funder or self.chain.fund)(signer.address)
        return signer

    def lock(self, name: str, amount: int, recipient: str) -> Receipt:
        person = self.world.people[name]
        return self.world.registry.execute(
            *person.request(
                self.world.registry.domain,
                "Lock",
                owner=person.address,
                assetClass=CLASS,
                batchNo=0,
                amount=amount,
                recipient=recipient,
            )
        )

    def bundle(self, seq: int) -> dict[str, Any]:
        return build_bundle(self.world.store, self.worker.tree, self.worker.checkpoints, seq)

    def mint(self, payer: Signer, seq: int) -> dict[str, Any]:
        bundle = self.bundle(seq)
        assert bundle["anchor"] is not None, "lock not anchored yet"
        proof = [bytes.fromhex(h) for h in bundle["inclusion"]["path"]]
        return self.token.mint_with_proof(
            bytes.fromhex(payer.private_key_hex[2:]),
            bundle["event"],
            bundle["inclusion"]["tree_size"],
            proof,
        )


def key_of(signer: Signer) -> bytes:
    return bytes.fromhex(signer.private_key_hex[2:])
