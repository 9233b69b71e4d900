"""`GET /metrics` during a write burst: the writer's queue fills and drains, the anchoring
lag grows with the events and comes back to zero once they are anchored."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from anchoring.chain import Chain
from api.main import create_app
from registry.signing import Signer
from tests.anchoring_world import anchored_world
from tests.api_world import body, loopback_server, settings_for
from tests.ledger_world import CLASS
from tests.waiting import wait_for

WRITERS = 16
TRANSFERS_EACH = 30


def scrape(url: str) -> dict[str, float]:
    values = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("carbon_registry_") and " " in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_follow_a_write_burst(tmp_path: Path) -> None:
    world, _ = anchored_world(tmp_path / "registry.db", Chain.create_embedded())
    world.issue("alice", 1_000_000)
    alice: Signer = world.people["alice"]
    domain = world.registry.domain
    requests = [
        body(
            alice.request(
                domain,
                "Transfer",
                **{"from": alice.address},
                to=world.addr("bob"),
                assetClass=CLASS,
                batchNo=0,
                amount=1,
            )
        )  # fmt: skip
        for _ in range(WRITERS * TRANSFERS_EACH)
    ]
    settings = settings_for(world.store.path, anchoring=True, anchor_max_age_s=2.0,
                            operator_key=SecretStr(world.operator.private_key_hex))  # fmt: skip
    with loopback_server(create_app(settings)) as url:
        wait_for(lambda: scrape(url)["carbon_registry_anchoring_lag_events"] == 0)
        peak = {"queue": 0.0, "lag": 0.0}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                now = scrape(url)
                peak["queue"] = max(peak["queue"], now["carbon_registry_write_queue_depth"])
                peak["lag"] = max(peak["lag"], now["carbon_registry_anchoring_lag_events"])

        def write(part: list[dict[str, Any]]) -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                for request in part:
                    assert client.post("/v1/transfers", json=request).status_code == 201

        watcher = threading.Thread(target=watch)
        watcher.start()
        writers = [
            threading.Thread(target=write, args=(requests[i::WRITERS],)) for i in range(WRITERS)
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=300)
        wait_for(lambda: peak["lag"] > 0)  # the watcher saw events wait for their anchor
        done.set()
        watcher.join(timeout=60)
        after = scrape(url)
        assert after["carbon_registry_write_queue_depth"] == 0
        assert after["carbon_registry_group_commit_size_count"] >= 1
        assert after["carbon_registry_write_seconds_count"] == len(requests)
        # Requests waited in the queue: a scrape saw them, or a group commit took several.
        grouped = (
            after["carbon_registry_group_commit_size_sum"]
            > (after["carbon_registry_group_commit_size_count"])
        )
        assert peak["queue"] > 0 or grouped, "no request ever waited for the writer"
        wait_for(lambda: scrape(url)["carbon_registry_anchoring_lag_events"] == 0)
        final = scrape(url)
        assert final["carbon_registry_chain_head"] > 0
        assert final["carbon_registry_anchor_confirmations"] >= 1


def test_serve_logs_json_lines_when_asked(tmp_path: Path) -> None:
    import json

    from tests.serve_process import Served

    with Served(tmp_path / "registry.db", env={"CARBON_REGISTRY_LOG_FORMAT": "json"}) as served:
        served.start()
        with served.client() as api:
            api.register_asset_class(served.operator, "SZ_TRANSIT", "1.0", 2026, "440300")

        def logged() -> list[dict[str, Any]]:
            lines = served.log().splitlines()
            return [json.loads(line) for line in lines if line.startswith("{")]

        entries = wait_for(lambda: [e for e in logged() if "anchored" in e["message"]])
        assert {"time", "level", "logger", "message"} <= set(entries[0])
