"""Locks: owner-signed moves of grams out of the registry, to be minted as tokens.

A lock turns grams `locked`; once a checkpoint holding its event is anchored, its proof
bundle (`proof_url`) lets anyone mint the tokens with the token contract's `mintWithProof`
until the lock's `mint_deadline`. A lock still unminted after it can be released
(`POST /v1/locks/{seq}/release`): `GET /v1/locks/{seq}` gives the chain block to cite.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import LockDetail, LockRecord, Page, ReleaseEvidence
from bridge.release import release_evidence
from registry.bridge import mint_deadline
from registry.errors import LockStateError, UnknownLockError
from registry.storage import Store

router = APIRouter(prefix="/v1/locks", tags=["bridge"], responses=problem_responses())


def _lock_fields(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    status = "locked"
    if row["minted_seq"] is not None:
        status = "minted"
    elif row["released_seq"] is not None:
        status = "released"
    return {
        **row,
        "status": status,
        "mint_deadline": mint_deadline(store, row["seq"]),
        "proof_url": f"/v1/events/{row['seq']}/proof",
    }


LOCK_EXAMPLE = {
    "lock_no": 0,
    "seq": 47,
    "owner": ex.ALICE,
    "recipient": ex.BOB,
    "asset_class": ex.CLASS,
    "amount": 2_000,
    "status": "locked",
    "minted_seq": None,
    "released_seq": None,
    "mint_deadline": 1_796_000_000,
    "proof_url": "/v1/events/47/proof",
}


@router.get(
    "",
    response_model=Page[LockRecord],
    summary="Locks in log order (after: a lock number)",
    responses=ex.ok(ex.page(LOCK_EXAMPLE)),
)
def list_locks(service: ServiceDep, after: After = -1, limit: Limit = 100) -> Page[LockRecord]:
    store = service.reader().store
    rows = store.locks_page(after, limit)
    return Page(
        items=[LockRecord.model_validate(_lock_fields(store, r)) for r in rows],
        next_after=next_after(rows, limit, int(rows[-1]["lock_no"]) if rows else after),
    )


@router.get(
    "/{seq}",
    response_model=LockDetail,
    summary="One lock (by its event's seq), with the block to cite to release it",
    responses=ex.ok(
        {
            **LOCK_EXAMPLE,
            "release": None,
            "release_refused": "lock 0 can be minted until 1796000000",
        }
    ),  # fmt: skip
)
def get_lock(service: ServiceDep, seq: Annotated[int, Path(ge=0, le=2**53 - 1)]) -> LockDetail:
    store = service.reader().store
    row = store.lock_by_seq(seq)
    if row is None:
        raise UnknownLockError(f"event {seq} is not a lock")
    fields = _lock_fields(store, row)
    release, refused = None, None
    token = service.anchoring.token if service.anchoring is not None else None
    if fields["status"] != "locked":
        refused = f"the lock is {fields['status']}"
    elif token is None:
        refused = "the bridge is off: no chain to cite"
    else:
        try:
            evidence = release_evidence(
                token, row["lock_no"], fields["mint_deadline"], service.policy.confirmations
            )
            release = ReleaseEvidence.model_validate(evidence)
        except LockStateError as exc:
            refused = str(exc)
    return LockDetail.model_validate({**fields, "release": release, "release_refused": refused})
