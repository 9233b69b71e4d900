"""Signed transfers a second through the HTTP API: one node on SQLite, one and two nodes on
one PostgreSQL, in the same run. Prints one JSON object.

Each phase starts from a new registry of TRADERS accounts holding grams (a new SQLite file,
or a new database of one PostgreSQL cluster), starts its `serve` processes (uvicorn,
anchoring off, as `bench/api.py`), sends TRANSFERS pre-signed transfers closed loop over
TRANSFER_CLIENTS connections to each node, then checks every balance through the first node.

The cluster is a throwaway one in a temporary folder (`tests/postgres_cluster.py`), with
PostgreSQL's durable defaults (fsync and synchronous commit on), as SQLite runs with
synchronous FULL. Writers on PostgreSQL take one advisory lock for their transaction (the
log head), so two nodes add CPU for everything around the write (HTTP, JSON, signature
recovery), not a second writer.

Keys: `sqlite_1node_tps`, `pg_1node_tps`, `pg_2node_tps`, each phase's `*_errors` and
`*_balances_exact`, `pg_vs_sqlite` (target >= 0.5) and `pg_2node_vs_1node` (target > 1).
On a 2-core machine the two nodes, the cluster and the load generator share those two
cores, which bounds what a second node can show.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from service_load import (  # noqa: E402  (bench/ is the script directory)
    TRADERS,
    TRANSFER_CLIENTS,
    TRANSFERS,
    balances_exact,
    bench_transfers,
    free_port,
    start_server,
    traders_registry,
)

from registry.storage.base import HOME_ENV  # noqa: E402
from tests.postgres_cluster import cluster  # noqa: E402

CHAIN_ID = 31337


def phase(db: Path | str, nodes: int) -> dict[str, Any]:
    """Transfers through `nodes` serve processes on the registry `db`."""
    registry, _, traders = traders_registry(db, CHAIN_ID, "bench.local/pg")
    registry.store.close()
    ports = [free_port() for _ in range(nodes)]
    servers = [start_server(db, port) for port in ports]
    try:
        transfers, expected = bench_transfers(ports, registry, traders)
        transfers["balances_exact"] = balances_exact(ports[0], expected)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    return transfers


def new_database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # the cluster's folder is in it, and its server runs as postgres
        # A registry on PostgreSQL keeps its data key and other files in this folder.
        os.environ[HOME_ENV] = str(Path(tmp) / "home")
        (Path(tmp) / "home").mkdir(mode=0o700)
        results = {"sqlite_1node": phase(Path(tmp) / "bench.db", 1)}
        with cluster(Path(tmp) / "pg") as url:
            for nodes in (1, 2):
                db = new_database(url, f"bench_{nodes}node")
                results[f"pg_{nodes}node"] = phase(db, nodes)
    for label, result in results.items():
        out[f"{label}_tps"] = result["transfers_per_s"]
        out[f"{label}_errors"] = result["transfer_errors"]
        out[f"{label}_balances_exact"] = result["balances_exact"]
        out[f"{label}_p99_ms"] = result["transfer_p99_ms"]
    out["pg_vs_sqlite"] = round(out["pg_1node_tps"] / out["sqlite_1node_tps"], 3)
    out["pg_2node_vs_1node"] = round(out["pg_2node_tps"] / out["pg_1node_tps"], 3)
    out.update(
        transfers=TRANSFERS, traders=TRADERS, clients_per_node=TRANSFER_CLIENTS,
        cpus=os.cpu_count(),
    )  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
