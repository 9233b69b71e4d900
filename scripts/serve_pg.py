"""`make serve-pg`: the registry service on a local PostgreSQL cluster kept in a folder.

Starts (creating it on first use) a cluster in `.pg/data` listening on 127.0.0.1, and runs
`carbon-registry --db postgresql://... serve` against it, with the registry's own files
(operator key, operator API key, data key, embedded chain) in `.pg/home`
(CARBON_REGISTRY_HOME). Ctrl-C stops the service, then the cluster; the data stays for
the next run. Options after `--` go to `serve`.

    .venv/bin/python scripts/serve_pg.py [--dir .pg] [-- --port 8080]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.storage.base import HOME_ENV  # noqa: E402
from tests.postgres_cluster import cluster  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(ROOT / ".pg"), help="folder of the cluster")
    parser.add_argument("serve_args", nargs="*", help="options of `serve` (after --)")
    args = parser.parse_args()
    folder = Path(args.dir).resolve()
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with cluster(folder) as url:
        print(f"PostgreSQL cluster in {folder / 'data'} at {url}", flush=True)
        cli = Path(sys.executable).parent / "carbon-registry"
        env = os.environ | {HOME_ENV: str(home)}
        server = subprocess.Popen([str(cli), "--db", url, "serve", *args.serve_args], env=env)
        try:
            return server.wait()
        except KeyboardInterrupt:  # the terminal sent SIGINT to the service too
            server.send_signal(signal.SIGINT)
            return server.wait()


if __name__ == "__main__":
    sys.exit(main())
