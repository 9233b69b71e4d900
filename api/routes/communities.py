"""Communities: public aggregates and the leaderboard of members who opted in, by
pseudonym. Joining and leaving are signed writes (`writes`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import Community, LeaderboardEntry, Page
from registry import messages
from registry.errors import UnknownAccountError

router = APIRouter(prefix="/v1/communities", tags=["communities"], responses=problem_responses())

AddressPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed 20-byte hex address")
]
COMMUNITY = {
    "address": ex.POOL,
    "name": "莲花山社区 Lianhuashan community",
    "opened_seq": 12,
    "members": 240,
    "verified_grams": 1_250_000,
    "retired_grams": 300_000,
    "leaderboard_url": f"/v1/communities/{ex.POOL}/leaderboard",
}


def community_model(row: dict[str, Any]) -> Community:
    return Community(**row, leaderboard_url=f"/v1/communities/{row['address']}/leaderboard")


def _community(service: ServiceDep, address: str) -> dict[str, Any]:
    checked = messages.address(address, "community")
    row = service.reader().store.community(checked)
    if row is None:
        raise UnknownAccountError(checked)
    return row


@router.get(
    "",
    response_model=Page[Community],
    summary="Communities with their totals, in opening order",
    responses=ex.ok(ex.page(COMMUNITY)),
)
def list_communities(service: ServiceDep, after: After = -1, limit: Limit = 100) -> Page[Community]:
    rows = service.reader().store.communities(after, limit)
    return Page(
        items=[community_model(r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["opened_seq"] if rows else after),
    )


@router.get(
    "/{community}",
    response_model=Community,
    summary="A community's totals: members, their verified grams, grams it retired",
    responses=ex.ok(COMMUNITY),
)
def get_community(service: ServiceDep, community: AddressPath) -> Community:
    return community_model(_community(service, community))


@router.get(
    "/{community}/leaderboard",
    response_model=list[LeaderboardEntry],
    summary="The members who opted in, by pseudonym, most verified grams first",
    description="Only members who joined with `leaderboard` true appear, under the pseudonym"
    " they chose (sealed in the vault: an erased member disappears). No address is shown.",
    responses=ex.ok([{"rank": 1, "pseudonym": "绿色狐狸", "verified_grams": 48_200}]),
)
def get_leaderboard(
    service: ServiceDep, community: AddressPath, limit: Limit = 100
) -> list[LeaderboardEntry]:
    address = _community(service, community)["address"]
    board = service.reader().registry.community_leaderboard(address, limit)
    return [LeaderboardEntry(**entry) for entry in board]
