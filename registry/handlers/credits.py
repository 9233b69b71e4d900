"""Handlers: Credits: issuance, transfers, retirements with certificates, cancellations."""

from __future__ import annotations

from typing import Any

from registry.errors import (
    DuplicateClaimError,
)
from registry.handlers.common import (
    Effects,
    batch_scope,
    certificate_id,
    move_ranges,
    pick_ranges,
    require_account,
    require_asset_class,
    require_operator,
    require_signer,
    serial_ranges,
)
from registry.storage import Store


def decide_issue(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    require_asset_class(store, req["assetClass"])
    require_account(store, req["to"])
    existing = store.claim_issued(req["claimId"])
    if existing is not None:
        raise DuplicateClaimError(f"claim {req['claimId']} was already issued as batch {existing}")
    batch_no = store.next_batch_no()
    return {
        "batch_no": batch_no,
        "ranges": [{"batch_no": batch_no, "first": 1, "last": req["amount"]}],
    }


def apply_issue(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_batch(
        fx["batch_no"], req["assetClass"], req["amount"], req["to"], req["claimId"], seq
    )
    store.insert_holding(
        fx["batch_no"], 1, req["amount"], req["to"], req["assetClass"], "active", None
    )
    store.add_balance(req["to"], req["assetClass"], "active", req["amount"])


def decide_transfer(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["from"], signer)
    require_asset_class(store, req["assetClass"])
    require_account(store, req["to"])
    batch = batch_scope(store, req["assetClass"], req["batchNo"])
    return {"ranges": pick_ranges(store, req["from"], req["assetClass"], batch, req["amount"])}


def apply_transfer(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["from"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["to"],
        new_status="active",
        ref=None,
    )


def decide_retire(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["owner"], signer)
    require_asset_class(store, req["assetClass"])
    batch = batch_scope(store, req["assetClass"], req["batchNo"])
    ranges = pick_ranges(store, req["owner"], req["assetClass"], batch, req["amount"])
    return {"certificate_id": certificate_id(seq), "ranges": ranges}


def apply_retire(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["owner"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["owner"],
        new_status="retired",
        ref=fx["certificate_id"],
    )
    record_retirement(
        store,
        req,
        fx,
        seq,
        time,
        owner=req["owner"],
        beneficiary=req["beneficiary"],
        jurisdiction=req["jurisdiction"],
    )


def record_retirement(
    store: Store,
    req: dict[str, Any],
    fx: Effects,
    seq: int,
    time: str,
    *,
    owner: str,
    beneficiary: str,
    jurisdiction: str,
) -> None:
    """The certificate row of a retirement, in the registry or recorded from the chain."""
    store.insert_retirement(
        {
            "certificate_id": fx["certificate_id"],
            "seq": seq,
            "time": time,
            "owner": owner,
            "asset_class": req["assetClass"],
            "amount": req["amount"],
            # Requests of the first release named the beneficiary; later ones commit to it.
            "beneficiary_name": req.get("beneficiaryName"),
            "beneficiary_commitment": req.get("beneficiaryCommitment"),
            "beneficiary": beneficiary,
            "reason": req["reason"],
            "jurisdiction": jurisdiction,
            "serials": serial_ranges(store, req["assetClass"], fx["ranges"]),
        }
    )


def decide_cancel(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    require_asset_class(store, req["assetClass"])
    require_account(store, req["holder"])
    batch = batch_scope(store, req["assetClass"], req["batchNo"])
    return {"ranges": pick_ranges(store, req["holder"], req["assetClass"], batch, req["amount"])}


def apply_cancel(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["holder"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["holder"],
        new_status="cancelled",
        ref=f"cancelled-{seq}",
    )
    store.insert_cancellation(
        {
            "seq": seq,
            "holder": req["holder"],
            "asset_class": req["assetClass"],
            "amount": req["amount"],
            "reason": req["reason"],
            "evidence_hash": req["evidenceHash"],
            "serials": serial_ranges(store, req["assetClass"], fx["ranges"]),
        }
    )
