"""Proof of reserve: every token in circulation is backed by grams locked in the log.

Checked from the anchored log and the chain alone: the events up to the latest anchored
tree size must hash to the root the anchoring contract holds (so the log read is the log
anchored), then, per asset class,

    locked in the log - locks not minted yet - burns not yet recorded in the log
        == totalSupply(token id) on chain.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from anchoring.chain import Chain, ChainError
from anchoring.merkle import MerkleLog, leaf_hash
from anchoring.worker import EventSource
from bridge.token import TokenContract
from registry.bridge import chain_event_id, token_id


@dataclass(frozen=True)
class ClassReserve:
    asset_class: str
    token_id: int
    locked_in_log: int
    unminted_locks: int
    burns_not_in_log: int
    total_supply: int

    @property
    def expected_supply(self) -> int:
        return self.locked_in_log - self.unminted_locks - self.burns_not_in_log

    @property
    def ok(self) -> bool:
        return self.expected_supply == self.total_supply


@dataclass(frozen=True)
class ReserveReport:
    tree_size: int
    classes: list[ClassReserve]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.classes)


def check_reserve(events: EventSource, chain: Chain, token: TokenContract) -> ReserveReport:
    """Raises ChainError when the log does not match the anchored root."""
    tree_size, root = chain.latest()
    tree = MerkleLog(sqlite3.connect(":memory:", isolation_level=None))
    locked: dict[str, int] = {}
    locks: list[tuple[int, str, int]] = []
    recorded: set[str] = set()
    leaves = []
    for _, event_type, _, body in events.event_rows(-1, tree_size):
        leaves.append(leaf_hash(body))
        if event_type not in ("CreditsLocked", "CreditsReturned", "CreditsRetiredOnChain"):
            continue
        payload = json.loads(body)["payload"]
        request = payload["request"]
        asset_class, amount = request["assetClass"], int(request["amount"])
        if event_type == "CreditsLocked":
            locked[asset_class] = locked.get(asset_class, 0) + amount
            locks.append((int(payload["effects"]["lock_no"]), asset_class, amount))
        else:
            locked[asset_class] = locked.get(asset_class, 0) - amount
            recorded.add(request["chainEvent"])
    tree.append(leaves)
    if tree.size != tree_size or tree.root(tree_size) != root:
        raise ChainError(f"the log's first {tree_size} events do not hash to the anchored root")
    unminted: dict[str, int] = {}
    for lock_no, asset_class, amount in locks:
        if not token.is_lock_minted(lock_no):
            unminted[asset_class] = unminted.get(asset_class, 0) + amount
    pending: dict[int, int] = {}
    chain_id = chain.chain_id
    for burn in token.bridge_events(0, chain.head()):
        if chain_event_id(chain_id, burn.tx_hash, burn.log_index) not in recorded:
            pending[burn.token_id] = pending.get(burn.token_id, 0) + burn.amount
    classes = [
        ClassReserve(
            asset_class,
            token_id(asset_class),
            grams,
            unminted.get(asset_class, 0),
            pending.get(token_id(asset_class), 0),
            token.total_supply(token_id(asset_class)),
        )
        for asset_class, grams in sorted(locked.items())
    ]
    return ReserveReport(tree_size, classes)
