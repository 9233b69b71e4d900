"""Locks: owner-signed moves of grams out of the registry, to be minted as tokens.

A lock turns grams `locked`; once a checkpoint holding its event is anchored, its proof
bundle (`proof_url`) lets anyone mint the tokens with the token contract's `mintWithProof`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from api import examples as ex
from api.deps import After, IdempotencyKey, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import LockRecord, LockRequest, Page, Receipt

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


@router.post(
    "",
    response_model=Receipt,
    status_code=201,
    summary="Lock grams for minting as tokens (owner-signed Lock)",
    responses=ex.ok(ex.RECEIPT, 201),
)
async def lock(
    request: Request,
    service: ServiceDep,
    body: Annotated[
        LockRequest,
        Body(
            openapi_examples=ex.signed(
                {
                    "owner": ex.ALICE,
                    "assetClass": ex.CLASS,
                    "batchNo": 0,
                    "amount": 2_000,
                    "recipient": ex.BOB,
                }
            )
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await service.write(request, "Lock", body, idempotency_key)
