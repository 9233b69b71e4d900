"""The signed write commands, one per request declaration (`registry.messages`).

Each command's options come from its declaration's fields (`--class`, `--amount 2.5kg`,
`--batch`...), a field without an option name is an argument, fields the signer fills
(`from`, `owner`...) are not asked for, and personal data (a beneficiary's name) is sent
beside the request, committed to with a fresh salt. The operator's key signs operator
requests; the owner's key (`--key-file` or CARBON_REGISTRY_KEY) signs the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from carbon_registry.cli.app import (
    Context,
    cli,
    echo_receipt,
    json_option,
    key_file_option,
    owner_signer,
)
from carbon_registry.cli.ledger import accounts, classes
from carbon_registry.cli.people import communities, offers
from registry.ledger import Receipt
from registry.messages import MESSAGES, Message
from registry.messages.declaration import REQUIRED, Default
from registry.messages.declaration import Field as MessageField
from registry.units import format_grams, parse_grams

# (group, command name) of each request type that people send from the command line; the
# others are sent by programs (platform batches, attestations) or recorded from the chain.
COMMANDS: dict[str, tuple[click.Group, str]] = {
    "OpenAccount": (accounts, "open"),
    "GrantRole": (accounts, "grant"),
    "RevokeRole": (accounts, "revoke"),
    "RegisterAssetClass": (classes, "register"),
    "Issue": (cli, "issue"),
    "Transfer": (cli, "transfer"),
    "Retire": (cli, "retire"),
    "Lock": (cli, "lock"),
    "Cancel": (cli, "cancel"),
    "RunIssuance": (cli, "issue-run"),
    "ReverseClaim": (cli, "reverse-claim"),
    "PublishOffer": (offers, "publish"),
    "WithdrawOffer": (offers, "withdraw"),
    "RedeemOffer": (offers, "redeem"),
    "JoinCommunity": (communities, "join"),
    "LeaveCommunity": (communities, "leave"),
}


def _print_issuance_run(receipt: Receipt, fields: dict[str, Any]) -> None:
    fx = receipt.effects
    click.echo(
        f"event {receipt.seq} {receipt.event_type}: {fx['claims']:,} claims,"
        f" {format_grams(fx['issued_grams'])} issued,"
        f" {format_grams(fx['buffer_grams'])} to the buffer pool"
    )
    for b in fx["batches"] + fx["buffer_batches"]:
        to = b.get("to", fields["bufferPool"])
        click.echo(f"  batch {b['batch_no']} {b['asset_class']} {b['amount']:,} g to {to}")


# Receipts that read better summarised than listed field by field.
PRINTERS: dict[str, Callable[[Receipt, dict[str, Any]], None]] = {
    "RunIssuance": _print_issuance_run,
}


def _param_type(field: MessageField) -> Any:
    schema = field.kind.schema
    if "enum" in schema:
        return click.Choice(schema["enum"])
    if field.kind.cli == "int":
        return click.IntRange(schema.get("minimum"), schema.get("maximum"))
    if field.kind.cli == "bool":
        return click.BOOL
    return click.STRING


def _help(field: MessageField) -> str:
    unit = " Grams, or with a unit: 2.5kg, 0.75t." if field.kind.cli == "grams" else ""
    default = f" Default: {field.default!r}." if isinstance(field.default, Default) else ""
    return f"{field.doc}{unit}{default}"


def _param_name(field_name: str) -> str:
    """click's name for a field's parameter (it lowercases names: `claimId` -> `claim_id`)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in field_name)


def _params(message: Message) -> list[click.Parameter]:
    params: list[click.Parameter] = []
    for field in message.fields:
        if field.from_signer:
            continue
        name = _param_name(field.name)
        if field.option == "":
            params.append(click.Argument([name], type=_param_type(field)))
            continue
        has_default = field.default is not REQUIRED and not isinstance(field.default, Default)
        params.append(
            click.Option(
                [field.option, name],
                type=_param_type(field),
                required=field.default is REQUIRED,
                default=field.default if has_default else None,
                show_default=has_default and field.default not in ("", None),
                help=_help(field),
            )
        )
    for private in message.private:
        option = "--" + private.name.replace("_", "-")
        params.append(click.Option([option, private.name], default=None, help=private.doc))
    return params


def _command(message: Message, name: str) -> click.Command:
    operator = message.role == "operator"

    @click.pass_context
    def run(ctx: click.Context, /, **values: Any) -> None:
        obj: Context = ctx.obj
        signer = obj.operator() if operator else owner_signer(values.pop("key_file", None))
        as_json = values.pop("as_json", False)
        personal = {p.name: values.pop(p.name) for p in message.private}
        given = {
            f.name: values[_param_name(f.name)]
            for f in message.fields
            if _param_name(f.name) in values
        }
        for field in message.fields:
            if field.kind.cli == "grams" and isinstance(given.get(field.name), str):
                given[field.name] = parse_grams(given[field.name])
        fields, sealed = message.fill(signer.address, given, personal)
        receipt = obj.submit(signer, message.name, sealed or None, **fields)
        printer = PRINTERS.get(message.name)
        if printer is None or as_json:
            echo_receipt(receipt, as_json)
        else:
            printer(receipt, fields)

    who = "the operator" if operator else "the owner (--key-file or CARBON_REGISTRY_KEY)"
    command = click.Command(
        name,
        callback=run,
        params=_params(message),
        help=f"{message.doc}\n\nSigned by {who} as the EIP-712 type {message.name}.",
    )
    if not operator:
        key_file_option(command)
    json_option(command)
    return command


for _kind, (_group, _name) in COMMANDS.items():
    _group.add_command(_command(MESSAGES[_kind], _name))
