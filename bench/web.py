"""Server time of the web pages' first screen with 10^5 events in the log. Prints one JSON
object.

A registry of EVENTS (10^5) events is built in process: 300 person accounts whose metro
trips a platform submits in batches of 1,000 (one of them, "me", rides twice a day), then
signed transfers among 200 household accounts until the log holds EVENTS events. The app
(`create_app`, anchoring off) then answers in process (Starlette's TestClient, so the
figures are server time plus a negligible in-process transport):

- `explorer_home_p95_ms`: GET / after a new transfer each time, so the registry totals are
  recomputed every request (their cache is keyed by the log size): the cold case;
- `explorer_events_p95_ms`: GET /explorer/events (the latest 50 events);
- `explorer_p95_ms`: the larger of the two;
- `account_p95_ms`: GET /me/data for "me" with a session (balances, every claim with its
  computation in words, the sealed activities opened from the vault, chart series,
  retirements): what /me renders from.

p95 over REQUESTS (200) requests each. Target (issue 15): both keys <= 300 ms.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import CHAIN_ID, new_registry, open_accounts  # noqa: E402  (bench/ is the script directory)
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_defunct  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from api.main import create_app  # noqa: E402
from api.sessions import siwe_message  # noqa: E402
from api.settings import Settings  # noqa: E402
from registry import messages as m  # noqa: E402
from registry.commitments import NO_COMMITMENT  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.signing import Signer  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EVENTS = int(os.environ.get("BENCH_WEB_EVENTS", "100000"))
REQUESTS = int(os.environ.get("BENCH_WEB_REQUESTS", "200"))
PEOPLE = 300
TRADERS = 200
CLASS = "SZ_TRANSIT-1.0-2026-440300"
# 00:00 China Standard Time 20 days ago: inside the claim window.
T0 = (int(time.time()) + 8 * 3600) // 86_400 * 86_400 - 8 * 3600 - 20 * 86_400


def execute_all(registry: Registry, requests: list[tuple[str, dict[str, Any], str]]) -> None:
    for start in range(0, len(requests), 256):
        for result in registry.execute_many(requests[start : start + 256]):
            assert not isinstance(result, Exception), result


def trips(people: list[Signer], me: Signer) -> list[dict[str, Any]]:
    """Two rides a day for 15 days for every person; `me` among them."""
    rng = random.Random(15)
    records = []
    for person in [me, *people]:
        for ride in range(30):
            start = T0 + (ride // 2) * 86_400 + (8 if ride % 2 == 0 else 18) * 3600
            metro = rng.randint(3_000, 25_000)
            records.append({
                "id": f"{person.address[2:10]}-{ride}", "account": person.address,
                "methodology": "SZ_TRANSIT", "version": "1.0", "region": "440304",
                "start": start, "end": start + metro * 36 // 100 + 300,
                "quantities": {"metro_m": metro, "bus_m": 0},
            })  # fmt: skip
    return records


def build(db: Path) -> tuple[Registry, Signer, Signer, list[Signer]]:
    registry, operator = new_registry(db, "web", synchronous="NORMAL")
    domain = registry.domain

    def op(kind: str, /, **fields: Any) -> tuple[str, dict[str, Any], str]:
        return operator.request(domain, kind, **fields)

    me, platform = Signer.generate(), Signer.generate()
    people = [Signer.generate() for _ in range(PEOPLE - 1)]
    traders = [Signer.generate() for _ in range(TRADERS)]
    requests = [op("RegisterAssetClass", methodology="SZ_TRANSIT", methodologyVersion="1.0",
                   vintage=2026, region="440300"),
                op("OpenAccount", account=platform.address, kind="platform", name="Metro",
                   householdCommitment=NO_COMMITMENT),
                op("GrantRole", account=platform.address, role="platform")]  # fmt: skip
    requests += open_accounts(operator, registry, [p.address for p in [me, *people]], "person")
    requests += open_accounts(operator, registry, [t.address for t in traders], "household")
    requests += [
        op("Issue", to=t.address, assetClass=CLASS, amount=1_000_000, claimId=f"bench-{i}")
        for i, t in enumerate(traders)
    ]
    requests += [op("Issue", to=me.address, assetClass=CLASS, amount=50_000, claimId="bench-me")]
    execute_all(registry, requests)
    records = trips(people, me)
    for n, start in enumerate(range(0, len(records), 1_000)):
        fields, details = m.activity_batch(
            platform.address, f"day-{n}", records[start : start + 1_000]
        )
        kind, message, signature = platform.request(domain, "SubmitActivities", **fields)
        registry.execute(kind, message, signature, {"details": details})
    retire = me.request(domain, "Retire", owner=me.address, assetClass=CLASS, batchNo=0,
                        amount=1_000, beneficiaryCommitment=NO_COMMITMENT,
                        beneficiary=me.address, reason="commute", jurisdiction="CN-GD")  # fmt: skip
    execute_all(registry, [retire])
    rng = random.Random(7)
    while (count := registry.store.event_count()) < EVENTS - REQUESTS:
        batch = []
        for _ in range(min(2_048, EVENTS - REQUESTS - count)):
            src, dst = rng.sample(traders, 2)
            batch.append(src.request(domain, "Transfer", **{"from": src.address}, to=dst.address,
                                     assetClass=CLASS, batchNo=0, amount=1))  # fmt: skip
        execute_all(registry, batch)
    return registry, operator, me, traders


def p95_ms(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[-1] * 1000, 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "web.db"
        started = time.perf_counter()
        registry, _, me, traders = build(db)
        domain = registry.domain
        registry.store.close()
        build_s = time.perf_counter() - started
        settings = Settings(db=db, anchoring=False, rate_limits=False,
                            public_url="http://bench.local",  # the host /me signs in to
                            operator_api_key=SecretStr("bench-operator-key-000000000000"))  # fmt: skip
        with TestClient(create_app(settings), base_url="http://bench.local") as client:
            now = int(time.time())
            text = siwe_message("bench.local", me.address, "http://bench.local/me", CHAIN_ID,
                                "benchnonce0001", now, now + 3600)  # fmt: skip
            signed = Account.sign_message(encode_defunct(text=text), me.private_key_hex)
            session = client.post("/v1/sessions", json={
                "siwe": text, "signature": "0x" + signed.signature.hex().removeprefix("0x")})  # fmt: skip
            assert session.status_code == 200, session.text
            bearer = {"Authorization": f"Bearer {session.json()['token']}"}
            rng = random.Random(8)
            home, events, account = [], [], []
            for _ in range(REQUESTS):
                src, dst = rng.sample(traders, 2)
                _, message, signature = src.request(domain, "Transfer", **{"from": src.address},
                                                    to=dst.address, assetClass=CLASS, batchNo=0,
                                                    amount=1)  # fmt: skip
                sent = client.post(
                    "/v1/transfers", json={"message": message, "signature": signature}
                )
                assert sent.status_code == 201, sent.text
                for samples, path, headers in ((home, "/", {}), (events, "/explorer/events", {}),
                                               (account, "/me/data", bearer)):  # fmt: skip
                    began = time.perf_counter()
                    r = client.get(path, headers=headers)
                    samples.append(time.perf_counter() - began)
                    assert r.status_code == 200, (path, r.text[:300])
            data = client.get("/me/data", headers=bearer).json()
            events_in_log = client.get("/v1").json()["events"]
    home_p95, events_p95 = p95_ms(home), p95_ms(events)
    print(json.dumps({
        "events": events_in_log,
        "my_claims": len(data["claims"]),
        "build_s": round(build_s, 1),
        "explorer_home_p95_ms": home_p95,
        "explorer_events_p95_ms": events_p95,
        "explorer_p95_ms": max(home_p95, events_p95),
        "account_p95_ms": p95_ms(account),
        "requests": REQUESTS,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
