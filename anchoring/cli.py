"""CLI commands of the anchoring side: anchor, checkpoints, proof, verify, audit.

`verify` and `verify-consistency` read only a bundle file and a chain RPC: they work on a
machine that has no registry database at all. The chain modules (web3, eth-account) take
most of a second to import, so commands import them when they run, not when the CLI starts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registry.cli import (
    OPERATOR_KEY_ENV,
    Context,
    echo_json,
    fail_cleanly,
    owner_signer,
    pass_context,
)
from registry.eip712 import contract_address_of
from registry.errors import ValidationError
from registry.signing import Signer

if TYPE_CHECKING:
    from anchoring.chain import Chain
    from anchoring.verifier import Check
    from anchoring.worker import AnchorPolicy, AnchorWorker

CHAIN_HELP = "'embedded' (in-process, default) or a JSON-RPC URL (env CARBON_REGISTRY_CHAIN)."


def open_chain(spec: str) -> Chain:
    from anchoring.chain import Chain

    return Chain.create_embedded() if spec == "embedded" else Chain.connect(spec)


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


token_option = click.option(
    "--token",
    envvar="CARBON_REGISTRY_TOKEN",
    default=None,
    help="CarbonCredits address (env CARBON_REGISTRY_TOKEN; default: the operator's 2nd contract).",
)


def default_token_address(obj: Context, token: str | None) -> str:
    """The embedded chain deploys CarbonCredits as the operator's second contract."""
    return token or contract_address_of(obj.registry.operator, 1)


def print_checks(checks: list[Check]) -> bool:
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"[{mark}] {check.name}: {check.detail}")
    passed = bool(checks) and all(c.ok for c in checks)
    click.echo("VERIFIED" if passed else "NOT VERIFIED")
    return passed


def write_json(value: Any, out: str | None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if out:
        Path(out).write_text(text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@click.command()
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
    type=int,
    default=1,
    show_default=True,
    help="Blocks deep before an anchor counts.",
)
@click.option(
    "--max-pending",
    type=int,
    default=1000,
    show_default=True,
    help="Cut a checkpoint at this many new events.",
)
@click.option(
    "--max-age",
    type=float,
    default=30.0,
    show_default=True,
    help="...or when the oldest is this many seconds old.",
)
@click.option(
    "--rpc-port",
    type=int,
    default=None,
    help="Serve the embedded chain as JSON-RPC on 127.0.0.1:PORT.",
)
@token_option
@pass_context
@fail_cleanly
def anchor(
    obj: Context,
    once: bool,
    chain_spec: str,
    confirmations: int,
    max_pending: int,
    max_age: float,
    rpc_port: int | None,
    token: str | None,
) -> None:
    """Run the anchoring worker: Merkle log, signed checkpoints, anchors on chain."""
    from anchoring.rpc_server import EmbeddedRpcServer
    from anchoring.worker import AnchorPolicy

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    policy = AnchorPolicy(
        max_pending_events=max_pending, max_age_s=max_age, confirmations=confirmations
    )
    chain = open_chain(chain_spec)
    worker = make_worker(obj, chain, policy)
    worker.attach()
    from anchoring.bridge_watcher import start_bridge

    start_bridge(obj.registry, worker, obj.operator(), token)
    if rpc_port is not None:
        if not chain.embedded:
            raise ValidationError("--rpc-port serves the embedded chain only")
        server = EmbeddedRpcServer(chain, port=rpc_port).start()
        click.echo(f"embedded chain JSON-RPC at {server.url}", err=True)
    if once:
        rows = worker.run_once()
        last = rows[-1] if rows else None
        if last is not None:
            click.echo(
                f"anchored {len(rows)} checkpoint(s); latest tree size {last.tree_size} in block {last.block_number}"
            )
        return
    try:
        worker.run_forever(lambda: False)
    except KeyboardInterrupt:
        click.echo("anchoring worker stopped")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
@fail_cleanly
def checkpoints(obj: Context, as_json: bool) -> None:
    """List the signed checkpoints and where each is anchored."""
    from anchoring.worker import CheckpointStore

    rows = CheckpointStore(obj.registry.store.conn, obj.registry.log_id).all()
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


@click.command()
@click.argument("seq", type=int)
@click.option("-o", "--out", default=None, help="Write the bundle to this file.")
@click.option(
    "--wait", type=float, default=0.0, help="Wait up to this many seconds for the anchor."
)
@pass_context
@fail_cleanly
def proof(obj: Context, seq: int, out: str | None, wait: float) -> None:
    """Write the proof bundle of event SEQ (DESIGN.md, version 1)."""
    from anchoring.bundle import build_bundle
    from anchoring.merkle import MerkleLog
    from anchoring.worker import CheckpointStore

    store = obj.registry.store
    deadline = time.monotonic() + wait
    while True:
        try:
            bundle = build_bundle(
                store, MerkleLog(store.conn), CheckpointStore(store.conn, obj.registry.log_id), seq
            )
        except LookupError as exc:
            click.echo(f"Error [unknown_event]: {exc}", err=True)
            sys.exit(1)
        if bundle["anchor"] is not None or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    write_json(bundle, out)


@click.command("consistency-proof")
@click.argument("size1", type=int)
@click.argument("size2", type=int)
@click.option("-o", "--out", default=None, help="Write the bundle to this file.")
@pass_context
@fail_cleanly
def consistency_proof(obj: Context, size1: int, size2: int, out: str | None) -> None:
    """Write a bundle proving that anchored checkpoint SIZE2 extends checkpoint SIZE1."""
    from anchoring.bundle import consistency_bundle
    from anchoring.merkle import MerkleLog
    from anchoring.worker import CheckpointStore

    store = obj.registry.store
    try:
        bundle = consistency_bundle(
            MerkleLog(store.conn), CheckpointStore(store.conn, obj.registry.log_id), size1, size2
        )
    except LookupError as exc:
        click.echo(f"Error [unknown_checkpoint]: {exc}", err=True)
        sys.exit(1)
    write_json(bundle, out)


def _load(path: str) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        click.echo(f"Error: cannot read {path}: {exc}", err=True)
        sys.exit(2)
    if not isinstance(value, dict):
        click.echo(f"Error: {path} is not a JSON object", err=True)
        sys.exit(2)
    return value


@click.command()
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain the bundle names.")
@click.option(
    "--confirmations",
    type=int,
    default=1,
    show_default=True,
    help="Required depth of the anchor block.",
)
@click.option("--operator", default=None, help="Expected operator address (else any anchorer).")
def verify(bundle_file: str, rpc: str, confirmations: int, operator: str | None) -> None:
    """Verify a proof bundle with nothing but the bundle and a chain RPC."""
    from anchoring.chain import Chain
    from anchoring.verifier import verify_bundle

    checks = verify_bundle(
        _load(bundle_file), Chain.connect(rpc), min_confirmations=confirmations, operator=operator
    )
    if not print_checks(checks):
        sys.exit(1)


@click.command("verify-consistency")
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain the checkpoints name.")
@click.option("--operator", default=None, help="Expected operator address.")
def verify_consistency(bundle_file: str, rpc: str, operator: str | None) -> None:
    """Verify that one anchored checkpoint extends another (from consistency-proof)."""
    from anchoring.chain import Chain
    from anchoring.verifier import verify_consistency_bundle

    if not print_checks(
        verify_consistency_bundle(_load(bundle_file), Chain.connect(rpc), operator=operator)
    ):
        sys.exit(1)


@click.command("audit")
@click.option("--rpc", default=None, help="Chain JSON-RPC URL to compare anchored roots with.")
@pass_context
@fail_cleanly
def audit_command(obj: Context, rpc: str | None) -> None:
    """Recompute every root from the event log; compare with checkpoints and the chain."""
    from anchoring.audit import audit
    from anchoring.chain import Chain
    from anchoring.merkle import MerkleLog
    from anchoring.worker import CheckpointStore

    registry = obj.registry
    store = registry.store
    chain = None
    if rpc:
        chain = Chain.connect(rpc)
        chain.bind(registry.domain.verifying_contract)
    report = audit(
        store,
        MerkleLog(store.conn),
        CheckpointStore(store.conn, registry.log_id),
        registry.domain,
        chain,
    )
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
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
        sys.exit(1)


@click.command()
@click.option(
    "--chain",
    "chain_spec",
    envvar="CARBON_REGISTRY_CHAIN",
    required=True,
    help="JSON-RPC URL of the chain.",
)
def deploy(chain_spec: str) -> None:
    """Deploy RegistryAnchor and CarbonCredits with the key of CARBON_REGISTRY_OPERATOR_KEY.

    Prints the chain id and contract addresses to give `init` for a registry on that chain.
    """
    from anchoring.chain import Chain

    key = os.environ.get(OPERATOR_KEY_ENV)
    if not key:
        click.echo(f"Error: set {OPERATOR_KEY_ENV} to the funded operator key", err=True)
        sys.exit(1)
    operator = Signer(key)
    chain = Chain.connect(chain_spec)
    address = chain.deploy_anchor(
        bytes.fromhex(operator.private_key_hex[2:]), operator.address, operator.address
    )
    click.echo(f"RegistryAnchor deployed at {address} on chain {chain.chain_id}")
    click.echo(f"next: carbon-registry init --chain-id {chain.chain_id} --contract {address}")


@click.command("verify-reserve")
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain.")
@token_option
@pass_context
@fail_cleanly
def verify_reserve(obj: Context, rpc: str, token: str | None) -> None:
    """Check that every token on chain is backed by grams locked in the anchored log.

    Reads only the event log (checked against the anchored root) and the chain.
    """
    from anchoring.chain import Chain
    from anchoring.reserve import check_reserve
    from anchoring.token import TokenContract

    chain = Chain.connect(rpc)
    chain.bind(obj.registry.domain.verifying_contract)
    contract = TokenContract(chain, default_token_address(obj, token))
    report = check_reserve(obj.registry.store, chain, contract)
    click.echo(f"log anchored up to tree size {report.tree_size}")
    for c in report.classes:
        mark = "ok  " if c.ok else "FAIL"
        click.echo(
            f"[{mark}] {c.asset_class}: locked {c.locked_in_log:,} g - unminted {c.unminted_locks:,}"
            f" - burns not yet logged {c.burns_not_in_log:,} = {c.expected_supply:,};"
            f" totalSupply {c.total_supply:,}"
        )
    if not report.ok:
        sys.exit(1)
    click.echo("RESERVE VERIFIED")


@click.group("token")
def token_group() -> None:
    """The CarbonCredits token on chain: mint with proof, transfer, retire, return."""


def _token(rpc: str, address: str | None, obj: Context | None = None) -> Any:
    from anchoring.chain import Chain
    from anchoring.token import TokenContract

    if address is None:
        if obj is None:
            raise ValidationError("give --token")
        address = default_token_address(obj, None)
    return TokenContract(Chain.connect(rpc), address)


def _wallet_key(key_file: str | None) -> bytes:
    return bytes.fromhex(owner_signer(key_file).private_key_hex[2:])


rpc_option = click.option("--rpc", required=True, help="JSON-RPC URL of the chain.")
wallet_option = click.option(
    "--key-file", default=None, help="Chain wallet's key file (or env CARBON_REGISTRY_KEY)."
)
class_option = click.option("--class", "asset_class", required=True, help="Asset class id.")
amount_option = click.option("--amount", type=int, required=True, help="Grams.")


@token_group.command("mint")
@click.argument("bundle_file", type=click.Path(exists=True, dir_okay=False))
@rpc_option
@token_option
@wallet_option
@pass_context
@fail_cleanly
def token_mint(
    obj: Context, bundle_file: str, rpc: str, token: str | None, key_file: str | None
) -> None:
    """Mint the tokens of a lock from its proof bundle (anyone may pay for it)."""
    from anchoring.chain import ChainError

    bundle = _load(bundle_file)
    if bundle.get("anchor") is None or bundle["event"].get("type") != "CreditsLocked":
        click.echo("Error: the bundle must be an anchored CreditsLocked event", err=True)
        sys.exit(1)
    try:
        receipt = _token(rpc, token, obj).mint_with_proof(
            _wallet_key(key_file),
            bundle["event"],
            bundle["inclusion"]["tree_size"],
            [bytes.fromhex(h) for h in bundle["inclusion"]["path"]],
        )
    except ChainError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    request = bundle["event"]["payload"]["request"]
    click.echo(
        f"minted {request['amount']:,} g of {request['assetClass']} to {request['recipient']}"
        f" (gas {receipt['gasUsed']:,})"
    )


@token_group.command("transfer")
@rpc_option
@token_option
@wallet_option
@click.option("--to", "to", required=True, help="Receiving address.")
@class_option
@amount_option
@pass_context
@fail_cleanly
def token_transfer(
    obj: Context,
    rpc: str,
    token: str | None,
    key_file: str | None,
    to: str,
    asset_class: str,
    amount: int,
) -> None:
    """Transfer tokens on chain (ERC-1155 safeTransferFrom)."""
    from registry.bridge import token_id

    _token(rpc, token, obj).transfer(_wallet_key(key_file), to, token_id(asset_class), amount)
    click.echo(f"transferred {amount:,} g of {asset_class} to {to} on chain")


@token_group.command("retire")
@rpc_option
@token_option
@wallet_option
@class_option
@amount_option
@click.option("--beneficiary-name", required=True, help="On whose behalf.")
@click.option("--reason", required=True, help="Why.")
@pass_context
@fail_cleanly
def token_retire(
    obj: Context,
    rpc: str,
    token: str | None,
    key_file: str | None,
    asset_class: str,
    amount: int,
    beneficiary_name: str,
    reason: str,
) -> None:
    """Retire tokens on chain; the registry records the retirement and its certificate."""
    from registry.bridge import token_id

    receipt = _token(rpc, token, obj).retire(
        _wallet_key(key_file), token_id(asset_class), amount, beneficiary_name, reason
    )
    tx = bytes(receipt["transactionHash"]).hex()
    click.echo(f"retired {amount:,} g of {asset_class} on chain (tx 0x{tx})")


@token_group.command("return")
@rpc_option
@token_option
@wallet_option
@class_option
@amount_option
@click.option("--account", required=True, help="Registry account to credit.")
@pass_context
@fail_cleanly
def token_return(
    obj: Context,
    rpc: str,
    token: str | None,
    key_file: str | None,
    asset_class: str,
    amount: int,
    account: str,
) -> None:
    """Burn tokens back into a registry account."""
    from registry.bridge import token_id

    _token(rpc, token, obj).return_to_registry(
        _wallet_key(key_file), token_id(asset_class), amount, account
    )
    click.echo(f"returned {amount:,} g of {asset_class} to registry account {account}")


@token_group.command("balance")
@click.argument("holder")
@rpc_option
@token_option
@class_option
@pass_context
@fail_cleanly
def token_balance(obj: Context, holder: str, rpc: str, token: str | None, asset_class: str) -> None:
    """Token balance of HOLDER for an asset class, and the class's total supply."""
    from registry.bridge import token_id

    contract = _token(rpc, token, obj)
    tid = token_id(asset_class)
    click.echo(
        f"{holder}: {contract.balance_of(holder, tid):,} g of {asset_class}"
        f" (total supply {contract.total_supply(tid):,} g)"
    )


@click.command("fund")
@click.argument("address")
@rpc_option
def fund(address: str, rpc: str) -> None:
    """Give ADDRESS 10 ether from a test chain's unlocked account (embedded RPC, Hardhat)."""
    from web3.types import Wei

    from anchoring.chain import Chain

    chain = Chain.connect(rpc)
    sender = chain.w3.eth.accounts[0]
    chain.w3.eth.send_transaction({"from": sender, "to": address, "value": Wei(10**19)})
    click.echo(f"funded {address}")


COMMANDS = (
    fund,
    token_group,
    verify_reserve,
    deploy,
    anchor,
    checkpoints,
    proof,
    consistency_proof,
    verify,
    verify_consistency,
    audit_command,
)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
