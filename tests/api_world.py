"""The registry API over a test World: settings, an in-process client, a loopback server."""

from __future__ import annotations

import hashlib
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from api.main import create_app
from api.sessions import SIGN_IN
from api.settings import Settings
from registry import messages
from registry.mrv.ingest import cst_day
from registry.signing import Signer, new_nonce
from tests.ledger_world import World

with warnings.catch_warnings():  # starlette prefers the httpx2 fork; httpx 0.28 works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

Client = TestClient

OPERATOR_API_KEY = "test-operator-api-key"
OPERATOR = {"X-Operator-Key": OPERATOR_API_KEY}


def settings_for(db: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db": str(db),
        "anchoring": False,
        "operator_api_key": SecretStr(OPERATOR_API_KEY),
        "webhook_allowed_networks": ["127.0.0.0/8"],  # the tests' receivers are on loopback
        "rate_limits": False,  # on by default; tests of the limits turn them on
        "rpc_port": 0,  # tests run side by side: any free port
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def api_client(world: World, **overrides: Any) -> Iterator[Client]:
    """TestClient over a running app (lifespan started: writer and webhook threads)."""
    app = create_app(settings_for(world.store.path, **overrides))
    with Client(app, raise_server_exceptions=False) as client:
        yield client


def signed_in(client: Client, world: World, signer: Signer, ttl_s: int = 600) -> dict[str, str]:
    """The headers of a session of `signer`'s account (EIP-712 SignIn to POST /v1/sessions)."""
    now = int(time.time())
    message = {
        "account": signer.address,
        "audience": world.registry.log_id,
        "issuedAt": now,
        "expiry": now + ttl_s,
        "nonce": new_nonce(),
    }
    signature = signer.sign_struct(world.registry.domain, SIGN_IN, message)
    r = client.post("/v1/sessions", json={"message": message, "signature": signature})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def body(signed: tuple[Any, ...]) -> dict[str, Any]:
    """The JSON body of a signed request `(kind, message, signature[, private])`; an activity
    batch's private part holds its details."""
    message, signature = signed[1], signed[2]
    if len(signed) > 3 and signed[3]:
        return {"message": message, "signature": signature, **signed[3]}
    return {"message": message, "signature": signature}


@contextmanager
def loopback_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class MrvParties:
    """A platform, a verifier and a buffer pool, opened with their roles in `world`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.platform = world.open("platform", kind="platform")
        world.op("GrantRole", account=self.platform.address, role="platform")
        self.verifier = world.open("verifier", kind="verifier")
        world.op("GrantRole", account=self.verifier.address, role="verifier")
        self.pool = world.open("pool", kind="company")
        self._count = 0

    def trips(self, name: str, count: int, *, metres: int = 12_000) -> list[dict[str, Any]]:
        """Metro trips of `name`, one every three hours, ending two days ago."""
        start = int(time.time()) - 2 * 86_400 - count * 3 * 3600
        records = []
        for i in range(count):
            self._count += 1
            begin = start + i * 3 * 3600
            records.append(
                {
                    "id": f"trip-{self._count:06d}",
                    "account": self.world.addr(name),
                    "methodology": "SZ_TRANSIT",
                    "version": "1.0",
                    "region": "440304",
                    "start": begin,
                    "end": begin + 1800,
                    "quantities": {"metro_m": metres, "bus_m": 0},
                }
            )
        return records

    def submit(
        self, batch_id: str, activities: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
        """A signed batch `(kind, message, signature, {"details": ...})`."""
        fields, details = messages.activity_batch(self.platform.address, batch_id, activities)
        signed = self.platform.request(self.world.registry.domain, "SubmitActivities", **fields)
        return (*signed, {"details": details})

    def attest(
        self, claim_ids: list[str], approve: bool = True, reason: str = ""
    ) -> tuple[str, dict[str, Any], str]:
        fields = messages.attestation(
            self.verifier.address, f"att-{claim_ids[0]}", claim_ids, approve, reason
        )
        return self.verifier.request(self.world.registry.domain, "AttestClaims", **fields)

    def run(self, run_id: str = "run-1") -> tuple[str, dict[str, Any], str]:
        return self.world.operator.request(
            self.world.registry.domain,
            "RunIssuance",
            runId=run_id,
            bufferPool=self.pool.address,
            bufferBasisPoints=500,
            creditsTo="account",
        )

    @staticmethod
    def trip_class(record: dict[str, Any]) -> str:
        return f"SZ_TRANSIT-1.0-{cst_day(record['start'])[:4]}-440300"


def sha256_hex(text: str) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()
