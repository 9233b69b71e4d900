"""The event log: cursor-paginated events, one event, its proof bundle, a live stream."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.errors import ApiError
from api.routes import next_after, problem_responses
from api.schemas import Event, Page, ProofBundle
from api.service import RegistryService

router = APIRouter(prefix="/v1/events", tags=["events"], responses=problem_responses())

MAX_SEQ = 2**53 - 1
Seq = Annotated[int, Path(ge=0, le=MAX_SEQ, description="Sequence number of the event")]
_SEQ = re.compile(r"[0-9]{1,16}")  # ASCII digits only: str.isdigit() also takes "²"
STREAM_BATCH = 200
STREAM_POLL_S = 0.05
KEEPALIVE_S = 15.0
STREAM_RETRY_S = 0.5


@router.get(
    "",
    response_model=Page[Event],
    summary="Events in log order, after a cursor (pass next_after as after for the next page)",
    responses=ex.ok(ex.page(ex.EVENT, next_after=42)),
)
def list_events(
    service: ServiceDep,
    after: After = -1,
    limit: Limit = 100,
    type: Annotated[  # noqa: A002 - the query parameter's public name
        str | None, Query(pattern=r"^[A-Za-z]{1,64}$", description="Only events of this type.")
    ] = None,
) -> Page[Event]:
    store = service.reader().store
    rows = (
        list(store.event_rows(after, limit))
        if type is None
        else store.event_rows_of_type(type, after, limit)
    )
    items = [Event.model_validate(json.loads(body)) for _, _, _, body in rows]
    return Page(items=items, next_after=next_after(rows, limit, rows[-1][0] if rows else after))


@router.get(
    "/stream",
    response_class=StreamingResponse,
    response_model=None,
    summary="Live events as Server-Sent Events, resumable with Last-Event-ID",
    description="Each message has `id` (the seq), `event` (the type) and `data` (the event's "
    "canonical JSON). Reconnect with the `Last-Event-ID` header (or `after`) to resume without "
    "gaps. The stream ends after `max_events` events or the server's time limit.",
    responses=ex.ok(
        'id: 42\nevent: CreditsTransferred\ndata: {"payload":{},"seq":42,"type":"CreditsTransferred"}\n\n',
        media_type="text/event-stream",
    ),
)
async def stream_events(
    service: ServiceDep,
    after: Annotated[
        int | None, Query(ge=-1, le=2**53 - 1, description="Start after this seq.")
    ] = None,
    max_events: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="Close after this many.")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    if last_event_id is not None:
        if not _SEQ.fullmatch(last_event_id) or int(last_event_id) > MAX_SEQ:
            raise ApiError(
                "invalid_request",
                f"Last-Event-ID must be an event seq, 0..{MAX_SEQ} in ASCII digits",
            )
        start = int(last_event_id)
    elif after is not None:
        start = after
    else:
        start = service.hub.last_seq
    return StreamingResponse(
        _stream(service, start, max_events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _fetch(service: RegistryService, after: int) -> list[tuple[int, str, str, bytes]]:
    return list(service.reader().store.event_rows(after, STREAM_BATCH))


async def _stream(
    service: RegistryService, start: int, max_events: int | None
) -> AsyncIterator[str]:
    last, sent = start, 0
    deadline = time.monotonic() + service.settings.sse_max_seconds
    quiet_since = time.monotonic()
    yield "retry: 1000\n\n"
    while time.monotonic() < deadline:
        if service.hub.last_seq <= last:
            if time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_POLL_S)
            continue
        try:
            rows = await anyio.to_thread.run_sync(_fetch, service, last)
        except sqlite3.Error:  # busy or failing for a moment: the stream waits, then resumes
            await asyncio.sleep(STREAM_RETRY_S)
            continue
        for seq, event_type, _, body in rows:
            yield f"id: {seq}\nevent: {event_type}\ndata: {body.decode()}\n\n"
            last, sent = seq, sent + 1
            if max_events is not None and sent >= max_events:
                return
        quiet_since = time.monotonic()
        if not rows:  # another writer's count ran ahead of what this connection sees yet
            await asyncio.sleep(STREAM_POLL_S)


@router.get(
    "/{seq}",
    response_model=Event,
    operation_id="get_event",
    summary="One event of the log",
    responses=ex.ok(ex.EVENT),
)
def get_event(service: ServiceDep, seq: Seq) -> Event:
    body = service.reader().store.event_body(seq)
    if body is None:
        raise ApiError("unknown_event", f"no event {seq} in the log")
    return Event.model_validate(json.loads(body))


@router.get(
    "/{seq}/proof",
    response_model=ProofBundle,
    operation_id="get_proof",
    response_model_exclude_unset=True,
    summary="Proof bundle (version 1) of an event; pending with the expected time until anchored",
    responses={
        200: {
            "content": {
                "application/json": {
                    "examples": {
                        "anchored": {"summary": "Anchored", "value": ex.BUNDLE},
                        "pending": {"summary": "Not anchored yet", "value": ex.PENDING_BUNDLE},
                    }
                }
            }
        }
    },
)
def get_proof(service: ServiceDep, seq: Seq) -> JSONResponse:
    # The hot read of verifiers: the bundle goes out as built, without a second validation.
    # (ProofFastPath answers it first; this route declares it and answers what that passes on.)
    return JSONResponse(service.bundle(seq))


_PROOF_PATH = re.compile(r"/v1/events/([0-9]{1,16})/proof")


class ProofFastPath:
    """ASGI middleware: `GET /v1/events/{seq}/proof` of an event in the log, answered with
    the same bundle and headers as `get_proof` but without FastAPI's routing, dependencies
    and thread hop, which cost more than building the bundle (issue 16: verifiers' hot read).
    Any other request, and a seq out of range or not in the log, goes on to the app, whose
    route answers it (errors included). It sits inside the rate limit and CORS middleware."""

    def __init__(self, app: ASGIApp, service: RegistryService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            match = _PROOF_PATH.fullmatch(scope["path"])
            if match is not None and int(match[1]) <= MAX_SEQ:
                try:
                    # On the event loop: a few indexed reads of a WAL database, never waiting
                    # for the writer, cost less than handing them to a worker thread.
                    bundle = self.service.bundle(int(match[1]))
                except ApiError:
                    pass
                else:
                    await JSONResponse(bundle)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
