"""Online backups through the running service: the only process that may read the embedded
chain's file while `serve` runs (it holds the file's lock). Operator only."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from anchoring.backup import MANIFEST, backup
from api import examples as ex
from api.deps import IdempotencyKey, OperatorOnly, ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from registry.storage.postgres import is_url

router = APIRouter(prefix="/v1/backups", tags=["operations"], responses=problem_responses())


class BackupRequest(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", examples=["2026-11-30"])


class BackupMade(BaseModel):
    folder: str
    events: int
    last_seq: int
    tree_size: int
    chain_head: int | None
    files: dict[str, str]


@router.post(
    "",
    status_code=201,
    response_model=BackupMade,
    dependencies=[OperatorOnly],
    summary="Copy the registry and its chain into the backup folder, verified (operator)",
    responses=ex.ok(
        {
            "folder": "/var/backups/2026-11-30",
            "events": 1024,
            "last_seq": 1023,
            "tree_size": 1024,
            "chain_head": 88,
            "files": {},
        },
        201,
    ),  # fmt: skip
)
async def make_backup(
    service: ServiceDep,
    request: Annotated[
        BackupRequest,
        Body(
            openapi_examples={"daily": {"summary": "A daily copy", "value": {"name": "2026-11-30"}}}
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> BackupMade | JSONResponse:
    settings = service.settings
    service.check_idempotency_key(idempotency_key)
    if is_url(settings.db):
        raise ApiError(
            "invalid_request",
            "a registry on PostgreSQL is backed up by PostgreSQL's own tools (pg_dump, base"
            " backups), not by this API",
        )
    folder = settings.backup_dir or settings.beside_db(".backups")
    dest = folder / request.name
    if dest.exists():
        # A retry of the same request (its name is its identity) gets the first answer back.
        if idempotency_key is not None and (dest / MANIFEST).is_file():
            made = _made(dest, json.loads((dest / MANIFEST).read_text()))
            return JSONResponse(made.model_dump(), headers={"Idempotent-Replayed": "true"})
        raise ApiError("invalid_request", f"a backup named {request.name!r} exists")
    folder.mkdir(parents=True, exist_ok=True)
    chain = service.anchoring.chain if service.anchoring is not None else None
    manifest = await run_in_threadpool(backup, Path(settings.db), dest, chain)
    return _made(dest, asdict(manifest))


def _made(dest: Path, manifest: dict[str, Any]) -> BackupMade:
    fields = {k: manifest[k] for k in ("events", "last_seq", "tree_size", "chain_head", "files")}
    return BackupMade(folder=str(dest), **fields)
