"""Who may read what of a person (issue 11: access control on personal reads).

Claims, refused records, the per-record outcomes of an activity batch and an account's name
and household link are personal. They are shown only to:

- the person (the account the record or claim is about);
- their household (the household account the person belongs to; a household also sees
  the name of its members, and its members see the household's);
- the platform that sent the record (its claims, refusals and batches);
- the operator (the `X-Operator-Key`, or a session of an account holding the operator
  role);
- for claims only, accounts holding the `verifier` role: they attest claims, so they read
  what they attest (not refusals, batches or names).

Everyone else gets aggregates (`GET /v1/claims/summary`) and ledger data: addresses, kinds,
roles, balances, holdings and the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.deps import Caller
from api.errors import ApiError
from registry.storage import Store

PERSONAL_KINDS = frozenset({"person", "household"})  # natural persons: name and household
PERSONAL_ACCOUNT_FIELDS = ("name", "household")
CLAIM_READER_ROLES = frozenset({"verifier"})


@dataclass(frozen=True)
class Viewer:
    """A caller with what the registry knows of its account."""

    account: str | None
    operator: bool
    household: str | None
    roles: frozenset[str]

    @property
    def reads_all_claims(self) -> bool:
        return self.operator or bool(self.roles & CLAIM_READER_ROLES)

    def is_one_of(self, *accounts: str | None) -> bool:
        return self.account is not None and self.account in accounts


def viewer(caller: Caller, store: Store) -> Viewer:
    """The caller's roles and household, read in the route's thread."""
    if caller.account is None:
        return Viewer(None, caller.operator_key, None, frozenset())
    roles = frozenset(store.roles_of(caller.account))
    account = store.account(caller.account)
    household = None if account is None else account["household"]
    return Viewer(caller.account, caller.operator_key or "operator" in roles, household, roles)


def forbidden(what: str) -> ApiError:
    return ApiError(
        "read_forbidden",
        f"{what} may be read only by the person, their household, the platform that sent it"
        " and the operator",
    )


def may_read_claim(who: Viewer, claim: dict[str, Any], household: str | None) -> bool:
    """The claim's account, `household` (the account's), its beneficiary (a household its
    grams were pooled to by a run of the earlier form, or the person), the platform that
    sent the record, a verifier, the operator."""
    return who.reads_all_claims or who.is_one_of(
        claim["account"], household, claim["beneficiary"], claim["platform"]
    )


def may_read_person(who: Viewer, account: dict[str, Any]) -> bool:
    """The name and household link of `account`."""
    return (
        who.operator
        or account["kind"] not in PERSONAL_KINDS
        or who.is_one_of(account["address"], account["household"])
        or (who.household is not None and who.household == account["address"])
    )


def shown_account(who: Viewer, account: dict[str, Any]) -> dict[str, Any]:
    """`account` as `who` may see it: name and household withheld (None) when personal."""
    if may_read_person(who, account):
        return {**account, "withheld": []}
    return {**account, **dict.fromkeys(PERSONAL_ACCOUNT_FIELDS), "withheld": ["name", "household"]}
