"""A low-overhead HTTP/1.1 load generator on asyncio protocols (uvloop when installed).

Open loop (`open_loop`): request i is due at start + i / rate whatever the answers do, and
its latency runs from that due time to the last byte of its answer, so time spent queued
behind a slow server (or waiting for a free connection) counts: no coordinated omission.
Closed loop (`closed_loop`): each of N connections sends its next request when the answer to
the last one arrives, for throughput. Requests are bytes built beforehand; connections are
keep-alive with one request in flight each (no pipelining); answers are read by their
Content-Length (the API under test sends no chunked bodies). Each run reports the CPU
seconds this process spent while it ran, so a figure can be told apart from the client's
own limits.
"""

from __future__ import annotations

import asyncio
import re
import resource
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
    uvloop = None

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,12})", re.IGNORECASE)
MAX_CONNECTIONS = 256
CONNECT_TIMEOUT_S = 10.0


def request_bytes(
    method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


@dataclass
class Run:
    """What one load run measured."""

    latencies_s: list[float] = field(default_factory=list)  # of answered requests, sorted
    statuses: dict[int, int] = field(default_factory=dict)  # status -> count
    failed: int = 0  # connection lost or never answered within the time limit
    elapsed_s: float = 0.0  # from the first due time to the last answer
    cpu_s: float = 0.0  # this process's user + system CPU over the run

    def percentile_ms(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        return round(self.latencies_s[max(0, int(len(self.latencies_s) * p) - 1)] * 1000, 2)

    def errors(self, ok: int) -> int:
        return self.failed + sum(n for status, n in self.statuses.items() if status != ok)

    @property
    def answered(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        return round(self.answered / self.elapsed_s, 1) if self.elapsed_s else 0.0

    @property
    def cpu_share(self) -> float:
        """This process's CPU over the run as a share of one core."""
        return round(self.cpu_s / self.elapsed_s, 3) if self.elapsed_s else 0.0


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.body_length: int | None = None
        self.status = 0
        self.since = 0.0  # what the latency of the request in flight runs from
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def send(self, request: bytes, since: float) -> None:
        assert self.transport is not None and not self.busy
        self.busy, self.since = True, since
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.body_length is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[: end + 2])
            del self.buffer[: end + 4]
            length = _CONTENT_LENGTH.search(head)
            if not head.startswith(b"HTTP/1.1 ") or length is None:
                self.connection_lost(ValueError(f"unexpected answer: {head[:80]!r}"))
                return
            self.status = int(head[9:12])
            self.body_length = int(length.group(1))
        if len(self.buffer) < self.body_length:
            return
        body = bytes(self.buffer[: self.body_length])
        del self.buffer[: self.body_length]
        self.body_length = None
        self.busy = False
        self.pool.answered(self, self.status, body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self.pool.lost(self)


class _Pool:
    """Connections to one port, the requests waiting for one, and the tallies of a run."""

    def __init__(self, port: int, run: Run, on_answer: Callable[[int, bytes], None] | None) -> None:
        self.port = port
        self.run = run
        self.on_answer = on_answer
        self.idle: deque[_Connection] = deque()
        self.connections: set[_Connection] = set()
        self.waiting: deque[tuple[bytes, float]] = deque()  # (request, due time)
        self.opening = 0
        self.in_flight = 0
        self.next_request: Callable[[], bytes | None] | None = None  # closed loop
        self.drained = asyncio.Event()
        self.tasks: set[asyncio.Future[None]] = set()

    async def open(self, count: int) -> None:
        await asyncio.gather(*(self._open() for _ in range(count)))

    async def _open(self) -> None:
        self.opening += 1
        try:
            loop = asyncio.get_running_loop()
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), "127.0.0.1", self.port),
                CONNECT_TIMEOUT_S,
            )
        except OSError:
            self.opening -= 1
            if not self.connections and not self.opening:  # nobody left to send the waiting
                self.run.failed += len(self.waiting)
                self.in_flight -= len(self.waiting)
                self.waiting.clear()
                self._check_drained()
            return
        self.opening -= 1
        self.connections.add(connection)
        self._ready(connection)

    def submit(self, request: bytes, due: float) -> None:
        """Send `request` now on an idle connection, or as soon as one is free."""
        self.in_flight += 1
        if self.idle:
            self.idle.popleft().send(request, due)
            return
        self.waiting.append((request, due))
        if len(self.connections) + self.opening < MAX_CONNECTIONS:
            task = asyncio.ensure_future(self._open())
            self.tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self.tasks.discard)

    def _ready(self, connection: _Connection) -> None:
        if self.waiting:
            request, due = self.waiting.popleft()
            connection.send(request, due)
        elif self.next_request is not None and (request := self.next_request()) is not None:
            self.in_flight += 1
            connection.send(request, time.perf_counter())
        else:
            self.idle.append(connection)

    def answered(self, connection: _Connection, status: int, body: bytes) -> None:
        self.run.latencies_s.append(time.perf_counter() - connection.since)
        self.run.statuses[status] = self.run.statuses.get(status, 0) + 1
        if self.on_answer is not None:
            self.on_answer(status, body)
        self.in_flight -= 1
        self._ready(connection)
        self._check_drained()

    def lost(self, connection: _Connection) -> None:
        self.connections.discard(connection)
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.busy:
            connection.busy = False
            self.run.failed += 1
            self.in_flight -= 1
            self._check_drained()

    def _check_drained(self) -> None:
        if self.in_flight == 0:
            self.drained.set()

    def close(self) -> None:
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _finish(pools: Sequence[_Pool], started: float, cpu: float, deadline: float) -> Run:
    """Wait until every pool's requests are answered (or the deadline); the pools share one
    Run."""
    run = pools[0].run
    for pool in pools:
        pool.drained.clear()
        pool._check_drained()
        try:
            await asyncio.wait_for(pool.drained.wait(), max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            run.failed += pool.in_flight
    run.elapsed_s = time.perf_counter() - started
    run.cpu_s = _cpu_s() - cpu
    run.latencies_s.sort()
    for pool in pools:
        pool.close()
    return run


async def _open_loop(
    port: int, requests: Sequence[bytes], rate: float, connections: int, limit_s: float
) -> Run:
    pool = _Pool(port, Run(), None)
    await pool.open(connections)
    cpu = _cpu_s()
    start = time.perf_counter() + 0.05
    deadline = start + limit_s
    sent = 0
    while sent < len(requests):
        now = time.perf_counter()
        if now > deadline:
            break
        # Everything due by now goes out, however late the loop woke (the lateness counts).
        while sent < len(requests) and start + sent / rate <= now:
            pool.submit(requests[sent], start + sent / rate)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    pool.run.failed += len(requests) - sent  # due after the time limit: never sent
    return await _finish([pool], start, cpu, deadline)


async def _closed_loop(
    ports: Sequence[int],
    requests: Sequence[bytes],
    connections: int,
    limit_s: float,
    on_answer: Callable[[int, bytes], None] | None,
) -> Run:
    run = Run()
    pools = [_Pool(port, run, on_answer) for port in ports]
    await asyncio.gather(*(pool.open(connections) for pool in pools))
    pending: Iterator[bytes] = iter(requests)
    cpu = _cpu_s()
    start = time.perf_counter()
    deadline = start + limit_s

    def next_request() -> bytes | None:
        return next(pending, None) if time.perf_counter() < deadline else None

    for pool in pools:
        pool.next_request = next_request
        for connection in list(pool.idle):
            pool.idle.remove(connection)
            pool._ready(connection)
    return await _finish(pools, start, cpu, deadline)


def _run(coroutine: Coroutine[Any, Any, Run]) -> Run:
    if uvloop is not None:
        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def open_loop(
    port: int, requests: Sequence[bytes], rate: float, *, connections: int = 16, limit_s: float
) -> Run:
    """Send `requests` at `rate` a second (request i due at start + i / rate), starting with
    `connections` open and opening more (up to MAX_CONNECTIONS) while all are busy."""
    return _run(_open_loop(port, requests, rate, connections, limit_s))


def closed_loop(
    port: int | Sequence[int],
    requests: Sequence[bytes],
    *,
    connections: int,
    limit_s: float,
    on_answer: Callable[[int, bytes], None] | None = None,
) -> Run:
    """Send `requests` in order over `connections` connections (to each port, when given
    several: the nodes of one service), each sending its next one when its answer arrives;
    latency runs from each send."""
    ports = [port] if isinstance(port, int) else list(port)
    return _run(_closed_loop(ports, requests, connections, limit_s, on_answer))
