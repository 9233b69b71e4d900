"""Proof of reserve: every token in circulation is backed by grams locked in the log.

Per asset class, at one chain block,

    locked in the log - locks neither minted nor released in the log
        + mints on chain not recorded in the log yet - burns on chain not recorded yet
        == totalSupply(token id)

and no lock is minted twice, minted after its release, or minted without being a lock.
A chain that lost tokens (reset, another chain at the same address) shows a supply below
what the log says was minted.

The comparison is the light verifier's (`carbon_verifier.reserve`), one implementation for
the registry and for an exchange. The log's side comes from one of two places:
- the events up to the latest anchored tree size, checked to hash to the anchored root:
  what an exchange runs from the public log alone (`carbon-verify reserve`, or
  `carbon-registry verify-reserve --log URL`), and what `verify-reserve` runs on a local
  database;
- `StateFigures` reads the registry's tables, which every applied event updates (audit and
  replay show they match the log): what the API and the bridge watcher use, in time that
  does not grow with the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from anchoring.chain import Chain, ChainError
from anchoring.worker import EventSource
from bridge.token import TokenContract
from carbon_verifier.reserve import (
    MINTED,
    OPEN,
    RELEASED,
    ChainEvent,
    ClassReserve,
    LogFigures,
    ReserveLogError,
    ReserveReport,
    compare,
)
from registry.storage import Store
from registry.storage.bridge import BridgeCursor

__all__ = ["ClassReserve", "ReserveReport", "check_anchored_reserve", "check_state_reserve"]


@dataclass(frozen=True)
class TokenSide:
    """The token contract as the reserve check reads it (`carbon_verifier.reserve`)."""

    token: TokenContract

    @property
    def chain_id(self) -> int:
        return self.token.chain.chain_id

    def bridge_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return [
            ChainEvent(e.kind, e.token_id, e.amount, e.lock_seq, e.tx_hash, e.log_index)
            for e in self.token.bridge_events(from_block, to_block)
        ]

    def total_supply(self, token: int, block: int) -> int:
        return self.token.total_supply(token, block)


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
            return MINTED
        return OPEN if lock["released_seq"] is None else RELEASED

    def recorded(self, chain_event: str) -> bool:
        return self.store.chain_event_seq(chain_event) is not None


@contextmanager
def state_figures(
    store: Store, cursor: BridgeCursor, token: TokenContract
) -> Iterator[StateFigures]:
    with store.snapshot():
        yield StateFigures(store, cursor, token.address)


def check_anchored_reserve(
    events: EventSource,
    chain: Chain,
    token: TokenContract,
    progress: Callable[[int], None] | None = None,
) -> ReserveReport:
    """The reserve from the anchored log alone, as an exchange checks it from the public
    log (raises ChainError when the log read is not the log anchored)."""
    block = chain.head()
    tree_size, root = chain.latest()
    bodies = []
    for _, _, _, body in events.event_rows(-1, tree_size):
        bodies.append(body)
        if progress is not None and len(bodies) % 1_000 == 0:
            progress(1_000)
    try:
        figures = LogFigures.from_entries(bodies, tree_size, root)
    except ReserveLogError as exc:
        raise ChainError(str(exc)) from exc
    return compare(figures, TokenSide(token), block)


def check_state_reserve(store: Store, cursor: BridgeCursor, token: TokenContract) -> ReserveReport:
    """The reserve from the registry's tables, at the chain's newest block."""
    block = token.chain.head()
    with state_figures(store, cursor, token) as figures:
        return compare(figures, TokenSide(token), block)
