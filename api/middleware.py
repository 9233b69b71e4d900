"""ASGI middleware: bounded request bodies and rate limits, answered with RFC 9457 problems.

`BodyGuard` reads a request's body before any route sees it and refuses, without parsing:
- a body over `max_bytes` (by Content-Length or by counting a chunked body): 413;
- a body whose arrays and objects nest deeper than `MAX_DEPTH`: 400 `malformed_body`.
  The JSON parser recurses once per level; refusing deep documents here means no request
  can exhaust the stack of the process that serves every other client.
The checked body is then replayed to the app unchanged.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_MEDIA_TYPE, problem
from carbon_verifier.jsonsafe import MAX_DEPTH, too_deep

MAX_CONTENT_LENGTH_DIGITS = 18
# Reads that cost the server real work: proofs, the reserve, the event stream.
_EXPENSIVE_READ = re.compile(r"/proof$|/consistency|/reserve|/stream$")


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (
            not length.isdigit()
            or len(length) > MAX_CONTENT_LENGTH_DIGITS
            or int(length) > self.max_bytes
        ):
            await self._refuse(scope, send, 413, "body_too_large", self._too_large())
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._refuse(scope, send, 413, "body_too_large", self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if too_deep(body, MAX_DEPTH):
            detail = f"the body nests arrays or objects more than {MAX_DEPTH} deep"
            await self._refuse(scope, send, 400, "malformed_body", detail)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"request bodies are limited to {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
        extra = {"max_bytes": self.max_bytes} if status == 413 else {}
        body = json.dumps(problem(code, detail, scope.get("path"), **extra)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateLimit:
    """Per-client limits on writes and on expensive reads, refused with a 429 problem.

    A client is its address (or, with `trust_forwarded_for`, the first address of
    X-Forwarded-For, for a service behind a proxy that sets it). Writes (POST, PUT, PATCH,
    DELETE) share one limit; proof bundles, consistency proofs, the reserve and the event
    stream share another; other reads are cheap and unlimited. Limits use the `limits`
    library's moving window, in memory: each API node counts its own clients, and allows
    each its share of the limit, the limit over the `nodes()` alive (`api.nodes`), so that
    a client spread over every node behind a load balancer gets at most the limit in all,
    without a database write a request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        writes: str,
        expensive_reads: str,
        trust_forwarded_for: bool = False,
        nodes: Callable[[], int] = lambda: 1,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.nodes = nodes
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.writes = parse(writes)
        self.reads = parse(expensive_reads)
        self.trust_forwarded_for = trust_forwarded_for
        self.on_refusal = on_refusal

    def _limit(self, method: str, path: str) -> tuple[str, RateLimitItem] | None:
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            return "writes", self.writes
        if method == "GET" and _EXPENSIVE_READ.search(path):
            return "expensive_reads", self.reads
        return None

    def _client(self, scope: Scope) -> str:
        if self.trust_forwarded_for:
            forwarded = dict(scope["headers"]).get(b"x-forwarded-for")
            if forwarded:
                return str(forwarded.split(b",")[0].strip().decode("latin-1"))[:64]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self._limit(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        name, limit = rule
        nodes = self.nodes()
        item = _share(limit, nodes)
        client = self._client(scope)
        if self.limiter.hit(item, name, client):
            await self.app(scope, receive, send)
            return
        if self.on_refusal is not None:
            self.on_refusal(name)
        reset = self.limiter.get_window_stats(item, name, client).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        body = problem(
            "rate_limited",
            f"more than {item} {name.replace('_', ' ')} from {client}"
            + (f" (this node's share of {limit} over {nodes} nodes)" if nodes > 1 else "")
            + f"; retry in {retry_after} s",
            scope.get("path"),
            retry_after_s=retry_after,
        )
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _share(limit: RateLimitItem, nodes: int) -> RateLimitItem:
    """One node's share of a client's limit when `nodes` serve it (at least 1 a period)."""
    if nodes <= 1:
        return limit
    return type(limit)(max(1, limit.amount // nodes), limit.multiples)
