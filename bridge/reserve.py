"""Proof of reserve: every token in circulation is backed by grams locked in the log.

Per asset class, at one chain block,

    locked in the log - locks neither minted nor released in the log
        + mints on chain not recorded in the log yet - burns on chain not recorded yet
        == totalSupply(token id)

and no lock is minted twice, minted after its release, or minted without being a lock.
A chain that lost tokens (reset, another chain at the same address) shows a supply below
what the log says was minted.

The log's side comes from one of two places:
- `AnchoredLogFigures` replays the events up to the latest anchored tree size and checks
  that they hash to the anchored root: what an exchange runs from the public log alone
  (`carbon-registry verify-reserve`);
- `StateFigures` reads the registry's tables, which every applied event updates (audit and
  replay show they match the log): what the API and the bridge watcher use, in time that
  does not grow with the log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from anchoring.chain import Chain, ChainError
from anchoring.merkle import MerkleLog, leaf_hash
from anchoring.worker import EventSource
from bridge.token import MINTED, TokenContract
from registry.bridge import chain_event_id, token_id
from registry.storage import Store
from registry.storage.bridge import BridgeCursor

OPEN, MINTED_STATE, RELEASED = "open", "minted", "released"
BRIDGE_EVENTS = frozenset(
    ("CreditsLocked", "CreditsMinted", "LockReleased", "CreditsReturned", "CreditsRetiredOnChain")
)


@dataclass(frozen=True)
class ClassReserve:
    asset_class: str
    token_id: int
    locked_in_log: int
    unminted_locks: int
    mints_not_in_log: int
    burns_not_in_log: int
    total_supply: int

    @property
    def expected_supply(self) -> int:
        return (
            self.locked_in_log - self.unminted_locks + self.mints_not_in_log - self.burns_not_in_log
        )

    @property
    def ok(self) -> bool:
        return self.expected_supply == self.total_supply


@dataclass(frozen=True)
class ReserveReport:
    log_size: int  # events the log's figures come from
    block: int  # chain block the supply and events were read at
    classes: list[ClassReserve]
    problems: list[str]  # empty when the reserve holds

    @property
    def ok(self) -> bool:
        return not self.problems


class LogFigures(Protocol):
    """The log's side of the reserve, at one state of the log."""

    @property
    def size(self) -> int: ...

    @property
    def locked(self) -> dict[str, int]:
        """Grams locked per class (net of burns and releases)."""

    @property
    def unminted(self) -> dict[str, int]:
        """Grams of the locks neither minted nor released, per class."""

    @property
    def scan_from(self) -> int:
        """Every chain event before this block is recorded in the log."""

    def lock_status(self, seq: int) -> str | None: ...

    def recorded(self, chain_event: str) -> bool: ...


@dataclass
class AnchoredLogFigures:
    """Figures replayed from the events up to the latest anchored tree size."""

    size: int = 0
    locked: dict[str, int] = field(default_factory=dict)
    unminted: dict[str, int] = field(default_factory=dict)
    scan_from: int = 0
    locks: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # class, grams, status
    chain_events: set[str] = field(default_factory=set)

    @classmethod
    def read(
        cls, events: EventSource, chain: Chain, progress: Callable[[int], None] | None = None
    ) -> AnchoredLogFigures:
        """Raises ChainError when the log does not match the anchored root; `progress(n)`
        follows the events read."""
        tree_size, root = chain.latest()
        figures = cls(size=tree_size)
        leaves, bridged = [], []
        for seq, event_type, _, body in events.event_rows(-1, tree_size):
            leaves.append(leaf_hash(body))
            if progress is not None and len(leaves) % 1_000 == 0:
                progress(1_000)
            if event_type in BRIDGE_EVENTS:
                bridged.append((seq, event_type, body))
        tree = MerkleLog(sqlite3.connect(":memory:", isolation_level=None))
        tree.append(leaves)
        if tree.size != tree_size or tree.root(tree_size) != root:
            raise ChainError(f"the log's first {tree_size} events do not hash to the anchored root")
        for seq, event_type, body in bridged:  # a log the registry wrote: every lock known
            figures._apply(seq, event_type, body)
        for asset_class, grams, status in figures.locks.values():
            if status == OPEN:
                figures.unminted[asset_class] = figures.unminted.get(asset_class, 0) + grams
        return figures

    def _apply(self, seq: int, event_type: str, body: bytes) -> None:
        request = json.loads(body)["payload"]["request"]
        if event_type == "CreditsLocked":
            asset_class, grams = request["assetClass"], int(request["amount"])
            self.locks[seq] = (asset_class, grams, OPEN)
            self.locked[asset_class] = self.locked.get(asset_class, 0) + grams
        elif event_type in ("CreditsMinted", "LockReleased"):
            asset_class, grams, _ = self.locks[int(request["lockSeq"])]
            status = MINTED_STATE if event_type == "CreditsMinted" else RELEASED
            self.locks[int(request["lockSeq"])] = (asset_class, grams, status)
            if status == RELEASED:
                self.locked[asset_class] -= grams
        else:
            asset_class = request["assetClass"]
            self.locked[asset_class] = self.locked.get(asset_class, 0) - int(request["amount"])
        if "chainEvent" in request:
            self.chain_events.add(request["chainEvent"])

    def lock_status(self, seq: int) -> str | None:
        lock = self.locks.get(seq)
        return None if lock is None else lock[2]

    def recorded(self, chain_event: str) -> bool:
        return chain_event in self.chain_events


@dataclass
class StateFigures:
    """Figures from the registry's tables; use inside `store.snapshot()` so that they and
    the lookups see one state."""

    store: Store
    cursor: BridgeCursor
    token: str

    @property
    def size(self) -> int:
        return self.store.event_count()

    @property
    def locked(self) -> dict[str, int]:
        return {c: 0 for c in self.store.lock_classes()} | self.store.locked_by_class()

    @property
    def unminted(self) -> dict[str, int]:
        return self.store.unminted_by_class()

    @property
    def scan_from(self) -> int:
        return min(self.cursor.next_blocks(self.token))

    def lock_status(self, seq: int) -> str | None:
        lock = self.store.lock_by_seq(seq)
        if lock is None:
            return None
        if lock["minted_seq"] is not None:
            return MINTED_STATE
        return OPEN if lock["released_seq"] is None else RELEASED

    def recorded(self, chain_event: str) -> bool:
        return self.store.chain_event_seq(chain_event) is not None


@contextmanager
def state_figures(
    store: Store, cursor: BridgeCursor, token: TokenContract
) -> Iterator[StateFigures]:
    with store.snapshot():
        yield StateFigures(store, cursor, token.address)


def compare_with_chain(figures: LogFigures, token: TokenContract, block: int) -> ReserveReport:
    """The reserve at chain block `block` against the log's figures."""
    chain_id = token.chain.chain_id
    pending_mints: dict[int, int] = {}
    pending_burns: dict[int, int] = {}
    problems = []
    minted_now: set[int] = set()
    for event in token.bridge_events(figures.scan_from, block):
        key = chain_event_id(chain_id, event.tx_hash, event.log_index)
        if figures.recorded(key):
            continue
        if event.kind != MINTED:
            pending_burns[event.token_id] = pending_burns.get(event.token_id, 0) + event.amount
            continue
        assert event.lock_seq is not None
        status = figures.lock_status(event.lock_seq)
        if status is None:
            problems.append(f"chain event {key} mints event {event.lock_seq}, which is no lock")
        elif status == RELEASED:
            problems.append(f"chain event {key} mints lock {event.lock_seq}, released in the log")
        elif status == MINTED_STATE or event.lock_seq in minted_now:
            problems.append(f"chain event {key} mints lock {event.lock_seq} a second time")
        minted_now.add(event.lock_seq)
        pending_mints[event.token_id] = pending_mints.get(event.token_id, 0) + event.amount
    classes = []
    for asset_class in sorted(set(figures.locked) | set(figures.unminted)):
        tid = token_id(asset_class)
        c = ClassReserve(
            asset_class,
            tid,
            figures.locked.get(asset_class, 0),
            figures.unminted.get(asset_class, 0),
            pending_mints.get(tid, 0),
            pending_burns.get(tid, 0),
            token.total_supply(tid, block),
        )
        classes.append(c)
        if not c.ok:
            problems.append(
                f"{asset_class}: the log backs {c.expected_supply:,} g, the chain holds"
                f" {c.total_supply:,}"
            )
    return ReserveReport(figures.size, block, classes, problems)


def check_anchored_reserve(
    events: EventSource,
    chain: Chain,
    token: TokenContract,
    progress: Callable[[int], None] | None = None,
) -> ReserveReport:
    """The reserve from the anchored log alone (raises ChainError when the log read is not
    the log anchored)."""
    block = chain.head()
    return compare_with_chain(AnchoredLogFigures.read(events, chain, progress), token, block)


def check_state_reserve(store: Store, cursor: BridgeCursor, token: TokenContract) -> ReserveReport:
    """The reserve from the registry's tables, at the chain's newest block."""
    block = token.chain.head()
    with state_figures(store, cursor, token) as figures:
        return compare_with_chain(figures, token, block)
