"""Operations: `backup` (online, verified) and `restore` (only a copy that verifies)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from carbon_registry.cli.app import Context, cli, pass_context
from carbon_registry.cli.serve import OPERATOR_API_KEY_ENV, operator_api_key_path
from registry.errors import ValidationError


@cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "--api",
    envvar="CARBON_REGISTRY_API",
    default=None,
    metavar="URL",
    help="Back up through a running `serve` (it holds the chain file): DEST is then a name"
    " in its backup folder.",
)
@pass_context
def backup_command(obj: Context, dest: str, api: str | None) -> None:
    """Copy the registry (database and embedded chain) into the new folder DEST while it may
    be in use, then verify the copy (replay, and audit against the copied chain). Keys are
    not copied: keep DB.operator-key.json and DB.data-key safe separately."""
    if api is not None:
        from api.client import RegistryClient

        key = os.environ.get(OPERATOR_API_KEY_ENV)
        if key is None and operator_api_key_path(obj.db).exists():
            key = operator_api_key_path(obj.db).read_text().strip()
        with RegistryClient(api, operator_api_key=key, timeout_s=3600) as client:
            made = client.post("/v1/backups", {"name": dest}, operator=True)
        click.echo(f"backup {made['folder']}: {made['events']:,} events, verified")
        return
    from anchoring.backup import backup
    from anchoring.chain import Chain, embedded_chain_file
    from anchoring.persistent_evm import ChainFileLockedError

    db = Path(obj.db)
    if not db.is_file():
        raise ValidationError(f"no registry at {db}")
    chain = None
    if embedded_chain_file(db).exists():
        try:
            chain = Chain.create_embedded(embedded_chain_file(db))
        except ChainFileLockedError as exc:
            raise ValidationError(
                f"{exc}: `serve` is running; back up through it with --api URL"
            ) from exc
    try:
        manifest = backup(db, Path(dest), chain)
    finally:
        if chain is not None:
            chain.close()
    click.echo(f"backup {dest}: {manifest.events:,} events, verified")


@cli.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@pass_context
def restore_command(obj: Context, src: str) -> None:
    """Verify the backup folder SRC and put it at --db (which must not exist); a copy that
    does not verify is refused."""
    from anchoring.backup import restore

    manifest = restore(Path(src), Path(obj.db))
    click.echo(f"restored {obj.db} from {src}: {manifest.events:,} events, verified")
