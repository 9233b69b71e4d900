"""`carbon-registry`: one command line over the library, a thin wrapper like sqlite-utils'.

`app` holds the group, its context and the translation of errors; each other module adds
the commands of one part: the ledger's reads, the signed writes (generated from the
request declarations), MRV, anchoring, the token bridge, and the service.
"""

from __future__ import annotations

from carbon_registry.cli import anchoring, bridge, ledger, mrv, ops, serve, writes  # noqa: F401
from carbon_registry.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="carbon-registry")
