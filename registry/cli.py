"""`carbon-registry`: a thin command line over the registry library.

Every write command builds a request, signs it with the right key (the operator key for
operator actions, the owner's key file for transfers and retirements) and hands it to
`Registry`. Errors are printed as `Error [code]: message` with exit status 1.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from registry import messages
from registry.eip712 import contract_address_of
from registry.errors import RegistryError, ValidationError
from registry.ledger import Receipt, Registry
from registry.messages import MAX_ATTESTED, ZERO_ADDRESS, address
from registry.methodologies import CATALOGUE
from registry.mrv.ingest import REASONS
from registry.mrv.simulator import DEFAULT_START, SimulationConfig, simulation_signer
from registry.mrv.simulator import simulate as run_simulation
from registry.replay import replay
from registry.signing import Signer
from registry.storage import Store
from registry.units import format_grams, parse_grams

F = TypeVar("F", bound=Callable[..., Any])

OPERATOR_KEY_ENV = "CARBON_REGISTRY_OPERATOR_KEY"
# The chain id of eth-tester's py-evm chain, the embedded default (a test checks it).
EMBEDDED_CHAIN_ID = 131277322940537
OWNER_KEY_ENV = "CARBON_REGISTRY_KEY"


def operator_key_path(db: str) -> Path:
    return Path(db + ".operator-key.json")


def fail_cleanly(func: F) -> F:
    """Turn registry errors into one clear line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RegistryError as exc:
            click.echo(f"Error [{exc.code}]: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class Context:
    def __init__(self, db: str) -> None:
        self.db = db
        self._registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            if not Path(self.db).exists():
                raise ValidationError(f"no registry at {self.db}: run `carbon-registry init` first")
            self._registry = Registry(Store(self.db))
        return self._registry

    def operator(self) -> Signer:
        key = os.environ.get(OPERATOR_KEY_ENV)
        if key:
            return Signer(key)
        path = operator_key_path(self.db)
        if not path.exists():
            raise ValidationError(f"no operator key: set {OPERATOR_KEY_ENV} or keep {path}")
        return Signer.load(path)

    def submit(self, signer: Signer, kind: str, /, **fields: Any) -> Receipt:
        registry = self.registry
        return registry.execute(*signer.request(registry.domain, kind, **fields))


pass_context = click.make_pass_decorator(Context)


def owner_signer(key_file: str | None) -> Signer:
    if key_file:
        return Signer.load(Path(key_file))
    key = os.environ.get(OWNER_KEY_ENV)
    if not key:
        raise ValidationError(f"give --key-file or set {OWNER_KEY_ENV} to the owner's private key")
    return Signer(key)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def echo_receipt(receipt: Receipt, as_json: bool) -> None:
    if as_json:
        echo_json({"seq": receipt.seq, "event": receipt.event_type, "effects": receipt.effects})
        return
    click.echo(f"event {receipt.seq} {receipt.event_type}")
    for key, value in receipt.effects.items():
        if key != "ranges":
            click.echo(f"  {key}: {value}")
    for r in receipt.effects.get("ranges", []):
        click.echo(f"  batch {r['batch_no']} serials {r['first']}-{r['last']}")


def grams_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--amount", required=True, help=help_text + " Grams, or with a unit: 2.5kg, 0.75t."
    )


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="CARBON_REGISTRY_DB",
    default="carbon-registry.db",
    show_default=True,
    help="SQLite file of the registry (env CARBON_REGISTRY_DB).",
)
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """Carbon Registry: verifiable ledger of household carbon reductions (grams of CO2e)."""
    ctx.obj = Context(db)


@cli.command()
@click.option(
    "--chain-id",
    type=int,
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
@fail_cleanly
def init(obj: Context, chain_id: int, contract: str | None, log_id: str | None) -> None:
    """Create a new registry: its database, operator key and genesis event."""
    if Path(obj.db).exists():
        raise ValidationError(f"{obj.db} already exists; choose another --db")
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
    click.echo(f"registry {registry.log_id} created in {obj.db}")
    click.echo(f"operator {registry.operator}, chain {chain_id}, contract {verifying_contract}")


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def keygen(out: str) -> None:
    """Generate a key file OUT (JSON, readable by its owner only) and print its address."""
    signer = Signer.generate()
    try:
        signer.save(Path(out))
    except FileExistsError:
        click.echo(f"Error: {out} exists; refusing to overwrite a key", err=True)
        sys.exit(1)
    click.echo(signer.address)


@cli.group()
def accounts() -> None:
    """List, open and grant roles to accounts."""


@accounts.command("list")
@json_option
@pass_context
@fail_cleanly
def accounts_list(obj: Context, as_json: bool) -> None:
    """List every account with its kind and roles."""
    store = obj.registry.store
    rows = [dict(a, roles=store.roles_of(a["address"])) for a in store.accounts()]
    if as_json:
        echo_json(rows)
        return
    for a in rows:
        member = f" member of {a['household']}" if a["household"] else ""
        roles = f" roles: {', '.join(a['roles'])}" if a["roles"] else ""
        click.echo(f"{a['address']}  {a['kind']:<9} {a['name']}{member}{roles}")


@accounts.command("open")
@click.argument("account")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["person", "household", "company", "platform", "verifier", "exchange"]),
    help="Kind of account.",
)
@click.option("--name", default="", help="Display name (no personal data needed).")
@click.option("--household", default=None, help="Household this person belongs to.")
@json_option
@pass_context
@fail_cleanly
def accounts_open(
    obj: Context, account: str, kind: str, name: str, household: str | None, as_json: bool
) -> None:
    """Open ACCOUNT (an Ethereum address), signed by the operator."""
    receipt = obj.submit(
        obj.operator(),
        "OpenAccount",
        account=account,
        kind=kind,
        name=name,
        household=household or ZERO_ADDRESS,
    )
    echo_receipt(receipt, as_json)


@accounts.command("grant")
@click.argument("account")
@click.argument("role", type=click.Choice(["operator", "platform", "verifier", "exchange"]))
@json_option
@pass_context
@fail_cleanly
def accounts_grant(obj: Context, account: str, role: str, as_json: bool) -> None:
    """Grant ROLE to ACCOUNT, signed by the operator."""
    echo_receipt(obj.submit(obj.operator(), "GrantRole", account=account, role=role), as_json)


@cli.group()
def classes() -> None:
    """Asset classes: methodology x version x vintage x region."""


@classes.command("list")
@json_option
@pass_context
@fail_cleanly
def classes_list(obj: Context, as_json: bool) -> None:
    """List the registered asset classes."""
    rows = obj.registry.store.asset_classes()
    if as_json:
        echo_json(rows)
        return
    for c in rows:
        click.echo(c["id"])


@classes.command("register")
@click.option("--methodology", required=True, help="Methodology id, e.g. SZ_TRANSIT.")
@click.option("--version", "methodology_version", required=True, help="Methodology version.")
@click.option("--vintage", type=int, required=True, help="Vintage year of the reductions.")
@click.option("--region", required=True, help="GB/T 2260 division code, e.g. 440300.")
@json_option
@pass_context
@fail_cleanly
def classes_register(
    obj: Context,
    methodology: str,
    methodology_version: str,
    vintage: int,
    region: str,
    as_json: bool,
) -> None:
    """Register an asset class, signed by the operator."""
    receipt = obj.submit(
        obj.operator(),
        "RegisterAssetClass",
        methodology=methodology,
        methodologyVersion=methodology_version,
        vintage=vintage,
        region=region,
    )
    echo_receipt(receipt, as_json)


@cli.command()
@click.option("--to", "to", required=True, help="Receiving account.")
@click.option("--class", "asset_class", required=True, help="Asset class id.")
@grams_option("Grams to issue.")
@click.option("--claim-id", required=True, help="Id of the attested claim being issued.")
@json_option
@pass_context
@fail_cleanly
def issue(
    obj: Context, to: str, asset_class: str, amount: str, claim_id: str, as_json: bool
) -> None:
    """Issue a new batch of serial-numbered grams, signed by the operator."""
    receipt = obj.submit(
        obj.operator(),
        "Issue",
        to=to,
        assetClass=asset_class,
        amount=parse_grams(amount),
        claimId=claim_id,
    )
    echo_receipt(receipt, as_json)


key_file_option = click.option(
    "--key-file", default=None, help=f"Owner's key file (or env {OWNER_KEY_ENV})."
)
batch_option = click.option(
    "--batch", "batch_no", type=int, default=0, help="Only this batch (default: any, FIFO)."
)


@cli.command()
@key_file_option
@click.option("--to", "to", required=True, help="Receiving account.")
@click.option("--class", "asset_class", required=True, help="Asset class id.")
@batch_option
@grams_option("Grams to transfer.")
@json_option
@pass_context
@fail_cleanly
def transfer(
    obj: Context,
    key_file: str | None,
    to: str,
    asset_class: str,
    batch_no: int,
    amount: str,
    as_json: bool,
) -> None:
    """Transfer grams to another account, signed by the owner (oldest serials first)."""
    owner = owner_signer(key_file)
    receipt = obj.submit(
        owner,
        "Transfer",
        **{"from": owner.address},
        to=to,
        assetClass=asset_class,
        batchNo=batch_no,
        amount=parse_grams(amount),
    )
    echo_receipt(receipt, as_json)


@cli.command()
@key_file_option
@click.option("--class", "asset_class", required=True, help="Asset class id.")
@batch_option
@grams_option("Grams to retire.")
@click.option("--beneficiary-name", required=True, help="On whose behalf the grams are retired.")
@click.option("--beneficiary", default=None, help="Beneficiary address (default: the owner).")
@click.option("--reason", required=True, help="Why, e.g. 'offset 2026 commuting'.")
@click.option("--jurisdiction", required=True, help="Where the claim is made, e.g. CN-GD.")
@json_option
@pass_context
@fail_cleanly
def retire(
    obj: Context,
    key_file: str | None,
    asset_class: str,
    batch_no: int,
    amount: str,
    beneficiary_name: str,
    beneficiary: str | None,
    reason: str,
    jurisdiction: str,
    as_json: bool,
) -> None:
    """Retire grams for a beneficiary, signed by the owner; prints the certificate id."""
    owner = owner_signer(key_file)
    receipt = obj.submit(
        owner,
        "Retire",
        owner=owner.address,
        assetClass=asset_class,
        batchNo=batch_no,
        amount=parse_grams(amount),
        beneficiaryName=beneficiary_name,
        beneficiary=beneficiary or owner.address,
        reason=reason,
        jurisdiction=jurisdiction,
    )
    echo_receipt(receipt, as_json)


@cli.command()
@key_file_option
@click.option("--class", "asset_class", required=True, help="Asset class id.")
@batch_option
@grams_option("Grams to lock.")
@click.option("--recipient", required=True, help="Chain address that will receive the tokens.")
@json_option
@pass_context
@fail_cleanly
def lock(
    obj: Context,
    key_file: str | None,
    asset_class: str,
    batch_no: int,
    amount: str,
    recipient: str,
    as_json: bool,
) -> None:
    """Lock grams for the token contract, signed by the owner; the event seq is the lock id.

    Once a checkpoint holding the lock is anchored, `proof SEQ` gives the bundle that
    `token mint` (anyone) sends to the contract.
    """
    owner = owner_signer(key_file)
    receipt = obj.submit(
        owner,
        "Lock",
        owner=owner.address,
        assetClass=asset_class,
        batchNo=batch_no,
        amount=parse_grams(amount),
        recipient=recipient,
    )
    echo_receipt(receipt, as_json)


@cli.command()
@click.option("--holder", required=True, help="Account whose grams are cancelled.")
@click.option("--class", "asset_class", required=True, help="Asset class id.")
@batch_option
@grams_option("Grams to cancel.")
@click.option("--reason", required=True, help="Why the grams are cancelled.")
@click.option("--evidence-hash", required=True, help="0x SHA-256 of the linked evidence.")
@json_option
@pass_context
@fail_cleanly
def cancel(
    obj: Context,
    holder: str,
    asset_class: str,
    batch_no: int,
    amount: str,
    reason: str,
    evidence_hash: str,
    as_json: bool,
) -> None:
    """Cancel grams (operator), with a reason and the hash of the evidence."""
    receipt = obj.submit(
        obj.operator(),
        "Cancel",
        holder=holder,
        assetClass=asset_class,
        batchNo=batch_no,
        amount=parse_grams(amount),
        reason=reason,
        evidenceHash=evidence_hash,
    )
    echo_receipt(receipt, as_json)


@cli.command()
@click.argument("account")
@json_option
@pass_context
@fail_cleanly
def balance(obj: Context, account: str, as_json: bool) -> None:
    """Grams held by ACCOUNT per asset class and status."""
    rows = obj.registry.balances(account)
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
@fail_cleanly
def holdings(obj: Context, account: str, as_json: bool) -> None:
    """Serial ranges held by ACCOUNT, in every status."""
    rows = obj.registry.holdings(account)
    if as_json:
        echo_json(rows)
        return
    for h in rows:
        ref = f" ({h['ref']})" if h["ref"] else ""
        click.echo(f"{h['serials']}  {h['amount']:>12,} g  {h['status']}{ref}")


@cli.command()
@pass_context
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@fail_cleanly
def batches(obj: Context, as_json: bool) -> None:
    """Issuance batches with their supply: issued = active + retired + cancelled + locked."""
    store = obj.registry.store
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
@fail_cleanly
def certificate(obj: Context, certificate_id: str) -> None:
    """Print the retirement certificate CERTIFICATE_ID as JSON."""
    echo_json(obj.registry.certificate(certificate_id))


@cli.command()
@click.option("--after", type=int, default=-1, help="Only events with seq greater than this.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@pass_context
@fail_cleanly
def events(obj: Context, after: int, limit: int) -> None:
    """Print events of the log, one canonical JSON object a line."""
    for _, _, _, body in obj.registry.store.event_rows(after, limit):
        click.echo(body.decode("utf-8"))


@cli.command("replay")
@click.option("--skip-signatures", is_flag=True, help="Trust recorded signers (faster).")
@pass_context
@fail_cleanly
def replay_command(obj: Context, skip_signatures: bool) -> None:
    """Rebuild all state from the event log alone and compare it with the tables."""
    report = replay(obj.registry.store, verify_signatures=not skip_signatures)
    for problem in report.problems:
        click.echo(problem, err=True)
    if not report.clean:
        click.echo(f"replay of {report.events} events: {len(report.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"replay of {report.events} events: state equals the log")


# -- MRV: methodologies, platform ingestion, verification, issuance runs -----------------


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
        click.echo(f"Error [unknown_methodology]: no {methodology_id} version {version}", err=True)
        sys.exit(1)
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
@fail_cleanly
def platform_submit(obj: Context, key_file: str | None, batch_file: Any, as_json: bool) -> None:
    """Sign and submit BATCH_FILE with the platform's key.

    BATCH_FILE is JSON: {"batchId": ..., "records": [{"id", "account", "methodology",
    "version", "start", "end", "quantities", "evidenceHash"}, ...], "evidence": {activity
    id: {"salt": hex, "data": text}}} ("evidence" optional; it is kept apart from the log).
    Submitting the same batch again prints the first receipt.
    """
    signer = owner_signer(key_file)
    try:
        batch = json.load(batch_file)
        evidence = {
            activity_id: (bytes.fromhex(piece["salt"]), piece["data"].encode("utf-8"))
            for activity_id, piece in batch.get("evidence", {}).items()
        }
        fields = messages.activity_batch(signer.address, batch["batchId"], batch["records"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"{batch_file.name} is not a batch file: {exc!r}") from exc
    registry = obj.registry
    _, message, signature = signer.request(registry.domain, "SubmitActivities", **fields)
    echo_batch_receipt(registry.submit_activities(message, signature, evidence), as_json)


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
@fail_cleanly
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


@cli.command("issue-run")
@click.option("--buffer-pool", required=True, help="Company account receiving the buffer share.")
@click.option(
    "--buffer-bp",
    type=int,
    default=500,
    show_default=True,
    help="Buffer share in basis points (500 = 5%).",
)
@click.option("--run-id", default=None, help="Id of the run (default: generated).")
@json_option
@pass_context
@fail_cleanly
def issue_run(
    obj: Context, buffer_pool: str, buffer_bp: int, run_id: str | None, as_json: bool
) -> None:
    """Issue every approved claim: one batch per beneficiary and asset class, plus the buffer (operator)."""
    receipt = obj.submit(
        obj.operator(),
        "RunIssuance",
        runId=run_id or f"run-{uuid.uuid4().hex[:12]}",
        bufferPool=buffer_pool,
        bufferBasisPoints=buffer_bp,
    )
    if as_json:
        echo_receipt(receipt, True)
        return
    fx = receipt.effects
    click.echo(
        f"event {receipt.seq} {receipt.event_type}: {fx['claims']:,} claims,"
        f" {format_grams(fx['issued_grams'])} issued, {format_grams(fx['buffer_grams'])} to the buffer pool"
    )
    for b in fx["batches"] + fx["buffer_batches"]:
        to = b.get("to", buffer_pool)
        click.echo(f"  batch {b['batch_no']} {b['asset_class']} {b['amount']:,} g to {to}")


@cli.command("reverse-claim")
@click.argument("claim_id")
@click.option("--reason", required=True, help="Why the claim is reversed (e.g. fraud found).")
@click.option("--evidence-hash", required=True, help="0x SHA-256 of the linked evidence.")
@json_option
@pass_context
@fail_cleanly
def reverse_claim(
    obj: Context, claim_id: str, reason: str, evidence_hash: str, as_json: bool
) -> None:
    """Reverse an issued claim (operator): cancel its grams from the holder, else the buffer pool."""
    receipt = obj.submit(
        obj.operator(), "ReverseClaim", claimId=claim_id, reason=reason, evidenceHash=evidence_hash
    )
    echo_receipt(receipt, as_json)


@cli.group()
def claims() -> None:
    """Reduction claims and the records refused at ingestion, with their reasons."""


@claims.command("list")
@click.option("--account", default=None, help="Only this account's claims.")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "issued", "reversed"]),
    default=None,
    help="Only claims in this status.",
)
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@json_option
@pass_context
@fail_cleanly
def claims_list(
    obj: Context, account: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List claims with their methodology, interval, grams and status."""
    who = None if account is None else address(account, "account")
    rows = obj.registry.store.claims(account=who, status=status, limit=limit)
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
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@json_option
@pass_context
@fail_cleanly
def claims_rejected(
    obj: Context, account: str | None, reason: str | None, limit: int, as_json: bool
) -> None:
    """List activity records refused at ingestion, with the reason and its detail."""
    who = None if account is None else address(account, "account")
    rows = obj.registry.store.rejections(account=who, reason=reason, limit=limit)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"event {r['seq']} #{r['idx']} {r['activity_id']} [{r['reason']}] {r['detail']}")


@claims.command("summary")
@json_option
@pass_context
@fail_cleanly
def claims_summary(obj: Context, as_json: bool) -> None:
    """Claims per status, and records refused at ingestion per reason."""
    store = obj.registry.store
    counts, rejected = store.claim_counts(), store.rejection_counts()
    if as_json:
        echo_json({"claims": counts, "rejected": rejected})
        return
    for status, c in sorted(counts.items()):
        click.echo(f"{status:<10} {c['claims']:>8,} claims  {format_grams(c['grams'])}")
    for reason, n in sorted(rejected.items()):
        click.echo(f"refused    {n:>8,} records, {reason}: {REASONS[reason]}")


@cli.command("erase-evidence")
@click.argument("account")
@pass_context
@fail_cleanly
def erase_evidence(obj: Context, account: str) -> None:
    """Delete the raw evidence about ACCOUNT; the log keeps only salted hashes, so proofs stay valid."""
    erased = obj.registry.erase_evidence(account)
    click.echo(f"erased {erased} piece(s) of evidence about {address(account, 'account')}")


@cli.command()
@click.option(
    "--households", type=int, default=20, show_default=True, help="Households to simulate."
)
@click.option("--days", type=int, default=7, show_default=True, help="Days of activity.")
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed: same seed, same data."
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=DEFAULT_START.isoformat(),
    show_default=True,
    help="First simulated day (China Standard Time).",
)
@click.option(
    "--buffer-bp", type=int, default=500, show_default=True, help="Buffer share in basis points."
)
@click.option(
    "--keys-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write the simulated households' key files here (to trade their credits).",
)
@json_option
@click.pass_context
@fail_cleanly
def simulate(
    ctx: click.Context,
    households: int,
    days: int,
    seed: int,
    start: datetime,
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
    config = SimulationConfig(households, days, seed, start.date(), buffer_bp)
    report = run_simulation(obj.registry, obj.operator(), config)
    if keys_dir:
        Path(keys_dir).mkdir(parents=True, exist_ok=True)
        for h in range(households):
            key_file = Path(keys_dir) / f"household-{h}.key"
            if not key_file.exists():
                simulation_signer(seed, f"household/{h}").save(key_file)
    if as_json:
        echo_json(report.as_dict())
        return
    for line in report.lines():
        click.echo(line)
