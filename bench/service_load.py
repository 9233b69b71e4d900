"""A registry service under load, shared by the API benches: traders holding grams, `serve`
processes on loopback, signed transfers sent to them, and the check of every balance after.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import open_accounts  # noqa: E402  (bench/ is the script directory)
from http_load import closed_loop, request_bytes  # noqa: E402  (bench/ is the script directory)

from registry.eip712 import contract_address_of  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import Store  # noqa: E402

CLASS = "SZ_TRANSIT-1.0-2026-440300"
TRADERS = int(os.environ.get("BENCH_TRADERS", "200"))
GRAMS_EACH = 1_000_000
TRANSFERS = int(os.environ.get("BENCH_TRANSFERS", "4000"))
TRANSFER_CLIENTS = int(os.environ.get("BENCH_TRANSFER_CLIENTS", "64"))
PHASE_LIMIT_S = 60.0


def traders_registry(
    db: Path | str, chain_id: int, log_id: str
) -> tuple[Registry, Signer, list[Signer]]:
    """A registry (a file or a postgresql:// URL) in chain `chain_id`'s domain with TRADERS
    household accounts holding GRAMS_EACH grams of CLASS each (not anchored)."""
    operator = Signer.generate()
    registry = Registry.create(
        Store(db, synchronous="NORMAL"),
        chain_id=chain_id,
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
    requests += open_accounts(operator, registry, [t.address for t in traders], "household")
    requests += [
        op("Issue", to=t.address, assetClass=CLASS, amount=GRAMS_EACH, claimId=f"bench-{i}")
        for i, t in enumerate(traders)
    ]
    for result in registry.execute_many(requests):
        assert not isinstance(result, Exception), result
    return registry, operator, traders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path | str, port: int) -> subprocess.Popen[bytes]:
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


def bench_transfers(
    port: int | list[int], registry: Registry, traders: list[Signer]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Pre-signed transfers between random pairs of traders, closed loop over
    TRANSFER_CLIENTS connections (to each port, when several nodes serve)."""
    rng = random.Random(7)
    expected = {t.address: GRAMS_EACH for t in traders}
    requests: list[bytes] = []
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
        body = json.dumps({"message": message, "signature": signature}).encode()
        requests.append(request_bytes("POST", "/v1/transfers", body))
    run = closed_loop(port, requests, connections=TRANSFER_CLIENTS, limit_s=PHASE_LIMIT_S)
    return {
        "transfers": len(requests),
        "transfers_per_s": run.rate,  # answers a second (errors are counted apart)
        "transfer_errors": run.errors(201) + len(requests) - run.answered - run.failed,
        "transfer_p99_ms": run.percentile_ms(0.99),
        "transfer_client_cpu_share": run.cpu_share,
    }, expected


def balances_exact(port: int, expected: dict[str, int]) -> bool:
    """Every trader's active balance as computed from the transfers sent, and the supply."""
    paths = [f"/v1/accounts/{address}/balances" for address in expected]
    paths.append(f"/v1/asset-classes/{CLASS}")
    answers: list[tuple[int, bytes]] = []
    closed_loop(
        port,
        [request_bytes("GET", path) for path in paths],
        connections=1,  # one connection: the answers come in the order of the paths
        limit_s=PHASE_LIMIT_S,
        on_answer=lambda status, body: answers.append((status, body)),
    )
    if len(answers) != len(paths) or any(status != 200 for status, _ in answers):
        return False
    for grams, (_, body) in zip(expected.values(), answers, strict=False):
        if {b["asset_class"]: b["active"] for b in json.loads(body)}.get(CLASS) != grams:
            return False
    return bool(json.loads(answers[-1][1])["supply"]["active"] == GRAMS_EACH * TRADERS)
