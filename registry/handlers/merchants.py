"""Handlers: merchants' offers (publish, withdraw) and their redemption by transfer or
retirement, paid with credits of any asset class."""

from __future__ import annotations

from typing import Any

from registry import messages as m
from registry.errors import (
    OfferExistsError,
    OfferStateError,
    UnknownOfferError,
    ValidationError,
)
from registry.handlers.common import (
    Effects,
    batch_scope,
    certificate_id,
    decision_time,
    move_ranges,
    pick_ranges,
    require_account_kind,
    require_asset_class,
    require_signer,
    serial_ranges,
)
from registry.handlers.credits import record_retirement
from registry.storage import Store
from registry.storage.people import offer_is_open

# Where a redemption's certificate says the claim is made: the registry's own scope (a
# redemption request names no jurisdiction of its own).
REDEMPTION_JURISDICTION = "CN"


def redemption_reason(offer_id: str) -> str:
    return f"redeemed offer {offer_id}"


def decide_publish_offer(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["merchant"], signer)
    require_account_kind(store, req["merchant"], (m.MERCHANT_KIND,), "publish offers")
    if store.offer(req["merchant"], req["offerId"]) is not None:
        raise OfferExistsError(
            f"{req['merchant']} already published offer {req['offerId']!r}: an offer id names"
            " one offer (withdraw it and publish a changed offer under a new id)"
        )
    now = decision_time(store)
    if req["validUntil"] != 0 and req["validUntil"] < now:
        raise ValidationError(f"validUntil {req['validUntil']} is already past (now {now})")
    return {}


def apply_publish_offer(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_offer(
        req["merchant"], req["offerId"], req["title"], req["grams"], req["validUntil"], seq
    )


def require_offer(store: Store, merchant: str, offer_id: str) -> dict[str, Any]:
    offer = store.offer(merchant, offer_id)
    if offer is None:
        raise UnknownOfferError(merchant, offer_id)
    return offer


def decide_withdraw_offer(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["merchant"], signer)
    offer = require_offer(store, req["merchant"], req["offerId"])
    if offer["withdrawn_seq"] is not None:
        raise OfferStateError(
            f"offer {req['offerId']} was already withdrawn (event {offer['withdrawn_seq']})"
        )
    return {}


def apply_withdraw_offer(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.withdraw_offer(req["merchant"], req["offerId"], seq)


def decide_redeem_offer(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["owner"], signer)
    require_account_kind(store, req["merchant"], (m.MERCHANT_KIND,), "have offers")
    offer = require_offer(store, req["merchant"], req["offerId"])
    now = decision_time(store)
    if not offer_is_open(offer, now):
        why = (
            f"was withdrawn (event {offer['withdrawn_seq']})"
            if offer["withdrawn_seq"] is not None
            else f"ended at {offer['valid_until']} (now {now})"
        )
        raise OfferStateError(f"offer {req['offerId']} of {req['merchant']} {why}")
    require_asset_class(store, req["assetClass"])
    batch = batch_scope(store, req["assetClass"], req["batchNo"])
    ranges = pick_ranges(store, req["owner"], req["assetClass"], batch, offer["grams"])
    if req["mode"] == "transfer":
        return {"grams": offer["grams"], "ranges": ranges}
    return {
        "certificate_id": certificate_id(seq),
        "grams": offer["grams"],
        "jurisdiction": REDEMPTION_JURISDICTION,
        "ranges": ranges,
        "reason": redemption_reason(req["offerId"]),
    }


def apply_redeem_offer(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    retired = req["mode"] == "retire"
    move_ranges(
        store,
        fx["ranges"],
        owner=req["owner"],
        asset_class=req["assetClass"],
        from_status="active",
        # Retired grams stay with their owner, as a Retire's do; the merchant is the
        # certificate's beneficiary.
        new_owner=req["owner"] if retired else req["merchant"],
        new_status="retired" if retired else "active",
        ref=fx["certificate_id"] if retired else None,
    )
    if retired:
        record_retirement(
            store,
            {"assetClass": req["assetClass"], "amount": fx["grams"], "reason": fx["reason"]},
            fx,
            seq,
            time,
            owner=req["owner"],
            beneficiary=req["merchant"],
            jurisdiction=fx["jurisdiction"],
        )
    store.insert_redemption(
        {
            "seq": seq,
            "time": time,
            "merchant": req["merchant"],
            "offer_id": req["offerId"],
            "owner": req["owner"],
            "asset_class": req["assetClass"],
            "grams": fx["grams"],
            "mode": req["mode"],
            "certificate_id": fx.get("certificate_id"),
            "serials": serial_ranges(store, req["assetClass"], fx["ranges"]),
        }
    )
