"""Locks: owner-signed moves of grams out of the registry, to be minted as tokens.

A lock turns grams `locked`; once a checkpoint holding its event is anchored, its proof
bundle (`proof_url`) lets anyone mint the tokens with the token contract's `mintWithProof`.
"""

from __future__ import annotations

from fastapi import APIRouter

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import LockRecord, Page

router = APIRouter(prefix="/v1/locks", tags=["bridge"], responses=problem_responses())


def lock_record(row: dict[str, object]) -> LockRecord:
    return LockRecord.model_validate({**row, "proof_url": f"/v1/events/{row['seq']}/proof"})


@router.get(
    "",
    response_model=Page[LockRecord],
    summary="Locks in log order (after: a lock number)",
    responses=ex.ok(
        ex.page(
            {
                "lock_no": 0,
                "seq": 47,
                "owner": ex.ALICE,
                "recipient": ex.BOB,
                "asset_class": ex.CLASS,
                "amount": 2_000,
                "proof_url": "/v1/events/47/proof",
            }
        )
    ),
)
def list_locks(service: ServiceDep, after: After = -1, limit: Limit = 100) -> Page[LockRecord]:
    rows = service.reader().store.locks_page(after, limit)
    return Page(
        items=[lock_record(r) for r in rows],
        next_after=next_after(rows, limit, int(rows[-1]["lock_no"]) if rows else after),
    )
