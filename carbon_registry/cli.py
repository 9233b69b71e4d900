"""`carbon-registry`: the registry's commands plus the anchoring side's and the API's, in one CLI."""

from __future__ import annotations

from anchoring.cli import register
from api.cli import register as register_api
from registry.cli import cli

__all__ = ["cli", "main"]

register(cli)
register_api(cli)


def main() -> None:
    cli(prog_name="carbon-registry")
