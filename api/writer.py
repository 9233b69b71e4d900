"""The single writer: signed requests from every HTTP request, committed in groups.

SQLite takes one writer at a time, and a commit (an fsync with `synchronous=FULL`) costs far
more than applying a transfer. So every write request is queued to one thread that owns the
writing connection; it takes whatever requests are waiting (up to `group_commit_max`) and
commits them in one transaction (`Registry.execute_prepared`), each request in its own
savepoint, so each still gets its own receipt or its own refusal. It takes the next group
before committing one, so that the next group's signers are recovered by a worker process
(`registry.recovery`) on another core meanwhile.

Idempotency-Keys are checked and stored by this thread inside the same transaction as the
requests' effects: the stored response and the effects commit together, so a retried
request (same key, same body) gets the first response back and never takes effect twice,
even across a crash; the same key with another body is refused.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from api.errors import TRANSIENT_RETRY_AFTER_S, problem, registry_problem
from api.metrics import Metrics
from api.settings import Settings
from registry.errors import RegistryError
from registry.ledger import Prepared, Receipt, Registry
from registry.loops import LoopHealth
from registry.recovery import SignerRecovery
from registry.storage import Store
from registry.storage.service import IdempotencyTable, StoredResponse

log = logging.getLogger("carbon_registry.api.writer")

PRUNE_EVERY_S = 300.0
# A write group that meets a transient SQLite error is tried this many times, the delay
# doubling from the first (about 3 s in all), before its requests get a 503.
TRANSIENT_ATTEMPTS = 7
TRANSIENT_FIRST_DELAY_S = 0.05

Render = Callable[[Receipt], dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to one write request."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class WriteJob:
    kind: str
    message: dict[str, Any]
    signature: str
    render: Render
    instance: str
    request_hash: str
    idempotency_key: str | None = None
    private: dict[str, Any] | None = None  # personal data beside the request (never logged)
    future: Future[Outcome] = field(default_factory=Future)


class WriterStoppedError(RuntimeError):
    pass


_STOP = object()


class Writer:
    """One thread, one connection, group commit."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_commit: Callable[[int], None],
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        recovery: SignerRecovery | None = None,
    ) -> None:
        """`recovery`, the signature worker the writer thread then owns, defaults to a new one
        when `settings.signature_worker` is on."""
        self.settings = settings
        self.on_commit = on_commit
        self.metrics = metrics
        self.clock = clock
        if recovery is None and settings.signature_worker:
            recovery = SignerRecovery()
        self._recovery = recovery
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="registry-writer", daemon=True)
        self._ready = threading.Event()
        self._stopped = False
        self._startup_error: BaseException | None = None
        self.health = LoopHealth("writer")

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def queue_depth(self) -> int:
        return self._queue.qsize()

    async def submit(self, job: WriteJob) -> Outcome:
        if self._stopped or not self._thread.is_alive():
            raise WriterStoppedError("the writer is not running")
        began = time.perf_counter()
        self._queue.put(job)
        try:
            return await asyncio.wrap_future(job.future)
        finally:
            if self.metrics is not None:
                self.metrics.write_seconds.observe(time.perf_counter() - began)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            store = Store(
                self.settings.db, synchronous=self.settings.sqlite_synchronous, create=False
            )
            registry = Registry(store, self.clock)
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        self.health.succeeded()
        idempotency = IdempotencyTable(store.conn)
        recovery = self._recovery
        last_prune = 0.0
        # The group taken but not yet committed: its signers are recovered by `recovery`'s
        # worker while `current`, the group before it, commits.
        waiting: tuple[list[WriteJob], list[Prepared | RegistryError] | None] | None = None
        current = None
        stop = False
        try:
            while True:
                batch, stop = ([], True) if stop else self._take(block=waiting is None)
                prepared = self._prepare(registry, recovery, batch) if batch else None
                current, waiting = waiting, (batch, prepared) if batch else None
                if current is not None:
                    self._collect_signers(current[1])
                    self._process(registry, idempotency, *current)
                    current = None
                    last_prune = self._prune_when_due(store, idempotency, last_prune)
                if stop and waiting is None:
                    break
        finally:
            self.health.stopped()
            for group in (current, waiting):
                if group is not None:
                    self._fail(group[0])
            self._fail_waiting()
            if recovery is not None:
                recovery.close()
            store.close()

    def _prune_when_due(
        self, store: Store, idempotency: IdempotencyTable, last_prune: float
    ) -> float:
        """Drop expired Idempotency-Keys every PRUNE_EVERY_S; when it last tried."""
        now = self.clock()
        if now - last_prune <= PRUNE_EVERY_S:
            return last_prune
        try:
            with store.write():
                idempotency.prune(now - self.settings.idempotency_ttl_s)
        except sqlite3.Error:
            log.exception("pruning old Idempotency-Keys failed; trying later")
        return now

    def _collect_signers(self, prepared: list[Prepared | RegistryError] | None) -> None:
        """Wait for the worker's answers now, before the write lock (a slow worker must not
        hold up other writers), and count them."""
        signed = [item for item in prepared or () if isinstance(item, Prepared)]
        by_worker = sum(item.recovered_signer() is not None for item in signed)
        if self.metrics is not None:
            self.metrics.signers_recovered.labels("worker").inc(by_worker)
            self.metrics.signers_recovered.labels("writer").inc(len(signed) - by_worker)

    def _take(self, *, block: bool) -> tuple[list[WriteJob], bool]:
        """The jobs waiting, up to `group_commit_max` (when `block`, waiting for the first),
        and whether the stop sign came after them."""
        batch: list[WriteJob] = []
        while len(batch) < self.settings.group_commit_max:
            try:
                item = self._queue.get(block=block and not batch)
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    @staticmethod
    def _prepare(
        registry: Registry, recovery: SignerRecovery | None, batch: list[WriteJob]
    ) -> list[Prepared | RegistryError] | None:
        """Check the jobs' fields and start recovering their signers; None if something
        unexpected broke: `_process` then runs the group without the worker, and a job that
        breaks it again is isolated."""
        try:
            return registry.prepare_many(
                ((j.kind, j.message, j.signature, j.private) for j in batch), recovery
            )
        except Exception:
            log.exception("preparing a write group failed; its requests go one by one")
            return None

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, WriteJob):
                self._fail([item])

    @staticmethod
    def _fail(jobs: list[WriteJob]) -> None:
        for job in jobs:
            _settle(job, WriterStoppedError("the writer stopped"))

    def _process(
        self,
        registry: Registry,
        idempotency: IdempotencyTable,
        batch: list[WriteJob],
        prepared: list[Prepared | RegistryError] | None,
    ) -> None:
        if self.metrics is not None:
            self.metrics.group_commit_size.observe(len(batch))
        try:
            outcomes = self._commit_retrying(registry, idempotency, batch, prepared)
        except sqlite3.OperationalError as exc:  # still busy or failing: nothing committed
            self.health.failed(exc, None)
            body = problem(
                "unavailable",
                f"the registry database is not accepting writes ({exc}); retry later",
                retry_after_s=TRANSIENT_RETRY_AFTER_S,
            )
            for job in batch:
                _settle(job, Outcome(503, {**body, "instance": job.instance}))
            return
        except Exception as exc:
            if len(batch) > 1:  # find the one request that broke the group; commit the rest
                for i, job in enumerate(batch):
                    self._process(
                        registry, idempotency, [job], None if prepared is None else [prepared[i]]
                    )
                return
            log.exception("write request failed unexpectedly")
            _settle(batch[0], exc)
            return
        seqs = [int(o.body["seq"]) for o in outcomes if o.ok and "seq" in o.body]
        for job, outcome in zip(batch, outcomes, strict=True):
            _settle(job, outcome)
        if seqs:
            self.on_commit(max(seqs))

    def _commit_retrying(
        self,
        registry: Registry,
        idempotency: IdempotencyTable,
        batch: list[WriteJob],
        prepared: list[Prepared | RegistryError] | None,
    ) -> list[Outcome]:
        """`_commit`, tried again while SQLite reports a transient error (busy, locked, an I/O
        error): each failed attempt rolled back whole, so trying again is safe."""
        delay = TRANSIENT_FIRST_DELAY_S
        for _ in range(TRANSIENT_ATTEMPTS - 1):
            try:
                outcomes = self._commit(registry, idempotency, batch, prepared)
            except sqlite3.OperationalError as exc:
                self.health.failed(exc, delay)
                log.warning("write group failed (%s); retrying in %.2f s", exc, delay)
                time.sleep(delay)
                delay *= 2
                continue
            self.health.succeeded()
            return outcomes
        outcomes = self._commit(registry, idempotency, batch, prepared)
        self.health.succeeded()
        return outcomes

    def _commit(
        self,
        registry: Registry,
        idempotency: IdempotencyTable,
        batch: list[WriteJob],
        prepared: list[Prepared | RegistryError] | None,
    ) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        first_of_key: dict[str, int] = {}
        copies: list[tuple[int, int]] = []  # (index, index of the first job with its key)
        todo: list[int] = []
        now = self.clock()
        with registry.store.write():
            for i, job in enumerate(batch):
                key = job.idempotency_key
                if key is None:
                    todo.append(i)
                    continue
                stored = idempotency.get(key)
                earlier = first_of_key.get(key)
                if stored is not None:
                    outcomes[i] = _answer_stored(job, stored)
                elif earlier is not None:
                    if batch[earlier].request_hash == job.request_hash:
                        copies.append((i, earlier))
                    else:
                        outcomes[i] = _key_reused(job)
                else:
                    first_of_key[key] = i
                    todo.append(i)
            for i, result in zip(todo, self._execute(registry, batch, prepared, todo), strict=True):
                job = batch[i]
                if isinstance(result, RegistryError):
                    body = registry_problem(result, job.instance, write=True)
                    outcome = Outcome(int(body["status"]), body)
                else:
                    outcome = Outcome(201, job.render(result))
                # The registry's answer, refusal or receipt, is the answer to this key for
                # good (IETF Idempotency-Key draft): a retry gets it back and runs nothing.
                if job.idempotency_key is not None:
                    idempotency.put(
                        job.idempotency_key,
                        StoredResponse(job.request_hash, outcome.status, outcome.body),
                        now,
                    )
                outcomes[i] = outcome
            for i, earlier in copies:
                first = outcomes[earlier]
                assert first is not None
                outcomes[i] = Outcome(first.status, first.body, replayed=True)
        return [o for o in outcomes if o is not None]

    @staticmethod
    def _execute(
        registry: Registry,
        batch: list[WriteJob],
        prepared: list[Prepared | RegistryError] | None,
        todo: list[int],
    ) -> list[Receipt | RegistryError]:
        """Run the jobs numbered `todo` in order, in one group (each in its own savepoint)."""
        if prepared is None:
            jobs = [batch[i] for i in todo]
            return registry.execute_many((j.kind, j.message, j.signature, j.private) for j in jobs)
        return registry.execute_prepared([prepared[i] for i in todo])


def _settle(job: WriteJob, answer: Outcome | BaseException) -> None:
    """Answer a job, unless its client went away (which cancels its future, at any time)."""
    try:
        if isinstance(answer, BaseException):
            job.future.set_exception(answer)
        else:
            job.future.set_result(answer)
    except InvalidStateError:
        pass


def _answer_stored(job: WriteJob, stored: StoredResponse) -> Outcome:
    if stored.request_hash != job.request_hash:
        return _key_reused(job)
    return Outcome(stored.status, stored.body, replayed=True)


def _key_reused(job: WriteJob) -> Outcome:
    body = problem(
        "idempotency_key_reused",
        f"Idempotency-Key {job.idempotency_key!r} was first used with another request body",
        job.instance,
    )
    return Outcome(int(body["status"]), body)
