"""Issuance runs: approved claims -> serial-numbered batches, with a buffer pool share.

A run (signed by the operator) takes **every** approved claim at the time it is logged and
groups them by asset class and holder: the claim's own account, which becomes the claim's
beneficiary (the request says so: `creditsTo: "account"`). Runs logged before issue 11 (no
`creditsTo`) pooled an opted-in member's claims to their household, the beneficiary set at
ingestion; they replay so. Pooling showed the member's link in the log: the household's
batch matched the member's logged claims in count and grams. Each group becomes one
issuance batch with serials `1..amount`, minus the buffer share, and each asset class's
buffer shares become one batch for the buffer pool:

    buffer = ceil(group grams x basis points / 10,000)      (integer arithmetic)
    amount = group grams - buffer

so that `sum(amount) + sum(buffer) == sum(approved claims)` exactly, and the rounding
favours the pool (never over-credit a holder). A group whose grams all go to the buffer
gets no batch (`batch_no` null). Batches are numbered in order: holder batches by (asset
class, holder), then buffer batches by asset class.

Asset classes that the run needs and that are not registered yet are created by the run
itself and listed in its event's `new_classes` (one event per operation: the run's event is
the record of their registration).

A batch's `claim_id` column holds the run's reference instead of a single claim:
`run-<seq>:<beneficiary>:<asset class>` or `run-<seq>:buffer:<asset class>`; every claim
records the run (`issued_seq`), which with its beneficiary and asset class names its batch.
The buffer pool must be an open company or operator account, never one that earns credits,
so that a reversal can tell the holder's batch from the pool's.
"""

from __future__ import annotations

from typing import Any

from registry.errors import (
    IssuanceRunExistsError,
    NothingToIssueError,
    UnknownAccountError,
    ValidationError,
)
from registry.storage import Store

Effects = dict[str, Any]

BASIS_POINTS = 10_000
POOL_KINDS = ("company", "operator")


def split_buffer(grams: int, basis_points: int) -> tuple[int, int]:
    """`(amount, buffer)` with `buffer = ceil(grams * bp / 10,000)` and `amount + buffer == grams`."""
    buffer = -(-grams * basis_points // BASIS_POINTS)
    return grams - buffer, buffer


def credits_to_accounts(request: dict[str, Any]) -> bool:
    """Whether a run credits each claim's own account (every run since issue 11), or pools
    a member's claims to their household (a run of the earlier form, in replay)."""
    return "creditsTo" in request


def holder_ref(seq: int, beneficiary: str, asset_class: str) -> str:
    return f"run-{seq}:{beneficiary}:{asset_class}"


def buffer_ref(seq: int, asset_class: str) -> str:
    return f"run-{seq}:buffer:{asset_class}"


def _class_fields(class_id: str) -> dict[str, Any]:
    """`SZ_TRANSIT-1.0-2026-440300` -> its parts (ids and versions hold no '-')."""
    methodology, version, vintage, region = class_id.split("-")
    return {
        "id": class_id,
        "methodology": methodology,
        "version": version,
        "vintage": int(vintage),
        "region": region,
    }


def plan_run(store: Store, request: dict[str, Any], seq: int) -> Effects:
    """The batches a RunIssuance request logged as event `seq` creates."""
    if store.issuance_run_exists(request["runId"]):
        raise IssuanceRunExistsError(f"issuance run {request['runId']!r} already ran")
    pool = store.account(request["bufferPool"])
    if pool is None:
        raise UnknownAccountError(request["bufferPool"])
    if pool["kind"] not in POOL_KINDS:
        raise ValidationError(f"the buffer pool must be a company account, not a {pool['kind']}")
    groups = store.approved_claim_groups(credits_to_accounts(request))
    if not groups:
        raise NothingToIssueError("no approved claim is waiting for issuance")
    if store.batch_refs_with_prefix(f"run-{seq}:"):
        raise ValidationError(f"batch references run-{seq}: are taken by earlier issues")
    next_no = store.next_batch_no()
    batches: list[dict[str, Any]] = []
    pool_grams: dict[str, int] = {}
    for asset_class, holder, claims, grams in groups:
        amount, buffer = split_buffer(grams, request["bufferBasisPoints"])
        batch_no = None
        if amount:
            batch_no, next_no = next_no, next_no + 1
        batches.append(
            {
                "batch_no": batch_no,
                "to": holder,
                "asset_class": asset_class,
                "amount": amount,
                "buffer": buffer,
                "claims": claims,
            }
        )
        pool_grams[asset_class] = pool_grams.get(asset_class, 0) + buffer
    buffer_batches = []
    for asset_class in sorted(pool_grams):
        if pool_grams[asset_class]:
            buffer_batches.append(
                {"batch_no": next_no, "asset_class": asset_class, "amount": pool_grams[asset_class]}
            )
            next_no += 1
    classes = sorted(pool_grams)
    new_classes = [_class_fields(c) for c in classes if store.asset_class(c) is None]
    issued = sum(b["amount"] for b in batches)
    buffered = sum(pool_grams.values())
    return {
        "claims": sum(b["claims"] for b in batches),
        "grams": issued + buffered,
        "issued_grams": issued,
        "buffer_grams": buffered,
        "new_classes": new_classes,
        "batches": batches,
        "buffer_batches": buffer_batches,
    }


def apply_run(store: Store, request: dict[str, Any], effects: Effects, seq: int) -> None:
    for c in effects["new_classes"]:
        store.insert_asset_class(
            c["id"], c["methodology"], c["version"], c["vintage"], c["region"], seq
        )
    pool = request["bufferPool"]
    rows = [
        (
            b["batch_no"],
            b["asset_class"],
            b["amount"],
            b["to"],
            holder_ref(seq, b["to"], b["asset_class"]),
            seq,
        )
        for b in effects["batches"]
        if b["batch_no"] is not None
    ]
    rows += [
        (b["batch_no"], b["asset_class"], b["amount"], pool, buffer_ref(seq, b["asset_class"]), seq)
        for b in effects["buffer_batches"]
    ]
    store.insert_batches(rows)
    store.mark_approved_issued(seq, credits_to_accounts(request))
    store.insert_issuance_run(
        (
            seq,
            request["runId"],
            pool,
            request["bufferBasisPoints"],
            effects["claims"],
            effects["grams"],
            effects["issued_grams"],
            effects["buffer_grams"],
            len(rows),
        )
    )
