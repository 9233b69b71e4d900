"""`carbon-registry`: one command line over the library, a thin wrapper like sqlite-utils'.

`app` holds the group, its context and the translation of errors; each other module adds
the commands of one part: the ledger's reads, the signed writes (generated from the
request declarations), MRV, anchoring, the token bridge, and the service.
"""

from __future__ import annotations

from carbon_registry.cli import (  # noqa: F401
    anchoring,
    bridge,
    ledger,
    mrv,
    ops,
    people,
    serve,
    writes,
)
from carbon_registry.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="carbon-registry")
