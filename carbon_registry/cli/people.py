"""Merchants' offers and communities: the read commands (`offers list`, `communities list`,
`communities show`); their signed writes (`offers publish|withdraw|redeem`, `communities
join|leave`) are generated from the declarations in `writes`."""

from __future__ import annotations

import time

import click

from carbon_registry.cli.app import Context, cli, echo_json, json_option, pass_context
from registry.errors import UnknownAccountError
from registry.messages import address
from registry.units import format_grams


@cli.group()
def offers() -> None:
    """Merchants' offers: publish, withdraw, redeem, list."""


@offers.command("list")
@click.option("--merchant", default=None, help="Only this merchant's offers.")
@click.option("--all", "everything", is_flag=True, help="Withdrawn and ended offers too.")
@json_option
@pass_context
def offers_list(obj: Context, merchant: str | None, everything: bool, as_json: bool) -> None:
    """List the offers that can be redeemed now (or all of them)."""
    who = None if merchant is None else address(merchant, "merchant")
    rows = obj.reader.store.offers(who, active_only=not everything, now=int(time.time()))
    if as_json:
        echo_json(rows)
        return
    for o in rows:
        state = " (withdrawn)" if o["withdrawn_seq"] is not None else ""
        click.echo(f"{o['merchant_name']} ({o['merchant']}) {o['offer_id']}: {o['title']} for"
                   f" {format_grams(o['grams'])}{state}")  # fmt: skip


@cli.group()
def communities() -> None:
    """Communities: join, leave, list, show with the leaderboard."""


@communities.command("list")
@json_option
@pass_context
def communities_list(obj: Context, as_json: bool) -> None:
    """Every community with its members, verified grams and retired grams."""
    rows = obj.reader.store.communities()
    if as_json:
        echo_json(rows)
        return
    for c in rows:
        click.echo(f"{c['address']} {c['name']}: {c['members']} members,"
                   f" {format_grams(c['verified_grams'])} verified,"
                   f" {format_grams(c['retired_grams'])} retired")  # fmt: skip


@communities.command("show")
@click.argument("community")
@json_option
@pass_context
def communities_show(obj: Context, community: str, as_json: bool) -> None:
    """A community's totals and its leaderboard (pseudonyms of members who opted in)."""
    checked = address(community, "community")
    totals = obj.reader.store.community(checked)
    if totals is None:
        raise UnknownAccountError(checked)
    board = obj.reader.community_leaderboard(checked)
    if as_json:
        echo_json({**totals, "leaderboard": board})
        return
    click.echo(f"{totals['name']}: {totals['members']} members,"
               f" {format_grams(totals['verified_grams'])} verified,"
               f" {format_grams(totals['retired_grams'])} retired")  # fmt: skip
    for entry in board:
        click.echo(f"  {entry['rank']:>3}. {entry['pseudonym']}"
                   f" {format_grams(entry['verified_grams'])}")  # fmt: skip
