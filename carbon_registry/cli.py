"""`carbon-registry`: the registry's commands plus the anchoring side's, in one CLI."""

from __future__ import annotations

from anchoring.cli import register
from registry.cli import cli

register(cli)


def main() -> None:
    cli(prog_name="carbon-registry")
