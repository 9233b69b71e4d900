"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests (and `make serve-pg`).

`initdb` and `pg_ctl` from PATH, else from Debian's /usr/lib/postgresql/<version>/bin; the
data directory and the socket are in a temporary directory; the cluster is created with
`--locale=C -E UTF8` so that text sorts byte by byte, as SQLite sorts it. PostgreSQL
refuses to run as root: as root, the server runs as the `postgres` user that Debian's
package creates. The cluster is stopped (`pg_ctl stop -m immediate`) and its directory
removed when the `with` block ends, however it ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def available() -> bool:
    return postgres_bin("initdb") is not None and postgres_bin("pg_ctl") is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextmanager
def cluster(directory: Path | None = None) -> Iterator[str]:
    """Start a cluster and yield the URL of its `postgres` database (user `postgres`,
    trusted on 127.0.0.1 only). With `directory`, the cluster lives there (created on
    first use, kept afterwards); otherwise in a temporary directory removed at the end."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL's initdb and pg_ctl are needed: apt-get install postgresql")
    temporary = directory is None
    root = Path(tempfile.mkdtemp(prefix="carbon-pg-")) if directory is None else directory
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        initdb_args = [
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--locale=C",
            "-E",
            "UTF8",
        ]
        sync = ["--no-sync"] if temporary else []
        subprocess.run(
            _as_server_user([initdb, *initdb_args, *sync]), check=True, capture_output=True
        )
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1" + (
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" if temporary else ""
    )
    log = str(root / "server.log")
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", log, "-w", "-t", "120", "start"]
    subprocess.run(_as_server_user(start), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user(
                [pg_ctl, "-D", str(data), "-m", "immediate" if temporary else "fast", "-w", "stop"]
            ),
            capture_output=True,
        )
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
