"""Prometheus metrics of one API node (`GET /metrics`, text exposition format).

Counters and histograms are updated where the work happens (the writer, the rate
limiter); gauges that describe state (queue depth, anchoring lag, chain head, webhook
backlog) are read when scraped, so they are never stale. Each service has its own
registry of metrics, so that several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from api.service import RegistryService

PREFIX = "carbon_registry"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.write_seconds = Histogram(
            f"{PREFIX}_write_seconds",
            "Time from a write request's arrival at the writer to its answer",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.group_commit_size = Histogram(
            f"{PREFIX}_group_commit_size",
            "Write requests committed in one transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            f"{PREFIX}_rate_limited",
            "Requests refused with 429, by limit",
            ["limit"],
            registry=self.registry,
        )

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        Gauge(f"{PREFIX}_{name}", doc, registry=self.registry).set_function(read)

    def watch(self, service: RegistryService) -> None:
        """Gauges read from the service when scraped."""
        self.gauge("write_queue_depth", "Write requests waiting for the writer",
                   service.writer.queue_depth)  # fmt: skip
        self.gauge("events", "Events in the log", lambda: service.reader().store.event_count())
        self.gauge("anchoring_lag_events", "Events not covered by an anchored checkpoint",
                   lambda: _lag(service)[0])  # fmt: skip
        self.gauge("anchoring_lag_seconds",
                   "Seconds since the last anchored checkpoint was cut, while events wait (else 0)",
                   lambda: _lag(service)[1])  # fmt: skip
        self.gauge("chain_head", "The anchoring chain's head block (-1: not known)",
                   lambda: _chain_head(service))  # fmt: skip
        self.gauge("anchor_confirmations",
                   "Blocks on top of the latest anchored checkpoint's block (-1: none)",
                   lambda: _confirmations(service))  # fmt: skip
        self.gauge("webhook_backlog", "Events the slowest active webhook has not received",
                   lambda: _webhook_backlog(service))  # fmt: skip

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _lag(service: RegistryService) -> tuple[int, float]:
    reader = service.reader()
    events = reader.store.event_count()
    latest = reader.checkpoints.latest_confirmed()
    anchored = latest.tree_size if latest is not None else 0
    if events <= anchored:
        return 0, 0.0
    if latest is None:
        return events, 0.0
    return events - anchored, max(0.0, time.time() - latest.signed.checkpoint.timestamp)


def _chain_head(service: RegistryService) -> float:
    if service.anchoring is None:
        return -1
    try:
        return float(service.anchoring.chain.head())
    except Exception:  # a chain not started or unreachable is a value, not a failed scrape
        return -1


def _confirmations(service: RegistryService) -> float:
    latest = service.reader().checkpoints.latest_confirmed()
    head = _chain_head(service)
    if latest is None or latest.block_number is None or head < 0:
        return -1
    return head - latest.block_number + 1


def _webhook_backlog(service: RegistryService) -> float:
    reader = service.reader()
    events = reader.store.event_count()
    cursors = [hook.cursor for hook in reader.webhooks.all(active_only=True)]
    return float(events - 1 - min(cursors)) if cursors else 0.0
