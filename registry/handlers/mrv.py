"""Handlers: MRV: activity batches, attestations, issuance runs and claim reversals."""

from __future__ import annotations

from typing import Any

from registry.canonical import from_canonical
from registry.errors import (
    BatchConflictError,
    BufferShortfallError,
    ClaimStatusError,
    UnknownClaimError,
)
from registry.handlers.common import (
    Effects,
    Receipt,
    move_ranges,
    pick_ranges,
    require_asset_class,
    require_operator,
    require_role,
    require_signer,
    serial_range,
)
from registry.mrv import committed, ingest, issuance, verification
from registry.storage import Store


def decide_submit_activities(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["platform"], signer)
    require_role(store, signer, "platform")
    if store.activity_batch(req["platform"], req["batchId"]) is not None:
        raise BatchConflictError(req["platform"], req["batchId"])
    if committed.is_committed(req):
        return committed.assess_batch(store, req, seq)
    return ingest.assess_batch(store, req, seq)  # the first release's batches, in replay


def apply_submit_activities(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    if committed.is_committed(req):
        committed.apply_batch(store, req, fx, seq)
    else:
        ingest.apply_batch(store, req, fx, seq)


def previous_activities(store: Store, req: dict[str, Any], signer: str) -> Receipt | None:
    """The same batch again (batch id and records hash) gets the first receipt back."""
    if signer != req["platform"]:
        return None
    earlier = store.activity_batch(req["platform"], req["batchId"])
    if earlier is None:
        return None
    if earlier["records_hash"] != req["recordsHash"]:
        raise BatchConflictError(req["platform"], req["batchId"])
    body = store.event_body(earlier["seq"])
    assert body is not None  # the batch row and its event commit together
    return Receipt(
        earlier["seq"], "ActivitiesSubmitted", from_canonical(body)["payload"]["effects"]
    )


def decide_attest(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["verifier"], signer)
    require_role(store, signer, "verifier")
    return verification.assess_attestation(store, req, signer)


def apply_attest(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    verification.apply_attestation(store, req, fx, signer, seq)


def decide_run_issuance(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_operator(store, signer)
    return issuance.plan_run(store, req, seq)


def apply_run_issuance(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    issuance.apply_run(store, req, fx, seq)


def decide_reverse_claim(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    """Cancel an issued claim's grams: first what its holder still holds of the claim's
    batch, the rest from the buffer pool that the claim's run paid into."""
    require_operator(store, signer)
    claim = store.claim(req["claimId"])
    if claim is None:
        raise UnknownClaimError(req["claimId"])
    if claim["status"] != "issued":
        raise ClaimStatusError(req["claimId"], claim["status"], "issued")
    run = store.issuance_run(claim["issued_seq"])
    assert run is not None  # an issued claim names its run
    holder, asset_class, grams = claim["beneficiary"], claim["asset_class"], claim["grams"]
    batch_no = store.claim_issued(issuance.holder_ref(run["seq"], holder, asset_class))
    from_holder = 0
    holder_ranges: list[dict[str, int]] = []
    if batch_no is not None:
        from_holder = min(grams, store.held_in_status(holder, asset_class, batch_no, "active"))
        if from_holder:
            holder_ranges = pick_ranges(store, holder, asset_class, batch_no, from_holder)
    pool, from_pool = run["buffer_pool"], grams - from_holder
    pool_ranges: list[dict[str, int]] = []
    if from_pool:
        active = store.active_balance(pool, asset_class)
        if active < from_pool:
            raise BufferShortfallError(pool, asset_class, from_pool, active)
        pool_ranges = pick_ranges(store, pool, asset_class, None, from_pool)
    return {
        "asset_class": asset_class,
        "holder": holder,
        "holder_grams": from_holder,
        "holder_ranges": holder_ranges,
        "buffer_pool": pool,
        "pool_grams": from_pool,
        "pool_ranges": pool_ranges,
    }


def apply_reverse_claim(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    asset_class = require_asset_class(store, fx["asset_class"])
    serials = []
    for owner, ranges in (
        (fx["holder"], fx["holder_ranges"]),
        (fx["buffer_pool"], fx["pool_ranges"]),
    ):
        if ranges:
            move_ranges(
                store,
                ranges,
                owner=owner,
                asset_class=fx["asset_class"],
                from_status="active",
                new_owner=owner,
                new_status="cancelled",
                ref=f"reversal-{seq}",
            )
            serials += [
                serial_range(asset_class, r["batch_no"], r["first"], r["last"]) for r in ranges
            ]
    store.mark_claim_reversed(req["claimId"], seq)
    store.insert_reversal(
        {
            "claim_id": req["claimId"],
            "seq": seq,
            "holder": fx["holder"],
            "holder_grams": fx["holder_grams"],
            "buffer_pool": fx["buffer_pool"],
            "pool_grams": fx["pool_grams"],
            "reason": req["reason"],
            "evidence_hash": req["evidenceHash"],
            "serials": " ".join(serials),
        }
    )
