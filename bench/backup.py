"""An online backup of a registry of 10^5 events while writes go on; prints one JSON object.

The registry (10^5 events, anchored on a persistent embedded chain, the bridge on) is built
with bench/api.py's `reserve_registry`. A writer thread then commits signed transfers in
groups of 256 (as the service does), first alone for WINDOW_S seconds, then while
`anchoring.backup.backup` copies the database and the chain and verifies the copy (replay
and audit).
- backup_1e5_s: the whole backup, copy and verification;
- backup_mb: the size of the backup folder;
- write_tps_during_backup_ratio: transfers a second during the backup over transfers a
  second without it (target >= 0.7, issue 18).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anchoring.backup import backup  # noqa: E402
from anchoring.chain import Chain, embedded_chain_file  # noqa: E402
from registry.ledger import Registry  # noqa: E402
from registry.storage import Store  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_api", Path(__file__).with_name("api.py"))
assert _spec is not None and _spec.loader is not None
bench_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_api)

EVENTS = int(os.environ.get("BENCH_BACKUP_EVENTS", "100000"))
WINDOW_S = 5.0
GROUP = 256


class Writes:
    """Signed transfers committed in groups until stopped; counts them."""

    def __init__(self, db: Path, traders: list) -> None:  # type: ignore[type-arg]
        self.db = db
        self.traders = traders
        self.rng = random.Random(5)
        self.done = 0
        self.stop = threading.Event()

    def run(self) -> None:
        registry = Registry(Store(self.db, synchronous="NORMAL"))  # its thread's connection
        domain = registry.domain
        while not self.stop.is_set():
            batch = []
            for _ in range(GROUP):
                src, dst = self.rng.sample(self.traders, 2)
                batch.append(src.request(domain, "Transfer", **{"from": src.address},
                                         to=dst.address, assetClass=bench_api.CLASS, batchNo=0,
                                         amount=1))  # fmt: skip
            results = registry.execute_many(batch)
            self.done += sum(1 for r in results if not isinstance(r, Exception))
        registry.store.close()

    def rate_while(self, work: object) -> tuple[float, float]:
        """(transfers a second, seconds) while `work()` runs (or for WINDOW_S)."""
        thread = threading.Thread(target=self.run)
        self.stop.clear()
        before, began = self.done, time.perf_counter()
        thread.start()
        if callable(work):
            work()
        else:
            time.sleep(WINDOW_S)
        elapsed = time.perf_counter() - began
        self.stop.set()
        thread.join()
        return (self.done - before) / elapsed, elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "registry.db"
        _, traders = bench_api.reserve_registry(db, EVENTS)
        writes = Writes(db, traders)
        alone, _ = writes.rate_while(None)
        chain = Chain.create_embedded(embedded_chain_file(db))
        timings: dict[str, float] = {}

        def make_backup() -> None:
            began = time.perf_counter()
            backup(db, Path(tmp) / "copy", chain)
            timings["backup"] = time.perf_counter() - began

        during, _ = writes.rate_while(make_backup)
        chain.close()
        size = sum(p.stat().st_size for p in (Path(tmp) / "copy").iterdir())
    print(
        json.dumps(
            {
                "backup_1e5_s": round(timings["backup"], 2),
                "backup_mb": round(size / 1e6, 1),
                "write_tps_alone": round(alone),
                "write_tps_during_backup": round(during),
                "write_tps_during_backup_ratio": round(during / alone, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
