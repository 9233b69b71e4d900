"""Pages of merchants and communities: offers anyone can redeem with a wallet, a
merchant's redemptions (the merchant signed in), a community's totals and leaderboard.

They reuse the API's route functions for their data; a redemption is the `RedeemOffer`
request the person's wallet signs in the page (eth_signTypedData_v4), sent to the API as
any signed write.
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import ServiceDep
from api.routes.communities import get_leaderboard, list_communities
from api.routes.merchants import list_offers
from api.web.render import page
from registry import messages

router = APIRouter(include_in_schema=False)

Address = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]
After = Annotated[int, Query(ge=-1, le=2**53 - 1)]
PAGE_SIZE = 100


@router.get("/merchants")
def merchants_page(request: Request, service: ServiceDep, after: After = -1) -> Response:
    offers = list_offers(service, after, PAGE_SIZE, None, True)
    by_merchant = [
        (merchant, list(group))
        for merchant, group in groupby(
            sorted(offers.items, key=lambda o: o.merchant), lambda o: o.merchant
        )
    ]
    return page(request, "merchants.html", merchants=by_merchant, more=offers.next_after)


@router.get("/merchants/{merchant}")
def merchant_page(request: Request, service: ServiceDep, merchant: Address) -> Response:
    address = messages.address(merchant, "merchant")
    account = service.reader().store.account(address)
    if account is None or account["kind"] != "merchant":
        return page(request, "not_found.html", status_code=404, what=address)
    offers = list_offers(service, -1, PAGE_SIZE, address, False)
    return page(
        request,
        "merchant.html",
        merchant=address,
        name=account["name"],
        offers=offers.items,
        chain_id=service.domain.chain_id,
    )


@router.get("/communities")
def communities_page(request: Request, service: ServiceDep, after: After = -1) -> Response:
    communities = list_communities(service, after, PAGE_SIZE)
    return page(
        request, "communities.html", communities=communities.items, more=communities.next_after
    )


@router.get("/communities/{community}")
def community_page(request: Request, service: ServiceDep, community: Address) -> Response:
    address = messages.address(community, "community")
    row = service.reader().store.community(address)
    if row is None:
        return page(request, "not_found.html", status_code=404, what=address)
    return page(
        request,
        "community.html",
        community=row,
        leaderboard=get_leaderboard(service, address, PAGE_SIZE),
    )
