"""Replay speed: events replayed per second with every signature re-verified. Prints one JSON
object.

The registry is built of real signed requests through `Registry.execute_many` (256 a
transaction, as the service groups them): an asset class, `BENCH_ACCOUNTS` accounts, one
operator-signed issuance to each, then owner-signed transfers and retirements (about one in
ten) up to `BENCH_EVENTS` events. Signing happens before the build; none of it is timed.

`replay_events_per_s` is `registry.replay.replay` (what `carbon-registry replay` and
`audit` run) over the file: every event's canonical form, signature (recovered again and
compared), request normal form, decision (effects equal to the logged ones) and the final
table comparison. `signatures_verified` counts the signatures replay recovered again and found equal
to the recorded signer (so the reader sees none was skipped); `cores` is the number of
processes checking events alone beside the one that decides and applies them (BENCH_WORKERS,
by default one a core) and `load` the machine's load
averages before and after.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import new_registry, open_accounts  # noqa: E402  (bench/ is the script directory)

from registry import replay as replay_module  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import Store  # noqa: E402

CLASS = "SZ_TRANSIT-1.0-2026-440300"
EVENTS = int(os.environ.get("BENCH_EVENTS", "100000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000"))
GROUP = 256
ISSUED_GRAMS = 10_000_000


def build(path: Path) -> int:
    """A registry of about EVENTS signed events at `path`; returns the event count."""
    registry, operator = new_registry(path, "replay")
    d = registry.domain
    owners = [Signer.generate() for _ in range(ACCOUNTS)]
    requests: list[tuple[str, dict[str, Any], str]] = [
        operator.request(
            d,
            "RegisterAssetClass",
            methodology="SZ_TRANSIT",
            methodologyVersion="1.0",
            vintage=2026,
            region="440300",
        )
    ]
    requests += open_accounts(operator, registry, [o.address for o in owners], "household")
    requests += [
        operator.request(
            d, "Issue", to=o.address, assetClass=CLASS, amount=ISSUED_GRAMS, claimId=f"bench-{i}"
        )
        for i, o in enumerate(owners)
    ]
    rng = random.Random(16)
    while len(requests) < EVENTS - 1:  # the genesis event is the first
        a, b = rng.sample(owners, 2)
        if rng.random() < 0.1:
            requests.append(
                a.request(
                    d,
                    "Retire",
                    owner=a.address,
                    assetClass=CLASS,
                    batchNo=0,
                    amount=rng.randint(1, 20),
                    beneficiary=a.address,
                    reason="bench",
                    jurisdiction="CN-GD",
                )
            )
        else:
            requests.append(
                a.request(
                    d,
                    "Transfer",
                    **{"from": a.address},
                    to=b.address,
                    assetClass=CLASS,
                    batchNo=0,
                    amount=rng.randint(1, 50),
                )
            )
    for i in range(0, len(requests), GROUP):
        results = registry.execute_many(requests[i : i + GROUP])
        failed = [r for r in results if isinstance(r, Exception)]
        assert not failed, failed[:3]
    events: int = registry.store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    registry.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    registry.store.close()
    return events


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replay.db"
        start = time.perf_counter()
        events = build(path)
        build_s = time.perf_counter() - start
        workers = int(os.environ.get("BENCH_WORKERS", "0")) or replay_module.usable_cores()
        load_before = os.getloadavg()
        store = Store(path)
        start = time.perf_counter()
        report = replay_module.replay(store, verify_signatures=True, workers=workers)
        elapsed = time.perf_counter() - start
        store.close()
        load_after = os.getloadavg()
    assert report.clean, report.problems
    assert report.events == events
    print(
        json.dumps(
            {
                "replay_events_per_s": round(events / elapsed),
                "replay_s": round(elapsed, 2),
                "events": events,
                "signatures_verified": report.signatures_verified,
                "cores": workers,
                "cpu_count": os.cpu_count(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in load_after],
                "build_s": round(build_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
