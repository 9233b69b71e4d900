"""The FastAPI application: `create_app(settings)` builds it; its lifespan runs the service.

uvicorn --factory api.main:create_app      (settings from CARBON_REGISTRY_* variables)
carbon-registry serve                      (the same, plus the anchoring worker and chain)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.types import Message, Scope

from api.errors import install_handlers
from api.middleware import BodyGuard, RateLimit
from api.routes import (
    accounts,
    backups,
    cancellations,
    checkpoints,
    communities,
    events,
    locks,
    log,
    merchants,
    meta,
    methodologies,
    mrv,
    pages,
    rating,
    reserve,
    retirements,
    sessions,
    supply,
    tokens,
    transfers,
    webhooks,
    writes,
)
from api.service import RegistryService
from api.settings import Settings
from api.web import account, assets, explorer, people

DESCRIPTION = """
An open registry for household carbon reductions (碳普惠). Every state change is an
EIP-712 request signed by the party that authorises it (owner, platform, verifier,
operator) and becomes one event of an RFC 9162 Merkle log anchored on an EVM chain.

* **Writes**: `POST {"message": {...}, "signature": "0x..."}` signed in the domain of
  `GET /v1`; operator-only requests also need `X-Operator-Key`. Send an `Idempotency-Key`
  to retry safely.
* **Personal reads** (claims, refused records, a batch's per-record outcomes, the names
  and household links of people) need a session: sign an EIP-712 `SignIn` and
  `POST /v1/sessions`, then send `Authorization: Bearer <token>`. Public reads show
  aggregates and ledger data.
* **Errors**: RFC 9457 `application/problem+json` with a stable `code` (`GET /v1/problems`).
* **Proofs**: `GET /v1/events/{seq}/proof` for any event; verify it with nothing but the
  bundle and a chain RPC (`GET /v1/chain`).
* **Amounts** are integer grams of CO2e.
"""


# FastAPI tries routers in this order for every request: the hot paths (transfers, proofs)
# first, so that matching them costs least.
ROUTERS = (
    writes.router,
    transfers.router,
    events.router,
    retirements.router,
    accounts.router,
    rating.router,
    supply.classes,
    supply.batches,
    cancellations.router,
    locks.router,
    checkpoints.checkpoints,
    checkpoints.anchors,
    mrv.activity_batches,
    mrv.claims,
    mrv.attestations,
    mrv.issuance_runs,
    methodologies.router,
    reserve.router,
    webhooks.router,
    meta.router,
    meta.metrics_router,
    log.router,
    pages.router,
    tokens.router,
    backups.router,
    sessions.router,
    merchants.router,
    communities.router,
    explorer.router,
    account.router,
    people.router,
    assets.router,
)


async def warm_up(app: FastAPI) -> None:
    """Match every route once (OPTIONS: 405, no handler runs) so that FastAPI builds its
    lazily prepared route state now, not while the first requests wait for it."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            path = re.sub(r"\{[^}]+\}", "0", route.path)
            scope: Scope = {
                "type": "http",
                "method": "OPTIONS",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "headers": [],
                "http_version": "1.1",
                "scheme": "http",
                "server": ("127.0.0.1", 0),
                "client": ("127.0.0.1", 0),
                "root_path": "",
            }
            await app.router(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, service: RegistryService | None = None
) -> FastAPI:
    """The app over the registry at `settings.db`; with `settings.anchoring`, the anchoring
    worker runs inside it (embedded chain by default)."""
    settings = settings or Settings()
    if service is None:
        service = (
            RegistryService.with_anchoring(settings)
            if settings.anchoring
            else RegistryService(settings)
        )
    running = service

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The thread pool bounds the read connections (one a thread): see Settings.read_threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            running.settings.read_threads
        )
        running.start()
        await warm_up(app)
        # ProofFastPath answers proofs on this thread, from this thread's reader.
        running.reader().tree.keep_whole_tree()
        try:
            yield
        finally:
            running.stop()

    app = FastAPI(
        title="Carbon Registry API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.web.assets with local Swagger UI files (no CDN)
        redoc_url=None,  # ReDoc would load from a CDN
    )
    app.state.service = service
    app.state.web_totals = explorer.TotalsCache()
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # Innermost, so that limits, the body guard and CORS apply to what they answer too.
    app.add_middleware(events.ProofFastPath, service=service)
    app.add_middleware(writes.SignedWriteFastPath, service=service)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    if settings.rate_limits:  # before the body guard: a refused client costs no body read
        app.add_middleware(
            RateLimit,
            writes=settings.rate_limit_writes,
            expensive_reads=settings.rate_limit_expensive_reads,
            trust_forwarded_for=settings.trust_forwarded_for,
            nodes=service.nodes.current,
            on_refusal=lambda limit: service.metrics.rate_limited.labels(limit).inc(),
        )
    # Outermost, so that refusals (429, 413) reach browsers with their CORS headers too.
    app.add_middleware(
        CORSMiddleware,  # browser dapps and verification pages of other origins
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=[
            "Content-Type",
            "Idempotency-Key",
            "X-Operator-Key",
            "Last-Event-ID",
            "Authorization",
        ],
        expose_headers=["Idempotent-Replayed", "Retry-After", "Location"],
        max_age=86_400,
    )
    return app
