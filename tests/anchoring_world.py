"""A registry with an anchoring worker on a chain (embedded by default), for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anchoring.chain import Chain
from anchoring.rpc_server import embedded_transport
from anchoring.worker import AnchorPolicy, AnchorWorker
from carbon_verifier.rpc import Rpc
from carbon_verifier.verify import Check, verify_bundle
from registry.eip712 import contract_address_of
from registry.ledger import Registry
from registry.signing import Signer
from registry.storage import Store
from tests.ledger_world import World


def anchored_world(
    path: Path | str,
    chain: Chain | None = None,
    contract: str | None = None,
    operator: Signer | None = None,
) -> tuple[World, Chain]:
    """A World whose EIP-712 domain names `chain` and its (future) anchoring contract."""
    chain = chain or Chain.create_embedded()
    operator = operator or Signer.generate()
    registry = Registry.create(
        Store(path),
        chain_id=chain.chain_id,
        verifying_contract=contract or contract_address_of(operator.address, 0),
        operator=operator.address,
        log_id="test.local/anchored",
    )
    world = World(registry, operator)
    for name in ("alice", "bob"):
        world.open(name)
    world.op(
        "RegisterAssetClass",
        methodology="SZ_TRANSIT",
        methodologyVersion="1.0",
        vintage=2026,
        region="440300",
    )
    return world, chain


def worker_for(world: World, chain: Chain, policy: AnchorPolicy | None = None) -> AnchorWorker:
    store = world.store
    return AnchorWorker(
        store,
        store.conn,
        log_id=world.registry.log_id,
        domain=world.registry.domain,
        operator_key=bytes.fromhex(world.operator.private_key_hex[2:]),
        operator=world.operator.address,
        chain=chain,
        policy=policy or AnchorPolicy(),
    )


def verifier_rpc(chain: Chain) -> Rpc:
    """The light verifier's RPC client for `chain`: in-process for the embedded chain."""
    if chain.embedded:
        return Rpc(embedded_transport(chain))
    return Rpc(chain.description)


def verify(bundle: dict[str, Any], chain: Chain, **options: Any) -> list[Check]:
    """The light verifier's checks of `bundle` against `chain`."""
    return verify_bundle(bundle, verifier_rpc(chain), **options).checks
