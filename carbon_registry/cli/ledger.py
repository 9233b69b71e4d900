"""Ledger commands: init, keys, accounts, asset classes, credits, reads, replay, migrate."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import click

from carbon_registry.cli.app import (
    EMBEDDED_CHAIN_ID,
    OPERATOR_KEY_ENV,
    Context,
    cli,
    echo_json,
    json_option,
    operator_key_path,
    pass_context,
    passphrase_for_new_key,
    progress_bar,
)
from registry.eip712 import contract_address_of
from registry.errors import ValidationError
from registry.ledger import Registry
from registry.messages import address
from registry.replay import replay
from registry.signing import Signer
from registry.storage import Store, display, migrate_file, registry_exists
from registry.storage.postgres import is_url
from registry.units import format_grams


@cli.command()
@click.option(
    "--chain-id",
    type=click.IntRange(1, 2**53 - 1),
    default=EMBEDDED_CHAIN_ID,
    show_default=True,
    help="Chain id of the EIP-712 domain (default: the embedded chain's; see `deploy`).",
)
@click.option(
    "--contract",
    default=None,
    help="Anchoring contract address (default: where the embedded chain deploys it).",
)
@click.option("--log-id", default=None, help="Log identity (C2SP origin); default: generated.")
@pass_context
def init(obj: Context, chain_id: int, contract: str | None, log_id: str | None) -> None:
    """Create a new registry: its database, operator key and genesis event."""
    if is_url(obj.db):
        if registry_exists(obj.db):
            raise ValidationError("that database already holds a registry; choose another --db")
    elif Path(obj.db).exists():
        raise ValidationError(f"{obj.db} already exists; choose another --db")
    elif not Path(obj.db).resolve().parent.is_dir():
        raise ValidationError(f"the directory of {obj.db} does not exist; create it first")
    if os.environ.get(OPERATOR_KEY_ENV):
        operator = Signer(os.environ[OPERATOR_KEY_ENV])
    else:
        operator = Signer.generate()
        operator.save(operator_key_path(obj.db))
        click.echo(f"generated operator key {operator_key_path(obj.db)} (keep it secret)")
    verifying_contract = contract or contract_address_of(operator.address, 0)
    registry = Registry.create(
        Store(obj.db),
        chain_id=chain_id,
        verifying_contract=verifying_contract,
        operator=operator.address,
        log_id=log_id or f"carbon-registry.local/{uuid.uuid4().hex[:12]}",
    )
    click.echo(f"registry {registry.log_id} created in {display(obj.db)}")
    click.echo(f"operator {registry.operator}, chain {chain_id}, contract {verifying_contract}")


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--encrypt",
    is_flag=True,
    help="Encrypt it (Web3 Secret Storage) with a passphrase from"
    " CARBON_REGISTRY_KEY_PASSPHRASE or a prompt.",
)
def keygen(out: str, encrypt: bool) -> None:
    """Generate a key file OUT (JSON, readable by its owner only) and print its address."""
    signer = Signer.generate()
    passphrase = passphrase_for_new_key() if encrypt else None
    try:
        signer.save(Path(out), passphrase)
    except FileExistsError as exc:
        raise ValidationError(f"{out} exists; refusing to overwrite a key") from exc
    click.echo(signer.address)


@cli.group()
def accounts() -> None:
    """List, open and grant roles to accounts."""


@accounts.command("list")
@json_option
@pass_context
def accounts_list(obj: Context, as_json: bool) -> None:
    """List every account with its kind and roles."""
    store = obj.reader.store
    rows = [dict(a, roles=store.roles_of(a["address"])) for a in store.accounts()]
    if as_json:
        echo_json(rows)
        return
    for a in rows:
        member = f" member of {a['household']}" if a["household"] else ""
        roles = f" roles: {', '.join(a['roles'])}" if a["roles"] else ""
        click.echo(f"{a['address']}  {a['kind']:<9} {a['name']}{member}{roles}")


@cli.group()
def classes() -> None:
    """Asset classes: methodology x version x vintage x region."""


@classes.command("list")
@json_option
@pass_context
def classes_list(obj: Context, as_json: bool) -> None:
    """List the registered asset classes."""
    rows = obj.reader.store.asset_classes()
    if as_json:
        echo_json(rows)
        return
    for c in rows:
        click.echo(c["id"])


@cli.command()
@click.argument("account")
@json_option
@pass_context
def balance(obj: Context, account: str, as_json: bool) -> None:
    """Grams held by ACCOUNT per asset class and status."""
    rows = obj.reader.balances(account)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"{address(account, 'account')} holds nothing")
    for b in rows:
        click.echo(
            f"{b['asset_class']}: active {format_grams(b['active'])}, retired {b['retired']:,} g,"
            f" cancelled {b['cancelled']:,} g, locked {b['locked']:,} g"
        )


@cli.command()
@click.argument("account")
@json_option
@pass_context
def holdings(obj: Context, account: str, as_json: bool) -> None:
    """Serial ranges held by ACCOUNT, in every status."""
    rows = obj.reader.holdings(account)
    if as_json:
        echo_json(rows)
        return
    for h in rows:
        ref = f" ({h['ref']})" if h["ref"] else ""
        click.echo(f"{h['serials']}  {h['amount']:>12,} g  {h['status']}{ref}")


@cli.command()
@pass_context
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def batches(obj: Context, as_json: bool) -> None:
    """Issuance batches with their supply: issued = active + retired + cancelled + locked."""
    store = obj.reader.store
    rows = [dict(b, **store.batch_status_totals(b["batch_no"])) for b in store.batches()]
    if as_json:
        echo_json(rows)
        return
    for b in rows:
        click.echo(
            f"batch {b['batch_no']} {b['asset_class']} issued {b['amount']:,} g: active"
            f" {b['active']:,}, retired {b['retired']:,}, cancelled {b['cancelled']:,},"
            f" locked {b['locked']:,}"
        )


@cli.command()
@click.argument("certificate_id")
@pass_context
def certificate(obj: Context, certificate_id: str) -> None:
    """Print the retirement certificate CERTIFICATE_ID as JSON."""
    echo_json(obj.reader.certificate(certificate_id))


@cli.command()
@click.option(
    "--after",
    type=click.IntRange(-1, 2**53 - 1),
    default=-1,
    help="Only events with seq greater than this.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="At most this many.",
)
@pass_context
def events(obj: Context, after: int, limit: int) -> None:
    """Print events of the log, one canonical JSON object a line."""
    for _, _, _, body in obj.reader.store.event_rows(after, limit):
        click.echo(body.decode("utf-8"))


@cli.command()
@pass_context
def migrate(obj: Context) -> None:
    """Upgrade the registry file to this program's schema (back it up first; safe to rerun)."""
    before, applied = migrate_file(
        obj.db, lambda step: click.echo(f"applied step {step.version}: {step.description}")
    )
    if applied:
        click.echo(f"{display(obj.db)}: schema version {before} -> {applied[-1].version}")
    else:
        click.echo(f"{display(obj.db)} is at schema version {before}: nothing to do")


@cli.command("replay")
@click.option("--skip-signatures", is_flag=True, help="Trust recorded signers (faster).")
@pass_context
def replay_command(obj: Context, skip_signatures: bool) -> None:
    """Rebuild all state from the event log alone and compare it with the tables."""
    store = obj.reader.store
    with progress_bar(store.event_count(), "events") as advance:
        report = replay(store, verify_signatures=not skip_signatures, progress=advance)
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.clean:
        click.echo(f"replay of {report.events} events: {len(report.problems)} problem(s)", err=True)
        raise SystemExit(1)
    taken = report.taken_as_logged
    noted = f" ({taken} committed batch(es) taken as logged: data in them erased)" if taken else ""
    click.echo(f"replay of {report.events} events: state equals the log{noted}")
