"""The Merkle log's tiles: `merkle_state` (the tree size) and `merkle_tiles` (hashes).

`anchoring.merkle.MerkleLog` holds the tree logic; this table class is its storage. A log
on a connection of its own (an in-memory log that audit recomputes) gets its two tables
created on first use; a registry file has them from its schema.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from registry.storage.connection import Connection
from registry.storage.schema import create_merkle_tables

TileRow = tuple[int, int, bytes]


class TileTableError(RuntimeError):
    """The tables were changed by something other than the Merkle log."""


class TileTable:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        found = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('merkle_state', 'merkle_tiles')"
        ).fetchone()
        if int(found[0]) != 2:
            with self.transaction():
                create_merkle_tables(conn)

    def size(self) -> int:
        row = self.conn.execute("SELECT tree_size FROM merkle_state WHERE id = 0").fetchone()
        if row is None:
            raise TileTableError(
                "merkle_state has no row: the Merkle log tables were tampered with"
            )
        return int(row[0])

    def tile(self, level: int, index: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT hashes FROM merkle_tiles WHERE level = ? AND tile = ?", (level, index)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def tiles(self, keys: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored tiles among these (level, tile), in one statement."""
        # Point lookups joined by UNION ALL: each one uses the primary key (a row-value IN
        # list is a scan of the table).
        rows = self.conn.execute(
            " UNION ALL ".join(
                ["SELECT level, tile, hashes FROM merkle_tiles WHERE level = ? AND tile = ?"]
                * len(keys)
            ),
            [number for key in keys for number in key],
        )
        return {(int(level), int(index)): bytes(hashes) for level, index, hashes in rows}

    def tiles_of_level(self, level: int, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """The stored tiles of `level` from tile `start` on, in order (audit reads them all)."""
        for index, hashes in self.conn.execute(
            "SELECT tile, hashes FROM merkle_tiles WHERE level = ? AND tile >= ? ORDER BY tile",
            (level, start),
        ):
            yield int(index), bytes(hashes)

    def levels(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute("SELECT DISTINCT level FROM merkle_tiles")]

    def write(self, rows: Sequence[TileRow], new_size: int) -> None:
        """Store tiles and the new size; the caller holds `transaction()`."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO merkle_tiles (level, tile, hashes) VALUES (?, ?, ?)", rows
        )
        self.conn.execute("UPDATE merkle_state SET tree_size = ? WHERE id = 0", (new_size,))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction of the log's own, committed on success, else rolled back."""
        if self.conn.in_transaction:
            raise TileTableError(
                "the connection is inside a transaction; the Merkle log commits its own writes, "
                "so commit or roll back first"
            )
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
