"""MRV: platform activity batches, claims (status, rejection reasons), verifier
attestations, issuance runs and claim reversals."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api import examples as ex
from api.access import forbidden, may_read_claim, viewer
from api.deps import After, Limit, ServiceDep, SignedInDep
from api.errors import ApiError
from api.routes import next_after, problem_responses
from api.schemas import (
    ActivityBatch,
    ActivityBatchDetail,
    Attestation,
    Claim,
    ClaimCount,
    ClaimSummary,
    IssuanceRun,
    Page,
    Rejection,
)
from registry import messages
from registry.errors import UnknownClaimError

activity_batches = APIRouter(
    prefix="/v1/activity-batches", tags=["platforms"], responses=problem_responses()
)
claims = APIRouter(prefix="/v1/claims", tags=["claims"], responses=problem_responses())
attestations = APIRouter(
    prefix="/v1/attestations", tags=["verifiers"], responses=problem_responses()
)
issuance_runs = APIRouter(
    prefix="/v1/issuance-runs", tags=["issuance"], responses=problem_responses()
)

AddressQuery = Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")]
EventSeq = Annotated[int, Path(ge=0, le=2**53 - 1, description="Seq of the event")]
# A rejection's cursor packs (seq, idx): idx < 100,000 (at most 5,000 records a batch).
REJECTION_CURSOR = 100_000

BATCH = {
    "platform": ex.PLATFORM,
    "batch_id": "metro_sz-2026-03-02-0",
    "records_hash": ex.HASH,
    "records": 1_000,
    "accepted": 948,
    "rejected": 52,
    "grams": 1_036_114,
    "seq": 12,
}
ATTESTATION = {
    "seq": 30,
    "attestation_id": "att-2026-03-w1",
    "verifier": ex.VERIFIER,
    "approve": True,
    "reason": "",
    "claims": 948,
    "claims_hash": ex.HASH,
}
RUN = {
    "seq": 31,
    "run_id": "run-2026-03-w1",
    "buffer_pool": ex.POOL,
    "buffer_basis_points": 500,
    "claims": 948,
    "grams": 1_036_114,
    "issued_grams": 984_300,
    "buffer_grams": 51_814,
    "batches": 42,
}
REJECTION = {
    "seq": 12,
    "idx": 7,
    "platform": ex.PLATFORM,
    "activity_id": "metro_sz-00000008",
    "account": ex.ALICE,
    "methodology": "SZ_TRANSIT",
    "version": "1.0",
    "start_s": 1_772_411_400,
    "end_s": 1_772_411_460,
    "reason": "implausible",
    "detail": "too fast: 60 s is too short for the distance (metro_m at most 80 km/h)",
}


def _checked(address: str | None) -> str | None:
    return None if address is None else messages.address(address, "address")


# -- activity batches ----------------------------------------------------------------------


@activity_batches.get(
    "",
    response_model=Page[ActivityBatch],
    summary="Platform activity batches in log order (records, accepted, rejected, grams)",
    responses=ex.ok(ex.page(BATCH)),
)
def list_activity_batches(
    service: ServiceDep, after: After = -1, limit: Limit = 100, platform: AddressQuery = None
) -> Page[ActivityBatch]:
    rows = service.reader().store.activity_batches_page(after, limit, _checked(platform))
    return Page(
        items=[ActivityBatch(**r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after),
    )


@activity_batches.get(
    "/{platform}/{batch_id}",
    response_model=ActivityBatchDetail,
    summary="One activity batch with the outcome of every record (claim or rejection reason)",
    description="Personal: only the platform that sent the batch and the operator may read"
    " it (401 without a session, 403 for anyone else). The batch list is public.",
    responses=ex.ok(
        {
            **BATCH,
            "outcomes": [
                {"claim": "C12-0", "grams": 1_093},
                {"reason": "implausible", "detail": "too fast"},
            ],
        }
    ),
)
def get_activity_batch(
    service: ServiceDep,
    caller: SignedInDep,
    platform: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")],
    batch_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")],
) -> ActivityBatchDetail:
    store = service.reader().store
    sender = messages.address(platform, "platform")
    who = viewer(caller, store)
    if not (who.operator or who.is_one_of(sender)):  # outcomes of many people's records
        raise forbidden("the per-record outcomes of a batch")
    row = store.activity_batch(sender, batch_id)
    if row is None:
        raise ApiError("unknown_activity_batch", f"no batch {batch_id!r} of {platform}")
    body = store.event_body(row["seq"])
    assert body is not None  # the batch row and its event commit together
    return ActivityBatchDetail(**row, outcomes=json.loads(body)["payload"]["effects"]["outcomes"])


# -- claims -------------------------------------------------------------------------------


@claims.get(
    "",
    response_model=Page[Claim],
    summary="Reduction claims in log order, by account, status or platform",
    description="Personal: needs a session (or the operator key). Only the claims the caller"
    " may read are listed: those of its account, of its household's members, those its"
    " platform sent; a verifier and the operator see all. Filters narrow that further.",
    responses=ex.ok(ex.page(ex.CLAIM)),
)
def list_claims(
    service: ServiceDep,
    caller: SignedInDep,
    after: After = -1,
    limit: Limit = 100,
    account: AddressQuery = None,
    platform: AddressQuery = None,
    status: Annotated[
        Literal["pending", "approved", "rejected", "issued", "reversed"] | None, Query()
    ] = None,
) -> Page[Claim]:
    store = service.reader().store
    who = viewer(caller, store)
    rows = store.claims_page(
        after,
        limit,
        account=_checked(account),
        status=status,
        platform=_checked(platform),
        visible_to=None if who.reads_all_claims else who.account,
    )
    return Page(
        items=[Claim(**c) for _, c in rows],
        next_after=next_after(rows, limit, rows[-1][0] if rows else after),
    )


@claims.get(
    "/summary",
    response_model=ClaimSummary,
    summary="Claims per status, and records refused at ingestion per reason",
    description="Public aggregates: counts and grams, no per-person rows.",
    responses=ex.ok(
        {
            "claims": {"pending": {"claims": 948, "grams": 1_036_114}},
            "rejected": {"implausible": 12, "double_counted": 40},
        }
    ),
)
def claim_summary(service: ServiceDep) -> ClaimSummary:
    store = service.reader().store
    return ClaimSummary(
        claims={s: ClaimCount(**c) for s, c in store.claim_counts().items()},
        rejected=store.rejection_counts(),
    )


@claims.get(
    "/rejections",
    response_model=Page[Rejection],
    summary="Activity records refused at ingestion, with the reason and its detail",
    description="Personal: needs a session (or the operator key). Only the records the"
    " caller may read are listed: its account's, its household members', those its platform"
    " sent; the operator sees all. Totals per reason are public (`/v1/claims/summary`).",
    responses=ex.ok(ex.page(REJECTION)),
)
def list_rejections(
    service: ServiceDep,
    caller: SignedInDep,
    after: After = -1,
    limit: Limit = 100,
    account: AddressQuery = None,
    platform: AddressQuery = None,
    reason: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
) -> Page[Rejection]:
    cursor = (-1, -1) if after < 0 else divmod(after, REJECTION_CURSOR)
    store = service.reader().store
    who = viewer(caller, store)
    rows = store.rejections_page(
        cursor,
        limit,
        account=_checked(account),
        platform=_checked(platform),
        reason=reason,
        visible_to=None if who.operator else who.account,
    )
    last = rows[-1]["seq"] * REJECTION_CURSOR + rows[-1]["idx"] if rows else after
    return Page(items=[Rejection(**r) for r in rows], next_after=next_after(rows, limit, last))


@claims.get(
    "/{claim_id}",
    response_model=Claim,
    summary="One claim: methodology and its hash, interval, grams, status and verdict",
    description="Personal: the claim's account, its household, the platform that sent it,"
    " a verifier and the operator may read it (401 without a session, 403 for others).",
    responses=ex.ok(ex.CLAIM),
)
def get_claim(
    service: ServiceDep,
    caller: SignedInDep,
    claim_id: Annotated[str, Path(pattern=r"^C[0-9]{1,16}-[0-9]{1,5}$")],
) -> Claim:
    store = service.reader().store
    row = store.claim(claim_id)
    if row is None:
        raise UnknownClaimError(claim_id)
    account = store.account(row["account"])
    household = None if account is None else account["household"]
    if not may_read_claim(viewer(caller, store), row, household):
        raise forbidden(f"claim {claim_id}")
    return Claim(**row)


# -- attestations ---------------------------------------------------------------------------


@attestations.get(
    "",
    response_model=Page[Attestation],
    summary="Verifier attestations in log order",
    responses=ex.ok(ex.page(ATTESTATION)),
)
def list_attestations(
    service: ServiceDep, after: After = -1, limit: Limit = 100, verifier: AddressQuery = None
) -> Page[Attestation]:
    rows = service.reader().store.attestations_page(after, limit, _checked(verifier))
    return Page(
        items=[Attestation(**r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after),
    )


@attestations.get(
    "/{seq}",
    response_model=Attestation,
    summary="One attestation, by the seq of its event",
    responses=ex.ok(ATTESTATION),
)
def get_attestation(service: ServiceDep, seq: EventSeq) -> Attestation:
    rows = service.reader().store.attestations_page(seq - 1, 1)
    if not rows or rows[0]["seq"] != seq:
        raise ApiError("unknown_attestation", f"event {seq} is not an attestation")
    return Attestation(**rows[0])


# -- issuance runs --------------------------------------------------------------------------


@issuance_runs.get(
    "",
    response_model=Page[IssuanceRun],
    summary="Issuance runs in log order: claims issued, grams, buffer share, batches",
    responses=ex.ok(ex.page(RUN)),
)
def list_issuance_runs(
    service: ServiceDep, after: After = -1, limit: Limit = 100
) -> Page[IssuanceRun]:
    rows = service.reader().store.issuance_runs_page(after, limit)
    return Page(
        items=[IssuanceRun(**r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after),
    )


@issuance_runs.get(
    "/{seq}",
    response_model=IssuanceRun,
    summary="One issuance run, by the seq of its event",
    responses=ex.ok(RUN),
)
def get_issuance_run(service: ServiceDep, seq: EventSeq) -> IssuanceRun:
    row = service.reader().store.issuance_run(seq)
    if row is None:
        raise ApiError("unknown_issuance_run", f"event {seq} is not an issuance run")
    return IssuanceRun(**row)
