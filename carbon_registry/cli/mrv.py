"""MRV commands: methodologies, platform batches, attestations, issuance runs, claims,
reversals, evidence erasure and the simulator."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from carbon_registry.cli.app import (
    Context,
    cli,
    echo_json,
    echo_receipt,
    json_option,
    key_file_option,
    owner_signer,
    pass_context,
    progress_bar,
)
from carbon_registry.cli.ledger import init
from carbon_verifier.jsonsafe import loads
from registry import messages
from registry.errors import UnknownMethodologyError, ValidationError
from registry.ledger import Receipt
from registry.messages import MAX_ATTESTED, address
from registry.methodologies import CATALOGUE
from registry.mrv.ingest import REASONS
from registry.mrv.simulator import MEMBER_COUNTS, MERCHANTS, SimulationConfig, simulation_signer
from registry.mrv.simulator import simulate as run_simulation
from registry.units import format_grams


@cli.group()
def methodologies() -> None:
    """The methodology library: versions, factors with sources, rules and hashes."""


@methodologies.command("list")
@json_option
def methodologies_list(as_json: bool) -> None:
    """List every methodology version with its family, region and hash."""
    rows = [
        {
            "id": md.id,
            "version": md.version,
            "family": md.family,
            "region": md.region,
            "title_en": md.title_en,
            "title_zh": md.title_zh,
            "hash": md.hash(),
        }
        for md in CATALOGUE.values()
    ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['id']:<20} {r['version']:<4} {r['family']:<17} {r['region']:<7} {r['title_en']}"
        )


@methodologies.command("show")
@click.argument("methodology_id")
@click.option("--version", "version", default="1.0", show_default=True, help="Version.")
def methodologies_show(methodology_id: str, version: str) -> None:
    """Print METHODOLOGY_ID's parameters (factors, sources, rules, caps) and hash as JSON."""
    md = CATALOGUE.get((methodology_id, version))
    if md is None:
        raise UnknownMethodologyError(f"no methodology {methodology_id} version {version}")
    echo_json({"hash": md.hash(), **md.parameters()})


def echo_batch_receipt(receipt: Receipt, as_json: bool) -> None:
    if as_json:
        echo_receipt(receipt, True)
        return
    fx = receipt.effects
    click.echo(
        f"event {receipt.seq} {receipt.event_type}: {fx['accepted']} claims"
        f" ({format_grams(fx['grams'])}), {fx['rejected']} rejected"
    )
    for outcome in fx["outcomes"]:
        if "claim" in outcome:
            capped = f" (capped: {outcome['capped']})" if "capped" in outcome else ""
            click.echo(f"  {outcome['claim']}: {outcome['grams']:,} g{capped}")
        else:
            click.echo(f"  rejected [{outcome['reason']}]: {outcome['detail']}")


@cli.group()
def platform() -> None:
    """Data-provider platforms: submit signed batches of activity records."""


@platform.command("submit")
@key_file_option
@click.argument("batch_file", type=click.File("r"))
@json_option
@pass_context
def platform_submit(obj: Context, key_file: str | None, batch_file: Any, as_json: bool) -> None:
    """Sign and submit BATCH_FILE with the platform's key.

    BATCH_FILE is JSON: {"batchId": ..., "activities": [{"id", "account", "methodology",
    "version", "region", "start", "end", "quantities"}, ...]}. Each activity is committed
    to with a fresh random salt: the log holds the commitments, the details are sealed
    apart (erasable). Submitting the same batch file again commits anew, with fresh salts,
    so it is refused: its batch id is taken by other commitments.
    """
    signer = owner_signer(key_file)
    batch = loads(batch_file.read(), what=batch_file.name)
    try:
        fields, details = messages.activity_batch(
            signer.address, batch["batchId"], batch["activities"]
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"{batch_file.name} is not a batch file: {exc!r}") from exc
    registry = obj.registry
    _, message, signature = signer.request(registry.domain, "SubmitActivities", **fields)
    echo_batch_receipt(registry.submit_activities(message, signature, details), as_json)


@cli.group()
def verifier() -> None:
    """Verification bodies: attest pending claims (approve, or reject with a reason)."""


@verifier.command("attest")
@key_file_option
@click.option("--claim", "claim_ids", multiple=True, help="A claim id; repeat for several.")
@click.option("--all-pending", is_flag=True, help="Every pending claim (in chunks of 10,000).")
@click.option("--reject", is_flag=True, help="Reject the claims (default: approve).")
@click.option("--reason", default="", help="Why; required with --reject.")
@click.option("--attestation-id", default=None, help="Id of the attestation (default: generated).")
@json_option
@pass_context
def verifier_attest(
    obj: Context,
    key_file: str | None,
    claim_ids: tuple[str, ...],
    all_pending: bool,
    reject: bool,
    reason: str,
    attestation_id: str | None,
    as_json: bool,
) -> None:
    """Sign an attestation over claims with the verifier's key."""
    signer = owner_signer(key_file)
    registry = obj.registry
    ids = list(claim_ids)
    if all_pending:
        ids += [c["claim_id"] for c in registry.store.claims(status="pending")]
    if not ids:
        raise ValidationError("no claims: give --claim ID or --all-pending")
    ids = sorted(set(ids))
    base = attestation_id or f"att-{uuid.uuid4().hex[:12]}"
    for n, start in enumerate(range(0, len(ids), MAX_ATTESTED)):
        chunk = ids[start : start + MAX_ATTESTED]
        name = base if len(ids) <= MAX_ATTESTED else f"{base}-{n}"
        fields = messages.attestation(signer.address, name, chunk, not reject, reason)
        echo_receipt(
            registry.attest(*signer.request(registry.domain, "AttestClaims", **fields)[1:]), as_json
        )


@cli.group()
def claims() -> None:
    """Reduction claims and the records refused at ingestion, with their reasons."""


limit_option = click.option(
    "--limit", type=click.IntRange(1, 100_000), default=100, show_default=True,
    help="At most this many.",
)  # fmt: skip


@claims.command("list")
@click.option("--account", default=None, help="Only this account's claims.")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "issued", "reversed"]),
    default=None,
    help="Only claims in this status.",
)
@limit_option
@json_option
@pass_context
def claims_list(
    obj: Context, account: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List claims with their methodology, interval, grams and status."""
    who = None if account is None else address(account, "account")
    rows = obj.reader.store.claims(account=who, status=status, limit=limit)
    if as_json:
        echo_json(rows)
        return
    for c in rows:
        verdict = f" ({c['verdict']})" if c["verdict"] else ""
        click.echo(
            f"{c['claim_id']:<12} {c['methodology']}@{c['version']:<4} {c['day']} {c['grams']:>8,} g"
            f"  {c['status']}{verdict}  {c['account']}"
        )


@claims.command("rejected")
@click.option("--account", default=None, help="Only this account's records.")
@click.option(
    "--reason", type=click.Choice(sorted(REASONS)), default=None, help="Only this reason."
)
@limit_option
@json_option
@pass_context
def claims_rejected(
    obj: Context, account: str | None, reason: str | None, limit: int, as_json: bool
) -> None:
    """List activity records refused at ingestion, with the reason and its detail."""
    who = None if account is None else address(account, "account")
    rows = obj.reader.store.rejections(account=who, reason=reason, limit=limit)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"event {r['seq']} #{r['idx']} {r['activity_id']} [{r['reason']}] {r['detail']}")


@claims.command("summary")
@json_option
@pass_context
def claims_summary(obj: Context, as_json: bool) -> None:
    """Claims per status, and records refused at ingestion per reason."""
    store = obj.reader.store
    counts, rejected = store.claim_counts(), store.rejection_counts()
    if as_json:
        echo_json({"claims": counts, "rejected": rejected})
        return
    for status, c in sorted(counts.items()):
        click.echo(f"{status:<10} {c['claims']:>8,} claims  {format_grams(c['grams'])}")
    for reason, n in sorted(rejected.items()):
        click.echo(f"refused    {n:>8,} records, {reason}: {REASONS[reason]}")


@cli.command("erase")
@click.argument("subject")
@pass_context
def erase(obj: Context, subject: str) -> None:
    """Erase what the registry holds personally about SUBJECT (an account): its data key
    and every piece sealed under it (evidence, names). The log keeps only commitments, so
    every proof stays valid."""
    erased = obj.registry.erase(subject)
    click.echo(f"erased {erased} piece(s) of personal data of {address(subject, 'subject')}")


@cli.command()
@click.option(
    "--households",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Households to simulate.",
)
@click.option(
    "--days", type=click.IntRange(1, 3_660), default=7, show_default=True, help="Days of activity."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**53 - 1),
    default=1,
    show_default=True,
    help="Random seed: same seed, same data.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First simulated day (China Standard Time); default: the days up to yesterday.",
)
@click.option(
    "--buffer-bp",
    type=click.IntRange(0, 5_000),
    default=1_000,
    show_default=True,
    help="Buffer share in basis points (at least every methodology's floor).",
)
@click.option(
    "--keys-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write the simulated households', their members', the merchants' and the"
    " community's key files here (to trade their credits).",
)
@json_option
@click.pass_context
def simulate(
    ctx: click.Context,
    households: int,
    days: int,
    seed: int,
    start: datetime | None,
    buffer_bp: int,
    keys_dir: str | None,
    as_json: bool,
) -> None:
    """Simulate households, platforms and a verifier through the whole MRV pipeline.

    Creates the --db registry first (like `init`) when it does not exist. Prints what was
    submitted, claimed, rejected (by reason), attested, issued and put in the buffer pool.
    """
    obj: Context = ctx.obj
    if not Path(obj.db).exists():
        ctx.invoke(init)
    config = SimulationConfig(households, days, seed, start.date() if start else None, buffer_bp)
    with progress_bar(days, "days") as advance:
        report = run_simulation(obj.registry, obj.operator(), config, advance)
    if keys_dir:
        Path(keys_dir).mkdir(parents=True, exist_ok=True)
        labels = [(f"household-{h}", f"household/{h}") for h in range(households)]
        labels += [
            (f"household-{h}-member-{i}", f"household/{h}/member/{i}")
            for h in range(households)
            for i in range(max(MEMBER_COUNTS))
            if obj.registry.store.account(
                simulation_signer(seed, f"household/{h}/member/{i}").address
            )
        ]  # the members earn the credits: each claim's go to its own account
        labels += [(f"merchant-{i}", f"merchant/{i}") for i in range(len(MERCHANTS))]
        labels.append(("community", "community/0"))
        for name, label in labels:
            key_file = Path(keys_dir) / f"{name}.key"
            if not key_file.exists():
                simulation_signer(seed, label).save(key_file)
    if as_json:
        echo_json(report.as_dict())
        return
    for line in report.lines():
        click.echo(line)
