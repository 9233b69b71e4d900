"""SQLite storage of the registry, behind the narrow interface the domain code uses.

Only this module knows SQL. The domain (`registry.ledger`) calls these methods inside
`write()`, a `BEGIN IMMEDIATE` transaction: the state change and the event that records it
commit together or not at all, and concurrent writers (other processes included) are
serialised by SQLite's write lock. A move to PostgreSQL replaces this module only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

SCHEMA_VERSION = "1"

STATUSES = ("active", "retired", "cancelled", "locked")


@dataclass(frozen=True)
class Holding:
    """A contiguous serial range of one batch held by one account, in one status."""

    id: int
    batch_no: int
    first: int
    last: int
    owner: str
    asset_class: str
    status: str
    ref: str | None

    @property
    def amount(self) -> int:
        return self.last - self.first + 1


# Tables that hold state derived from the event log; `replay` rebuilds and compares them.
STATE_TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "accounts": ("address",),
    "roles": ("address", "role"),
    "asset_classes": ("id",),
    "batches": ("batch_no",),
    "holdings": ("batch_no", "first"),
    "balances": ("owner", "asset_class"),
    "nonces": ("signer", "nonce"),
    "retirements": ("certificate_id",),
    "cancellations": ("seq",),
}


class Store:
    """One registry database. Not thread-safe: one Store per thread or process."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {synchronous}")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._depth = 0
        self._next_seq: int | None = None
        # Accounts and asset classes are never removed, so a row once seen stays valid.
        self._accounts: dict[str, dict[str, Any]] = {}
        self._asset_classes: dict[str, dict[str, Any]] = {}
        self._create_schema()

    def close(self) -> None:
        self.conn.close()

    # -- schema ---------------------------------------------------------------------------

    def _create_schema(self) -> None:
        db = sqlite_utils.Database(self.conn)
        if "events" in db.table_names():
            return
        with self.write():
            db.table("meta").create({"key": str, "value": str}, pk="key")
            db.table("events").create(
                {"seq": int, "type": str, "time": str, "body": bytes}, pk="seq", not_null={"body"}
            )
            db.table("accounts").create(
                {"address": str, "kind": str, "name": str, "household": str, "opened_seq": int},
                pk="address",
            )
            db.table("roles").create(
                {"address": str, "role": str, "granted_seq": int}, pk=("address", "role")
            )
            db.table("asset_classes").create(
                {
                    "id": str,
                    "methodology": str,
                    "methodology_version": str,
                    "vintage": int,
                    "region": str,
                    "registered_seq": int,
                },
                pk="id",
            )
            db.table("batches").create(
                {
                    "batch_no": int,
                    "asset_class": str,
                    "amount": int,
                    "issued_to": str,
                    "claim_id": str,
                    "issued_seq": int,
                },
                pk="batch_no",
            )
            db.table("batches").create_index(["claim_id"], unique=True)
            db.table("holdings").create(
                {
                    "id": int,
                    "batch_no": int,
                    "first": int,
                    "last": int,
                    "owner": str,
                    "asset_class": str,
                    "status": str,
                    "ref": str,
                },
                pk="id",
            )
            db.table("holdings").create_index(["batch_no", "first"], unique=True)
            self.conn.execute(
                "CREATE INDEX holdings_active ON holdings(owner, asset_class, batch_no, first)"
                " WHERE status = 'active'"
            )
            db.table("balances").create(
                {
                    "owner": str,
                    "asset_class": str,
                    "active": int,
                    "retired": int,
                    "cancelled": int,
                    "locked": int,
                },
                pk=("owner", "asset_class"),
            )
            self.conn.execute(
                "CREATE TABLE nonces (signer TEXT, nonce INTEGER, PRIMARY KEY (signer, nonce))"
                " WITHOUT ROWID"
            )
            db.table("retirements").create(
                {
                    "certificate_id": str,
                    "seq": int,
                    "time": str,
                    "owner": str,
                    "asset_class": str,
                    "amount": int,
                    "beneficiary_name": str,
                    "beneficiary": str,
                    "reason": str,
                    "jurisdiction": str,
                    "serials": str,
                },
                pk="certificate_id",
            )
            db.table("cancellations").create(
                {
                    "seq": int,
                    "holder": str,
                    "asset_class": str,
                    "amount": int,
                    "reason": str,
                    "evidence_hash": str,
                    "serials": str,
                },
                pk="seq",
            )

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction; nested calls become savepoints that roll back alone."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
            self._next_seq = None  # another process may have appended since our last write
        else:
            self.conn.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._forget_uncommitted()
            if self._depth == 0:
                self.conn.execute("ROLLBACK")
            else:
                self.conn.execute(f"ROLLBACK TO sp{self._depth}")
                self.conn.execute(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute(f"RELEASE sp{self._depth}")

    def _forget_uncommitted(self) -> None:
        """After a rollback, cached rows may be ones that were never committed."""
        self._next_seq = None
        self._accounts.clear()
        self._asset_classes.clear()

    # -- meta -----------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(values.items())
        )

    # -- accounts and roles ---------------------------------------------------------------

    def account(self, address: str) -> dict[str, Any] | None:
        cached = self._accounts.get(address)
        if cached is not None:
            return cached
        row = self.conn.execute(
            "SELECT address, kind, name, household, opened_seq FROM accounts WHERE address = ?",
            (address,),
        ).fetchone()
        if row is None:
            return None
        account = dict(zip(("address", "kind", "name", "household", "opened_seq"), row, strict=True))
        self._accounts[address] = account
        return account

    def accounts(self) -> list[dict[str, Any]]:
        cols = ("address", "kind", "name", "household", "opened_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM accounts ORDER BY opened_seq")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_account(
        self, address: str, kind: str, name: str, household: str | None, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO accounts(address, kind, name, household, opened_seq) VALUES (?,?,?,?,?)",
            (address, kind, name, household, seq),
        )

    def has_role(self, address: str, role: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM roles WHERE address = ? AND role = ?", (address, role)
        ).fetchone()
        return row is not None

    def roles_of(self, address: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT role FROM roles WHERE address = ? ORDER BY role", (address,)
        )
        return [r[0] for r in rows]

    def insert_role(self, address: str, role: str, seq: int) -> None:
        self.conn.execute(
            "INSERT INTO roles(address, role, granted_seq) VALUES (?, ?, ?)", (address, role, seq)
        )

    # -- asset classes and batches --------------------------------------------------------

    def asset_class(self, class_id: str) -> dict[str, Any] | None:
        cached = self._asset_classes.get(class_id)
        if cached is not None:
            return cached
        cols = ("id", "methodology", "methodology_version", "vintage", "region", "registered_seq")
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM asset_classes WHERE id = ?", (class_id,)
        ).fetchone()
        if row is None:
            return None
        asset_class = dict(zip(cols, row, strict=True))
        self._asset_classes[class_id] = asset_class
        return asset_class

    def asset_classes(self) -> list[dict[str, Any]]:
        cols = ("id", "methodology", "methodology_version", "vintage", "region", "registered_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM asset_classes ORDER BY id")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_asset_class(
        self, class_id: str, methodology: str, version: str, vintage: int, region: str, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO asset_classes(id, methodology, methodology_version, vintage, region,"
            " registered_seq) VALUES (?,?,?,?,?,?)",
            (class_id, methodology, version, vintage, region, seq),
        )

    def next_batch_no(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(batch_no), 0) + 1 FROM batches").fetchone()
        return int(row[0])

    def claim_issued(self, claim_id: str) -> int | None:
        row = self.conn.execute(
            "SELECT batch_no FROM batches WHERE claim_id = ?", (claim_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def batch(self, batch_no: int) -> dict[str, Any] | None:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM batches WHERE batch_no = ?", (batch_no,)
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def batches(self) -> list[dict[str, Any]]:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM batches ORDER BY batch_no")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_batch(
        self, batch_no: int, asset_class: str, amount: int, to: str, claim_id: str, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO batches(batch_no, asset_class, amount, issued_to, claim_id, issued_seq)"
            " VALUES (?,?,?,?,?,?)",
            (batch_no, asset_class, amount, to, claim_id, seq),
        )

    def batch_status_totals(self, batch_no: int) -> dict[str, int]:
        totals = dict.fromkeys(STATUSES, 0)
        rows = self.conn.execute(
            "SELECT status, SUM(last - first + 1) FROM holdings WHERE batch_no = ? GROUP BY status",
            (batch_no,),
        )
        for status, total in rows:
            totals[status] = int(total)
        return totals

    # -- holdings -------------------------------------------------------------------------

    _HOLDING_COLS = "id, batch_no, first, last, owner, asset_class, status, ref"

    def active_holdings(
        self, owner: str, asset_class: str, batch_no: int | None
    ) -> Iterator[Holding]:
        """Active ranges of `owner` in first-in-first-out order (batch, then serial)."""
        if batch_no is None:
            cursor = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND status = 'active' ORDER BY batch_no, first",
                (owner, asset_class),
            )
        else:
            cursor = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND batch_no = ? AND status = 'active' ORDER BY first",
                (owner, asset_class, batch_no),
            )
        for row in cursor:
            yield Holding(*row)

    def holding_containing(self, batch_no: int, serial: int) -> Holding | None:
        row = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE batch_no = ? AND first <= ?"
            " ORDER BY first DESC LIMIT 1",
            (batch_no, serial),
        ).fetchone()
        if row is None or row[3] < serial:
            return None
        return Holding(*row)

    def holdings_of(self, owner: str, status: str | None = None) -> list[Holding]:
        query = f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ?"
        args: tuple[Any, ...] = (owner,)
        if status is not None:
            query += " AND status = ?"
            args = (owner, status)
        rows = self.conn.execute(query + " ORDER BY asset_class, batch_no, first", args)
        return [Holding(*row) for row in rows]

    def holdings_of_batch(self, batch_no: int) -> list[Holding]:
        rows = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE batch_no = ? ORDER BY first",
            (batch_no,),
        )
        return [Holding(*row) for row in rows]

    def update_holding_range(self, holding_id: int, first: int, last: int) -> None:
        self.conn.execute(
            "UPDATE holdings SET first = ?, last = ? WHERE id = ?", (first, last, holding_id)
        )

    def update_holding_owner(
        self, holding_id: int, owner: str, status: str, ref: str | None
    ) -> None:
        self.conn.execute(
            "UPDATE holdings SET owner = ?, status = ?, ref = ? WHERE id = ?",
            (owner, status, ref, holding_id),
        )

    def insert_holding(
        self,
        batch_no: int,
        first: int,
        last: int,
        owner: str,
        asset_class: str,
        status: str,
        ref: str | None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO holdings(batch_no, first, last, owner, asset_class, status, ref)"
            " VALUES (?,?,?,?,?,?,?)",
            (batch_no, first, last, owner, asset_class, status, ref),
        )

    def held_in_status(
        self, owner: str, asset_class: str, batch_no: int | None, status: str
    ) -> int:
        query = (
            "SELECT COALESCE(SUM(last - first + 1), 0) FROM holdings WHERE owner = ?"
            " AND asset_class = ? AND status = ?"
        )
        args: tuple[Any, ...] = (owner, asset_class, status)
        if batch_no is not None:
            query += " AND batch_no = ?"
            args = (*args, batch_no)
        return int(self.conn.execute(query, args).fetchone()[0])

    # -- balances -------------------------------------------------------------------------

    def add_balance(self, owner: str, asset_class: str, status: str, delta: int) -> None:
        if status not in STATUSES:
            raise ValueError(status)
        values = {s: (delta if s == status else 0) for s in STATUSES}
        self.conn.execute(
            "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked)"
            " VALUES (:owner, :asset_class, :active, :retired, :cancelled, :locked)"
            f" ON CONFLICT(owner, asset_class) DO UPDATE SET {status} = {status} + :delta",
            {"owner": owner, "asset_class": asset_class, "delta": delta, **values},
        )

    def balances(self, owner: str) -> list[dict[str, Any]]:
        cols = ("asset_class", "active", "retired", "cancelled", "locked")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM balances WHERE owner = ? ORDER BY asset_class",
            (owner,),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def active_balance(self, owner: str, asset_class: str) -> int:
        row = self.conn.execute(
            "SELECT active FROM balances WHERE owner = ? AND asset_class = ?", (owner, asset_class)
        ).fetchone()
        return 0 if row is None else int(row[0])

    # -- nonces ---------------------------------------------------------------------------

    def nonce_used(self, signer: str, nonce: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM nonces WHERE signer = ? AND nonce = ?", (signer, nonce)
        ).fetchone()
        return row is not None

    def use_nonce(self, signer: str, nonce: int) -> None:
        self.conn.execute("INSERT INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce))

    # -- retirements and cancellations ----------------------------------------------------

    def insert_retirement(self, row: dict[str, Any]) -> None:
        sqlite_utils.Database(self.conn).table("retirements").insert(row)

    def retirement(self, certificate_id: str) -> dict[str, Any] | None:
        cursor = self.conn.execute(
            "SELECT * FROM retirements WHERE certificate_id = ?", (certificate_id,)
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def insert_cancellation(self, row: dict[str, Any]) -> None:
        sqlite_utils.Database(self.conn).table("cancellations").insert(row)

    # -- the event log --------------------------------------------------------------------

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
            yield int(seq), str(event_type), str(time), bytes(body)

    def event_count(self) -> int:
        return self.next_seq()

    # -- whole-table dumps, for replay ----------------------------------------------------

    def dump(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a state table, without surrogate ids, in key order."""
        key = STATE_TABLES[table]
        cursor = self.conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
        names = [d[0] for d in cursor.description]
        keep = [i for i, name in enumerate(names) if name != "id"]
        return [tuple(row[i] for i in keep) for row in cursor]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
