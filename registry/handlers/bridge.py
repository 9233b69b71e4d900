"""Handlers: The bridge: locks for minting tokens, and burns recorded from the chain."""

from __future__ import annotations

from typing import Any

from registry import bridge
from registry.errors import LockStateError, ValidationError
from registry.handlers import credits
from registry.handlers.common import (
    Effects,
    batch_scope,
    certificate_id,
    move_ranges,
    pick_ranges,
    require_asset_class,
    require_operator,
    require_signer,
)
from registry.storage import Store


def decide_lock(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["owner"], signer)
    require_asset_class(store, req["assetClass"])
    batch = batch_scope(store, req["assetClass"], req["batchNo"])
    ranges = pick_ranges(store, req["owner"], req["assetClass"], batch, req["amount"])
    # Locks are numbered 0, 1, 2...: the token contract's bitmap of minted locks stays dense.
    return {"lock_no": store.next_lock_no(), "ranges": ranges}


def apply_lock(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["owner"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["owner"],
        new_status=bridge.LOCKED,
        ref=bridge.lock_ref(seq),
    )
    store.insert_lock(
        fx["lock_no"], seq, req["owner"], req["recipient"], req["assetClass"], req["amount"]
    )


def _burned_ranges(store: Store, req: dict[str, Any], signer: str) -> list[dict[str, Any]]:
    """The locked ranges a burn on chain releases, once per chain event, operator-recorded."""
    require_operator(store, signer)
    bridge.require_new_chain_event(store, req["chainEvent"])
    require_asset_class(store, req["assetClass"])
    return bridge.pick_locked(store, req["assetClass"], req["amount"])


def _release_locked(
    store: Store,
    req: dict[str, Any],
    fx: Effects,
    new_owner: str,
    new_status: str,
    ref: str | None,
) -> None:
    for r in fx["ranges"]:  # each range keeps the owner who locked it until now
        move_ranges(
            store,
            [r],
            owner=r["owner"],
            asset_class=req["assetClass"],
            from_status=bridge.LOCKED,
            new_owner=new_owner,
            new_status=new_status,
            ref=ref,
        )


def decide_record_return(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    # The burn happened on chain: the grams are credited even to an address that opens its
    # account only later, rather than left in limbo.
    return {"ranges": _burned_ranges(store, req, signer)}


def apply_record_return(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    _release_locked(store, req, fx, req["account"], "active", None)
    store.insert_chain_event(req["chainEvent"], seq, "CreditsReturned")


def decide_record_chain_retirement(
    store: Store, req: dict[str, Any], signer: str, seq: int
) -> Effects:
    return {"certificate_id": certificate_id(seq), "ranges": _burned_ranges(store, req, signer)}


def apply_record_chain_retirement(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    _release_locked(store, req, fx, req["holder"], "retired", fx["certificate_id"])
    credits.record_retirement(
        store,
        req,
        fx,
        seq,
        time,
        owner=req["holder"],
        beneficiary=req["holder"],
        jurisdiction=bridge.ON_CHAIN_JURISDICTION,
    )
    store.insert_chain_event(req["chainEvent"], seq, "CreditsRetiredOnChain")


def decide_record_mint(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    bridge.require_new_chain_event(store, req["chainEvent"])
    lock = bridge.require_lock(store, req["lockSeq"])
    for field, column in (("recipient", "recipient"), ("assetClass", "asset_class"),
                          ("amount", "amount")):  # fmt: skip
        if req[field] != lock[column]:
            raise ValidationError(
                f"the chain minted {field} {req[field]!r}, lock {req['lockSeq']} has {lock[column]!r}"
            )
    return {"lock_no": lock["lock_no"]}


def apply_record_mint(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.set_lock_minted(req["lockSeq"], seq)
    store.insert_chain_event(req["chainEvent"], seq, "CreditsMinted")


def decide_release_lock(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    """The cited block is past the deadline (the API and CLI check it against the chain
    first, and anyone can again: the event cites height, hash and time)."""
    lock = bridge.require_lock(store, req["lockSeq"])
    if lock["owner"] != req["owner"]:
        raise ValidationError(f"lock {req['lockSeq']} is {lock['owner']}'s, not {req['owner']}'s")
    if signer != req["owner"]:
        require_operator(store, signer)
    deadline = bridge.mint_deadline(store, req["lockSeq"])
    if req["blockTime"] <= deadline:
        raise LockStateError(
            f"lock {req['lockSeq']} can be minted until {deadline}; the cited block is at"
            f" {req['blockTime']}"
        )
    return {"lock_no": lock["lock_no"], "ranges": bridge.pick_for_release(store, lock)}


def apply_release_lock(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    _release_locked(store, {**req, "assetClass": _lock_class(store, req)}, fx, req["owner"],
                    "active", None)  # fmt: skip
    store.set_lock_released(req["lockSeq"], seq)


def _lock_class(store: Store, req: dict[str, Any]) -> str:
    lock = store.lock_by_seq(req["lockSeq"])
    assert lock is not None
    return str(lock["asset_class"])
