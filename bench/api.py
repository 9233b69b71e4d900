"""Load on the HTTP API from a second process on loopback; prints one JSON object.

The server (`uvicorn api.main:create_app`, one process, anchoring off: the proofs it
serves were anchored beforehand on the embedded chain) runs in a child process; this
process is the load generator (bench/http_load.py: asyncio protocols on uvloop, keep-alive
connections, request bytes built beforehand), and reports its own CPU use beside each
figure (`client_cpu_s`, `client_cpu_share`: of one core) and the server's
(`server_cpu_share`), so that a figure limited by the client or by a busy machine shows.

1. GET /v1/events/{seq}/proof of random anchored events, open loop: request i is due at
   start + i / rate whatever the answers do, and its latency runs from that due time (time
   queued behind a slow server counts: no coordinated omission). GET_RATE (200) requests a
   second for GET_SECONDS, then GET_RATE_HIGH (1,000, keys suffixed `_1000rps`): p50, p99,
   achieved rate, errors.
2. Signed POST /v1/transfers: TRANSFERS requests, signed before the clock starts (clients
   sign, the server verifies), closed loop on TRANSFER_CLIENTS connections (each sends its
   next request when its answer arrives); transfers a second, errors (any non-201), p99, and
   whether every account's final balance and the supply are exact.

3. GET /v1/reserve (in process, anchoring and the bridge on a persistent embedded chain) on
   logs of 10^3 and RESERVE_EVENTS (10^5) events with locks, half of them minted: one new
   transfer before each request, so no answer comes from the cache; p50 and p95 server
   time. The figures come from the registry's tables, so they should not grow with the log.

Bounded: at most (GET_RATE + GET_RATE_HIGH) * GET_SECONDS + TRANSFERS requests, and each
phase stops at its time limit. Targets (issue 16): get_proof_p99_ms_1000rps <= 10;
transfers_per_s >= 1,500 with transfer_errors == 0 and balances_exact; reserve_ms_1e5 <= 20
(issue 20).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from http_load import open_loop, request_bytes  # noqa: E402  (bench/ is the script directory)
from pydantic import SecretStr  # noqa: E402
from service_load import (  # noqa: E402
    CLASS,
    PHASE_LIMIT_S,
    TRADERS,
    TRANSFER_CLIENTS,
    balances_exact,
    bench_transfers,
    free_port,
    start_server,
    traders_registry,
)

from anchoring.bundle import build_bundle  # noqa: E402
from anchoring.chain import Chain, embedded_chain_file  # noqa: E402
from anchoring.worker import AnchorPolicy, AnchorWorker  # noqa: E402
from api.main import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from bridge.watcher import start_bridge  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import Store  # noqa: E402

GET_RATE = int(os.environ.get("BENCH_GET_RATE", "200"))
GET_RATE_HIGH = int(os.environ.get("BENCH_GET_RATE_HIGH", "1000"))
GET_SECONDS = float(os.environ.get("BENCH_GET_SECONDS", "5"))
RESERVE_EVENTS = int(os.environ.get("BENCH_RESERVE_EVENTS", "100000"))
RESERVE_LOCKS = 40
RESERVE_SAMPLES = 60


def build(db: Path) -> tuple[Registry, Signer, list[Signer]]:
    """A registry on the embedded chain's domain, traders holding grams, all anchored."""
    chain = Chain.create_embedded()
    registry, operator, traders = traders_registry(db, chain.chain_id, "bench.local/api")
    domain = registry.domain
    store = registry.store
    worker = AnchorWorker(
        store,
        store.conn,
        log_id=registry.log_id,
        domain=domain,
        operator_key=bytes.fromhex(operator.private_key_hex[2:]),
        operator=operator.address,
        chain=chain,
        policy=AnchorPolicy(),
    )
    worker.attach()
    worker.run_once()
    return registry, operator, traders


def server_cpu_s(server: subprocess.Popen[bytes]) -> float | None:
    """The server process's user + system CPU seconds so far (Linux /proc; else None)."""
    try:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_get_proof(
    port: int, server: subprocess.Popen[bytes], seqs: list[int], rate: int, suffix: str
) -> dict[str, Any]:
    """Open-loop GET proof of random anchored events at `rate` a second for GET_SECONDS."""
    rng = random.Random(rate)
    requests = [
        request_bytes("GET", f"/v1/events/{rng.choice(seqs)}/proof")
        for _ in range(int(rate * GET_SECONDS))
    ]
    server_before = server_cpu_s(server)
    run = open_loop(port, requests, rate, limit_s=PHASE_LIMIT_S)
    server_after = server_cpu_s(server)
    result: dict[str, Any] = {
        f"get_proof_p50_ms{suffix}": run.percentile_ms(0.50),
        f"get_proof_p99_ms{suffix}": run.percentile_ms(0.99),
        f"get_proof_rps{suffix}": run.rate,
        f"get_proof_requests{suffix}": run.answered,
        f"get_proof_errors{suffix}": run.errors(200),
        f"client_cpu_s{suffix}": round(run.cpu_s, 3),
        f"client_cpu_share{suffix}": run.cpu_share,
    }
    if server_before is not None and server_after is not None:
        result[f"server_cpu_share{suffix}"] = round(
            (server_after - server_before) / run.elapsed_s, 3
        )
    return result


def reserve_registry(db: Path, events: int) -> tuple[Signer, list[Signer]]:
    """A registry of about `events` events on a persistent embedded chain, the bridge on:
    RESERVE_LOCKS locks, half of them minted, the rest transfers; everything anchored and
    the mints recorded."""
    chain = Chain.create_embedded(embedded_chain_file(db))
    registry, operator, traders = traders_registry(db, chain.chain_id, "bench.local/reserve")
    domain = registry.domain
    locking = [traders[i].request(domain, "Lock", owner=traders[i].address, assetClass=CLASS,
                                  batchNo=0, amount=1_000, recipient=Signer.generate().address)
               for i in range(RESERVE_LOCKS)]  # fmt: skip
    for result in registry.execute_many(locking):
        assert not isinstance(result, Exception), result
    locks = [seq for seq, kind, _, _ in registry.store.event_rows() if kind == "CreditsLocked"]
    rng = random.Random(7)
    while registry.store.event_count() < events:
        batch = []
        for _ in range(min(256, events - registry.store.event_count())):
            src, dst = rng.sample(traders, 2)
            batch.append(src.request(domain, "Transfer", **{"from": src.address}, to=dst.address,
                                     assetClass=CLASS, batchNo=0, amount=1))  # fmt: skip
        for result in registry.execute_many(batch):
            assert not isinstance(result, Exception), result
    store = registry.store
    key = bytes.fromhex(operator.private_key_hex[2:])
    worker = AnchorWorker(store, store.conn, log_id=registry.log_id, domain=domain,
                          operator_key=key, operator=operator.address, chain=chain,
                          policy=AnchorPolicy())  # fmt: skip
    worker.attach()
    token = start_bridge(registry, worker, operator, None)
    assert token is not None
    worker.run_once()
    for seq in locks[: RESERVE_LOCKS // 2]:
        bundle = build_bundle(store, worker.tree, worker.checkpoints, seq)
        path = [bytes.fromhex(h) for h in bundle["inclusion"]["path"]]
        token.mint_with_proof(key, bundle["event"], bundle["inclusion"]["tree_size"], path)
    worker.run_once()  # records the mints
    minted = sum(1 for row in store.event_rows(locks[0]) if row[1] == "CreditsMinted")
    assert minted == RESERVE_LOCKS // 2, minted
    store.close()
    chain.close()
    return operator, traders


def bench_reserve(events: int) -> dict[str, float]:
    """p50 and p95 milliseconds of GET /v1/reserve over a log of `events` events."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "reserve.db"
        operator, traders = reserve_registry(db, events)
        settings = Settings(db=db, anchoring=True, operator_key=SecretStr(operator.private_key_hex),
                            operator_api_key=SecretStr("bench"), rate_limits=False,
                            rpc_port=0)  # fmt: skip
        writer = Registry(Store(db))
        samples = []
        with TestClient(create_app(settings)) as client:
            for i in range(RESERVE_SAMPLES):
                src, dst = traders[i % len(traders)], traders[(i + 1) % len(traders)]
                writer.execute(*src.request(writer.domain, "Transfer", **{"from": src.address},
                                            to=dst.address, assetClass=CLASS, batchNo=0,
                                            amount=1))  # fmt: skip
                start = time.perf_counter()
                response = client.get("/v1/reserve")
                samples.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and response.json()["ok"], response.text
        writer.store.close()
    samples.sort()
    return {
        "p50": round(statistics.median(samples), 2),
        "p95": round(samples[int(len(samples) * 0.95) - 1], 2),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        registry, _, traders = build(db)
        anchored = list(range(registry.store.event_count()))
        registry.store.close()
        port = free_port()
        server = start_server(db, port)
        try:
            result: dict[str, Any] = bench_get_proof(port, server, anchored, GET_RATE, "")
            result.update(
                bench_get_proof(port, server, anchored, GET_RATE_HIGH, f"_{GET_RATE_HIGH}rps")
            )
            transfers, expected = bench_transfers(port, registry, traders)
            result.update(transfers)
            result["balances_exact"] = balances_exact(port, expected)
        finally:
            server.terminate()
            server.wait(timeout=30)
    small, large = bench_reserve(1_000), bench_reserve(RESERVE_EVENTS)
    result.update(
        {
            "reserve_ms_1e5": large["p95"],
            "reserve_ms_1e5_p50": large["p50"],
            "reserve_ms_1e3": small["p95"],
            "reserve_events": RESERVE_EVENTS,
            "traders": TRADERS,
            "transfer_clients": TRANSFER_CLIENTS,
            "get_rate_target": GET_RATE,
            "get_rate_high_target": GET_RATE_HIGH,
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
