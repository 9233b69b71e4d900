"""Handlers: Accounts, roles and asset classes."""

from __future__ import annotations

from typing import Any

from registry import messages as m
from registry.commitments import NO_COMMITMENT
from registry.errors import (
    AccountExistsError,
    AssetClassExistsError,
    ValidationError,
)
from registry.handlers.common import (
    Effects,
    require_account,
    require_operator,
)
from registry.storage import Store


def household_of(store: Store, req: dict[str, Any]) -> str | None:
    """The household a new account joins: in clear in the earlier forms of the request; in
    the current one, the private value beside it (`store.private_inputs`, checked against
    householdCommitment by the ledger, opened from the vault by replay). None for no
    household, and on replay for a person erased since (their household went with them)."""
    if "householdCommitment" not in req:
        return None if req["household"] == m.ZERO_ADDRESS else str(req["household"])
    if req["householdCommitment"] == NO_COMMITMENT:
        return None
    (beside,) = store.private_inputs or [{}]
    if beside is None:  # replay: the person was erased, and their household link with them
        return None
    household = beside.get("household")
    if household is None:
        raise ValidationError("householdCommitment needs the household beside the request")
    return str(household)


def decide_open_account(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    if store.account(req["account"]) is not None:
        raise AccountExistsError(f"account {req['account']} is already open")
    household = household_of(store, req)
    if household is not None:
        if req["kind"] != "person":
            raise ValidationError("only a person can be a member of a household")
        if require_account(store, household)["kind"] != "household":
            raise ValidationError(f"{household} is not a household account")
    return {}


def apply_open_account(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    household = household_of(store, req)
    store.insert_account(req["account"], req["kind"], req["name"], household, seq)


def decide_grant_role(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    require_account(store, req["account"])
    if store.has_role(req["account"], req["role"]):
        raise ValidationError(f"{req['account']} already holds the {req['role']} role")
    return {}


def apply_grant_role(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_role(req["account"], req["role"], seq)


def decide_revoke_role(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    if not store.has_role(req["account"], req["role"]):
        raise ValidationError(f"{req['account']} does not hold the {req['role']} role")
    if req["role"] == "operator" and store.role_count("operator") == 1:
        raise ValidationError(
            "the last operator cannot be revoked: grant the role to another first"
        )
    return {}


def apply_revoke_role(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.delete_role(req["account"], req["role"])


def decide_register_class(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    class_id = m.asset_class_id(
        req["methodology"], req["methodologyVersion"], req["vintage"], req["region"]
    )
    if store.asset_class(class_id) is not None:
        raise AssetClassExistsError(f"asset class {class_id} is already registered")
    return {"asset_class": class_id}


def apply_register_class(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_asset_class(
        fx["asset_class"],
        req["methodology"],
        req["methodologyVersion"],
        req["vintage"],
        req["region"],
        seq,
    )
