"""Bridge tables: chain events recorded once each, and the locks minted as tokens."""

from __future__ import annotations

from typing import Any

from registry.storage.base import Holding, StoreBase
from registry.storage.connection import Connection


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

    def lock_by_seq(self, seq: int) -> dict[str, Any] | None:
        cols = ("lock_no", "seq", "owner", "recipient", "asset_class", "amount", "minted_seq",
                "released_seq")  # fmt: skip
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM locks WHERE seq = ?", (seq,)
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def set_lock_minted(self, seq: int, minted_seq: int) -> None:
        self.conn.execute("UPDATE locks SET minted_seq = ? WHERE seq = ?", (minted_seq, seq))

    def set_lock_released(self, seq: int, released_seq: int) -> None:
        self.conn.execute("UPDATE locks SET released_seq = ? WHERE seq = ?", (released_seq, seq))

    def locked_ranges(self, asset_class: str) -> list[Holding]:
        """Every locked range of the class, newest lock first (then by serial)."""
        rows = self.conn.execute(
            "SELECT id, batch_no, first, last, owner, asset_class, status, ref FROM holdings"
            " WHERE asset_class = ? AND status = 'locked' ORDER BY batch_no DESC, first DESC",
            (asset_class,),
        )
        return [Holding(*row) for row in rows]

    def lock_classes(self) -> list[str]:
        """Every asset class ever locked (its token may be on chain)."""
        return [str(r[0]) for r in self.conn.execute("SELECT DISTINCT asset_class FROM locks")]

    def unminted_by_class(self) -> dict[str, int]:
        """Grams of the locks neither minted nor released, per asset class."""
        rows = self.conn.execute(
            "SELECT asset_class, SUM(amount) FROM locks"
            " WHERE minted_seq IS NULL AND released_seq IS NULL GROUP BY asset_class"
        )
        return {str(c): int(total) for c, total in rows}

    def locked_by_class(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT asset_class, SUM(locked) FROM balances GROUP BY asset_class HAVING SUM(locked) > 0"
        )
        return {str(c): int(total) for c, total in rows}


class BridgeCursor:
    """The next chain blocks whose token events the bridge watcher has not read yet: one
    for burns and one for mints (a registry from before mints were recorded reads them all
    once, from block 0)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_blocks(self, token: str) -> tuple[int, int]:
        """(next burn block, next mint block) for `token`; (0, 0) for a new contract."""
        row = self.conn.execute(
            "SELECT next_block, mints_next_block FROM anchor_bridge_cursor"
            " WHERE id = 0 AND token = ?",
            (token,),
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def advance(self, token: str, next_block: int) -> None:
        self.conn.execute(
            "INSERT INTO anchor_bridge_cursor(id, token, next_block, mints_next_block)"
            " VALUES (0, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET token = excluded.token,"
            " next_block = excluded.next_block, mints_next_block = excluded.mints_next_block",
            (token, next_block, next_block),
        )
