"""The anchoring worker's checkpoints (`anchor_checkpoints`), one row per tree size.

Rows come back as `CheckpointRecord` tuples; `anchoring.worker.CheckpointStore` turns them
into signed checkpoints. Every change is its own transaction: the worker records a
transaction before it broadcasts it, so each update must be durable on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from registry.storage.connection import Connection


class CheckpointRecord(NamedTuple):
    tree_size: int
    root_hash: bytes
    timestamp: int
    signer: str
    signature: str
    checkpoint_hash: bytes
    status: str
    tx_hash: bytes | None
    raw_tx: bytes | None
    block_number: int | None
    block_hash: bytes | None
    chain_id: int | None
    contract: str | None


_COLUMNS = ", ".join(CheckpointRecord._fields)
UPDATABLE = frozenset(
    ("status", "tx_hash", "raw_tx", "block_number", "block_hash", "chain_id", "contract",
     "confirmed_at")
)  # fmt: skip


def _blob(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


class AnchorTable:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _select(
        self, where: str = "", args: tuple[Any, ...] = (), limit: int = -1
    ) -> list[CheckpointRecord]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM anchor_checkpoints {where} ORDER BY tree_size LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [
            CheckpointRecord(
                int(size),
                bytes(root),
                int(ts),
                str(signer),
                str(signature),
                bytes(cp_hash),
                str(status),
                _blob(tx),
                _blob(raw),
                bn,
                _blob(bh),
                chain_id,
                contract,
            )  # fmt: skip
            for size, root, ts, signer, signature, cp_hash, status, tx, raw, bn, bh, chain_id, contract in rows
        ]

    def all(self) -> list[CheckpointRecord]:
        return self._select()

    def page(
        self, after: int, limit: int, *, confirmed_only: bool = False
    ) -> list[CheckpointRecord]:
        """Checkpoints of tree size above `after`, smallest first."""
        status = " AND status = 'confirmed'" if confirmed_only else ""
        return self._select(f"WHERE tree_size > ?{status}", (after,), limit)

    def signers(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT signer FROM anchor_checkpoints GROUP BY signer ORDER BY MIN(tree_size)"
        )
        return [str(r[0]) for r in rows]

    def unconfirmed(self) -> list[CheckpointRecord]:
        return self._select("WHERE status != 'confirmed'")

    def confirmed_since(self, block_number: int) -> list[CheckpointRecord]:
        return self._select("WHERE status = 'confirmed' AND block_number >= ?", (block_number,))

    def latest_confirmed(self) -> CheckpointRecord | None:
        rows = self.conn.execute(
            "SELECT MAX(tree_size) FROM anchor_checkpoints WHERE status = 'confirmed'"
        ).fetchone()
        return None if rows[0] is None else self.get(int(rows[0]))

    def get(self, tree_size: int) -> CheckpointRecord | None:
        rows = self._select("WHERE tree_size = ?", (tree_size,))
        return rows[0] if rows else None

    def covering(self, index: int, *, confirmed_only: bool) -> CheckpointRecord | None:
        """The smallest checkpoint whose tree contains leaf `index`."""
        rows = self.page(index, 1, confirmed_only=confirmed_only)
        return rows[0] if rows else None

    def last_size(self) -> int:
        row = self.conn.execute(
            "SELECT COALESCE(MAX(tree_size), 0) FROM anchor_checkpoints"
        ).fetchone()
        return int(row[0])

    def insert(
        self,
        tree_size: int,
        root_hash: bytes,
        timestamp: int,
        checkpoint_hash: bytes,
        signer: str,
        signature: str,
        now: float,
    ) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO anchor_checkpoints(tree_size, root_hash, timestamp, checkpoint_hash,"
                " signer, signature, status, created_at) VALUES (?,?,?,?,?,?, 'signed', ?)",
                (tree_size, root_hash, timestamp, checkpoint_hash, signer, signature, now),
            )

    def update(self, tree_size: int, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction():
            self.conn.execute(
                f"UPDATE anchor_checkpoints SET {sets} WHERE tree_size = ?",
                (*fields.values(), tree_size),
            )

    def back_to_signed(self, tree_size: int) -> None:
        with self._transaction():
            self.conn.execute(
                "UPDATE anchor_checkpoints SET status = 'signed', tx_hash = NULL, raw_tx = NULL,"
                " block_number = NULL, block_hash = NULL, attempts = attempts + 1"
                " WHERE tree_size = ?",
                (tree_size,),
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
