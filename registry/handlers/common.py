"""What every handler shares: guards that raise the registry's named errors, and the
serial-range arithmetic (which ranges an owner gives; splitting holdings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.errors import (
    AccountKindError,
    CreditsLockedError,
    CreditsRetiredError,
    InsufficientBalanceError,
    NotAuthorisedError,
    ReplayMismatchError,
    UnknownAccountError,
    UnknownAssetClassError,
    UnknownBatchError,
    WrongSignerError,
)
from registry.receipt import Effects, Receipt
from registry.storage import Store

__all__ = ["Effects", "Receipt"]  # and the guards below

RANGE_RULES = (1, 2)
"""The serial-range rules (`pick_ranges`). A registry's genesis fixes one for
its whole log, so that replay decides every event as it was decided."""
LATEST_RANGE_RULE = 2
"""The rule of registries created now."""


def serial_range(asset_class: dict[str, Any], batch_no: int, first: int, last: int) -> str:
    """`CN-CIR-<methodology>-<version>-<vintage>-<batch no>-<first>-<last>` (DESIGN.md)."""
    return (
        f"CN-CIR-{asset_class['methodology']}-{asset_class['methodology_version']}-"
        f"{asset_class['vintage']}-{batch_no}-{first}-{last}"
    )


# -- guards -------------------------------------------------------------------------------


def require_operator(store: Store, signer: str) -> None:
    if not store.has_role(signer, "operator"):
        raise NotAuthorisedError(f"{signer} does not hold the operator role")


def require_signer(expected: str, signer: str) -> None:
    if signer != expected:
        raise WrongSignerError(expected, signer)


def require_account(store: Store, address: str) -> dict[str, Any]:
    account = store.account(address)
    if account is None:
        raise UnknownAccountError(address)
    return account


def require_account_kind(
    store: Store, address: str, kinds: Sequence[str], to_do: str
) -> dict[str, Any]:
    """The account, which must be of one of `kinds` to `to_do` (e.g. "publish offers")."""
    account = require_account(store, address)
    if account["kind"] not in kinds:
        raise AccountKindError(
            f"{address} is a {account['kind']} account: only {' or '.join(kinds)} accounts {to_do}"
        )
    return account


def decision_time(store: Store) -> int:
    """The Unix second of the event being decided (the ledger and replay set it)."""
    if store.decision_time is None:
        raise ReplayMismatchError("no event time was set for a decision judged by the clock")
    return store.decision_time


def require_asset_class(store: Store, class_id: str) -> dict[str, Any]:
    asset_class = store.asset_class(class_id)
    if asset_class is None:
        raise UnknownAssetClassError(class_id)
    return asset_class


def batch_scope(store: Store, class_id: str, batch_no: int) -> int | None:
    """`batchNo` 0 means "any batch of the class"; otherwise the batch must be of the class."""
    if batch_no == 0:
        return None
    batch = store.batch(batch_no)
    if batch is None or batch["asset_class"] != class_id:
        raise UnknownBatchError(f"no batch {batch_no} in asset class {class_id}")
    return batch_no


def pick_ranges(
    store: Store, owner: str, class_id: str, batch_no: int | None, amount: int
) -> list[dict[str, int]]:
    """Active serial ranges of `owner` totalling `amount`, by the registry's range rule.

    Holdings are ordered first in, first out: the oldest batch, then the lowest serials.
    Rule 1 takes them in that order until the amount is reached. Rule 2 takes the first
    holding in that order that covers the amount alone, and only when none does, rule 1:
    a transfer then moves one range however many small ones its owner has received, where
    under rule 1 it spent them first and moved ten on average after 10^5 transfers among a
    thousand accounts (bench/ledger.py). All the grams of an asset class share its
    methodology, vintage and region, so the choice of holdings changes no one's credits.

    A holding only partly taken gives its highest serials: the serials of one holding
    arrived together, and keeping the remaining range's `first` unchanged makes the split
    an update of `last` alone, which no index covers (a third of a transfer's SQL time).
    Raises InsufficientBalanceError (or its CreditsRetiredError / CreditsLockedError forms
    when the missing grams exist but are retired or locked).
    """
    if store.range_rule == 2:
        holding = store.first_covering_holding(owner, class_id, batch_no, amount)
        if holding is not None:
            return [
                {
                    "batch_no": holding.batch_no,
                    "first": holding.last - amount + 1,
                    "last": holding.last,
                }
            ]
    scope = class_id if batch_no is None else f"{class_id} batch {batch_no}"
    ranges: list[dict[str, int]] = []
    remaining = amount
    for holding in store.active_holdings(owner, class_id, batch_no):
        take = min(remaining, holding.amount)
        ranges.append(
            {"batch_no": holding.batch_no, "first": holding.last - take + 1, "last": holding.last}
        )
        remaining -= take
        if remaining == 0:
            return ranges
    raise_short(store, owner, class_id, batch_no, amount, scope)
    raise AssertionError("unreachable")  # pragma: no cover


def raise_short(
    store: Store, owner: str, class_id: str, batch_no: int | None, amount: int, scope: str
) -> None:
    active = store.held_in_status(owner, class_id, batch_no, "active")
    locked = store.held_in_status(owner, class_id, batch_no, "locked")
    retired = store.held_in_status(owner, class_id, batch_no, "retired")
    if locked and active + locked >= amount:
        raise CreditsLockedError(owner, scope, amount, active)
    if retired and active + retired >= amount:
        raise CreditsRetiredError(owner, scope, amount, active)
    raise InsufficientBalanceError(owner, scope, amount, active)


# -- apply helpers ------------------------------------------------------------------------


def move_ranges(
    store: Store,
    ranges: Sequence[dict[str, int]],
    *,
    owner: str,
    asset_class: str,
    from_status: str,
    new_owner: str,
    new_status: str,
    ref: str | None,
) -> int:
    """Give each range to `new_owner` in `new_status`, splitting holdings as needed."""
    total = 0
    for r in ranges:
        batch_no, first, last = r["batch_no"], r["first"], r["last"]
        holding = store.holding_containing(batch_no, first)
        if (
            holding is None
            or holding.last < last
            or holding.owner != owner
            or holding.status != from_status
            or holding.asset_class != asset_class
        ):
            raise ReplayMismatchError(
                f"serials {batch_no}:{first}-{last} are not held {from_status} by {owner}"
            )
        if holding.first == first and holding.last == last:
            store.update_holding_owner(holding.id, new_owner, new_status, ref)
        else:
            if holding.first < first:
                store.update_holding_range(holding.id, holding.first, first - 1)
                if last < holding.last:
                    store.insert_holding(
                        batch_no,
                        last + 1,
                        holding.last,
                        owner,
                        asset_class,
                        from_status,
                        holding.ref,
                    )
            else:
                store.update_holding_range(holding.id, last + 1, holding.last)
            store.insert_holding(batch_no, first, last, new_owner, asset_class, new_status, ref)
        total += last - first + 1
    store.add_balances(
        [(owner, asset_class, from_status, -total), (new_owner, asset_class, new_status, total)]
    )
    return total


def require_role(store: Store, signer: str, role: str) -> None:
    if not store.has_role(signer, role):
        raise NotAuthorisedError(f"{signer} does not hold the {role} role")


def certificate_id(seq: int) -> str:
    return f"CERT-{seq:010d}"


def serial_ranges(store: Store, class_id: str, ranges: Sequence[dict[str, Any]]) -> str:
    asset_class = require_asset_class(store, class_id)
    return " ".join(serial_range(asset_class, r["batch_no"], r["first"], r["last"]) for r in ranges)
