"""Merchants' offers (public) and their redemptions (the merchant's or the owner's own
reads, signed in). Publishing, withdrawing and redeeming are signed writes (`writes`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api import examples as ex
from api.access import viewer
from api.deps import After, Limit, ServiceDep, SignedInDep
from api.errors import ApiError
from api.routes import next_after, problem_responses
from api.schemas import Offer, Page, Redemption
from registry import messages
from registry.errors import UnknownAccountError, UnknownOfferError
from registry.storage.people import offer_is_open

router = APIRouter(tags=["offers"], responses=problem_responses())

AddressPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed 20-byte hex address")
]
OfferIdPath = Annotated[
    str, Path(pattern=messages.fields.REF_PATTERN, description="The merchant's id of the offer.")
]
OFFER = {
    "merchant": ex.BOB,
    "merchant_name": "街角咖啡 Corner Cafe",
    "offer_id": "coffee-2026",
    "title": "咖啡券 coffee voucher",
    "grams": 2_000,
    "valid_until": 0,
    "published_seq": 40,
    "withdrawn_seq": None,
    "active": True,
}
REDEMPTION = {
    "seq": 44,
    "time": ex.TIME,
    "merchant": ex.BOB,
    "offer_id": "coffee-2026",
    "owner": ex.ALICE,
    "asset_class": ex.CLASS,
    "grams": 2_000,
    "mode": "retire",
    "certificate_id": "CERT-0000000044",
    "certificate_url": "/v1/retirements/CERT-0000000044",
    "serials": ["CN-CIR-SZ_TRANSIT-1.0-2026-1-3001-5000"],
}


def redemption_page(rows: list[dict[str, Any]], after: int, limit: int) -> Page[Redemption]:
    items = [
        Redemption(
            **{k: v for k, v in row.items() if k != "serials"},
            serials=str(row["serials"]).split(),
            certificate_url=(
                None
                if row["certificate_id"] is None
                else f"/v1/retirements/{row['certificate_id']}"
            ),
        )
        for row in rows
    ]
    return Page(items=items, next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after))


@router.get(
    "/v1/offers",
    response_model=Page[Offer],
    summary="Merchants' offers that can be redeemed now (or all), in publishing order",
    responses=ex.ok(ex.page(OFFER)),
)
def list_offers(
    service: ServiceDep,
    after: After = -1,
    limit: Limit = 100,
    merchant: Annotated[
        str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="Only this merchant's.")
    ] = None,
    active_only: Annotated[
        bool, Query(description="Only offers neither withdrawn nor past their end.")
    ] = True,
) -> Page[Offer]:
    store = service.reader().store
    who = None if merchant is None else messages.address(merchant, "merchant")
    now = int(time.time())
    rows = store.offers(who, active_only=active_only, now=now, after=after, limit=limit)
    return Page(
        items=[Offer(**r, active=offer_is_open(r, now)) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["published_seq"] if rows else after),
    )


@router.get(
    "/v1/offers/{merchant}/{offer_id}",
    response_model=Offer,
    summary="One offer of a merchant",
    responses=ex.ok(OFFER),
)
def get_offer(service: ServiceDep, merchant: AddressPath, offer_id: OfferIdPath) -> Offer:
    store = service.reader().store
    address = messages.address(merchant, "merchant")
    row = store.offer(address, offer_id)
    if row is None:
        raise UnknownOfferError(address, offer_id)
    account = store.account(address)
    name = "" if account is None else account["name"]
    return Offer(**row, merchant_name=name, active=offer_is_open(row, int(time.time())))


def _own_read(service: ServiceDep, caller: SignedInDep, address: str, what: str) -> str:
    """`address`, when the caller is that account, its household or the operator."""
    store = service.reader().store
    checked = messages.address(address, "address")
    account = store.account(checked)
    if account is None:
        raise UnknownAccountError(checked)
    who = viewer(caller, store)
    if not (who.operator or who.is_one_of(checked, account["household"])):
        raise ApiError(
            "read_forbidden", f"{what} of {checked} may be read only by it and the operator"
        )
    return checked


@router.get(
    "/v1/merchants/{merchant}/redemptions",
    response_model=Page[Redemption],
    summary="The redemptions of a merchant's offers (the merchant signed in)",
    description="Shown to the merchant and the operator: who redeemed what is theirs to see.",
    responses=ex.ok(ex.page(REDEMPTION)),
)
def merchant_redemptions(
    service: ServiceDep,
    caller: SignedInDep,
    merchant: AddressPath,
    after: After = -1,
    limit: Limit = 100,
) -> Page[Redemption]:
    checked = _own_read(service, caller, merchant, "the redemptions")
    rows = service.reader().store.redemptions(checked, after, limit)
    return redemption_page(rows, after, limit)


@router.get(
    "/v1/accounts/{address}/redemptions",
    response_model=Page[Redemption],
    summary="The offers an account redeemed (signed in as it)",
    description="Shown to the account, its household and the operator.",
    responses=ex.ok(ex.page(REDEMPTION)),
)
def account_redemptions(
    service: ServiceDep,
    caller: SignedInDep,
    address: AddressPath,
    after: After = -1,
    limit: Limit = 100,
) -> Page[Redemption]:
    checked = _own_read(service, caller, address, "the redemptions")
    rows = service.reader().store.redemptions_by(checked, after, limit)
    return redemption_page(rows, after, limit)
