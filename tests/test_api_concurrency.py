"""Concurrency over HTTP: 50 clients race to spend the same holdings through uvicorn on
loopback. The successful transfers add up to exactly what was there; no gram is created or
lost, and every refusal is a clean 409."""

from __future__ import annotations

import threading

import httpx
import pytest

from api.main import create_app
from tests.api_world import body, loopback_server, settings_for
from tests.ledger_world import World, check_invariants

CLIENTS = 50
HELD = 10_000
EACH = 250  # 40 transfers can succeed, 10 must be refused


@pytest.mark.both_backends
def test_fifty_clients_racing_for_the_same_grams(world: World) -> None:
    world.issue("alice", HELD)
    requests = [body(world.signed_transfer("alice", "bob", EACH)) for _ in range(CLIENTS)]
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    with loopback_server(create_app(settings_for(world.store.path))) as base:

        def spend(payload: dict[str, object]) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                start.wait()
                response = client.post("/v1/transfers", json=payload)
                code = response.json().get("code", "") if response.status_code != 201 else ""
                with lock:
                    statuses.append((response.status_code, code))

        threads = [threading.Thread(target=spend, args=(p,)) for p in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    accepted = [s for s in statuses if s[0] == 201]
    refused = [s for s in statuses if s[0] != 201]
    assert len(statuses) == CLIENTS
    assert len(accepted) * EACH == HELD
    assert set(refused) == {(409, "insufficient_balance")}
    assert world.active("alice") == 0 and world.active("bob") == HELD
    check_invariants(world.store)
