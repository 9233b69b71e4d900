"""The chain's evidence that a lock can no longer be minted, so its grams can come back.

The token contract mints a lock only until its deadline (the lock request's expiry plus
MINT_WINDOW). A `ReleaseLock` request cites one block of the token's chain: past the
deadline, deep enough not to be reorganised away, and with the lock still unminted in that
block's state. No later block can mint it, so releasing the grams cannot leave a token
unbacked. The registry checks the cited block against its chain before it signs off the
release, and anyone can check it again later: the event carries height, hash and time.
"""

from __future__ import annotations

import time
from typing import Any

from bridge.token import TokenContract
from registry.errors import LockStateError, ValidationError


def _depth(token: TokenContract, confirmations: int) -> int:
    # The embedded chain has one writer and cannot reorganise.
    return 1 if token.chain.embedded else confirmations


def release_evidence(
    token: TokenContract, lock_no: int, deadline: int, confirmations: int
) -> dict[str, Any]:
    """The newest confirmed block as `ReleaseLock` fields, once it shows the lock past its
    deadline and unminted; LockStateError says what is missing."""
    chain = token.chain
    height = chain.head() - _depth(token, confirmations) + 1
    header = chain.block_header(height)
    if header is not None and header[1] <= deadline < time.time() and chain.embedded:
        # The embedded chain mines only when sent a transaction; an empty block moves its
        # clock past the deadline.
        chain.mine()
        height = chain.head()
        header = chain.block_header(height)
    if header is None:
        raise LockStateError(f"the chain has no block {height} yet")
    evidence = {"chainHeight": height, "blockHash": "0x" + header[0].hex(), "blockTime": header[1]}
    check_release_evidence(token, lock_no, deadline, evidence, confirmations)
    return evidence


def check_release_evidence(
    token: TokenContract,
    lock_no: int,
    deadline: int,
    evidence: dict[str, Any],
    confirmations: int,
) -> None:
    """Raise unless the cited block is on the chain as cited, confirmed, past `deadline`,
    and shows lock `lock_no` unminted."""
    chain = token.chain
    height = int(evidence["chainHeight"])
    header = chain.block_header(height)
    cited = (evidence["blockHash"].lower(), int(evidence["blockTime"]))
    if header is None or ("0x" + header[0].hex(), header[1]) != cited:
        found = "no such block" if header is None else f"0x{header[0].hex()} at {header[1]}"
        raise ValidationError(
            f"block {height} of the chain is {found}, not {cited[0]} at {cited[1]}"
        )
    seen = chain.head() - height + 1
    if seen < _depth(token, confirmations):
        raise LockStateError(
            f"block {height} has {seen} confirmations; releases need {confirmations}"
        )
    if header[1] <= deadline:
        raise LockStateError(
            f"lock {lock_no} can be minted until {deadline} (Unix time); block {height} is at"
            f" {header[1]}"
        )
    if token.is_lock_minted(lock_no, height):
        raise LockStateError(
            f"lock {lock_no} was minted on chain by block {height}; the bridge records the mint"
        )
