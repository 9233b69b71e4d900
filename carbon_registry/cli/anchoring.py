"""Anchoring commands: the worker, checkpoints, proofs, verification, audit, deployment.

`verify` and `verify-consistency` read only a bundle file and a chain RPC: they work on a
machine that has no registry database at all. The chain modules (web3, eth-account) take
most of a second to import, so commands import them when they run, not when the CLI starts.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from carbon_registry.cli.app import (
    OPERATOR_KEY_ENV,
    SAFE_INT,
    Context,
    cli,
    echo_json,
    pass_context,
    progress_bar,
    write_json,
)
from carbon_verifier.jsonsafe import loads
from registry.errors import ValidationError
from registry.signing import Signer

if TYPE_CHECKING:
    from collections.abc import Callable

    from anchoring.chain import Chain
    from anchoring.worker import AnchorPolicy, AnchorWorker

CHAIN_HELP = "'embedded' (in-process, default) or a JSON-RPC URL (env CARBON_REGISTRY_CHAIN)."
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


def open_chain(spec: str, db: str) -> Chain:
    """The chain named by `spec`; `embedded` is the persistent chain beside the registry."""
    from anchoring.chain import Chain, embedded_chain_file

    if spec == "embedded":
        return Chain.create_embedded(embedded_chain_file(db))
    return Chain.connect(spec)


def make_worker(obj: Context, chain: Chain, policy: AnchorPolicy) -> AnchorWorker:
    from anchoring.worker import AnchorWorker

    registry = obj.registry
    operator = obj.operator()
    return AnchorWorker(
        registry.store,
        registry.store.conn,
        log_id=registry.log_id,
        domain=registry.domain,
        operator_key=bytes.fromhex(operator.private_key_hex[2:]),
        operator=operator.address,
        chain=chain,
        policy=policy,
    )


def load_bundle(path: str) -> dict[str, Any]:
    """A bundle file as JSON (bounded in size and nesting): a JSON object, else an error."""
    file = Path(path)
    if file.stat().st_size > MAX_BUNDLE_BYTES:
        raise ValidationError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes: not a bundle")
    value = loads(file.read_bytes(), what=path)
    if not isinstance(value, dict):
        raise ValidationError(f"{path} is not a JSON object")
    return value


@cli.command()
@click.option("--once", is_flag=True, help="Checkpoint what is logged, anchor it, wait, exit.")
@click.option(
    "--chain",
    "chain_spec",
    envvar="CARBON_REGISTRY_CHAIN",
    default="embedded",
    show_default=True,
    help=CHAIN_HELP,
)
@click.option(
    "--confirmations",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="Blocks deep before an anchor counts.",
)
@click.option(
    "--max-pending",
    type=click.IntRange(1, 10**9),
    default=1000,
    show_default=True,
    help="Cut a checkpoint at this many new events.",
)
@click.option(
    "--max-age",
    type=click.FloatRange(0.01, 86_400.0),
    default=30.0,
    show_default=True,
    help="...or when the oldest is this many seconds old.",
)
@click.option(
    "--rpc-port",
    type=click.IntRange(0, 65_535),
    default=None,
    help="Serve the embedded chain as JSON-RPC on 127.0.0.1:PORT.",
)
@click.option(
    "--token",
    envvar="CARBON_REGISTRY_TOKEN",
    default=None,
    help="CarbonCredits address (env CARBON_REGISTRY_TOKEN; default: the operator's 2nd contract).",
)
@click.option(
    "--leader-retry",
    type=click.FloatRange(0.01, 3_600.0),
    envvar="CARBON_REGISTRY_ANCHOR_LEADER_RETRY_S",
    default=5.0,
    show_default=True,
    help="On PostgreSQL, seconds between tries to take the anchoring leader lock.",
)
@pass_context
def anchor(
    obj: Context,
    once: bool,
    chain_spec: str,
    confirmations: int,
    max_pending: int,
    max_age: float,
    rpc_port: int | None,
    token: str | None,
    leader_retry: float,
) -> None:
    """Run the anchoring worker: Merkle log, signed checkpoints, anchors on chain.

    On PostgreSQL it anchors only while it leads (the anchoring leader lock, as `serve`'s
    workers do): it waits for the lock, or with --once refuses when another node holds it."""
    from anchoring.worker import AnchorPolicy
    from registry.storage.leader import leader_lock

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    policy = AnchorPolicy(
        max_pending_events=max_pending, max_age_s=max_age, confirmations=confirmations
    )
    lock = leader_lock(obj.db)
    if not lock.acquire():
        if once:
            raise ValidationError(
                "another node leads anchoring on this registry (it holds the leader lock): "
                "it anchors what is logged"
            )
        click.echo("another node leads anchoring; standing by until it stops", err=True)
        while not lock.acquire():
            time.sleep(leader_retry)
    try:
        _anchor(obj, once, chain_spec, policy, rpc_port, token, lock.held)
    finally:
        lock.release()


def _anchor(
    obj: Context,
    once: bool,
    chain_spec: str,
    policy: AnchorPolicy,
    rpc_port: int | None,
    token: str | None,
    leading: Callable[[], bool],
) -> None:
    from anchoring.rpc_server import EmbeddedRpcServer
    from bridge.watcher import start_bridge

    chain = open_chain(chain_spec, obj.db)
    worker = make_worker(obj, chain, policy)
    worker.attach()
    start_bridge(obj.registry, worker, obj.operator(), token)
    if rpc_port is not None:
        if not chain.embedded:
            raise ValidationError("--rpc-port serves the embedded chain only")
        server = EmbeddedRpcServer(chain, port=rpc_port).start()
        click.echo(f"embedded chain JSON-RPC at {server.url}", err=True)
    try:
        if once:
            rows = worker.run_once()
            last = rows[-1] if rows else None
            if last is not None:
                click.echo(
                    f"anchored {len(rows)} checkpoint(s); latest tree size {last.tree_size}"
                    f" in block {last.block_number}"
                )
            return
        worker.run_forever(lambda: not leading())
        raise ValidationError("this node no longer holds the anchoring leader lock: stopped")
    except KeyboardInterrupt:
        click.echo("anchoring worker stopped")
    finally:
        chain.close()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def checkpoints(obj: Context, as_json: bool) -> None:
    """List the signed checkpoints and where each is anchored."""
    from anchoring.worker import CheckpointStore

    rows = CheckpointStore(obj.reader.store.conn, obj.reader.log_id).all()
    if as_json:
        echo_json(
            [
                dict(
                    r.signed.to_json(),
                    status=r.status,
                    tx_hash=r.tx_hash and r.tx_hash.hex(),
                    block_number=r.block_number,
                )
                for r in rows
            ]
        )
        return
    for r in rows:
        where = (
            f" block {r.block_number} tx 0x{r.tx_hash.hex()}"
            if r.tx_hash and r.block_number
            else ""
        )
        click.echo(
            f"size {r.tree_size:>8} root {r.signed.checkpoint.root_hash.hex()} {r.status}{where}"
        )


@cli.command()
@click.argument("seq", type=SAFE_INT)
@click.option("-o", "--out", default=None, help="Write the bundle to this file.")
@click.option(
    "--wait",
    type=click.FloatRange(0.0, 86_400.0),
    default=0.0,
    help="Wait up to this many seconds for the anchor.",
)
@pass_context
def proof(obj: Context, seq: int, out: str | None, wait: float) -> None:
    """Write the proof bundle of event SEQ (docs/spec.md, version 1)."""
    from anchoring.bundle import build_bundle
    from anchoring.merkle import MerkleLog
    from anchoring.worker import CheckpointStore

    registry = obj.reader
    store = registry.store
    deadline = time.monotonic() + wait
    while True:
        bundle = build_bundle(
            store, MerkleLog(store.conn), CheckpointStore(store.conn, registry.log_id), seq
        )
        if bundle["anchor"] is not None or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    write_json(bundle, out)


@cli.command("consistency-proof")
@click.argument("size1", type=SAFE_INT)
@click.argument("size2", type=SAFE_INT)
@click.option("-o", "--out", default=None, help="Write the bundle to this file.")
@pass_context
def consistency_proof(obj: Context, size1: int, size2: int, out: str | None) -> None:
    """Write a bundle proving that anchored checkpoint SIZE2 extends checkpoint SIZE1."""
    from anchoring.bundle import consistency_bundle
    from anchoring.merkle import MerkleLog
    from anchoring.worker import CheckpointStore

    registry = obj.reader
    store = registry.store
    bundle = consistency_bundle(
        MerkleLog(store.conn), CheckpointStore(store.conn, registry.log_id), size1, size2
    )
    write_json(bundle, out)


trust_option = click.option(
    "--trust",
    "trust_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trust anchor file (GET /v1/trust) pinning the log, chain, contract and signers.",
)


@cli.command()
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain the bundle names.")
@click.option(
    "--confirmations",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="Required depth of the anchor block.",
)
@trust_option
def verify(bundle_file: str, rpc: str, confirmations: int, trust_file: str | None) -> None:
    """Verify a proof bundle with nothing but the bundle and a chain RPC (the light
    verifier, `carbon-verify bundle`)."""
    from carbon_verifier.cli import print_report
    from carbon_verifier.rpc import Rpc
    from carbon_verifier.trust import TrustAnchor
    from carbon_verifier.verify import verify_bundle

    trust = TrustAnchor.load(trust_file) if trust_file else None
    report = verify_bundle(
        load_bundle(bundle_file), Rpc(rpc), trust=trust, min_confirmations=confirmations
    )
    if not print_report(report):
        raise SystemExit(1)


@cli.command("verify-consistency")
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain the checkpoints name.")
@trust_option
def verify_consistency(bundle_file: str, rpc: str, trust_file: str | None) -> None:
    """Verify that one anchored checkpoint extends another (from consistency-proof)."""
    from carbon_verifier.cli import print_report
    from carbon_verifier.rpc import Rpc
    from carbon_verifier.trust import TrustAnchor
    from carbon_verifier.verify import verify_consistency as check

    trust = TrustAnchor.load(trust_file) if trust_file else None
    if not print_report(check(load_bundle(bundle_file), Rpc(rpc), trust=trust)):
        raise SystemExit(1)


@cli.command()
@click.argument("log_url")
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain the log is anchored on.")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="Trust anchor file (GET /v1/trust) of the log to follow.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    default="monitor-state.json",
    show_default=True,
    help="Where the size and root last seen are kept between runs.",
)
def monitor(log_url: str, rpc: str, trust_file: str, state_file: str) -> None:
    """Follow the public log at LOG_URL (e.g. http://127.0.0.1:8080/log) from its tiles
    alone: check the new checkpoint against the last one seen and the root on chain;
    exits 1 on a rewrite, a split view or a mismatch with the chain."""
    from carbon_verifier.monitor import MonitorState, check
    from carbon_verifier.rpc import Rpc
    from carbon_verifier.tiles import http_fetch
    from carbon_verifier.trust import TrustAnchor

    path = Path(state_file)
    seen = MonitorState.from_json(loads(path.read_bytes())) if path.exists() else MonitorState()
    report = check(http_fetch(log_url), Rpc(rpc), TrustAnchor.load(trust_file), seen)
    for note in report.notes:
        click.echo(note)
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if not report.ok:
        raise SystemExit(1)
    partial = path.with_name(path.name + ".partial")  # atomic: a crash keeps the old state
    partial.write_text(json.dumps(report.state.to_json()) + "\n")
    os.replace(partial, path)


@cli.command("audit")
@click.option("--rpc", default=None, help="Chain JSON-RPC URL to compare anchored roots with.")
@pass_context
def audit_command(obj: Context, rpc: str | None) -> None:
    """Recompute every root from the event log; compare with checkpoints and the chain."""
    from anchoring.audit import audit
    from anchoring.chain import Chain
    from registry.personal import Vault, existing_master_key
    from registry.storage.personal import PersonalTables

    registry = obj.reader
    store = registry.store
    chain = None
    if rpc:
        chain = Chain.connect(rpc)
        chain.bind(registry.domain.verifying_contract)
    key = existing_master_key(obj.db)
    vault = None if key is None else Vault(PersonalTables(store.conn), key)
    with progress_bar(store.event_count(), "events") as advance:
        report = audit(store, registry.log_id, registry.domain, chain, vault, advance)
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    for note in report.notes:
        click.echo(f"NOTE: {note}", err=True)
    chain_note = (
        f", {report.anchored_checked} anchored root(s) compared with the chain"
        if chain
        else " (no --rpc: chain not compared)"
    )
    click.echo(
        f"audit of {report.events} events and {report.checkpoints} checkpoint(s){chain_note}: "
        + ("clean" if report.clean else f"{len(report.problems)} problem(s)")
    )
    if not report.clean:
        raise SystemExit(1)


@cli.command()
@click.option(
    "--chain",
    "chain_spec",
    envvar="CARBON_REGISTRY_CHAIN",
    required=True,
    help="JSON-RPC URL of the chain.",
)
@click.option(
    "--public-url",
    envvar="CARBON_REGISTRY_PUBLIC_URL",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The API's public base URL, where the token's metadata (uri, contractURI) points.",
)
def deploy(chain_spec: str, public_url: str) -> None:
    """Deploy RegistryAnchor and CarbonCredits with the key of CARBON_REGISTRY_OPERATOR_KEY.

    The operator's account deploys RegistryAnchor then CarbonCredits (its next two
    transactions). Prints the chain id and both addresses to give `init` and
    CARBON_REGISTRY_TOKEN for a registry on that chain.
    """
    from anchoring.chain import Chain
    from bridge.token import TokenContract

    key = os.environ.get(OPERATOR_KEY_ENV)
    if not key:
        raise ValidationError(f"set {OPERATOR_KEY_ENV} to the funded operator key")
    operator = Signer(key)
    secret = bytes.fromhex(operator.private_key_hex[2:])
    chain = Chain.connect(chain_spec)
    address = chain.deploy_anchor(secret, operator.address, operator.address)
    token = TokenContract.deploy(chain, secret, address, public_url)
    click.echo(f"RegistryAnchor deployed at {address} on chain {chain.chain_id}")
    click.echo(f"CarbonCredits deployed at {token.address}")
    click.echo(
        f"next: carbon-registry init --chain-id {chain.chain_id} --contract {address}"
        f" (and CARBON_REGISTRY_TOKEN={token.address} if it is not the default)"
    )
