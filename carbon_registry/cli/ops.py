"""Operations: `backup` (online, verified) and `restore` (only a copy that verifies)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from carbon_registry.cli.app import Context, cli, pass_context, progress_bar
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
        with progress_bar(3, "steps") as advance:  # chain, database, verification
            manifest = backup(db, Path(dest), chain, advance)
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


@cli.command("rotate-key")
@click.argument("new_key_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--chain",
    "chain_spec",
    envvar="CARBON_REGISTRY_CHAIN",
    default="embedded",
    show_default=True,
    help="'embedded' (stop `serve` first: it holds the chain file) or a JSON-RPC URL.",
)
@click.option(
    "--token",
    envvar="CARBON_REGISTRY_TOKEN",
    default=None,
    help="CarbonCredits address (default: the first operator's second contract, if deployed).",
)
@pass_context
def rotate_key(obj: Context, new_key_file: str, chain_spec: str, token: str | None) -> None:
    """Hand the operator's roles to the key in NEW_KEY_FILE: anchorer and admin of the
    contracts on chain, operator in the registry; the old key loses them. Checkpoints the old
    key signed keep verifying. The operator key file then holds the new key."""
    from anchoring.chain import ChainError
    from bridge.rotation import rotate_operator
    from carbon_registry.cli.anchoring import open_chain
    from carbon_registry.cli.app import OPERATOR_KEY_ENV, load_key, operator_key_path
    from registry.eip712 import contract_address_of

    registry = obj.registry
    old, new = obj.operator(), load_key(Path(new_key_file))
    chain = open_chain(chain_spec, obj.db)
    try:
        chain.bind(registry.domain.verifying_contract)
        token = token or contract_address_of(registry.operator, 1)
        rotation = rotate_operator(
            registry, chain, token if chain.has_code(token) else None, old, new
        )
    except ChainError as exc:
        raise ValidationError(f"the chain refused the rotation: {exc}") from exc
    finally:
        chain.close()
    for line in rotation.done:
        click.echo(line)
    if os.environ.get(OPERATOR_KEY_ENV):
        click.echo(f"now set {OPERATOR_KEY_ENV} to the new key before starting `serve`")
        return
    path = operator_key_path(obj.db)
    retired = path.with_name(f"{path.name}.retired-{old.address}")
    os.replace(path, retired)  # kept: the old key's checkpoints stay attributable
    staged = path.with_name(path.name + ".partial")
    staged.write_bytes(Path(new_key_file).read_bytes())
    staged.chmod(0o600)
    os.replace(staged, path)
    click.echo(f"{path} now holds the new key; the old one is in {retired}")
