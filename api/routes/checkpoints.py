"""Signed checkpoints, their anchors on chain, and consistency proofs between them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from anchoring.bundle import anchor_json, consistency_bundle
from anchoring.worker import CheckpointRow
from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.errors import ApiError
from api.routes import next_after, problem_responses
from api.schemas import AnchorJson, Checkpoint, ConsistencyProof, Page

checkpoints = APIRouter(
    prefix="/v1/checkpoints", tags=["checkpoints"], responses=problem_responses()
)
anchors = APIRouter(prefix="/v1/anchors", tags=["checkpoints"], responses=problem_responses())

Size = Annotated[int, Path(ge=1, le=2**53 - 1, description="Tree size of a checkpoint")]


def checkpoint_model(row: CheckpointRow) -> Checkpoint:
    anchored = row.status == "confirmed" and row.tx_hash is not None and row.block_hash is not None
    return Checkpoint(
        **row.signed.to_json(),
        status=row.status,  # type: ignore[arg-type]
        anchor=AnchorJson(**anchor_json(row)) if anchored else None,
        note=row.signed.checkpoint.text(),
    )


@checkpoints.get(
    "",
    response_model=Page[Checkpoint],
    summary="Signed checkpoints (C2SP text in `note`) in tree-size order, with their anchors",
    responses=ex.ok(ex.page(ex.CHECKPOINT)),
)
def list_checkpoints(
    service: ServiceDep, after: After = -1, limit: Limit = 100
) -> Page[Checkpoint]:
    rows = service.reader().checkpoints.page(after, limit)
    return Page(
        items=[checkpoint_model(r) for r in rows],
        next_after=next_after(rows, limit, rows[-1].tree_size if rows else after),
    )


@checkpoints.get(
    "/latest",
    response_model=Checkpoint,
    summary="The latest anchored (confirmed) checkpoint",
    responses=ex.ok(ex.CHECKPOINT),
)
def latest_checkpoint(service: ServiceDep) -> Checkpoint:
    latest = service.reader().checkpoints.latest_confirmed()
    if latest is None:
        raise ApiError("unknown_checkpoint", "no checkpoint is anchored yet")
    return checkpoint_model(latest)


@checkpoints.get(
    "/{tree_size}",
    response_model=Checkpoint,
    summary="The checkpoint of one tree size",
    responses=ex.ok(ex.CHECKPOINT),
)
def get_checkpoint(service: ServiceDep, tree_size: Size) -> Checkpoint:
    row = service.reader().checkpoints.get(tree_size)
    if row is None:
        raise ApiError("unknown_checkpoint", f"no checkpoint of tree size {tree_size}")
    return checkpoint_model(row)


@checkpoints.get(
    "/{old_size}/consistency/{new_size}",
    response_model=ConsistencyProof,
    summary="RFC 9162 consistency proof that anchored checkpoint new_size extends old_size",
    responses=ex.ok(
        {
            "version": 1,
            "old": {"checkpoint": {**ex.CHECKPOINT_JSON, "tree_size": 32}, "anchor": ex.ANCHOR},
            "new": {"checkpoint": ex.CHECKPOINT_JSON, "anchor": ex.ANCHOR},
            "proof": ["ab" * 32],
        }
    ),
)
def consistency(service: ServiceDep, old_size: Size, new_size: Size) -> ConsistencyProof:
    if old_size > new_size:
        raise ApiError("invalid_request", "old_size must not exceed new_size")
    reader = service.reader()
    try:
        bundle = consistency_bundle(reader.tree, reader.checkpoints, old_size, new_size)
    except LookupError as exc:
        raise ApiError("unknown_checkpoint", str(exc)) from exc
    return ConsistencyProof.model_validate(bundle)


@anchors.get(
    "",
    response_model=Page[Checkpoint],
    summary="Anchored checkpoints only: tree size, root, transaction and block on chain",
    responses=ex.ok(ex.page(ex.CHECKPOINT)),
)
def list_anchors(service: ServiceDep, after: After = -1, limit: Limit = 100) -> Page[Checkpoint]:
    rows = service.reader().checkpoints.page(after, limit, confirmed_only=True)
    return Page(
        items=[checkpoint_model(r) for r in rows],
        next_after=next_after(rows, limit, rows[-1].tree_size if rows else after),
    )
