"""Accounts and roles; balances, holdings (serial ranges) and retirements per account."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api import examples as ex
from api.access import Viewer, forbidden, shown_account, viewer
from api.deps import After, CallerDep, Limit, ServiceDep, SignedInDep
from api.routes import next_after, problem_responses
from api.routes.retirements import retirement_model
from api.schemas import (
    Account,
    AccountDetail,
    Activity,
    Balance,
    Holding,
    Page,
    Retirement,
)
from registry import messages
from registry.errors import UnknownAccountError
from registry.messages import PERSONAL_KINDS

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=problem_responses())

ACTIVITY = {
    "seq": 12,
    "index": 0,
    "platform": ex.PLATFORM,
    "methodology": "SZ_TRANSIT",
    "version": "1.0",
    "region": "440304",
    "commitment": ex.HASH,
    "activity_id": "metro_sz-00000001",
    "start": 1_772_411_400,
    "end": 1_772_413_200,
    "quantities": {"bus_m": 0, "metro_m": 12_000},
    "outcome": {"claim": "C12-0", "class": "SZ_TRANSIT-1.0-2026-440300", "grams": 532},
}

AddressPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed 20-byte hex address")
]


def _known(service: ServiceDep, address: str) -> str:
    checksummed = messages.address(address, "address")
    if service.reader().store.account(checksummed) is None:
        raise UnknownAccountError(checksummed)
    return checksummed


def _shown(service: ServiceDep, who: Viewer, account: dict[str, Any]) -> dict[str, Any]:
    """The account as `who` may see it, a person's or household's name read from the vault
    (the log holds only its commitment)."""
    shown = shown_account(who, account)
    if not shown["withheld"] and account["kind"] in PERSONAL_KINDS and not account["name"]:
        shown["name"] = service.reader().registry.personal_name(account["address"]) or ""
    return shown


@router.get(
    "",
    response_model=Page[Account],
    summary="Accounts in opening order, with their roles",
    description="Addresses, kinds and roles are public ledger data. The name and household"
    " link of a person or household are shown only to the account itself, its household (or"
    " its members) and the operator; to others they are null and listed in `withheld`.",
    responses=ex.ok(ex.page(ex.ACCOUNT, next_after=3)),
)
def list_accounts(
    service: ServiceDep, caller: CallerDep, after: After = -1, limit: Limit = 100
) -> Page[Account]:
    store = service.reader().store
    who = viewer(caller, store)
    rows = store.accounts_page(after, limit)
    roles = store.roles_by_address([r["address"] for r in rows])
    items = [Account(**_shown(service, who, r), roles=roles[r["address"]]) for r in rows]
    return Page(
        items=items, next_after=next_after(rows, limit, rows[-1]["opened_seq"] if rows else after)
    )


@router.get(
    "/{address}",
    response_model=AccountDetail,
    summary="One account: kind, household, roles and balances per asset class",
    description="A person's or household's name and household link are withheld (null, and"
    " named in `withheld`) unless the caller is the account, its household (or a member of"
    " it) or the operator.",
    responses=ex.ok({**ex.ACCOUNT, "balances": [ex.BALANCE]}),
)
def get_account(service: ServiceDep, caller: CallerDep, address: AddressPath) -> AccountDetail:
    store = service.reader().store
    account = store.account(_known(service, address))
    assert account is not None
    return AccountDetail(
        **_shown(service, viewer(caller, store), account),
        roles=store.roles_of(account["address"]),
        balances=[Balance(**b) for b in store.balances(account["address"])],
    )


@router.get(
    "/{address}/activities",
    response_model=list[Activity],
    summary="A person's activities: times, quantities and outcomes (signed in)",
    description="Opened from the vault: the log holds only commitments to them. Shown to the"
    " person, their household, the operator, and to a platform the activities it sent;"
    " empty once the person is erased.",
    responses=ex.ok([ACTIVITY]),
)
def get_activities(
    service: ServiceDep, caller: SignedInDep, address: AddressPath
) -> list[Activity]:
    reader = service.reader()
    account = reader.store.account(_known(service, address))
    assert account is not None
    who = viewer(caller, reader.store)
    everything = who.operator or who.is_one_of(account["address"], account["household"])
    platform_only = not everything and "platform" in who.roles
    if not everything and not platform_only:
        raise forbidden(f"the activities of {account['address']}")
    rows = reader.registry.activities(account["address"])
    return [Activity(**a) for a in rows if everything or a["platform"] == who.account]


@router.get(
    "/{address}/balances",
    response_model=list[Balance],
    summary="Grams held per asset class and status",
    responses=ex.ok([ex.BALANCE]),
)
def get_balances(service: ServiceDep, address: AddressPath) -> list[Balance]:
    return [Balance(**b) for b in service.reader().store.balances(_known(service, address))]


@router.get(
    "/{address}/holdings",
    response_model=list[Holding],
    summary="Serial ranges held by the account (all statuses, or one)",
    responses=ex.ok([ex.HOLDING]),
)
def get_holdings(
    service: ServiceDep,
    address: AddressPath,
    status: Annotated[
        Literal["active", "retired", "cancelled", "locked"] | None,
        Query(description="Only ranges in this status."),
    ] = None,
) -> list[Holding]:
    rows = service.reader().registry.holdings(_known(service, address))
    return [Holding(**h) for h in rows if status is None or h["status"] == status]


@router.get(
    "/{address}/retirements",
    response_model=Page[Retirement],
    summary="Retirements made by the account",
    responses=ex.ok(ex.page(ex.RETIREMENT)),
)
def get_account_retirements(
    service: ServiceDep, address: AddressPath, after: After = -1, limit: Limit = 100
) -> Page[Retirement]:
    rows = service.reader().store.retirements_page(after, limit, owner=_known(service, address))
    return Page(
        items=[retirement_model(r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after),
    )
