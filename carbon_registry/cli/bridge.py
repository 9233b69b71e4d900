"""Token bridge commands: proof of reserve, the CarbonCredits token on chain, test funds."""

from __future__ import annotations

from typing import Any

import click

from carbon_registry.cli.anchoring import load_bundle
from carbon_registry.cli.app import (
    SAFE_INT,
    Context,
    cli,
    echo_receipt,
    json_option,
    key_file_option,
    owner_signer,
    pass_context,
    progress_bar,
)
from registry.eip712 import contract_address_of
from registry.errors import ValidationError
from registry.ledger import Receipt

token_option = click.option(
    "--token",
    envvar="CARBON_REGISTRY_TOKEN",
    default=None,
    help="CarbonCredits address (env CARBON_REGISTRY_TOKEN; default: the operator's 2nd contract).",
)


def default_token_address(obj: Context, token: str | None) -> str:
    """The embedded chain deploys CarbonCredits as the operator's second contract."""
    return token or contract_address_of(obj.reader.operator, 1)


@cli.command("verify-reserve")
@click.option("--rpc", required=True, help="JSON-RPC URL of the chain.")
@token_option
@click.option(
    "--log",
    "log_url",
    default=None,
    help="Check from this public log (e.g. https://registry.example/log, or a mirror)"
    " instead of the local --db; needs --trust.",
)
@click.option(
    "--trust",
    "trust_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Trust anchor file (GET /v1/trust) pinning the log, chain, contract and token.",
)
@pass_context
def verify_reserve(
    obj: Context, rpc: str, token: str | None, log_url: str | None, trust_file: str | None
) -> None:
    """Check that every token on chain is backed by grams locked in the anchored log.

    Reads only the event log (checked against the anchored root) and the chain: the local
    --db's events, or with --log the public log's entry bundles, without any database.
    """
    if log_url is not None:
        from carbon_verifier.cli import reserve

        if trust_file is None:
            raise click.UsageError("--log needs --trust (the registry's GET /v1/trust, pinned)")
        from carbon_verifier.rpc import Rpc

        status = reserve(log_url, Rpc(rpc), trust_file)
        if status:
            raise SystemExit(status)
        return
    from anchoring.chain import Chain
    from bridge.reserve import check_anchored_reserve
    from bridge.token import TokenContract
    from carbon_verifier.cli import print_reserve

    chain = Chain.connect(rpc)
    chain.bind(obj.reader.domain.verifying_contract)
    contract = TokenContract(chain, default_token_address(obj, token))
    store = obj.reader.store
    with progress_bar(store.event_count(), "events") as advance:
        report = check_anchored_reserve(store, chain, contract, advance)
    if not print_reserve(report):
        raise SystemExit(1)


@cli.command("release-lock")
@click.argument("lock_seq", type=SAFE_INT)
@click.option("--rpc", default=None, help="JSON-RPC URL of the token's chain (local --db).")
@token_option
@click.option(
    "--confirmations",
    type=click.IntRange(1),
    default=1,
    envvar="CARBON_REGISTRY_ANCHOR_CONFIRMATIONS",
    show_default=True,
    help="How deep the cited block must be (env CARBON_REGISTRY_ANCHOR_CONFIRMATIONS).",
)
@click.option("--operator", "as_operator", is_flag=True, help="Sign as the operator.")
@key_file_option
@json_option
@pass_context
def release_lock(
    obj: Context,
    lock_seq: int,
    rpc: str | None,
    token: str | None,
    confirmations: int,
    as_operator: bool,
    key_file: str | None,
    as_json: bool,
) -> None:
    """Give back the grams of lock LOCK_SEQ (its event's seq), never minted by its deadline.

    The token contract mints a lock until its request's expiry plus 7 days; after that the
    owner (or the operator) releases it citing a confirmed block of the chain that shows it
    unminted. With --api the registry's API offers the block; else --rpc reads it.
    """
    from bridge.release import release_evidence
    from carbon_registry.cli.serve import RemoteContext
    from registry.bridge import mint_deadline, require_lock

    signer = obj.operator() if as_operator else owner_signer(key_file)
    if isinstance(obj, RemoteContext):
        sent = obj.client.release_lock(signer, lock_seq)
        receipt = Receipt(sent.seq, sent.event_type, sent.effects)
    else:
        if rpc is None:
            raise ValidationError("give --rpc (the token's chain), or --api")
        store = obj.registry.store
        lock = require_lock(store, lock_seq)
        contract = _token(rpc, token, obj)
        evidence = release_evidence(
            contract, lock["lock_no"], mint_deadline(store, lock_seq), confirmations
        )
        receipt = obj.submit(signer, "ReleaseLock", None, owner=lock["owner"], lockSeq=lock_seq,
                             **evidence)  # fmt: skip
    echo_receipt(receipt, as_json)


@cli.group("token")
def token_group() -> None:
    """The CarbonCredits token on chain: mint with proof, transfer, retire, return."""


def _token(rpc: str, address: str | None, obj: Context | None = None) -> Any:
    from anchoring.chain import Chain
    from bridge.token import TokenContract

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
def token_mint(
    obj: Context, bundle_file: str, rpc: str, token: str | None, key_file: str | None
) -> None:
    """Mint the tokens of a lock from its proof bundle (anyone may pay for it)."""
    bundle = load_bundle(bundle_file)
    event, inclusion = bundle.get("event"), bundle.get("inclusion")
    if (
        bundle.get("anchor") is None
        or not isinstance(event, dict)
        or event.get("type") != "CreditsLocked"
        or not isinstance(inclusion, dict)
    ):
        raise ValidationError("the bundle must be the anchored bundle of a CreditsLocked event")
    try:
        path = [bytes.fromhex(h) for h in inclusion["path"]]
        tree_size = int(inclusion["tree_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"the bundle's inclusion proof is malformed: {exc!r}") from exc
    receipt = _token(rpc, token, obj).mint_with_proof(_wallet_key(key_file), event, tree_size, path)
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
@click.option(
    "--beneficiary-name",
    default="",
    help="On whose behalf; only a salted commitment to it goes on chain (default: anonymous).",
)
@click.option("--reason", required=True, help="Why.")
@pass_context
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
    """Retire tokens on chain; the registry records the retirement and its certificate.

    The chain is public and permanent, so it gets `0x` SHA-256(salt || name), never the
    name: the salt printed here is what proves later whose retirement it was."""
    from registry.bridge import token_id
    from registry.commitments import NO_COMMITMENT, commit_text

    salt, named = commit_text(beneficiary_name) if beneficiary_name else (b"", NO_COMMITMENT)
    receipt = _token(rpc, token, obj).retire(
        _wallet_key(key_file), token_id(asset_class), amount, named, reason
    )
    tx = bytes(receipt["transactionHash"]).hex()
    click.echo(f"retired {amount:,} g of {asset_class} on chain (tx 0x{tx})")
    if beneficiary_name:
        click.echo(f"beneficiary commitment {named}; keep its salt 0x{salt.hex()} to prove"
                   f" it names {beneficiary_name!r}")  # fmt: skip


@token_group.command("return")
@rpc_option
@token_option
@wallet_option
@class_option
@amount_option
@click.option("--account", required=True, help="Registry account to credit.")
@pass_context
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
def token_balance(obj: Context, holder: str, rpc: str, token: str | None, asset_class: str) -> None:
    """Token balance of HOLDER for an asset class, and the class's total supply."""
    from registry.bridge import token_id

    contract = _token(rpc, token, obj)
    tid = token_id(asset_class)
    click.echo(
        f"{holder}: {contract.balance_of(holder, tid):,} g of {asset_class}"
        f" (total supply {contract.total_supply(tid):,} g)"
    )


@cli.command("fund")
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
