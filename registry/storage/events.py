"""The event log table: append, read in order, count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from registry.storage.base import StoreBase


class EventsTables(StoreBase):
    def next_seq(self) -> int:
        """The seq the next event gets; inside a write transaction it is read only once."""
        if self._depth and self._next_seq is not None:
            return self._next_seq
        row = self.conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM events").fetchone()
        if self._depth:
            self._next_seq = int(row[0])
        return int(row[0])

    def append_event(self, seq: int, event_type: str, time: str, body: bytes) -> None:
        self.conn.execute(
            "INSERT INTO events(seq, type, time, body) VALUES (?, ?, ?, ?)",
            (seq, event_type, time, body),
        )
        if self._depth:
            self._next_seq = seq + 1

    def event_rows(
        self, after: int = -1, limit: int | None = None
    ) -> Iterator[tuple[int, str, str, bytes]]:
        query = "SELECT seq, type, time, body FROM events WHERE seq > ? ORDER BY seq"
        args: tuple[Any, ...] = (after,)
        if limit is not None:
            query += " LIMIT ?"
            args = (after, limit)
        for seq, event_type, time, body in self.conn.execute(query, args):
            # A body edited by hand may come back as TEXT; it is still checked byte for byte.
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            yield int(seq), str(event_type), str(time), raw

    def event_count(self) -> int:
        return self.next_seq()

    def event_body(self, seq: int) -> bytes | None:
        """The body of logged event `seq`. A store rebuilt by `replay` holds no events:
        it reads them from the log being replayed (`history`)."""
        if self.history is not None:
            return self.history.event_body(seq)
        row = self.conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else bytes(row[0])

    def event_rows_of_type(
        self, event_type: str, after: int, limit: int
    ) -> list[tuple[int, str, str, bytes]]:
        rows = self.conn.execute(
            "SELECT seq, type, time, body FROM events WHERE type = ? AND seq > ? ORDER BY seq"
            " LIMIT ?",
            (event_type, after, limit),
        )
        return [(int(s), str(t), str(tm), bytes(b)) for s, t, tm, b in rows]
