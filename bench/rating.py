"""The low-carbon credit rating read with 10^5 events in the log. Prints one JSON object.

`rating_p95_ms`, `rating_max_ms`: `registry.rating.account_rating` (what `GET
/v1/accounts/{a}/rating` computes) for 300 accounts, p95 and maximum. The log: 2,000
people with 25,000 metro trips sent in 25 committed batches of 1,000 records, attested and
issued in five runs, then events written straight into the events table up to 100,000
(setup only: the rating reads the claims and retirements of one account by index and the
time of the last event, so what the other events hold does not matter).
`busy_account_ms`: the same for one account with 1,000 issued claims over 12 months and 100
retirements (bulk-inserted rows, as bench/ingest.py does for issuance).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import new_registry  # noqa: E402  (bench/ is the script directory)

from registry import messages as m  # noqa: E402
from registry.canonical import canonical_bytes  # noqa: E402
from registry.commitments import NO_COMMITMENT  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.rating import account_rating  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import CLAIM_COLUMNS, Store  # noqa: E402
from registry.times import format_time  # noqa: E402

PEOPLE = 2_000
BATCHES = 25
BATCH = 1_000
EVENTS = 100_000
SAMPLES = 300
T0 = int(time.time()) - 4 * 86_400


def build(path: Path) -> tuple[Registry, list[str]]:
    registry, operator = new_registry(path, "rating")
    d = registry.domain
    people = [m.address(f"0x{i + 1:040x}", "bench") for i in range(PEOPLE)]
    with registry.store.write():  # setup only: the bench measures the read
        registry.store.conn.executemany(
            "INSERT INTO accounts(address, kind, name, household, opened_seq)"
            " VALUES (?, 'person', '', NULL, 0)",
            [(a,) for a in people],
        )
    platform, verifier, pool = Signer.generate(), Signer.generate(), Signer.generate()
    for signer, kind, role in ((platform, "platform", "platform"),
                               (verifier, "verifier", "verifier"), (pool, "company", None)):  # fmt: skip
        registry.execute(*operator.request(d, "OpenAccount", account=signer.address, kind=kind,
                                           name=kind, householdCommitment=NO_COMMITMENT))  # fmt: skip
        if role:
            registry.execute(*operator.request(d, "GrantRole", account=signer.address, role=role))
    rng = random.Random(7)
    for b in range(BATCHES):
        records = []
        for i in range(BATCH):
            start = T0 + (b * BATCH + i) // PEOPLE * 3 * 3_600 + rng.randint(0, 600)
            records.append({
                "id": f"trip-{b}-{i}", "account": people[(b * BATCH + i) % PEOPLE],
                "methodology": "SZ_TRANSIT", "version": "1.0", "region": "440304",
                "start": start, "end": start + 1_800,
                "quantities": {"metro_m": rng.randint(3_000, 25_000), "bus_m": 0},
            })  # fmt: skip
        fields, details = m.activity_batch(platform.address, f"b{b}", records)
        receipt = registry.execute(
            *platform.request(d, "SubmitActivities", ttl_s=3_000, **fields), {"details": details}
        )
        claims = [o["claim"] for o in receipt.effects["outcomes"] if "claim" in o]
        attest = m.attestation(verifier.address, f"a{b}", claims, True, "")
        registry.execute(*verifier.request(d, "AttestClaims", **attest))
        if b % 5 == 4:
            registry.execute(*operator.request(d, "RunIssuance", runId=f"run-{b}",
                                               bufferPool=pool.address, bufferBasisPoints=500,
                                               creditsTo="account"))  # fmt: skip
    return registry, people


def busy_account(store: Store, seq: int) -> str:
    """An account with 1,000 claims issued by runs over 12 months and 100 retirements."""
    account = m.address("0x" + "ee" * 20, "bench")
    runs = list(range(seq, seq + 12))
    now = time.time()
    events = [
        (s, "IssuanceRun", format_time(now - (12 - i) * 30 * 86_400)) for i, s in enumerate(runs)
    ]
    events += [
        (seq + 12 + i, "CreditsRetired", format_time(now - i * 3 * 86_400)) for i in range(100)
    ]
    claims = []
    for i in range(1_000):
        row = dict.fromkeys(CLAIM_COLUMNS)
        row.update(claim_id=f"C{seq}-{i}", seq=seq, idx=i, platform="0x", activity_id=f"x{i}",
                   account=account, beneficiary=account, methodology=("SZ_TRANSIT", "RECYCLING")[i % 2],
                   version="1.0", methodology_hash="", family="", start_s=0, end_s=0, day="",
                   asset_class="", grams=500 + i, evidence_hash="", status="issued",
                   issued_seq=runs[i % 12])  # fmt: skip
        claims.append(tuple(row.values()))
    with store.write():
        store.conn.executemany(
            "INSERT INTO events(seq, type, time, body) VALUES (?, ?, ?, ?)",
            [(s, t, tm, canonical_bytes({"seq": s, "type": t, "time": tm})) for s, t, tm in events],
        )
        store.conn.executemany(
            f"INSERT INTO claims({', '.join(CLAIM_COLUMNS)}) VALUES ({', '.join('?' * len(CLAIM_COLUMNS))})",
            claims,
        )
        store.conn.executemany(
            "INSERT INTO retirements(certificate_id, seq, time, owner, asset_class, amount)"
            " VALUES (?, ?, ?, ?, 'X', 300)",
            [(f"CERT-{s:010d}", s, tm, account) for s, t, tm in events if t == "CreditsRetired"],
        )
    return account


def fill(store: Store) -> None:
    """Events up to EVENTS (setup only)."""
    first = store.next_seq()
    now = format_time(time.time())
    rows = [(s, "CreditsTransferred", now, canonical_bytes({"seq": s, "type": "CreditsTransferred",
             "time": now, "payload": {"request": {}, "effects": {}}})) for s in range(first, EVENTS)]  # fmt: skip
    with store.write():
        store.conn.executemany(
            "INSERT INTO events(seq, type, time, body) VALUES (?, ?, ?, ?)", rows
        )


def timed(store: Store, account: str, size: int) -> float:
    start = time.perf_counter()
    account_rating(store, account, size)
    return (time.perf_counter() - start) * 1_000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        registry, people = build(Path(tmp) / "rating.db")
        store = registry.store
        busy = busy_account(store, store.next_seq())
        fill(store)
        size = store.event_count()
        assert size == EVENTS, size
        assert account_rating(store, people[0], size)["inputs"]["verifiedGrams"] > 0
        samples = sorted(timed(store, a, size) for a in random.Random(1).sample(people, SAMPLES))
        busy_ms = min(timed(store, busy, size) for _ in range(5))
        assert account_rating(store, busy, size)["inputs"]["activeMonths"] >= 11
        print(json.dumps({
            "events": size,
            "claims": store.conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0],
            "rating_p95_ms": round(samples[int(0.95 * len(samples)) - 1], 2),
            "rating_max_ms": round(samples[-1], 2),
            "busy_account_ms": round(busy_ms, 2),
        }))  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()
