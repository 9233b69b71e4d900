"""Rotating the operator's key: the anchorer, checkpoint signer and admin roles pass to a new
key, on chain (OpenZeppelin AccessControl) and in the registry, and leave the old one.

Checkpoints signed before keep verifying: a verifier accepts a checkpoint from a key that
held ANCHORER_ROLE when the checkpoint was anchored, so the old key's checkpoints verify
and anything it signs after the rotation does not (and the contract refuses its anchors).
Every checkpoint must be anchored first: one signed by the old key and sent by the new
would be anchored after the old key lost its role, and would not verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anchoring.chain import Chain
from anchoring.worker import CheckpointStore
from bridge.token import TokenContract
from registry.errors import ValidationError
from registry.ledger import Registry
from registry.signing import Signer

ADMIN_ROLE = b"\x00" * 32


@dataclass
class Rotation:
    done: list[str] = field(default_factory=list)


def rotate_operator(
    registry: Registry, chain: Chain, token_address: str | None, old: Signer, new: Signer
) -> Rotation:
    """Hand every role of `old` to `new`; ValidationError before anything changes if a
    checkpoint is not anchored yet or `old` is not the operator."""
    store = registry.store
    if not store.has_role(old.address, "operator"):
        raise ValidationError(f"{old.address} is not an operator of this registry")
    pending = CheckpointStore(store.conn, registry.log_id).unconfirmed()
    if pending:
        raise ValidationError(
            f"{len(pending)} checkpoint(s) are not anchored yet: run `carbon-registry anchor"
            " --once` first, so that none is signed by the old key and anchored by the new"
        )
    rotation = Rotation()
    if chain.embedded and chain.balance(new.address) == 0:
        chain.fund(new.address)
    if store.account(new.address) is None:
        _op(registry, old, "OpenAccount", account=new.address, kind="operator", name="")
    if not store.has_role(new.address, "operator"):
        _op(registry, old, "GrantRole", account=new.address, role="operator")
    rotation.done.append(f"registry: {new.address} holds the operator role")
    anchor = chain.anchor_contract.functions
    anchorer = bytes(anchor.ANCHORER_ROLE().call())
    old_key, new_key = _key(old), _key(new)
    chain.transact(old_key, anchor.grantRole(anchorer, new.address))
    chain.transact(old_key, anchor.grantRole(ADMIN_ROLE, new.address))
    chain.transact(new_key, anchor.revokeRole(anchorer, old.address))
    chain.transact(old_key, anchor.renounceRole(ADMIN_ROLE, old.address))
    rotation.done.append(f"RegistryAnchor: anchorer and admin {old.address} -> {new.address}")
    if token_address is not None:
        token = TokenContract(chain, token_address).contract.functions
        chain.transact(old_key, token.grantRole(ADMIN_ROLE, new.address))
        chain.transact(old_key, token.renounceRole(ADMIN_ROLE, old.address))
        rotation.done.append(f"CarbonCredits: admin {old.address} -> {new.address}")
    _op(registry, new, "RevokeRole", account=old.address, role="operator")
    rotation.done.append(f"registry: {old.address} no longer holds the operator role")
    return rotation


def _op(registry: Registry, signer: Signer, kind: str, /, **fields: Any) -> None:
    registry.execute(*signer.request(registry.domain, kind, **fields))


def _key(signer: Signer) -> bytes:
    return bytes.fromhex(signer.private_key_hex[2:])
