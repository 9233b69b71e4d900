"""Long-running loops that survive transient errors, and the health they report.

A background loop of the service (the writer, the anchoring worker with its bridge
watcher, the webhook dispatcher) must not die on one error: a busy database, a disk I/O
error, an RPC that is down. `run_resilient` runs a step function until told to stop; an
exception is logged, counted in the loop's `LoopHealth`, and the step is tried again after
an exponential backoff, so the loop recovers by itself as soon as the cause goes away.
Only an error the caller names as fatal (a rewritten history, say) stops the loop, and
the health then says why. `GET /v1/health` shows every loop's health.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("carbon_registry.loops")


@dataclass
class LoopHealth:
    """What one loop is doing: `running`, `retrying` after errors, or `stopped`/`failed`."""

    name: str
    state: str = "starting"
    failures: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_ok_at: float | None = None
    retry_at: float | None = None
    leader: bool | None = None  # a loop that runs on one node at a time: does this one lead?
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self, now: float | None = None) -> None:
        with self._lock:
            self.state = "running"
            self.failures = 0
            self.retry_at = None
            self.last_ok_at = time.time() if now is None else now

    def failed(self, exc: BaseException, retry_in: float | None) -> None:
        now = time.time()
        with self._lock:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_error_at = now
            self.state = "retrying" if retry_in is not None else "failed"
            self.retry_at = None if retry_in is None else now + retry_in

    def stopped(self) -> None:
        with self._lock:
            if self.state != "failed":
                self.state = "stopped"

    @property
    def healthy(self) -> bool:
        return self.state in ("starting", "running")

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "consecutive_failures": self.failures,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
                "last_ok_at": self.last_ok_at,
                "retry_at": self.retry_at,
                "leader": self.leader,
            }


def sleep_until(stop: Callable[[], bool], seconds: float) -> None:
    """Sleep `seconds`, waking early when `stop()` turns true."""
    end = time.monotonic() + seconds
    while not stop():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.05, left))


def run_resilient(
    step: Callable[[], Any],
    stop: Callable[[], bool],
    health: LoopHealth,
    *,
    idle_s: float,
    max_backoff_s: float = 30.0,
    fatal: tuple[type[BaseException], ...] = (),
) -> None:
    """Call `step()` every `idle_s` until `stop()`; back off exponentially after errors.

    An exception of a `fatal` type marks the loop failed and is raised again; any other is
    logged and retried after `idle_s`, doubling with each consecutive failure up to
    `max_backoff_s`.
    """
    backoff = idle_s
    while not stop():
        try:
            step()
        except fatal as exc:
            health.failed(exc, None)
            log.error("%s stopped: %s", health.name, exc)
            raise
        except Exception as exc:
            backoff = min(max(backoff * 2, idle_s, 0.05), max_backoff_s)
            health.failed(exc, backoff)
            log.warning("%s: %s; retrying in %.2f s", health.name, health.last_error, backoff)
            sleep_until(stop, backoff)
            continue
        health.succeeded()
        backoff = idle_s
        sleep_until(stop, idle_s)
    health.stopped()
