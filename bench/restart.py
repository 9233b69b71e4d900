"""Start-up time of `serve` against the number of stored checkpoints; prints one JSON object.

Two registries are built in process on the persistent embedded chain (`DB.chain`): one
with 10 anchored checkpoints and one with 1,000 (one event, one checkpoint, one anchor at
a time, the bridge deployed as `serve` would). Then `carbon-registry serve` is started on
each as a child process, RUNS times, and timed until `/v1/health` says ready (the API
answers and the anchoring worker is attached). Nothing may be re-anchored at start, so
the ratio should stay near 1 (target: startup_ratio <= 1.5, issue 12).

chain_bytes_per_anchor: growth of the chain file (with its WAL) between the 10th and the
1,000th anchor, divided by the 990 anchors in between.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anchoring.chain import Chain, embedded_chain_file  # noqa: E402
from anchoring.worker import AnchorPolicy  # noqa: E402
from bridge.watcher import start_bridge  # noqa: E402
from carbon_registry.cli.anchoring import make_worker  # noqa: E402
from carbon_registry.cli.app import Context  # noqa: E402
from registry.commitments import NO_COMMITMENT  # noqa: E402
from registry.signing import Signer  # noqa: E402
from tests.serve_process import Served, run_cli  # noqa: E402

SMALL, LARGE = 10, 1_000
RUNS = 3


def chain_bytes(db: Path) -> int:
    chain = embedded_chain_file(db)
    return sum(p.stat().st_size for p in chain.parent.glob(chain.name + "*") if p.is_file())


def build(db: Path, checkpoints: int, sizes: dict[int, int]) -> None:
    """A registry whose worker anchored `checkpoints` checkpoints; records the chain file's
    size after each checkpoint count named in `sizes`."""
    run_cli("--db", str(db), "init")
    context = Context(str(db))
    chain = Chain.create_embedded(embedded_chain_file(db))
    try:
        registry, operator = context.registry, context.operator()
        worker = make_worker(context, chain, AnchorPolicy(max_age_s=0))
        worker.attach()
        start_bridge(registry, worker, operator, None)
        worker.run_once()
        while len(worker.checkpoints.all()) < checkpoints:
            opened = operator.request(registry.domain, "OpenAccount",
                                      account=Signer.generate().address, kind="household",
                                      name="", householdCommitment=NO_COMMITMENT)  # fmt: skip
            for result in registry.execute_many([opened]):
                assert not isinstance(result, Exception), result
            worker.run_once()
            if len(worker.checkpoints.all()) in sizes:
                sizes[len(worker.checkpoints.all())] = chain_bytes(db)
    finally:
        chain.close()
        context.close()


def startup_s(db: Path) -> float:
    """Median seconds from spawning `serve` until it is ready, over RUNS starts."""
    times = []
    with Served(db) as served:
        for _ in range(RUNS):
            times.append(served.start())
            served.stop()
    return statistics.median(times)


def main() -> None:
    sizes = {SMALL: 0, LARGE: 0}
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.db", Path(tmp) / "large.db"
        build(small, SMALL, {})
        build(large, LARGE, sizes)
        startup_small, startup_large = startup_s(small), startup_s(large)
    print(
        json.dumps(
            {
                "startup_10_s": round(startup_small, 3),
                "startup_1000_s": round(startup_large, 3),
                "startup_ratio": round(startup_large / startup_small, 3),
                "chain_bytes_per_anchor": round((sizes[LARGE] - sizes[SMALL]) / (LARGE - SMALL)),
            }
        )
    )


if __name__ == "__main__":
    main()
