"""Transfers: owner-signed moves of grams, serial ranges chosen by the range rule."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.errors import ApiError
from api.routes import next_after, problem_responses
from api.schemas import Page, Transfer
from registry.ledger import serial_range
from registry.storage import Store

router = APIRouter(prefix="/v1/transfers", tags=["transfers"], responses=problem_responses())

EVENT_TYPE = "CreditsTransferred"


def transfer_model(store: Store, body: bytes) -> Transfer:
    event: dict[str, Any] = json.loads(body)
    request, effects = event["payload"]["request"], event["payload"]["effects"]
    asset_class = store.asset_class(request["assetClass"])
    assert asset_class is not None  # a transfer names a registered class
    return Transfer.model_validate(
        {
            "seq": event["seq"],
            "time": event["time"],
            "from": request["from"],
            "to": request["to"],
            "asset_class": request["assetClass"],
            "amount": request["amount"],
            "serials": [
                serial_range(asset_class, r["batch_no"], r["first"], r["last"])
                for r in effects["ranges"]
            ],
        }
    )


@router.get(
    "",
    response_model=Page[Transfer],
    response_model_by_alias=True,
    summary="Transfers in log order",
    responses=ex.ok(ex.page(ex.TRANSFER)),
)
def list_transfers(service: ServiceDep, after: After = -1, limit: Limit = 100) -> Page[Transfer]:
    store = service.reader().store
    rows = store.event_rows_of_type(EVENT_TYPE, after, limit)
    return Page(
        items=[transfer_model(store, body) for *_, body in rows],
        next_after=next_after(rows, limit, rows[-1][0] if rows else after),
    )


@router.get(
    "/{seq}",
    response_model=Transfer,
    response_model_by_alias=True,
    summary="One transfer, by the seq of its event",
    responses=ex.ok(ex.TRANSFER),
)
def get_transfer(service: ServiceDep, seq: Annotated[int, Path(ge=0, le=2**53 - 1)]) -> Transfer:
    store = service.reader().store
    rows = store.event_rows_of_type(EVENT_TYPE, seq - 1, 1)
    if not rows or rows[0][0] != seq:
        raise ApiError("unknown_event", f"event {seq} is not a transfer")
    return transfer_model(store, rows[0][3])
