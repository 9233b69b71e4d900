"""The registry's operations: one library call, one signed request, one event.

Every operation runs the same three steps:

1. *authorise* (outside the write lock): check the request's fields, recover the EIP-712
   signer, refuse an expired request;
2. *decide* (inside the transaction): guard methods raise a named error when the state
   does not allow the request (wrong signer, replayed nonce, balance too low, ...); else
   they return the request's effects (the serial ranges chosen first-in-first-out, the new
   batch number, the certificate id);
3. *apply*: change the tables to match the effects and append the event, in the same
   transaction.

`registry.replay` runs decide and apply again over the log alone, which is how it proves
that the tables are exactly what the log says.
"""

from __future__ import annotations

import secrets
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from registry import bridge
from registry import messages as m
from registry.canonical import canonical_bytes, from_canonical
from registry.eip712 import Domain, StructType, normalise_signature, recover_signer
from registry.errors import (
    AccountExistsError,
    AlreadyInitialisedError,
    AssetClassExistsError,
    BatchConflictError,
    BufferShortfallError,
    ClaimStatusError,
    CreditsLockedError,
    CreditsRetiredError,
    DuplicateClaimError,
    InsufficientBalanceError,
    NonceReplayedError,
    NotAuthorisedError,
    NotInitialisedError,
    RegistryError,
    ReplayMismatchError,
    SignatureExpiredError,
    UnknownAccountError,
    UnknownAssetClassError,
    UnknownBatchError,
    UnknownCertificateError,
    UnknownClaimError,
    ValidationError,
    WrongSignerError,
)
from registry.mrv import ingest, issuance, verification
from registry.storage import Store

GENESIS = "RegistryOpened"

Effects = dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    """What an accepted request did: its event's sequence number, type and effects."""

    seq: int
    event_type: str
    effects: Effects


@lru_cache(maxsize=4)
def _second_prefix(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def format_time(epoch: float) -> str:
    """RFC 3339 UTC with milliseconds, truncated (never later than `epoch`)."""
    millis = int(epoch * 1000)
    return f"{_second_prefix(millis // 1000)}{millis % 1000:03d}Z"


def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def serial_range(asset_class: dict[str, Any], batch_no: int, first: int, last: int) -> str:
    """`CN-CIR-<methodology>-<version>-<vintage>-<batch no>-<first>-<last>` (DESIGN.md)."""
    return (
        f"CN-CIR-{asset_class['methodology']}-{asset_class['methodology_version']}-"
        f"{asset_class['vintage']}-{batch_no}-{first}-{last}"
    )


# -- guards -------------------------------------------------------------------------------


def _require_operator(store: Store, signer: str) -> None:
    if not store.has_role(signer, "operator"):
        raise NotAuthorisedError(f"{signer} does not hold the operator role")


def _require_signer(expected: str, signer: str) -> None:
    if signer != expected:
        raise WrongSignerError(expected, signer)


def _require_account(store: Store, address: str) -> dict[str, Any]:
    account = store.account(address)
    if account is None:
        raise UnknownAccountError(address)
    return account


def _require_asset_class(store: Store, class_id: str) -> dict[str, Any]:
    asset_class = store.asset_class(class_id)
    if asset_class is None:
        raise UnknownAssetClassError(class_id)
    return asset_class


def _batch_scope(store: Store, class_id: str, batch_no: int) -> int | None:
    """`batchNo` 0 means "any batch of the class"; otherwise the batch must be of the class."""
    if batch_no == 0:
        return None
    batch = store.batch(batch_no)
    if batch is None or batch["asset_class"] != class_id:
        raise UnknownBatchError(f"no batch {batch_no} in asset class {class_id}")
    return batch_no


def pick_fifo(
    store: Store, owner: str, class_id: str, batch_no: int | None, amount: int
) -> list[dict[str, int]]:
    """Active serial ranges of `owner` totalling `amount`, first in, first out: holdings
    of the oldest batch (and lowest serials) go first.

    A holding only partly taken gives its highest serials: the serials of one holding
    arrived together, and keeping the remaining range's `first` unchanged makes the split
    an update of `last` alone, which no index covers (a third of a transfer's SQL time).
    Raises InsufficientBalanceError (or its CreditsRetiredError / CreditsLockedError forms
    when the missing grams exist but are retired or locked).
    """
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
    _raise_short(store, owner, class_id, batch_no, amount, scope)
    raise AssertionError("unreachable")  # pragma: no cover


def _raise_short(
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
    store.add_balance(owner, asset_class, from_status, -total)
    store.add_balance(new_owner, asset_class, new_status, total)
    return total


# -- operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One kind of signed request and the event type that records it.

    `previous`, where set, makes the operation idempotent: it returns the receipt of an
    earlier event that already did what the request asks (nothing new is written), or None.
    """

    struct: StructType
    event_type: str
    decide: Callable[[Store, dict[str, Any], str, int], Effects]
    apply: Callable[[Store, dict[str, Any], Effects, str, int, str], None]
    previous: Callable[[Store, dict[str, Any], str], Receipt | None] | None = None


def _decide_open_account(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    if store.account(req["account"]) is not None:
        raise AccountExistsError(f"account {req['account']} is already open")
    if req["household"] != m.ZERO_ADDRESS:
        if req["kind"] != "person":
            raise ValidationError("only a person can be a member of a household")
        household = _require_account(store, req["household"])
        if household["kind"] != "household":
            raise ValidationError(f"{req['household']} is not a household account")
    return {}


def _apply_open_account(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    household = None if req["household"] == m.ZERO_ADDRESS else req["household"]
    store.insert_account(req["account"], req["kind"], req["name"], household, seq)


def _decide_grant_role(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    _require_account(store, req["account"])
    if store.has_role(req["account"], req["role"]):
        raise ValidationError(f"{req['account']} already holds the {req['role']} role")
    return {}


def _apply_grant_role(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_role(req["account"], req["role"], seq)


def _decide_register_class(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    class_id = m.asset_class_id(
        req["methodology"], req["methodologyVersion"], req["vintage"], req["region"]
    )
    if store.asset_class(class_id) is not None:
        raise AssetClassExistsError(f"asset class {class_id} is already registered")
    return {"asset_class": class_id}


def _apply_register_class(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_asset_class(
        fx["asset_class"],
        req["methodology"],
        req["methodologyVersion"],
        req["vintage"],
        req["region"],
        seq,
    )


def _decide_issue(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    _require_asset_class(store, req["assetClass"])
    _require_account(store, req["to"])
    existing = store.claim_issued(req["claimId"])
    if existing is not None:
        raise DuplicateClaimError(f"claim {req['claimId']} was already issued as batch {existing}")
    batch_no = store.next_batch_no()
    return {
        "batch_no": batch_no,
        "ranges": [{"batch_no": batch_no, "first": 1, "last": req["amount"]}],
    }


def _apply_issue(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_batch(
        fx["batch_no"], req["assetClass"], req["amount"], req["to"], req["claimId"], seq
    )
    store.insert_holding(
        fx["batch_no"], 1, req["amount"], req["to"], req["assetClass"], "active", None
    )
    store.add_balance(req["to"], req["assetClass"], "active", req["amount"])


def _decide_transfer(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_signer(req["from"], signer)
    _require_asset_class(store, req["assetClass"])
    _require_account(store, req["to"])
    batch = _batch_scope(store, req["assetClass"], req["batchNo"])
    return {"ranges": pick_fifo(store, req["from"], req["assetClass"], batch, req["amount"])}


def _apply_transfer(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["from"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["to"],
        new_status="active",
        ref=None,
    )


def certificate_id(seq: int) -> str:
    return f"CERT-{seq:010d}"


def _decide_retire(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_signer(req["owner"], signer)
    _require_asset_class(store, req["assetClass"])
    batch = _batch_scope(store, req["assetClass"], req["batchNo"])
    ranges = pick_fifo(store, req["owner"], req["assetClass"], batch, req["amount"])
    return {"certificate_id": certificate_id(seq), "ranges": ranges}


def _apply_retire(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["owner"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["owner"],
        new_status="retired",
        ref=fx["certificate_id"],
    )
    _record_retirement(
        store,
        req,
        fx,
        seq,
        time,
        owner=req["owner"],
        beneficiary=req["beneficiary"],
        jurisdiction=req["jurisdiction"],
    )


def _record_retirement(
    store: Store,
    req: dict[str, Any],
    fx: Effects,
    seq: int,
    time: str,
    *,
    owner: str,
    beneficiary: str,
    jurisdiction: str,
) -> None:
    """The certificate row of a retirement, in the registry or recorded from the chain."""
    store.insert_retirement(
        {
            "certificate_id": fx["certificate_id"],
            "seq": seq,
            "time": time,
            "owner": owner,
            "asset_class": req["assetClass"],
            "amount": req["amount"],
            "beneficiary_name": req["beneficiaryName"],
            "beneficiary": beneficiary,
            "reason": req["reason"],
            "jurisdiction": jurisdiction,
            "serials": serial_ranges(store, req["assetClass"], fx["ranges"]),
        }
    )


def serial_ranges(store: Store, class_id: str, ranges: Sequence[dict[str, Any]]) -> str:
    asset_class = _require_asset_class(store, class_id)
    return " ".join(serial_range(asset_class, r["batch_no"], r["first"], r["last"]) for r in ranges)


def _decide_cancel(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    _require_asset_class(store, req["assetClass"])
    _require_account(store, req["holder"])
    batch = _batch_scope(store, req["assetClass"], req["batchNo"])
    return {"ranges": pick_fifo(store, req["holder"], req["assetClass"], batch, req["amount"])}


def _apply_cancel(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["holder"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["holder"],
        new_status="cancelled",
        ref=f"cancelled-{seq}",
    )
    store.insert_cancellation(
        {
            "seq": seq,
            "holder": req["holder"],
            "asset_class": req["assetClass"],
            "amount": req["amount"],
            "reason": req["reason"],
            "evidence_hash": req["evidenceHash"],
            "serials": serial_ranges(store, req["assetClass"], fx["ranges"]),
        }
    )


def _require_role(store: Store, signer: str, role: str) -> None:
    if not store.has_role(signer, role):
        raise NotAuthorisedError(f"{signer} does not hold the {role} role")


def _decide_submit_activities(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_signer(req["platform"], signer)
    _require_role(store, signer, "platform")
    if store.activity_batch(req["platform"], req["batchId"]) is not None:
        raise BatchConflictError(req["platform"], req["batchId"])
    return ingest.assess_batch(store, req, seq)


def _apply_submit_activities(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    ingest.apply_batch(store, req, fx, seq)


def _previous_activities(store: Store, req: dict[str, Any], signer: str) -> Receipt | None:
    """The same batch again (batch id and records hash) gets the first receipt back."""
    if signer != req["platform"]:
        return None
    earlier = store.activity_batch(req["platform"], req["batchId"])
    if earlier is None:
        return None
    if earlier["records_hash"] != req["recordsHash"]:
        raise BatchConflictError(req["platform"], req["batchId"])
    body = store.event_body(earlier["seq"])
    assert body is not None  # the batch row and its event commit together
    return Receipt(
        earlier["seq"], "ActivitiesSubmitted", from_canonical(body)["payload"]["effects"]
    )


def _decide_attest(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_signer(req["verifier"], signer)
    _require_role(store, signer, "verifier")
    return verification.assess_attestation(store, req, signer)


def _apply_attest(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    verification.apply_attestation(store, req, fx, signer, seq)


def _decide_run_issuance(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_operator(store, signer)
    return issuance.plan_run(store, req, seq)


def _apply_run_issuance(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    issuance.apply_run(store, req, fx, seq)


def _decide_reverse_claim(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    """Cancel an issued claim's grams: first what its holder still holds of the claim's
    batch, the rest from the buffer pool that the claim's run paid into."""
    _require_operator(store, signer)
    claim = store.claim(req["claimId"])
    if claim is None:
        raise UnknownClaimError(req["claimId"])
    if claim["status"] != "issued":
        raise ClaimStatusError(req["claimId"], claim["status"], "issued")
    run = store.issuance_run(claim["issued_seq"])
    assert run is not None  # an issued claim names its run
    holder, asset_class, grams = claim["beneficiary"], claim["asset_class"], claim["grams"]
    batch_no = store.claim_issued(issuance.holder_ref(run["seq"], holder, asset_class))
    from_holder = 0
    holder_ranges: list[dict[str, int]] = []
    if batch_no is not None:
        from_holder = min(grams, store.held_in_status(holder, asset_class, batch_no, "active"))
        if from_holder:
            holder_ranges = pick_fifo(store, holder, asset_class, batch_no, from_holder)
    pool, from_pool = run["buffer_pool"], grams - from_holder
    pool_ranges: list[dict[str, int]] = []
    if from_pool:
        active = store.active_balance(pool, asset_class)
        if active < from_pool:
            raise BufferShortfallError(pool, asset_class, from_pool, active)
        pool_ranges = pick_fifo(store, pool, asset_class, None, from_pool)
    return {
        "asset_class": asset_class,
        "holder": holder,
        "holder_grams": from_holder,
        "holder_ranges": holder_ranges,
        "buffer_pool": pool,
        "pool_grams": from_pool,
        "pool_ranges": pool_ranges,
    }


def _apply_reverse_claim(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    asset_class = _require_asset_class(store, fx["asset_class"])
    serials = []
    for owner, ranges in (
        (fx["holder"], fx["holder_ranges"]),
        (fx["buffer_pool"], fx["pool_ranges"]),
    ):
        if ranges:
            move_ranges(
                store,
                ranges,
                owner=owner,
                asset_class=fx["asset_class"],
                from_status="active",
                new_owner=owner,
                new_status="cancelled",
                ref=f"reversal-{seq}",
            )
            serials += [
                serial_range(asset_class, r["batch_no"], r["first"], r["last"]) for r in ranges
            ]
    store.mark_claim_reversed(req["claimId"], seq)
    store.insert_reversal(
        {
            "claim_id": req["claimId"],
            "seq": seq,
            "holder": fx["holder"],
            "holder_grams": fx["holder_grams"],
            "buffer_pool": fx["buffer_pool"],
            "pool_grams": fx["pool_grams"],
            "reason": req["reason"],
            "evidence_hash": req["evidenceHash"],
            "serials": " ".join(serials),
        }
    )


def _decide_lock(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    _require_signer(req["owner"], signer)
    _require_asset_class(store, req["assetClass"])
    batch = _batch_scope(store, req["assetClass"], req["batchNo"])
    ranges = pick_fifo(store, req["owner"], req["assetClass"], batch, req["amount"])
    # Locks are numbered 0, 1, 2...: the token contract's bitmap of minted locks stays dense.
    return {"lock_no": store.next_lock_no(), "ranges": ranges}


def _apply_lock(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    move_ranges(
        store,
        fx["ranges"],
        owner=req["owner"],
        asset_class=req["assetClass"],
        from_status="active",
        new_owner=req["owner"],
        new_status=bridge.LOCKED,
        ref=bridge.lock_ref(seq),
    )
    store.insert_lock(
        fx["lock_no"], seq, req["owner"], req["recipient"], req["assetClass"], req["amount"]
    )


def _burned_ranges(store: Store, req: dict[str, Any], signer: str) -> list[dict[str, Any]]:
    """The locked ranges a burn on chain releases, once per chain event, operator-recorded."""
    _require_operator(store, signer)
    bridge.require_new_chain_event(store, req["chainEvent"])
    _require_asset_class(store, req["assetClass"])
    return bridge.pick_locked(store, req["assetClass"], req["amount"])


def _release_locked(
    store: Store,
    req: dict[str, Any],
    fx: Effects,
    new_owner: str,
    new_status: str,
    ref: str | None,
) -> None:
    for r in fx["ranges"]:  # each range keeps the owner who locked it until now
        move_ranges(
            store,
            [r],
            owner=r["owner"],
            asset_class=req["assetClass"],
            from_status=bridge.LOCKED,
            new_owner=new_owner,
            new_status=new_status,
            ref=ref,
        )


def _decide_record_return(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    # The burn happened on chain: the grams are credited even to an address that opens its
    # account only later, rather than left in limbo.
    return {"ranges": _burned_ranges(store, req, signer)}


def _apply_record_return(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    _release_locked(store, req, fx, req["account"], "active", None)
    store.insert_chain_event(req["chainEvent"], seq, "CreditsReturned")


def _decide_record_chain_retirement(
    store: Store, req: dict[str, Any], signer: str, seq: int
) -> Effects:
    return {"certificate_id": certificate_id(seq), "ranges": _burned_ranges(store, req, signer)}


def _apply_record_chain_retirement(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    _release_locked(store, req, fx, req["holder"], "retired", fx["certificate_id"])
    _record_retirement(
        store,
        req,
        fx,
        seq,
        time,
        owner=req["holder"],
        beneficiary=req["holder"],
        jurisdiction=bridge.ON_CHAIN_JURISDICTION,
    )
    store.insert_chain_event(req["chainEvent"], seq, "CreditsRetiredOnChain")


OPERATIONS: dict[str, Operation] = {
    op.struct.name: op
    for op in (
        Operation(m.OPEN_ACCOUNT, "AccountOpened", _decide_open_account, _apply_open_account),
        Operation(m.GRANT_ROLE, "RoleGranted", _decide_grant_role, _apply_grant_role),
        Operation(
            m.REGISTER_ASSET_CLASS,
            "AssetClassRegistered",
            _decide_register_class,
            _apply_register_class,
        ),
        Operation(m.ISSUE, "CreditsIssued", _decide_issue, _apply_issue),
        Operation(m.TRANSFER, "CreditsTransferred", _decide_transfer, _apply_transfer),
        Operation(m.RETIRE, "CreditsRetired", _decide_retire, _apply_retire),
        Operation(m.CANCEL, "CreditsCancelled", _decide_cancel, _apply_cancel),
        Operation(
            m.SUBMIT_ACTIVITIES,
            "ActivitiesSubmitted",
            _decide_submit_activities,
            _apply_submit_activities,
            _previous_activities,
        ),
        Operation(m.ATTEST_CLAIMS, "ClaimsAttested", _decide_attest, _apply_attest),
        Operation(m.RUN_ISSUANCE, "IssuanceRun", _decide_run_issuance, _apply_run_issuance),
        Operation(m.REVERSE_CLAIM, "ClaimReversed", _decide_reverse_claim, _apply_reverse_claim),
        Operation(m.LOCK, "CreditsLocked", _decide_lock, _apply_lock),
        Operation(m.RECORD_RETURN, "CreditsReturned", _decide_record_return, _apply_record_return),
        Operation(
            m.RECORD_CHAIN_RETIREMENT,
            "CreditsRetiredOnChain",
            _decide_record_chain_retirement,
            _apply_record_chain_retirement,
        ),
    )
}
BY_EVENT_TYPE = {op.event_type: op for op in OPERATIONS.values()}


def genesis_payload(
    chain_id: int, verifying_contract: str, operator: str, log_id: str
) -> dict[str, Any]:
    return {
        "log_id": log_id,
        "chain_id": chain_id,
        "verifying_contract": verifying_contract,
        "operator": operator,
    }


def apply_genesis(store: Store, payload: dict[str, Any], seq: int) -> None:
    store.set_meta(
        {
            "log_id": payload["log_id"],
            "chain_id": str(payload["chain_id"]),
            "verifying_contract": payload["verifying_contract"],
            "operator": payload["operator"],
        }
    )
    store.insert_account(payload["operator"], "operator", "registry operator", None, seq)
    store.insert_role(payload["operator"], "operator", seq)


def build_event(
    seq: int, event_type: str, time: str, payload: dict[str, Any], signatures: list[dict[str, str]]
) -> dict[str, Any]:
    event: dict[str, Any] = {"seq": seq, "type": event_type, "time": time, "payload": payload}
    if signatures:
        event["signatures"] = signatures
    return event


# Stands for an attached list while the event is encoded: control characters never pass
# `messages.normalise`, so its JSON form appears nowhere else in an event.
_PLACEHOLDER = "\x00"
_PLACEHOLDER_JSON = canonical_bytes(_PLACEHOLDER)


def _event_bytes(event: dict[str, Any], struct: StructType, request: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of an event; an attached list (activity records) whose bytes are known
    already is spliced in rather than encoded a second time."""
    attached = m.attached_bytes(struct, request)
    if attached is None:
        return canonical_bytes(event, checked=False)
    name = m.ATTACHED[struct.name]
    stub = dict(event, payload=dict(event["payload"], request={**request, name: _PLACEHOLDER}))
    return canonical_bytes(stub, checked=False).replace(_PLACEHOLDER_JSON, attached, 1)


@dataclass(frozen=True)
class Authorised:
    """A request whose fields are valid and whose signer is known."""

    operation: Operation
    request: dict[str, Any]
    signer: str
    signature: str


class Registry:
    """The ledger over one Store. Methods raise RegistryError subclasses and change nothing."""

    def __init__(self, store: Store, clock: Callable[[], float] = _time.time) -> None:
        meta = store.meta()
        if "operator" not in meta:
            raise NotInitialisedError(f"{store.path} holds no registry: run `carbon-registry init`")
        self.store = store
        self.clock = clock
        self.domain = Domain(int(meta["chain_id"]), meta["verifying_contract"])
        self.operator = meta["operator"]
        self.log_id = meta["log_id"]

    @classmethod
    def create(
        cls,
        store: Store,
        *,
        chain_id: int,
        verifying_contract: str,
        operator: str,
        log_id: str,
        clock: Callable[[], float] = _time.time,
    ) -> Registry:
        """Write the genesis event: the EIP-712 domain, the log id and the operator."""
        payload = genesis_payload(
            chain_id,
            m.address(verifying_contract, "verifying_contract"),
            m.address(operator, "operator"),
            m.text(log_id, "log_id"),
        )
        with store.write():
            if store.next_seq() != 0:
                raise AlreadyInitialisedError(f"{store.path} already holds a registry")
            time = format_time(clock())
            event = build_event(0, GENESIS, time, payload, [])
            apply_genesis(store, payload, 0)
            store.append_event(0, GENESIS, time, canonical_bytes(event))
        return cls(store, clock)

    # -- writes -------------------------------------------------------------------------

    def authorise(self, kind: str, message: Any, signature: str) -> Authorised:
        """Check fields, signature and expiry; no state is read."""
        operation = OPERATIONS.get(kind)
        if operation is None:
            raise ValidationError(f"unknown operation {kind!r}")
        request = m.normalise(operation.struct, message)
        signer = recover_signer(self.domain.digest(operation.struct, request), signature)
        now = self.clock()
        if request["expiry"] < now:
            raise SignatureExpiredError(request["expiry"], int(now))
        return Authorised(operation, request, signer, normalise_signature(signature))

    def execute(self, kind: str, message: Any, signature: str) -> Receipt:
        authorised = self.authorise(kind, message, signature)
        with self.store.write():
            return self._commit(authorised)

    def execute_many(
        self, requests: Iterable[tuple[str, Any, str]]
    ) -> list[Receipt | RegistryError]:
        """Apply many requests in one transaction (group commit); each stands alone.

        A refused request rolls back to its own savepoint and its error takes its place in
        the result; the others still commit.
        """
        prepared: list[Authorised | RegistryError] = []
        for kind, message, signature in requests:
            try:
                prepared.append(self.authorise(kind, message, signature))
            except RegistryError as exc:
                prepared.append(exc)
        results: list[Receipt | RegistryError] = []
        with self.store.write():
            for item in prepared:
                if isinstance(item, RegistryError):
                    results.append(item)
                    continue
                try:
                    with self.store.write():
                        results.append(self._commit(item))
                except RegistryError as exc:
                    results.append(exc)
        return results

    def _commit(self, authorised: Authorised) -> Receipt:
        store = self.store
        operation, request, signer = authorised.operation, authorised.request, authorised.signer
        if operation.previous is not None:
            earlier = operation.previous(store, request, signer)
            if earlier is not None:
                return earlier
        seq = store.next_seq()
        # Claimed first: a refusal below rolls the transaction (or savepoint) back with it.
        if not store.claim_nonce(signer, request["nonce"]):
            raise NonceReplayedError(signer, request["nonce"])
        effects = operation.decide(store, request, signer, seq)
        time = format_time(self.clock())
        event = build_event(
            seq,
            operation.event_type,
            time,
            {"request": request, "effects": effects},
            [{"signer": signer, "signature": authorised.signature}],
        )
        body = _event_bytes(event, operation.struct, request)
        operation.apply(store, request, effects, signer, seq, time)
        store.append_event(seq, operation.event_type, time, body)
        return Receipt(seq, operation.event_type, effects)

    def open_account(self, message: Any, signature: str) -> Receipt:
        return self.execute("OpenAccount", message, signature)

    def grant_role(self, message: Any, signature: str) -> Receipt:
        return self.execute("GrantRole", message, signature)

    def register_asset_class(self, message: Any, signature: str) -> Receipt:
        return self.execute("RegisterAssetClass", message, signature)

    def issue(self, message: Any, signature: str) -> Receipt:
        return self.execute("Issue", message, signature)

    def transfer(self, message: Any, signature: str) -> Receipt:
        return self.execute("Transfer", message, signature)

    def retire(self, message: Any, signature: str) -> Receipt:
        """Retire grams for a beneficiary; the receipt's effects carry the certificate id."""
        return self.execute("Retire", message, signature)

    def cancel(self, message: Any, signature: str) -> Receipt:
        return self.execute("Cancel", message, signature)

    def lock(self, message: Any, signature: str) -> Receipt:
        """Lock grams for minting as tokens to `recipient`; the receipt's seq is the lock id."""
        return self.execute("Lock", message, signature)

    def submit_activities(
        self,
        message: Any,
        signature: str,
        evidence: Mapping[str, tuple[bytes, bytes]] | None = None,
    ) -> Receipt:
        """Ingest a platform's signed activity batch; `evidence` maps activity ids to raw
        evidence `(salt, data)`, kept apart from the log (see `erase_evidence`).

        The receipt's effects hold each record's outcome. The same batch again returns the
        first receipt and writes no event.
        """
        authorised = self.authorise("SubmitActivities", message, signature)
        request = authorised.request
        pieces = ingest.check_evidence(request["records"], evidence or {})
        with self.store.write():
            receipt = self._commit(authorised)
            self.store.insert_evidence(
                [(request["platform"], *piece, receipt.seq) for piece in pieces]
            )
        return receipt

    def attest(self, message: Any, signature: str) -> Receipt:
        return self.execute("AttestClaims", message, signature)

    def run_issuance(self, message: Any, signature: str) -> Receipt:
        return self.execute("RunIssuance", message, signature)

    def reverse_claim(self, message: Any, signature: str) -> Receipt:
        return self.execute("ReverseClaim", message, signature)

    def erase_evidence(self, account: str) -> int:
        """Delete the raw evidence about `account` (a right to erasure). Events keep only
        salted hashes of it, so the log, its proofs and replay are unaffected; writes no
        event. Returns how many pieces were deleted."""
        with self.store.write():
            return self.store.erase_evidence(m.address(account, "account"))

    # -- reads --------------------------------------------------------------------------

    def balances(self, address: str) -> list[dict[str, Any]]:
        return self.store.balances(m.address(address, "address"))

    def holdings(self, address: str) -> list[dict[str, Any]]:
        """Serial ranges held by `address` in every status, with their serial strings."""
        classes = {c["id"]: c for c in self.store.asset_classes()}
        return [
            {
                "asset_class": h.asset_class,
                "batch_no": h.batch_no,
                "first": h.first,
                "last": h.last,
                "amount": h.amount,
                "status": h.status,
                "ref": h.ref,
                "serials": serial_range(classes[h.asset_class], h.batch_no, h.first, h.last),
            }
            for h in self.store.holdings_of(m.address(address, "address"))
        ]

    def certificate(self, certificate_id: str) -> dict[str, Any]:
        """A retirement certificate; one recorded from the chain names its chain event."""
        row = self.store.retirement(certificate_id)
        if row is None:
            raise UnknownCertificateError(f"no retirement certificate {certificate_id}")
        chain_event = self.store.chain_event_of(int(row["seq"]))
        return row if chain_event is None else {**row, "chain_event": chain_event}


def new_nonce() -> int:
    """A random nonce within the JSON-safe integer range."""
    return secrets.randbelow(m.MAX_AMOUNT)
