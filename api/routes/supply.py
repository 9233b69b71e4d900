"""Asset classes and issuance batches with their supply: what an exchange needs to list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import (
    AssetClass,
    Batch,
    BatchDetail,
    BatchHolding,
    Page,
    Supply,
)
from api.service import RegistryService
from registry.errors import UnknownAssetClassError, UnknownBatchError
from registry.ledger import serial_range
from registry.storage import STATUSES

classes = APIRouter(
    prefix="/v1/asset-classes", tags=["asset classes"], responses=problem_responses()
)
batches = APIRouter(prefix="/v1/batches", tags=["batches"], responses=problem_responses())

ClassPath = Annotated[str, Path(min_length=1, max_length=500, examples=[ex.CLASS])]


def is_buffer(reference: str) -> bool:
    """Issuance runs name buffer-pool batches `run-<seq>:buffer:<class>`."""
    parts = reference.split(":")
    return reference.startswith("run-") and len(parts) == 3 and parts[1] == "buffer"


def batch_model(store_class: dict[str, Any], row: dict[str, Any], totals: dict[str, int]) -> Batch:
    buffer = is_buffer(row["claim_id"])
    return Batch(
        batch_no=row["batch_no"],
        asset_class=row["asset_class"],
        amount=row["amount"],
        issued_to=row["issued_to"],
        reference=row["claim_id"],
        issued_seq=row["issued_seq"],
        buffer=buffer,
        serials=serial_range(store_class, row["batch_no"], 1, row["amount"]),
        supply=Supply(issued=row["amount"], buffer=row["amount"] if buffer else 0, **totals),
    )


def _class_model(row: dict[str, Any], supply: dict[str, Any]) -> AssetClass:
    figures = supply.get(row["id"]) or {
        "batches": 0,
        "issued": 0,
        "buffer": 0,
        **dict.fromkeys(STATUSES, 0),
    }
    return AssetClass(
        **row,
        batches=figures["batches"],
        supply=Supply(**{k: v for k, v in figures.items() if k != "batches"}),
    )


@classes.get(
    "",
    response_model=list[AssetClass],
    summary="Asset classes (methodology x version x vintage x region) with their supply",
    responses=ex.ok([ex.ASSET_CLASS]),
)
def list_asset_classes(service: ServiceDep) -> list[AssetClass]:
    store = service.reader().store
    supply = store.class_supply()
    return [_class_model(row, supply) for row in store.asset_classes()]


@classes.get(
    "/{class_id}",
    response_model=AssetClass,
    summary="One asset class with its supply (issued, active, retired, cancelled, locked, buffer)",
    responses=ex.ok(ex.ASSET_CLASS),
)
def get_asset_class(service: ServiceDep, class_id: ClassPath) -> AssetClass:
    store = service.reader().store
    row = store.asset_class(class_id)
    if row is None:
        raise UnknownAssetClassError(class_id)
    return _class_model(row, store.class_supply())


def _batch_page(
    service: RegistryService, asset_class: str | None, after: int, limit: int
) -> Page[Batch]:
    store = service.reader().store
    rows = store.batches_page(asset_class, after, limit)
    totals = store.batches_status_totals([r["batch_no"] for r in rows])
    items = []
    for row in rows:
        klass = store.asset_class(row["asset_class"])
        assert klass is not None
        items.append(batch_model(klass, row, totals[row["batch_no"]]))
    return Page(
        items=items, next_after=next_after(rows, limit, rows[-1]["batch_no"] if rows else after)
    )


@classes.get(
    "/{class_id}/batches",
    response_model=Page[Batch],
    summary="Issuance batches of one asset class, with supply per batch",
    responses=ex.ok(ex.page(ex.BATCH)),
)
def list_class_batches(
    service: ServiceDep, class_id: ClassPath, after: After = -1, limit: Limit = 100
) -> Page[Batch]:
    if service.reader().store.asset_class(class_id) is None:
        raise UnknownAssetClassError(class_id)
    return _batch_page(service, class_id, after, limit)


@batches.get(
    "",
    response_model=Page[Batch],
    summary="Issuance batches with supply: issued = active + retired + cancelled + locked",
    responses=ex.ok(ex.page(ex.BATCH)),
)
def list_batches(
    service: ServiceDep,
    after: After = -1,
    limit: Limit = 100,
    asset_class: Annotated[
        str | None, Query(max_length=500, description="Only this class.")
    ] = None,
) -> Page[Batch]:
    return _batch_page(service, asset_class, after, limit)


@batches.get(
    "/{batch_no}",
    response_model=BatchDetail,
    summary="One batch: supply and every serial range with its holder and status",
    responses=ex.ok({**ex.BATCH, "holdings": [{**ex.HOLDING, "owner": ex.ALICE}]}),
)
def get_batch(
    service: ServiceDep, batch_no: Annotated[int, Path(ge=1, le=2**53 - 1)]
) -> BatchDetail:
    store = service.reader().store
    row = store.batch(batch_no)
    if row is None:
        raise UnknownBatchError(f"no batch {batch_no}")
    klass = store.asset_class(row["asset_class"])
    assert klass is not None
    batch = batch_model(klass, row, store.batch_status_totals(batch_no))
    holdings = [
        BatchHolding(
            asset_class=h.asset_class,
            batch_no=h.batch_no,
            first=h.first,
            last=h.last,
            amount=h.amount,
            status=h.status,  # type: ignore[arg-type]
            ref=h.ref,
            serials=serial_range(klass, h.batch_no, h.first, h.last),
            owner=h.owner,
        )
        for h in store.holdings_of_batch(batch_no)
    ]
    return BatchDetail(**batch.model_dump(), holdings=holdings)
