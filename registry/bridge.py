"""The bridge to the token contract (`contracts/CarbonCredits.sol`), registry side.

Grams leave the registry by a *lock*: the owner signs it, the grams' ranges turn `locked`
and a `CreditsLocked` event enters the log; once a checkpoint holding it is anchored, anyone
can mint the tokens with the event's inclusion proof (the contract rebuilds the event's
canonical bytes from typed fields). Grams come back when a token holder burns tokens for a
registry account (`CreditsReturned` on chain: the registry unlocks and credits that account)
or retires them on chain (`CreditsRetiredOnChain`: a registry retirement with a certificate
naming the chain event). The operator records those chain events, and each chain event
(chain id, transaction hash, log index) can be recorded only once: recording it twice is
refused, which is what makes the watcher's retries safe.

Tokens of one asset class are fungible, so a return or an on-chain retirement releases the
oldest locked ranges of the class, whoever locked them: the registry's locked grams of a
class always equal the tokens in circulation plus the locks not minted yet.
"""

from __future__ import annotations

from typing import Any

from registry.canonical import from_canonical
from registry.eip712 import keccak
from registry.errors import (
    DuplicateChainEventError,
    InsufficientBalanceError,
    LockStateError,
    UnknownLockError,
)
from registry.storage import Store

LOCKED = "locked"
ON_CHAIN_JURISDICTION = "on-chain"
# The token contract mints a lock until this long after its request's expiry (its
# MINT_WINDOW); after that, plus the chain's confirmations, the grams can be released.
MINT_WINDOW_S = 7 * 24 * 3600


def token_id(asset_class: str) -> int:
    """ERC-1155 token id of an asset class: uint256(keccak256(bytes(assetClass)))."""
    return int.from_bytes(keccak(asset_class.encode("utf-8")), "big")


def lock_ref(seq: int) -> str:
    return f"lock-{seq}"


def chain_event_id(chain_id: int, tx_hash: bytes, log_index: int) -> str:
    return f"{chain_id}:0x{tx_hash.hex()}:{log_index}"


def require_new_chain_event(store: Store, chain_event: str) -> None:
    seq = store.chain_event_seq(chain_event)
    if seq is not None:
        raise DuplicateChainEventError(f"chain event {chain_event} was recorded as event {seq}")


def require_lock(store: Store, seq: int) -> dict[str, Any]:
    lock = store.lock_by_seq(seq)
    if lock is None:
        raise UnknownLockError(f"event {seq} is not a lock")
    if lock["minted_seq"] is not None:
        raise LockStateError(f"lock {seq} was minted (event {lock['minted_seq']})")
    if lock["released_seq"] is not None:
        raise LockStateError(f"lock {seq} was released (event {lock['released_seq']})")
    return lock


def mint_deadline(store: Store, seq: int) -> int:
    """Unix seconds after which the token contract refuses to mint lock `seq`."""
    body = store.event_body(seq)
    assert body is not None  # a lock row and its event commit together
    expiry = int(from_canonical(body)["payload"]["request"]["expiry"])
    return expiry + MINT_WINDOW_S


def pick_for_release(store: Store, lock: dict[str, Any]) -> list[dict[str, Any]]:
    """Locked ranges of the lock's class totalling its amount: its own first, then the
    newest of the class (a burn releases the oldest, whoever locked them, so an unminted
    lock's own ranges may be gone; tokens of a class are fungible)."""
    ranges: list[dict[str, Any]] = []
    remaining = lock["amount"]
    own = lock_ref(lock["seq"])
    candidates = store.locked_ranges(lock["asset_class"])
    for holding in sorted(candidates, key=lambda h: h.ref != own):
        take = min(remaining, holding.amount)
        ranges.append(
            {"batch_no": holding.batch_no, "first": holding.last - take + 1,
             "last": holding.last, "owner": holding.owner}
        )  # fmt: skip
        remaining -= take
        if remaining == 0:
            return ranges
    raise InsufficientBalanceError("the bridge", f"{lock['asset_class']} (locked)",
                                   lock["amount"], lock["amount"] - remaining)  # fmt: skip


def pick_locked(store: Store, asset_class: str, amount: int) -> list[dict[str, Any]]:
    """The oldest locked ranges of the class totalling `amount`, each with its owner."""
    ranges: list[dict[str, Any]] = []
    remaining = amount
    for holding in store.holdings_in_status(asset_class, LOCKED):
        take = min(remaining, holding.amount)
        ranges.append(
            {
                "batch_no": holding.batch_no,
                "first": holding.first,
                "last": holding.first + take - 1,
                "owner": holding.owner,
            }
        )
        remaining -= take
        if remaining == 0:
            return ranges
    raise InsufficientBalanceError(
        "the bridge", f"{asset_class} (locked)", amount, amount - remaining
    )
