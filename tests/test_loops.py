"""Every long-running loop survives transient errors, shows them in /v1/health, and recovers
by itself: the writer, the webhook dispatcher, the anchoring worker and the event stream.

Errors are injected where the database is used (`database is locked`, `disk I/O error`);
each test waits on a condition (never a fixed sleep) for the loop to report the error and
then to recover once the cause is gone.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
from pydantic import SecretStr

import api.routes.events as events_route
from anchoring.worker import AnchorWorker
from registry.ledger import Registry
from registry.loops import LoopHealth, run_resilient
from registry.storage.service import WebhookTable
from tests.api_world import OPERATOR, Client, api_client, body
from tests.ledger_world import World
from tests.waiting import wait_for
from tests.webhook_endpoint import webhook_endpoint


class Fault:
    """A switch that makes a wrapped function raise `error` while on (and counts them)."""

    def __init__(self, error: Exception, times: int | None = None) -> None:
        self.error = error
        self.left = times
        self.on = True
        self.raised = 0

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.on and (self.left is None or self.left > 0):
                if self.left is not None:
                    self.left -= 1
                self.raised += 1
                raise self.error
            return func(*args, **kwargs)

        return wrapper


def loop_state(client: Client, name: str) -> str:
    return str(client.get("/v1/health").json()["loops"][name]["state"])


def test_run_resilient_retries_with_backoff_and_stops_on_fatal_errors() -> None:
    health, calls = LoopHealth("test"), []

    class Fatal(Exception):
        pass

    def step() -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise sqlite3.OperationalError("database is locked")
        if len(calls) == 5:
            raise Fatal("history rewritten")

    with pytest.raises(Fatal):
        run_resilient(step, lambda: False, health, idle_s=0.01, fatal=(Fatal,))
    assert len(calls) == 5
    assert calls[2] - calls[1] >= calls[1] - calls[0]  # the backoff grows
    assert health.state == "failed" and health.last_error == "Fatal: history rewritten"


def test_the_writer_retries_a_locked_database_then_answers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.issue("alice", 1_000)
    fault = Fault(sqlite3.OperationalError("database is locked"), times=3)
    monkeypatch.setattr(Registry, "execute_prepared", fault.wrap(Registry.execute_prepared))
    with api_client(world) as client:
        answer = client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 10)))
        assert answer.status_code == 201
        assert fault.raised == 3
        assert loop_state(client, "writer") == "running"


def test_a_writer_that_cannot_write_answers_503_and_recovers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.issue("alice", 1_000)
    fault = Fault(sqlite3.OperationalError("disk I/O error"))
    monkeypatch.setattr(Registry, "execute_prepared", fault.wrap(Registry.execute_prepared))
    with api_client(world) as client:
        answer = client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 10)))
        assert answer.status_code == 503
        assert answer.json()["code"] == "unavailable"
        assert int(answer.headers["Retry-After"]) >= 1
        health = client.get("/v1/health")
        assert health.status_code == 503
        assert "disk I/O error" in health.json()["loops"]["writer"]["last_error"]
        fault.on = False
        again = client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 10)))
        assert again.status_code == 201
        assert client.get("/v1/health").status_code == 200


@pytest.fixture
def receiver() -> Iterator[tuple[list[bytes], str]]:
    got: list[bytes] = []

    def answer(_: Message, body: bytes) -> int:
        got.append(body)
        return 204

    with webhook_endpoint(answer) as url:
        yield got, url


def test_the_webhook_dispatcher_survives_a_locked_database(
    world: World, monkeypatch: pytest.MonkeyPatch, receiver: tuple[list[bytes], str]
) -> None:
    got, url = receiver
    world.issue("alice", 1_000)
    fault = Fault(sqlite3.OperationalError("database is locked"))
    with api_client(world) as client:
        assert client.post("/v1/webhooks", json={"url": url}, headers=OPERATOR).status_code == 201
        monkeypatch.setattr(WebhookTable, "all", fault.wrap(WebhookTable.all))
        client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 10)))
        wait_for(lambda: loop_state(client, "webhooks") == "retrying")
        assert got == []
        fault.on = False
        wait_for(lambda: got)
        assert b'"CreditsTransferred"' in got[0]
        wait_for(lambda: loop_state(client, "webhooks") == "running")


def test_the_anchoring_worker_survives_disk_errors_and_anchors_after(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anchoring.chain import Chain
    from tests.anchoring_world import anchored_world

    chain = Chain.create_embedded()
    world, _ = anchored_world(store_url, chain)
    fault = Fault(sqlite3.OperationalError("disk I/O error"))
    key = SecretStr(world.operator.private_key_hex)
    with api_client(world, anchoring=True, anchor_max_age_s=0.2, operator_key=key) as client:
        seq = client.get("/v1").json()["events"] - 1
        wait_for(lambda: client.get(f"/v1/events/{seq}/proof").json()["anchor"])
        monkeypatch.setattr(AnchorWorker, "sync_tree", fault.wrap(AnchorWorker.sync_tree))
        receipt = world.issue("alice", 7)
        wait_for(lambda: loop_state(client, "anchoring") == "retrying")
        assert client.get(f"/v1/events/{receipt.seq}/proof").json()["anchor"] is None
        fault.on = False
        wait_for(lambda: client.get(f"/v1/events/{receipt.seq}/proof").json()["anchor"])
        assert loop_state(client, "anchoring") == "running"


def test_the_bridge_watcher_survives_an_rpc_outage_and_records_after(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anchoring.chain import Chain, ChainUnavailableError
    from bridge.watcher import BridgeWatcher
    from tests.anchoring_world import anchored_world

    chain = Chain.create_embedded()
    world, _ = anchored_world(store_url, chain)
    fault = Fault(ChainUnavailableError("get logs: the RPC is down"))
    monkeypatch.setattr(BridgeWatcher, "poll", fault.wrap(BridgeWatcher.poll))  # bound at start
    key = SecretStr(world.operator.private_key_hex)
    with api_client(world, anchoring=True, anchor_max_age_s=0.2, operator_key=key) as client:
        receipt = world.issue("alice", 7)
        wait_for(lambda: loop_state(client, "anchoring") == "retrying")
        assert client.get(f"/v1/events/{receipt.seq}/proof").json()["anchor"] is None
        fault.on = False
        wait_for(lambda: client.get(f"/v1/events/{receipt.seq}/proof").json()["anchor"])
        wait_for(lambda: loop_state(client, "anchoring") == "running")
        assert fault.raised >= 1


def test_the_event_stream_waits_out_a_locked_database(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = Fault(sqlite3.OperationalError("database is locked"), times=2)
    monkeypatch.setattr(events_route, "_fetch", fault.wrap(events_route._fetch))
    with (
        api_client(world) as client,
        client.stream("GET", "/v1/events/stream", params={"after": -1, "max_events": 3}) as s,
    ):
        ids = [line for line in s.iter_lines() if line.startswith("id: ")]
    assert ids == ["id: 0", "id: 1", "id: 2"]
    assert fault.raised == 2
