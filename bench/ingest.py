"""Activity ingestion and issuance-run speed. Prints one JSON object.

`records_per_s`: signed activity records ingested per second in batches of 1,000, the whole
path of `Registry.submit_activities`: committed records normalised and hashed, the batch
signature recovered (one a batch), every record's details checked against its commitment
(SHA-256 with its 32-byte salt), every salt checked unused and remembered, the activity
ids turned into keyed hashes, duplicates, overlaps across a person's accounts, time-zone
twins, regions and claim windows looked up, every methodology formula and the leakage
deduction computed, claims, rejections and the private activity index stored, the event
(commitments + outcomes) built in RFC 8785, every record's details encrypted (AES-256-GCM)
under its person's key, and all of it committed (WAL, synchronous=FULL). Platforms commit
and sign before the clock starts. About 2% of the records repeat a trip already claimed, so
the dedupe path is exercised.

`raw_insert_per_s`: the same records, flattened into rows, inserted by sqlite-utils
`insert_all` into an empty WAL table, one transaction per 1,000 rows (no signature, no
validation, no index): the floor of what storing them costs. The two alternate batch by
batch, so that both see the same load on a shared machine. `ratio` = the first / the
second.

`issuance_1e6_s`: one issuance run over 10^6 approved claims (20,000 households x 5 asset
classes = 100,000 batches plus the buffer batches), timed from the signed request to the
commit. The claims are bulk-inserted as approved, as the bench for the ledger does with
holdings: building them through 10^6 signed records would take minutes and measure
ingestion again.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import new_registry  # noqa: E402  (bench/ is the script directory)

from registry import messages as m  # noqa: E402
from registry.commitments import NO_COMMITMENT  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.methodologies import CATALOGUE  # noqa: E402
from registry.mrv.ingest import class_of, cst_day  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import CLAIM_COLUMNS  # noqa: E402

# 00:00 China Standard Time five days ago: inside every claim window.
T0 = (int(time.time()) + 8 * 3600) // 86_400 * 86_400 - 8 * 3600 - 5 * 86_400
BATCH = 1_000
RECORDS = int(os.environ.get("BENCH_RECORDS", "50000"))
ACCOUNTS = 20_000
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "1000000"))
HOUSEHOLDS = 20_000


def bulk_accounts(registry: Registry, n: int, kind: str) -> list[str]:
    """Accounts written straight into the table (setup only; the bench measures ingestion)."""
    addresses = [m.address(f"0x{i + 1:040x}", "bench") for i in range(n)]
    with registry.store.write():
        registry.store.conn.executemany(
            "INSERT INTO accounts(address, kind, name, household, opened_seq) VALUES (?,?,'',NULL,0)",
            [(a, kind) for a in addresses],
        )
    return addresses


def activity_records(accounts: list[str], n: int, seed: int) -> list[dict[str, Any]]:
    """Commutes: each account rides twice a weekday; 2% repeat an earlier trip."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for i in range(n):
        if records and rng.random() < 0.02:
            earlier = rng.choice(records)
            record = dict(earlier, id=f"trip-{i}", start=earlier["start"] + 60)
            record["end"] = record["start"] + 1_500
            records.append(record)
            continue
        account = accounts[i % len(accounts)]
        trip = i // len(accounts)
        start = (
            T0 + (trip // 2) * 86_400 + (8 if trip % 2 == 0 else 18) * 3600 + rng.randint(0, 3000)
        )
        metro = rng.randint(3_000, 25_000)
        records.append(
            {
                "id": f"trip-{i}",
                "account": account,
                "methodology": "SZ_TRANSIT",
                "version": "1.0",
                "region": "440304",
                "start": start,
                "end": start + metro * 36 // 100 + 300,  # about 30 km/h with the walk
                "quantities": {"metro_m": metro, "bus_m": rng.choice((0, 0, 2_000))},
            }
        )
    return records


def ingestion(tmp: Path) -> tuple[float, float]:
    registry, operator = new_registry(tmp / "ingest.db", "ingest")
    accounts = bulk_accounts(registry, ACCOUNTS, "person")
    platform = Signer.generate()
    d = registry.domain
    for request in (
        operator.request(
            d,
            "OpenAccount",
            account=platform.address,
            kind="platform",
            name="",
            householdCommitment=NO_COMMITMENT,
        ),
        operator.request(d, "GrantRole", account=platform.address, role="platform"),
    ):
        registry.execute(*request)
    records = activity_records(accounts, RECORDS, seed=1)
    signed = []
    for i in range(0, len(records), BATCH):
        fields, details = m.activity_batch(platform.address, f"batch-{i}", records[i : i + BATCH])
        signed.append((*platform.request(d, "SubmitActivities", ttl_s=3_000, **fields), details))
    rows = [
        {
            "platform": platform.address,
            "id": r["id"],
            "account": r["account"],
            "methodology": r["methodology"],
            "version": r["version"],
            "start": r["start"],
            "end": r["end"],
            "quantities": json.dumps(r["quantities"]),
        }
        for r in records
    ]
    raw = sqlite_utils.Database(tmp / "raw.db")
    raw.enable_wal()
    # Batch by batch, each path in turn, so that both see the same load on a shared machine.
    accepted, ingest_s, raw_s = 0, 0.0, 0.0
    for n, (_, message, signature, details) in enumerate(signed):
        start = time.perf_counter()
        accepted += registry.submit_activities(message, signature, details).effects["accepted"]
        middle = time.perf_counter()
        raw["activities"].insert_all(rows[n * BATCH : (n + 1) * BATCH], batch_size=BATCH)
        ingest_s, raw_s = ingest_s + middle - start, raw_s + time.perf_counter() - middle
    assert 0.9 * len(records) < accepted < len(records), accepted
    registry.store.close()
    raw.close()
    return len(records) / ingest_s, len(rows) / raw_s


def issuance(tmp: Path) -> float:
    registry, operator = new_registry(tmp / "issue.db", "ingest")
    households = bulk_accounts(registry, HOUSEHOLDS, "household")
    pool = Signer.generate()
    d = registry.domain
    registry.execute(
        *operator.request(
            d,
            "OpenAccount",
            account=pool.address,
            kind="company",
            name="Buffer pool",
            householdCommitment=NO_COMMITMENT,
        )
    )
    methodologies = [
        CATALOGUE[(k, "1.0")]
        for k in (
            "SZ_TRANSIT",
            "SZ_HOME_ELECTRICITY",
            "RECYCLING",
            "NEV_PASSENGER",
            "SECONDHAND_REUSE",
        )
    ]
    rng = random.Random(2)
    rows = []
    for i in range(CLAIMS):
        methodology = methodologies[i % len(methodologies)]
        household = households[(i // len(methodologies)) % HOUSEHOLDS]
        start = T0 + (i // (HOUSEHOLDS * len(methodologies))) * 3_600
        row = dict.fromkeys(CLAIM_COLUMNS)
        row.update(
            claim_id=f"C{1 + i // BATCH}-{i % BATCH}",
            seq=1 + i // BATCH,
            idx=i % BATCH,
            platform=pool.address,
            activity_id=f"a{i}",
            account=household,
            beneficiary=household,
            methodology=methodology.id,
            version=methodology.version,
            methodology_hash=methodology.hash(),
            family=methodology.family,
            start_s=start,
            end_s=start + 600,
            day=cst_day(start),
            asset_class=class_of(methodology, start),
            grams=rng.randint(1, 2_000),
            evidence_hash="0x" + "00" * 32,
            status="approved",
            attested_seq=1,
        )
        rows.append(tuple(row.values()))
    with registry.store.write():
        registry.store.conn.executemany(
            f"INSERT INTO claims({', '.join(CLAIM_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(CLAIM_COLUMNS))})",
            rows,
        )
    registry.store.conn.execute("ANALYZE")
    del rows
    request = operator.request(  # 10%: the highest floor of these methodologies
        d,
        "RunIssuance",
        runId="bench",
        bufferPool=pool.address,
        bufferBasisPoints=1_000,
        creditsTo="account",
    )
    start = time.perf_counter()
    receipt = registry.execute(*request)
    elapsed = time.perf_counter() - start
    assert receipt.effects["claims"] == CLAIMS
    registry.store.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ingest_rate, raw_rate = ingestion(Path(tmp))
        issuance_s = issuance(Path(tmp))
    print(
        json.dumps(
            {
                "records_per_s": round(ingest_rate),
                "raw_insert_per_s": round(raw_rate),
                "ratio": round(ingest_rate / raw_rate, 3),
                "issuance_1e6_s": round(issuance_s, 2),
                "records": RECORDS,
                "batch": BATCH,
                "issuance_claims": CLAIMS,
                "synchronous": "FULL",
            }
        )
    )


if __name__ == "__main__":
    main()
