"""Idempotency-Key: a retried request gets the first response back and takes effect once,
even when the retries race each other."""

from __future__ import annotations

import threading

import pytest

from tests.api_world import OPERATOR, api_client, body
from tests.ledger_world import World

pytestmark = pytest.mark.both_backends


def test_same_key_same_body_same_response_one_effect(world: World) -> None:
    world.issue("alice", 10_000)
    signed = body(world.signed_transfer("alice", "bob", 1_000))
    with api_client(world) as client:
        first = client.post("/v1/transfers", json=signed, headers={"Idempotency-Key": "t-1"})
        events = world.store.event_count()
        again = client.post("/v1/transfers", json=signed, headers={"Idempotency-Key": "t-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert world.store.event_count() == events
    assert world.active("bob") == 1_000


def test_racing_retries_with_one_key_take_effect_once(world: World) -> None:
    world.issue("alice", 10_000)
    signed = body(world.signed_transfer("alice", "bob", 1_000))
    answers: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()
    with api_client(world) as client:
        start = threading.Barrier(8)

        def retry() -> None:
            start.wait()
            r = client.post("/v1/transfers", json=signed, headers={"Idempotency-Key": "race"})
            with lock:
                answers.append((r.status_code, r.json()))

        threads = [threading.Thread(target=retry) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert {status for status, _ in answers} == {201}
    assert len({str(answer) for _, answer in answers}) == 1
    assert world.active("bob") == 1_000


def test_webhook_creation_is_idempotent_too(world: World) -> None:
    hook = {"url": "http://127.0.0.1:9/hook"}
    with api_client(world) as client:
        headers = {**OPERATOR, "Idempotency-Key": "hook-1"}
        first = client.post("/v1/webhooks", json=hook, headers=headers)
        again = client.post("/v1/webhooks", json=hook, headers=headers)
        other = client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/other"}, headers=headers
        )
        listed = client.get("/v1/webhooks", headers=OPERATOR).json()
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert len(listed) == 1
