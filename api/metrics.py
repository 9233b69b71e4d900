"""Prometheus metrics of one API node (`GET /metrics`, text exposition format).

Counters and histograms are updated where the work happens (the writer, the rate
limiter); gauges that describe state (queue depth, anchoring lag, chain head, webhook
backlog) are read when scraped, so they are never stale. Each service has its own
registry of metrics, so that several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
        self.signers_recovered = Counter(
            f"{PREFIX}_signers_recovered",
            "Signers of write requests recovered, by the signature worker or the writer thread",
            ["by"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            f"{PREFIX}_rate_limited",
            "Requests refused with 429, by limit",
            ["limit"],
            registry=self.registry,
        )

    def watch(self, service: RegistryService) -> None:
        """Gauges read from the service when scraped."""
        self.registry.register(StateCollector(service))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


GAUGES = {
    "write_queue_depth": "Write requests waiting for the writer",
    "events": "Events in the log",
    "anchoring_lag_events": "Events not covered by an anchored checkpoint",
    "anchoring_lag_seconds": "Seconds since the last anchored checkpoint was cut, while events"
    " wait (else 0)",
    "chain_head": "The anchoring chain's head block (-1: not known)",
    "anchor_confirmations": "Blocks on top of the latest anchored checkpoint's block (-1: none)",
    "webhook_backlog": "Events the slowest active webhook has not received",
    "anchoring_leader": "1 on the node whose anchoring worker anchors, 0 on one that stands by,"
    " -1 without a worker",
}


class StateCollector(Collector):
    """The service's state, read once per scrape (one event count, one latest anchor, one
    chain head for every gauge that needs them)."""

    def __init__(self, service: RegistryService) -> None:
        self.service = service

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # the names are only known when collected: no registration check

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in self.read().items():
            yield GaugeMetricFamily(f"{PREFIX}_{name}", GAUGES[name], value=value)

    def read(self) -> dict[str, float]:
        service = self.service
        reader = service.reader()
        events = reader.store.event_count()
        latest = reader.checkpoints.latest_confirmed()
        anchored = latest.tree_size if latest is not None else 0
        waiting = max(0, events - anchored)
        since = (
            max(0.0, time.time() - latest.signed.checkpoint.timestamp)
            if latest is not None and waiting
            else 0.0
        )
        head = _chain_head(service)
        confirmations = (
            head - latest.block_number + 1
            if latest is not None and latest.block_number is not None and head >= 0
            else -1
        )
        cursors = [hook.cursor for hook in reader.webhooks.all(active_only=True)]
        return {
            "write_queue_depth": service.writer.queue_depth(),
            "events": events,
            "anchoring_lag_events": waiting,
            "anchoring_lag_seconds": since,
            "chain_head": head,
            "anchor_confirmations": confirmations,
            "webhook_backlog": events - 1 - min(cursors) if cursors else 0,
            "anchoring_leader": _leader(service),
        }


def _leader(service: RegistryService) -> float:
    if service.anchoring is None:
        return -1
    return 1 if service.anchoring.health.leader else 0


def _chain_head(service: RegistryService) -> float:
    if service.anchoring is None:
        return -1
    try:
        return float(service.anchoring.chain.head())
    except Exception:  # a chain not started or unreachable is a value, not a failed scrape
        return -1
