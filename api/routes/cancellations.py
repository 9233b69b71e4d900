"""Cancellations: the operator takes grams out of circulation, with a reason and evidence."""

from __future__ import annotations

from fastapi import APIRouter

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import Cancellation, Page

router = APIRouter(
    prefix="/v1/cancellations", tags=["cancellations"], responses=problem_responses()
)


@router.get(
    "",
    response_model=Page[Cancellation],
    summary="Cancellations in log order",
    responses=ex.ok(
        ex.page(
            {
                "seq": 44,
                "holder": ex.ALICE,
                "asset_class": ex.CLASS,
                "amount": 1_000,
                "reason": "double reported trips",
                "evidence_hash": ex.HASH,
                "serials": ["CN-CIR-SZ_TRANSIT-1.0-2026-3-1-1000"],
            }
        )
    ),
)
def list_cancellations(
    service: ServiceDep, after: After = -1, limit: Limit = 100
) -> Page[Cancellation]:
    rows = service.reader().store.cancellations_page(after, limit)
    items = [Cancellation(**{**r, "serials": str(r["serials"]).split()}) for r in rows]
    return Page(items=items, next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after))
