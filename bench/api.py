"""Load on the HTTP API from a second process on loopback; prints one JSON object.

The server (`uvicorn api.main:create_app`, one process, anchoring off: the proofs it
serves were anchored beforehand on the embedded chain) runs in a child process; this
process is the load generator, with keep-alive connections on worker threads.

1. GET /v1/events/{seq}/proof of anchored events, paced at GET_RATE requests a second for
   GET_SECONDS seconds (open loop: latency includes any queueing): p50, p99, achieved rate.
2. Signed POST /v1/transfers: TRANSFERS requests, signed before the clock starts (clients
   sign, the server verifies), sent by TRANSFER_CLIENTS concurrent connections; transfers a
   second, errors (any non-201), and whether every account's final balance is exact.

3. GET /v1/reserve (in process, anchoring and the bridge on a persistent embedded chain) on
   logs of 10^3 and RESERVE_EVENTS (10^5) events with locks, half of them minted: one new
   transfer before each request, so no answer comes from the cache; p50 and p95 server
   time. The figures come from the registry's tables, so they should not grow with the log.

Bounded: at most GET_RATE * GET_SECONDS + TRANSFERS requests, and each phase stops at its
time limit. Targets: get_proof_p99_ms <= 25 at 200 requests/s; transfers_per_s >= 500 with
transfer_errors == 0 and balances_exact (issue 5); reserve_ms_1e5 <= 20 (issue 20).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from anchoring.bundle import build_bundle  # noqa: E402
from anchoring.chain import Chain, embedded_chain_file  # noqa: E402
from anchoring.worker import AnchorPolicy, AnchorWorker  # noqa: E402
from api.main import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from bridge.watcher import start_bridge  # noqa: E402
from registry.commitments import NO_COMMITMENT  # noqa: E402
from registry.eip712 import contract_address_of  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import Store  # noqa: E402

CLASS = "SZ_TRANSIT-1.0-2026-440300"
TRADERS = int(os.environ.get("BENCH_TRADERS", "200"))
GRAMS_EACH = 1_000_000
GET_RATE = int(os.environ.get("BENCH_GET_RATE", "200"))
GET_SECONDS = float(os.environ.get("BENCH_GET_SECONDS", "5"))
TRANSFERS = int(os.environ.get("BENCH_TRANSFERS", "4000"))
TRANSFER_CLIENTS = int(os.environ.get("BENCH_TRANSFER_CLIENTS", "64"))
PHASE_LIMIT_S = 60.0
RESERVE_EVENTS = int(os.environ.get("BENCH_RESERVE_EVENTS", "100000"))
RESERVE_LOCKS = 40
RESERVE_SAMPLES = 60


def traders_registry(db: Path, chain: Chain, log_id: str) -> tuple[Registry, Signer, list[Signer]]:
    """A registry in `chain`'s domain with TRADERS household accounts holding GRAMS_EACH grams
    of CLASS each (not anchored)."""
    operator = Signer.generate()
    registry = Registry.create(
        Store(db, synchronous="NORMAL"),
        chain_id=chain.chain_id,
        verifying_contract=contract_address_of(operator.address, 0),
        operator=operator.address,
        log_id=log_id,
    )
    domain = registry.domain

    def op(request_type: str, /, **fields: Any) -> tuple[str, dict[str, Any], str]:
        return operator.request(domain, request_type, **fields)

    traders = [Signer.generate() for _ in range(TRADERS)]
    requests = [
        op(
            "RegisterAssetClass",
            methodology="SZ_TRANSIT",
            methodologyVersion="1.0",
            vintage=2026,
            region="440300",
        )
    ]
    requests += [
        op(
            "OpenAccount",
            account=t.address,
            kind="household",
            name="",
            householdCommitment=NO_COMMITMENT,
        )
        for t in traders
    ]
    requests += [
        op("Issue", to=t.address, assetClass=CLASS, amount=GRAMS_EACH, claimId=f"bench-{i}")
        for i, t in enumerate(traders)
    ]
    for result in registry.execute_many(requests):
        assert not isinstance(result, Exception), result
    return registry, operator, traders


def build(db: Path) -> tuple[Registry, Signer, list[Signer]]:
    """A registry on the embedded chain's domain, traders holding grams, all anchored."""
    chain = Chain.create_embedded()
    registry, operator, traders = traders_registry(db, chain, "bench.local/api")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        CARBON_REGISTRY_DB=str(db),
        CARBON_REGISTRY_ANCHORING="false",
        CARBON_REGISTRY_OPERATOR_API_KEY="bench",
        # One load generator stands for many clients: the per-client limiter is not measured.
        CARBON_REGISTRY_RATE_LIMITS="false",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the API server did not start")


class Connection:
    """A keep-alive HTTP/1.1 connection (http.client: far less overhead than a full client)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def bench_get_proof(port: int, seqs: list[int]) -> dict[str, float]:
    """Open-loop GETs at GET_RATE a second, spread over a few connections."""
    total = int(GET_RATE * GET_SECONDS)
    threads_n = 8
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def run(worker: int) -> None:
        nonlocal errors
        conn = Connection(port)
        mine: list[float] = []
        bad = 0
        for i in range(worker, total, threads_n):
            due = start + i / GET_RATE
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if time.perf_counter() - start > PHASE_LIMIT_S:
                break
            status, _ = conn.request("GET", f"/v1/events/{random.choice(seqs)}/proof")
            mine.append(time.perf_counter() - due)  # from when it was due: queueing counts
            bad += status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=run, args=(w,)) for w in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "get_proof_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "get_proof_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "get_proof_rps": round(len(latencies) / elapsed, 1),
        "get_proof_requests": len(latencies),
        "get_proof_errors": errors,
    }


def bench_transfers(
    port: int, registry: Registry, traders: list[Signer]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Pre-signed transfers between random pairs of traders, sent concurrently."""
    rng = random.Random(7)
    expected = {t.address: GRAMS_EACH for t in traders}
    bodies: list[bytes] = []
    for _ in range(TRANSFERS):
        sender, receiver = rng.sample(traders, 2)
        amount = rng.randint(1, 50)
        expected[sender.address] -= amount
        expected[receiver.address] += amount
        _, message, signature = sender.request(
            registry.domain,
            "Transfer",
            **{"from": sender.address},
            to=receiver.address,
            assetClass=CLASS,
            batchNo=0,
            amount=amount,
        )
        bodies.append(json.dumps({"message": message, "signature": signature}).encode())
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(TRANSFER_CLIENTS + 1)

    def run(worker: int) -> None:
        nonlocal errors
        conn = Connection(port)
        bad = 0
        barrier.wait()
        for i in range(worker, len(bodies), TRANSFER_CLIENTS):
            if time.perf_counter() - began > PHASE_LIMIT_S:
                break
            status, _ = conn.request("POST", "/v1/transfers", bodies[i])
            bad += status != 201
        conn.close()
        with lock:
            errors += bad

    threads = [threading.Thread(target=run, args=(w,)) for w in range(TRANSFER_CLIENTS)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return {
        "transfers": len(bodies),
        "transfers_per_s": round(len(bodies) / elapsed, 1),
        "transfer_errors": errors,
    }, expected


def balances_exact(port: int, expected: dict[str, int]) -> bool:
    """Every trader's active balance as computed from the transfers sent, and the supply."""
    conn = Connection(port)
    try:
        for address, grams in expected.items():
            status, data = conn.request("GET", f"/v1/accounts/{address}/balances")
            rows = json.loads(data) if status == 200 else []
            if {b["asset_class"]: b["active"] for b in rows}.get(CLASS) != grams:
                return False
        status, data = conn.request("GET", f"/v1/asset-classes/{CLASS}")
        return status == 200 and json.loads(data)["supply"]["active"] == GRAMS_EACH * TRADERS
    finally:
        conn.close()


def reserve_registry(db: Path, events: int) -> tuple[Signer, list[Signer]]:
    """A registry of about `events` events on a persistent embedded chain, the bridge on:
    RESERVE_LOCKS locks, half of them minted, the rest transfers; everything anchored and
    the mints recorded."""
    chain = Chain.create_embedded(embedded_chain_file(db))
    registry, operator, traders = traders_registry(db, chain, "bench.local/reserve")
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
            result: dict[str, Any] = bench_get_proof(port, anchored)
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
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
