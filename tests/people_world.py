"""Merchants' offers and communities in a test world: signed requests of each kind."""

from __future__ import annotations

from typing import Any

from registry.commitments import commit_text
from registry.ledger import Receipt
from tests.ledger_world import CLASS, World


def publish(
    world: World, merchant: str, offer_id: str, grams: int, valid_until: int = 0, **kw: Any
) -> Receipt:
    return world.registry.execute(
        *world.people[merchant].request(
            world.registry.domain,
            "PublishOffer",
            merchant=world.addr(merchant),
            offerId=offer_id,
            title=kw.pop("title", "咖啡券 coffee voucher"),
            grams=grams,
            validUntil=valid_until,
            **kw,
        )
    )


def withdraw(world: World, merchant: str, offer_id: str) -> Receipt:
    return world.registry.execute(
        *world.people[merchant].request(
            world.registry.domain, "WithdrawOffer", merchant=world.addr(merchant), offerId=offer_id
        )
    )


def redeem(
    world: World,
    owner: str,
    merchant: str,
    offer_id: str,
    mode: str = "transfer",
    asset_class: str = CLASS,
    **kw: Any,
) -> Receipt:
    return world.registry.execute(
        *world.people[owner].request(
            world.registry.domain,
            "RedeemOffer",
            owner=world.addr(owner),
            merchant=world.addr(merchant),
            offerId=offer_id,
            assetClass=asset_class,
            batchNo=kw.pop("batch_no", 0),
            mode=mode,
            **kw,
        )
    )


def join(world: World, member: str, community: str, pseudonym: str | None = None) -> Receipt:
    """`member` joins `community`, on its leaderboard under `pseudonym` when given."""
    if pseudonym is None:
        signed = world.people[member].request(
            world.registry.domain, "JoinCommunity", member=world.addr(member),
            community=world.addr(community), leaderboard=False,
        )  # fmt: skip
        return world.registry.execute(*signed)
    salt, committed = commit_text(pseudonym)
    signed = world.people[member].request(
        world.registry.domain, "JoinCommunity", member=world.addr(member),
        community=world.addr(community), leaderboard=True, pseudonymCommitment=committed,
    )  # fmt: skip
    return world.registry.execute(*signed, {"pseudonym": (salt, pseudonym)})


def leave(world: World, member: str, community: str) -> Receipt:
    return world.registry.execute(
        *world.people[member].request(
            world.registry.domain,
            "LeaveCommunity",
            member=world.addr(member),
            community=world.addr(community),
        )
    )
