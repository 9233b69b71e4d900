"""Bridge tables: chain events recorded once each, and the locks minted as tokens."""

from __future__ import annotations

import sqlite3

from registry.storage.base import StoreBase


class BridgeTables(StoreBase):
    def chain_event_seq(self, chain_event: str) -> int | None:
        row = self.conn.execute(
            "SELECT seq FROM chain_events WHERE chain_event = ?", (chain_event,)
        ).fetchone()
        return None if row is None else int(row[0])

    def chain_event_of(self, seq: int) -> str | None:
        row = self.conn.execute(
            "SELECT chain_event FROM chain_events WHERE seq = ?", (seq,)
        ).fetchone()
        return None if row is None else str(row[0])

    def insert_chain_event(self, chain_event: str, seq: int, kind: str) -> None:
        self.conn.execute(
            "INSERT INTO chain_events(chain_event, seq, kind) VALUES (?, ?, ?)",
            (chain_event, seq, kind),
        )

    def next_lock_no(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(lock_no), -1) + 1 FROM locks").fetchone()
        return int(row[0])

    def insert_lock(
        self, lock_no: int, seq: int, owner: str, recipient: str, asset_class: str, amount: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO locks(lock_no, seq, owner, recipient, asset_class, amount)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (lock_no, seq, owner, recipient, asset_class, amount),
        )

    def locked_by_class(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT asset_class, SUM(locked) FROM balances GROUP BY asset_class HAVING SUM(locked) > 0"
        )
        return {str(c): int(total) for c, total in rows}


class BridgeCursor:
    """The next chain block whose token burns the bridge watcher has not read yet."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def next_block(self, token: str) -> int:
        row = self.conn.execute(
            "SELECT next_block FROM anchor_bridge_cursor WHERE id = 0 AND token = ?", (token,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def advance(self, token: str, next_block: int) -> None:
        self.conn.execute(
            "INSERT INTO anchor_bridge_cursor(id, token, next_block) VALUES (0, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET token = excluded.token, next_block = excluded.next_block",
            (token, next_block),
        )
