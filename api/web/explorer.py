"""The public explorer: registry totals, the log's events, checkpoints and anchors, asset
classes with their supply, methodologies, batches and serial ranges, retirements, search.

Only aggregates and what the public log holds (addresses are pseudonymous; no names, no
activities). Reads reuse the API's read functions and store reads; the home page's totals
are cached per log size, since they change only when an event is appended.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ServiceDep
from api.routes.checkpoints import checkpoint_model
from api.routes.methodologies import get_methodology, list_methodologies
from api.service import RegistryService
from api.web.render import page
from carbon_verifier.merkle.hasher import leaf_hash
from registry.methodologies import CATALOGUE
from registry.storage.base import STATUSES

router = APIRouter(include_in_schema=False)  # pages, not API

PAGE_SIZE = 50
LEAF_SEARCH = 10_000
MAX_SEQ = 2**53 - 1
Seq = Annotated[int, Path(ge=0, le=MAX_SEQ)]
_CERTIFICATE = re.compile(r"^CERT-[0-9]{10}$")
_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
# CN-CIR-<methodology>-<version>-<vintage>-<batch>-<first>[-<last>], or "<batch> <serial>"
# after an asset class id.
_SERIAL = re.compile(
    r"^CN-CIR-[A-Z0-9_]{1,40}-[0-9.]{1,14}-[0-9]{4}-(?P<batch>[0-9]{1,12})-(?P<first>[0-9]{1,15})"
    r"(?:-[0-9]{1,15})?$"
)
_CLASS_SERIAL = re.compile(
    r"^(?P<cls>[A-Za-z0-9_.-]{1,80})\s+(?P<batch>[0-9]{1,12})\s+(?P<serial>[0-9]{1,15})$"
)


class TotalsCache:
    """The home page's totals, recomputed only when the log has grown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: int | None = None
        self._totals: dict[str, Any] = {}

    def get(self, service: RegistryService, events: int) -> dict[str, Any]:
        with self._lock:
            if self._at != events:
                self._totals = _totals(service)
                self._at = events
            return self._totals


def _totals(service: RegistryService) -> dict[str, Any]:
    store = service.reader().store
    supply = store.class_supply()
    summed = {k: sum(c[k] for c in supply.values()) for k in ("issued", "buffer", "batches")}
    summed |= {s: sum(c[s] for c in supply.values()) for s in STATUSES}
    (accounts,) = store.conn.execute("SELECT COUNT(*) FROM accounts").fetchone()
    claims = store.claim_counts()
    return {
        "supply": summed,
        "classes": len(supply),
        "accounts": int(accounts),
        "claims": sum(c["claims"] for c in claims.values()),
        "claim_grams": sum(c["grams"] for c in claims.values()),
    }


def _events(service: RegistryService, after: int, limit: int) -> list[dict[str, Any]]:
    rows = service.reader().store.event_rows(after, limit)
    return [{"seq": seq, "type": kind, "time": time} for seq, kind, time, _ in rows]


def _tx_link(service: RegistryService, tx_hash: str) -> str | None:
    template = service.settings.chain_explorer_tx_url
    return None if template is None else template.replace("{tx}", tx_hash)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, service: ServiceDep) -> Response:
    events = service.reader().store.event_count()
    cache: TotalsCache = request.app.state.web_totals
    latest = service.reader().checkpoints.latest_confirmed()
    return page(
        request,
        "home.html",
        events=events,
        totals=cache.get(service, events),
        latest=_events(service, max(-1, events - 11), 10)[::-1],
        checkpoint=None if latest is None else checkpoint_model(latest),
    )


@router.get("/explorer/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    service: ServiceDep,
    before: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> Response:
    count = service.reader().store.event_count()
    end = count if before is None else min(before, count)  # events below `end`, newest first
    start = max(0, end - PAGE_SIZE)
    rows = _events(service, start - 1, end - start)[::-1]
    return page(
        request,
        "events.html",
        rows=rows,
        count=count,
        older=start if start > 0 else None,
        newer=end + PAGE_SIZE if end < count else None,
    )


@router.get("/explorer/events/{seq}", response_class=HTMLResponse)
def event_page(request: Request, service: ServiceDep, seq: Seq) -> Response:
    body = service.reader().store.event_body(seq)
    if body is None:
        return page(request, "not_found.html", status_code=404, what=f"#{seq}")
    event = json.loads(body)
    return page(
        request,
        "event.html",
        seq=seq,
        event_type=event.get("type", ""),
        time=event.get("time", ""),
        canonical=body.decode("utf-8"),
        pretty=json.dumps(event, indent=2, ensure_ascii=False),
        leaf="0x" + leaf_hash(body).hex(),
        count=service.reader().store.event_count(),
    )


@router.get("/explorer/checkpoints", response_class=HTMLResponse)
def checkpoints_page(
    request: Request,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
) -> Response:
    rows = [checkpoint_model(r) for r in service.reader().checkpoints.page(after, PAGE_SIZE)]
    links = {c.tree_size: _tx_link(service, c.anchor.tx_hash) for c in rows if c.anchor}
    return page(
        request,
        "checkpoints.html",
        rows=rows,
        links=links,
        more=rows[-1].tree_size if len(rows) == PAGE_SIZE else None,
    )


@router.get("/explorer/classes", response_class=HTMLResponse)
def classes_page(request: Request, service: ServiceDep) -> Response:
    store = service.reader().store
    supply = store.class_supply()
    classes = [store.asset_class(class_id) or {"id": class_id} for class_id in sorted(supply)]
    return page(request, "classes.html", classes=classes, supply=supply, statuses=STATUSES)


@router.get("/explorer/methodologies", response_class=HTMLResponse)
def methodologies_page(request: Request) -> Response:
    return page(request, "methodologies.html", rows=list_methodologies())


@router.get("/explorer/methodologies/{methodology_id}/{version}", response_class=HTMLResponse)
def methodology_page(
    request: Request,
    methodology_id: Annotated[str, Path(pattern=r"^[A-Z0-9_]{1,40}$")],
    version: Annotated[str, Path(pattern=r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$")],
) -> Response:
    md = CATALOGUE.get((methodology_id, version))
    if md is None:
        return page(request, "not_found.html", status_code=404, what=f"{methodology_id} {version}")
    detail = get_methodology(methodology_id, version)
    versions = sorted(v for (i, v) in CATALOGUE if i == methodology_id)
    return page(
        request,
        "methodology.html",
        md=detail,
        terms=md.terms,
        rules=[r.canonical() for r in md.rules],
        notes=md.notes,
        versions=versions,
    )


@router.get("/explorer/batches", response_class=HTMLResponse)
def batches_page(
    request: Request,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    asset_class: Annotated[
        str | None, Query(alias="class", pattern=r"^[A-Za-z0-9_.-]{1,80}$")
    ] = None,
) -> Response:
    store = service.reader().store
    rows = store.batches_page(asset_class, after, PAGE_SIZE)
    totals = store.batches_status_totals([r["batch_no"] for r in rows])
    return page(
        request,
        "batches.html",
        rows=rows,
        totals=totals,
        statuses=STATUSES,
        asset_class=asset_class,
        more=rows[-1]["batch_no"] if len(rows) == PAGE_SIZE else None,
    )


@router.get("/explorer/retirements", response_class=HTMLResponse)
def retirements_page(
    request: Request,
    service: ServiceDep,
    after: Annotated[int, Query(ge=-1, le=MAX_SEQ)] = -1,
) -> Response:
    rows = service.reader().store.retirements_page(after, PAGE_SIZE)
    return page(
        request,
        "retirements.html",
        rows=rows,
        more=rows[-1]["seq"] if len(rows) == PAGE_SIZE else None,
    )


@router.get("/explorer/search", response_class=HTMLResponse)
def search(
    request: Request,
    service: ServiceDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A certificate id, a serial, an event number, an anchor's transaction hash or an
    event's leaf hash."""
    text = q.strip()
    store = service.reader().store
    if _CERTIFICATE.fullmatch(text) and store.retirement(text) is not None:
        return RedirectResponse(f"/v1/retirements/{text}/certificate.html", status_code=303)
    if text.isascii() and text.isdigit() and int(text) < store.event_count():
        return RedirectResponse(f"/explorer/events/{int(text)}", status_code=303)
    serial = _serial_lookup(service, text)
    if serial is not None:
        return page(request, "serial.html", query=text, **serial)
    if _HASH.fullmatch(text):
        wanted = bytes.fromhex(text.removeprefix("0x"))
        for row in service.reader().checkpoints.all():
            if row.tx_hash == wanted:
                return RedirectResponse(
                    f"/explorer/checkpoints?after={row.tree_size - 1}", status_code=303
                )
        seq = _event_by_leaf(service, wanted)
        if seq is not None:
            return RedirectResponse(f"/explorer/events/{seq}", status_code=303)
    return page(request, "not_found.html", status_code=404, what=text, query=text)


def _serial_lookup(service: RegistryService, text: str) -> dict[str, Any] | None:
    store = service.reader().store
    match = _SERIAL.fullmatch(text)
    if match is not None:
        batch_no, serial = int(match["batch"]), int(match["first"])
    else:
        match = _CLASS_SERIAL.fullmatch(text)
        if match is None:
            return None
        batch_no, serial = int(match["batch"]), int(match["serial"])
    batch = store.batch(batch_no)
    if batch is None or (match.groupdict().get("cls") not in (None, batch["asset_class"])):
        return None
    holding = store.holding_containing(batch_no, serial)
    if holding is None:
        return None
    return {"batch": batch, "holding": holding._asdict(), "serial": serial}


def _event_by_leaf(service: RegistryService, wanted: bytes) -> int | None:
    """The event among the latest `LEAF_SEARCH` whose leaf hash is `wanted` (the store
    keeps no index of leaf hashes; older events are found by number)."""
    store = service.reader().store
    count = store.event_count()
    for seq, _, _, body in store.event_rows(max(-1, count - 1 - LEAF_SEARCH)):
        if leaf_hash(body) == wanted:
            return seq
    return None
