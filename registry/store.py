"""SQLite storage of the registry, behind the narrow interface the domain code uses.

Only this module knows SQL. The domain (`registry.ledger`) calls these methods inside
`write()`, a `BEGIN IMMEDIATE` transaction: the state change and the event that records it
commit together or not at all, and concurrent writers (other processes included) are
serialised by SQLite's write lock. A move to PostgreSQL replaces this module only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

SCHEMA_VERSION = "1"

STATUSES = ("active", "retired", "cancelled", "locked")


class Holding(NamedTuple):
    """A contiguous serial range of one batch held by one account, in one status.

    A named tuple, not a dataclass: the hot path builds one per row read, and a tuple is
    several times cheaper to construct.
    """

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
    "activity_batches": ("platform", "batch_id"),
    "claims": ("claim_id",),
    "claim_rejections": ("seq", "idx"),
    "daily_totals": ("account", "methodology", "day"),
    "attestations": ("seq",),
    "issuance_runs": ("seq",),
    "reversals": ("claim_id",),
    "chain_events": ("chain_event",),
    "locks": ("lock_no",),
}

# The bridge's tables and indexes; added on open to registries made before them.
_BRIDGE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chain_events (chain_event TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
    " kind TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS holdings_locked ON holdings(asset_class, batch_no, first)"
    " WHERE status = 'locked'",
    "CREATE TABLE IF NOT EXISTS locks (lock_no INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,"
    " owner TEXT NOT NULL, recipient TEXT NOT NULL, asset_class TEXT NOT NULL,"
    " amount INTEGER NOT NULL)",
)

CLAIM_COLUMNS = (
    "claim_id",
    "seq",
    "idx",
    "platform",
    "activity_id",
    "account",
    "beneficiary",
    "methodology",
    "version",
    "methodology_hash",
    "family",
    "start_s",
    "end_s",
    "day",
    "asset_class",
    "grams",
    "evidence_hash",
    "status",
    "attested_seq",
    "verdict",
    "issued_seq",
    "reversed_seq",
)
# What ingestion writes; the rest start as 'pending' and NULL.
NEW_CLAIM_COLUMNS = CLAIM_COLUMNS[: CLAIM_COLUMNS.index("status")]
REJECTION_COLUMNS = (
    "seq",
    "idx",
    "platform",
    "activity_id",
    "account",
    "methodology",
    "version",
    "start_s",
    "end_s",
    "reason",
    "detail",
)

# The MRV tables. Raw evidence (`evidence`) is deliberately not a state table: events hold
# only its salted hash, so erasing it changes neither the log nor what replay rebuilds.
_MRV_SCHEMA = """
CREATE TABLE activity_batches (
    platform TEXT NOT NULL, batch_id TEXT NOT NULL, records_hash TEXT NOT NULL,
    records INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
    grams INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (platform, batch_id)
) WITHOUT ROWID;
CREATE TABLE claims (
    claim_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
    platform TEXT NOT NULL, activity_id TEXT NOT NULL, account TEXT NOT NULL,
    beneficiary TEXT NOT NULL, methodology TEXT NOT NULL, version TEXT NOT NULL,
    methodology_hash TEXT NOT NULL, family TEXT NOT NULL, start_s INTEGER NOT NULL,
    end_s INTEGER NOT NULL, day TEXT NOT NULL, asset_class TEXT NOT NULL,
    grams INTEGER NOT NULL, evidence_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attested_seq INTEGER, verdict TEXT,
    issued_seq INTEGER, reversed_seq INTEGER
);
CREATE UNIQUE INDEX claims_activity ON claims(platform, activity_id);
CREATE INDEX claims_interval ON claims(account, start_s);
CREATE INDEX claims_approved ON claims(asset_class, beneficiary, grams)
    WHERE status = 'approved';
CREATE TABLE claim_rejections (
    seq INTEGER NOT NULL, idx INTEGER NOT NULL, platform TEXT NOT NULL,
    activity_id TEXT NOT NULL, account TEXT NOT NULL, methodology TEXT NOT NULL,
    version TEXT NOT NULL, start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
) WITHOUT ROWID;
CREATE INDEX claim_rejections_activity ON claim_rejections(platform, activity_id);
CREATE INDEX claim_rejections_account ON claim_rejections(account);
CREATE TABLE daily_totals (
    account TEXT NOT NULL, methodology TEXT NOT NULL, day TEXT NOT NULL,
    grams INTEGER NOT NULL,
    PRIMARY KEY (account, methodology, day)
) WITHOUT ROWID;
CREATE TABLE attestations (
    seq INTEGER PRIMARY KEY, attestation_id TEXT NOT NULL, verifier TEXT NOT NULL,
    approve INTEGER NOT NULL, reason TEXT NOT NULL, claims INTEGER NOT NULL,
    claims_hash TEXT NOT NULL,
    UNIQUE (verifier, attestation_id)
);
CREATE TABLE issuance_runs (
    seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, buffer_pool TEXT NOT NULL,
    buffer_basis_points INTEGER NOT NULL, claims INTEGER NOT NULL, grams INTEGER NOT NULL,
    issued_grams INTEGER NOT NULL, buffer_grams INTEGER NOT NULL, batches INTEGER NOT NULL
);
CREATE TABLE reversals (
    claim_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, holder TEXT NOT NULL,
    holder_grams INTEGER NOT NULL, buffer_pool TEXT NOT NULL, pool_grams INTEGER NOT NULL,
    reason TEXT NOT NULL, evidence_hash TEXT NOT NULL, serials TEXT NOT NULL
);
CREATE TABLE evidence (
    platform TEXT NOT NULL, activity_id TEXT NOT NULL, account TEXT NOT NULL,
    salt BLOB NOT NULL, data BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (platform, activity_id)
);
CREATE INDEX evidence_account ON evidence(account);
"""


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
        # Holdings just read by `active_holdings`, so that applying the ranges picked from
        # them does not read them again; emptied by any write to holdings.
        self._picked: dict[int, list[Holding]] = {}
        self._create_schema()
        self._create_mrv_schema()
        self._create_bridge_schema()

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
            # WITHOUT ROWID: every transfer updates two rows by their key, one b-tree search each.
            self.conn.execute(
                "CREATE TABLE balances (owner TEXT, asset_class TEXT, active INTEGER,"
                " retired INTEGER, cancelled INTEGER, locked INTEGER,"
                " PRIMARY KEY (owner, asset_class)) WITHOUT ROWID"
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

    def _create_mrv_schema(self) -> None:
        """Added to registries created before the MRV tables existed, on first open."""
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'"
        ).fetchone()
        if found is not None:
            return
        with self.write():
            if self.conn.execute(  # another process may have created them meanwhile
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'"
            ).fetchone():
                return
            for statement in _MRV_SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)

    def _create_bridge_schema(self) -> None:
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'locks'"
        ).fetchone()
        if found is None:
            with self.write():
                for statement in _BRIDGE_SCHEMA:
                    self.conn.execute(statement)

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction; nested calls become savepoints that roll back alone."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
            self._next_seq = None  # another process may have appended since our last write
            self._picked.clear()
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
        self._picked.clear()
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
        cols = ("address", "kind", "name", "household", "opened_seq")
        account = dict(zip(cols, row, strict=True))
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
        picked = self._picked
        for row in cursor:
            holding = Holding(*row)
            picked.setdefault(holding.batch_no, []).append(holding)
            yield holding

    def holding_containing(self, batch_no: int, serial: int) -> Holding | None:
        for known in self._picked.get(batch_no, ()):
            if known.first <= serial <= known.last:
                return known
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
        self._picked.clear()
        self.conn.execute(
            "UPDATE holdings SET first = ?, last = ? WHERE id = ?", (first, last, holding_id)
        )

    def update_holding_owner(
        self, holding_id: int, owner: str, status: str, ref: str | None
    ) -> None:
        self._picked.clear()
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
        self._picked.clear()
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
        updated = self.conn.execute(
            f"UPDATE balances SET {status} = {status} + ? WHERE owner = ? AND asset_class = ?",
            (delta, owner, asset_class),
        )
        if updated.rowcount == 0:  # first grams of this class for this owner
            values = [delta if s == status else 0 for s in STATUSES]
            self.conn.execute(
                "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (owner, asset_class, *values),
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

    def claim_nonce(self, signer: str, nonce: int) -> bool:
        """Record the nonce as used; False when it already was (one statement, no race)."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce)
        )
        return cursor.rowcount == 1

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
            # A body edited by hand may come back as TEXT; it is still checked byte for byte.
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            yield int(seq), str(event_type), str(time), raw

    def event_count(self) -> int:
        return self.next_seq()

    # -- MRV: activity batches, claims and rejections -----------------------------------

    def accounts_by_address(self, addresses: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The accounts among `addresses` that exist, in one query for those not cached."""
        wanted = set(addresses)
        found = {a: self._accounts[a] for a in wanted if a in self._accounts}
        missing = sorted(wanted - found.keys())
        cols = ("address", "kind", "name", "household", "opened_seq")
        for chunk in _chunks(missing):
            rows = self.conn.execute(
                f"SELECT {', '.join(cols)} FROM accounts WHERE address IN ({_marks(chunk)})",
                chunk,
            )
            for row in rows:
                account = dict(zip(cols, row, strict=True))
                self._accounts[account["address"]] = account
                found[account["address"]] = account
        return found

    def activity_batch(self, platform: str, batch_id: str) -> dict[str, Any] | None:
        cols = (
            "platform",
            "batch_id",
            "records_hash",
            "records",
            "accepted",
            "rejected",
            "grams",
            "seq",
        )
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM activity_batches WHERE platform = ? AND batch_id = ?",
            (platform, batch_id),
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def insert_activity_batch(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO activity_batches VALUES (?,?,?,?,?,?,?,?)", row)

    def known_activities(self, platform: str, activity_ids: list[str]) -> set[str]:
        """The ids among `activity_ids` that `platform` submitted before (claimed or not)."""
        known: set[str] = set()
        for chunk in _chunks(activity_ids):
            marks = _marks(chunk)
            rows = self.conn.execute(
                f"SELECT activity_id FROM claims WHERE platform = ? AND activity_id IN ({marks})"
                " UNION SELECT activity_id FROM claim_rejections WHERE platform = ?"
                f" AND activity_id IN ({marks})",
                (platform, *chunk, platform, *chunk),
            )
            known.update(r[0] for r in rows)
        return known

    def overlapping_claims(
        self, probes: list[tuple[int, str, str, int, int]], max_duration_s: int
    ) -> dict[int, str]:
        """For each probe `(idx, account, family, start, end)`, the first claim that overlaps.

        Intervals are half-open, `[start, end)`. Every claim lasts at most `max_duration_s`,
        so only claims starting in `(start - max_duration_s, end)` need a look: one index
        range per probe, in one join.
        """
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS probe (idx INTEGER PRIMARY KEY, account TEXT,"
            " family TEXT, start_s INTEGER, end_s INTEGER)"
        )
        self.conn.execute("DELETE FROM temp.probe")
        self.conn.executemany("INSERT INTO temp.probe VALUES (?,?,?,?,?)", probes)
        rows = self.conn.execute(
            "SELECT p.idx, MIN(c.claim_id) FROM temp.probe p CROSS JOIN claims c"
            " ON c.account = p.account AND c.start_s > p.start_s - ? AND c.start_s < p.end_s"
            " AND c.end_s > p.start_s AND c.family = p.family GROUP BY p.idx",
            (max_duration_s,),
        ).fetchall()
        self.conn.execute("DELETE FROM temp.probe")
        return {int(idx): str(claim) for idx, claim in rows}

    def daily_totals(
        self, accounts: Iterable[str], days: Iterable[str]
    ) -> dict[tuple[str, str, str], int]:
        """Grams credited so far per `(account, methodology, day)` for these accounts and days."""
        day_list = sorted(set(days))
        totals: dict[tuple[str, str, str], int] = {}
        for chunk in _chunks(sorted(set(accounts)), 30_000 - len(day_list)):
            rows = self.conn.execute(
                "SELECT account, methodology, day, grams FROM daily_totals"
                f" WHERE account IN ({_marks(chunk)}) AND day IN ({_marks(day_list)})",
                (*chunk, *day_list),
            )
            for account, methodology, day, grams in rows:
                totals[(account, methodology, day)] = int(grams)
        return totals

    def add_daily_totals(self, rows: list[tuple[str, str, str, int]]) -> None:
        self.conn.executemany(
            "INSERT INTO daily_totals(account, methodology, day, grams) VALUES (?,?,?,?)"
            " ON CONFLICT(account, methodology, day) DO UPDATE SET grams = grams + excluded.grams",
            rows,
        )

    def insert_claims(self, rows: list[tuple[Any, ...]]) -> None:
        """New pending claims, rows in NEW_CLAIM_COLUMNS order."""
        self.conn.executemany(
            f"INSERT INTO claims({', '.join(NEW_CLAIM_COLUMNS)})"
            f" VALUES ({_marks(NEW_CLAIM_COLUMNS)})",
            rows,
        )

    def insert_rejections(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows in REJECTION_COLUMNS order."""
        self.conn.executemany(
            f"INSERT INTO claim_rejections({', '.join(REJECTION_COLUMNS)})"
            f" VALUES ({_marks(REJECTION_COLUMNS)})",
            rows,
        )

    def claim(self, claim_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims WHERE claim_id = ?", (claim_id,)
        ).fetchone()
        return None if row is None else dict(zip(CLAIM_COLUMNS, row, strict=True))

    def claims(
        self,
        *,
        account: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Claims matching every filter given, oldest first."""
        filters = (("account", account), ("status", status), ("platform", platform))
        return self._filtered("claims", CLAIM_COLUMNS, filters, limit)

    def rejections(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Records refused at ingestion, with their reasons, oldest first."""
        filters = (("account", account), ("platform", platform), ("reason", reason))
        return self._filtered("claim_rejections", REJECTION_COLUMNS, filters, limit)

    def _filtered(
        self,
        table: str,
        columns: tuple[str, ...],
        filters: tuple[tuple[str, str | None], ...],
        limit: int | None,
    ) -> list[dict[str, Any]]:
        """Rows of `table` (ordered by seq, idx) whose columns equal every non-None filter."""
        where, args = _filters(*filters)
        query = f"SELECT {', '.join(columns)} FROM {table}"
        if where:
            query += f" WHERE {' AND '.join(where)}"
        query += " ORDER BY seq, idx"
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        return [dict(zip(columns, row, strict=True)) for row in self.conn.execute(query, args)]

    def claim_counts(self) -> dict[str, dict[str, int]]:
        """`{status: {"claims": n, "grams": g}}` over all claims."""
        rows = self.conn.execute("SELECT status, COUNT(*), SUM(grams) FROM claims GROUP BY status")
        return {status: {"claims": int(n), "grams": int(g)} for status, n, g in rows}

    def rejection_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT reason, COUNT(*) FROM claim_rejections GROUP BY reason")
        return {reason: int(n) for reason, n in rows}

    # -- MRV: attestations ------------------------------------------------------------------

    def claim_states(self, claim_ids: list[str]) -> dict[str, tuple[str, str]]:
        """`{claim id: (status, platform)}` for the ids that exist."""
        found: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(claim_ids):
            rows = self.conn.execute(
                f"SELECT claim_id, status, platform FROM claims WHERE claim_id IN ({_marks(chunk)})",
                chunk,
            )
            found.update((c, (s, p)) for c, s, p in rows)
        return found

    def set_verdicts(self, claim_ids: list[str], status: str, seq: int, verdict: str) -> None:
        self.conn.executemany(
            "UPDATE claims SET status = ?, attested_seq = ?, verdict = ? WHERE claim_id = ?",
            [(status, seq, verdict, c) for c in claim_ids],
        )

    def attestation_exists(self, verifier: str, attestation_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM attestations WHERE verifier = ? AND attestation_id = ?",
            (verifier, attestation_id),
        ).fetchone()
        return row is not None

    def insert_attestation(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO attestations VALUES (?,?,?,?,?,?,?)", row)

    # -- MRV: issuance runs and reversals ----------------------------------------------

    def approved_claim_groups(self) -> list[tuple[str, str, int, int]]:
        """`(asset_class, beneficiary, claims, grams)` of approved claims, in that order."""
        rows = self.conn.execute(
            "SELECT asset_class, beneficiary, COUNT(*), SUM(grams) FROM claims"
            " WHERE status = 'approved' GROUP BY asset_class, beneficiary"
            " ORDER BY asset_class, beneficiary"
        )
        return [(str(c), str(b), int(n), int(g)) for c, b, n, g in rows]

    def mark_approved_issued(self, seq: int) -> None:
        self.conn.execute(
            "UPDATE claims SET status = 'issued', issued_seq = ? WHERE status = 'approved'", (seq,)
        )

    def batch_refs_with_prefix(self, prefix: str) -> int:
        """How many batches have a `claim_id` reference starting with `prefix`."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        row = self.conn.execute(
            "SELECT COUNT(*) FROM batches WHERE claim_id >= ? AND claim_id < ?", (prefix, upper)
        ).fetchone()
        return int(row[0])

    def insert_batches(self, rows: list[tuple[int, str, int, str, str, int]]) -> None:
        """New batches, each with its one holding and balance: `(batch_no, class, amount,
        to, ref, seq)`."""
        self.conn.executemany(
            "INSERT INTO batches(batch_no, asset_class, amount, issued_to, claim_id, issued_seq)"
            " VALUES (?,?,?,?,?,?)",
            rows,
        )
        self.conn.executemany(
            "INSERT INTO holdings(batch_no, first, last, owner, asset_class, status, ref)"
            " VALUES (?, 1, ?, ?, ?, 'active', NULL)",
            [(no, amount, to, klass) for no, klass, amount, to, _, _ in rows],
        )
        self.conn.executemany(
            "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked)"
            " VALUES (?, ?, ?, 0, 0, 0)"
            " ON CONFLICT(owner, asset_class) DO UPDATE SET active = active + excluded.active",
            [(to, klass, amount) for _, klass, amount, to, _, _ in rows],
        )

    def issuance_run(self, seq: int) -> dict[str, Any] | None:
        cursor = self.conn.execute("SELECT * FROM issuance_runs WHERE seq = ?", (seq,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def issuance_run_exists(self, run_id: str) -> bool:
        found = self.conn.execute("SELECT 1 FROM issuance_runs WHERE run_id = ?", (run_id,))
        return found.fetchone() is not None

    def insert_issuance_run(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO issuance_runs VALUES (?,?,?,?,?,?,?,?,?)", row)

    def mark_claim_reversed(self, claim_id: str, seq: int) -> None:
        self.conn.execute(
            "UPDATE claims SET status = 'reversed', reversed_seq = ? WHERE claim_id = ?",
            (seq, claim_id),
        )

    def insert_reversal(self, row: dict[str, Any]) -> None:
        sqlite_utils.Database(self.conn).table("reversals").insert(row)

    def reversal(self, claim_id: str) -> dict[str, Any] | None:
        cursor = self.conn.execute("SELECT * FROM reversals WHERE claim_id = ?", (claim_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    # -- MRV: raw evidence (not state: erasable) -------------------------------------------

    def insert_evidence(self, rows: list[tuple[str, str, str, bytes, bytes, int]]) -> None:
        """`(platform, activity_id, account, salt, data, seq)`; a resubmission keeps the first."""
        self.conn.executemany("INSERT OR IGNORE INTO evidence VALUES (?,?,?,?,?,?)", rows)

    def evidence_of(self, account: str) -> list[dict[str, Any]]:
        cols = ("platform", "activity_id", "account", "salt", "data", "seq")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM evidence WHERE account = ? ORDER BY seq, activity_id",
            (account,),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def erase_evidence(self, account: str) -> int:
        """Delete every piece of raw evidence about `account`; returns how many."""
        cursor = self.conn.execute("DELETE FROM evidence WHERE account = ?", (account,))
        return int(cursor.rowcount)

    def event_body(self, seq: int) -> bytes | None:
        row = self.conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else bytes(row[0])

    # -- whole-table dumps, for replay ----------------------------------------------------

    def dump(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a state table, without surrogate ids, in key order."""
        key = STATE_TABLES[table]
        cursor = self.conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
        names = [d[0] for d in cursor.description]
        keep = [i for i, name in enumerate(names) if name != "id"]
        return [tuple(row[i] for i in keep) for row in cursor]

    # -- the bridge to the token contract --------------------------------------------------

    def holdings_in_status(self, asset_class: str, status: str) -> Iterator[Holding]:
        """Every range of the class in `status`, oldest batch and serial first."""
        cursor = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE asset_class = ? AND status = ?"
            " ORDER BY batch_no, first",
            (asset_class, status),
        )
        for row in cursor:
            yield Holding(*row)

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

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})") if r[1] != "id"]

    # -- pages and totals for the HTTP API (read-only) ----------------------------------------

    def accounts_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """Accounts opened after event `after_seq`, in opening order."""
        cols = ("address", "kind", "name", "household", "opened_seq")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM accounts WHERE opened_seq > ?"
            " ORDER BY opened_seq LIMIT ?",
            (after_seq, limit),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def roles_by_address(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        roles: dict[str, list[str]] = {a: [] for a in addresses}
        for chunk in _chunks(list(addresses)):
            rows = self.conn.execute(
                f"SELECT address, role FROM roles WHERE address IN ({_marks(chunk)})"
                " ORDER BY address, role",
                chunk,
            )
            for address, role in rows:
                roles[address].append(role)
        return roles

    def event_rows_of_type(
        self, event_type: str, after: int, limit: int
    ) -> list[tuple[int, str, str, bytes]]:
        rows = self.conn.execute(
            "SELECT seq, type, time, body FROM events WHERE type = ? AND seq > ? ORDER BY seq"
            " LIMIT ?",
            (event_type, after, limit),
        )
        return [(int(s), str(t), str(tm), bytes(b)) for s, t, tm, b in rows]

    def batches_page(self, asset_class: str | None, after: int, limit: int) -> list[dict[str, Any]]:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        query = f"SELECT {', '.join(cols)} FROM batches WHERE batch_no > ?"
        args: list[Any] = [after]
        if asset_class is not None:
            query += " AND asset_class = ?"
            args.append(asset_class)
        rows = self.conn.execute(query + " ORDER BY batch_no LIMIT ?", (*args, limit))
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def batches_status_totals(self, batch_nos: Sequence[int]) -> dict[int, dict[str, int]]:
        """`batch_status_totals` of many batches in one query."""
        totals = {no: dict.fromkeys(STATUSES, 0) for no in batch_nos}
        for chunk in _chunks(list(batch_nos)):  # type: ignore[arg-type]
            rows = self.conn.execute(
                "SELECT batch_no, status, SUM(last - first + 1) FROM holdings"
                f" WHERE batch_no IN ({_marks(chunk)}) GROUP BY batch_no, status",
                chunk,
            )
            for batch_no, status, total in rows:
                totals[int(batch_no)][status] = int(total)
        return totals

    def class_supply(self) -> dict[str, dict[str, int]]:
        """Per asset class: batches, issued, grams per status, and grams issued to buffer
        pools (batches whose reference is an issuance run's `run-<seq>:buffer:<class>`)."""
        supply: dict[str, dict[str, int]] = {}
        for class_id, batches, issued, buffer in self.conn.execute(
            "SELECT asset_class, COUNT(*), SUM(amount),"
            " SUM(CASE WHEN claim_id LIKE 'run-%:buffer:%' THEN amount ELSE 0 END)"
            " FROM batches GROUP BY asset_class"
        ):
            supply[class_id] = {
                "batches": int(batches),
                "issued": int(issued),
                "buffer": int(buffer),
                **dict.fromkeys(STATUSES, 0),
            }
        for class_id, *sums in self.conn.execute(
            "SELECT asset_class, SUM(active), SUM(retired), SUM(cancelled), SUM(locked)"
            " FROM balances GROUP BY asset_class"
        ):
            if class_id in supply:
                supply[class_id].update(zip(STATUSES, (int(s) for s in sums), strict=True))
        return supply

    def _page(
        self, table: str, where: list[str], args: list[Any], order: str, limit: int
    ) -> list[dict[str, Any]]:
        query = f"SELECT * FROM {table}"
        if where:
            query += f" WHERE {' AND '.join(where)}"
        cursor = self.conn.execute(f"{query} ORDER BY {order} LIMIT ?", (*args, limit))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def retirements_page(
        self, after_seq: int, limit: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = _filters(("owner", owner))
        return self._page("retirements", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def cancellations_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        return self._page("cancellations", ["seq > ?"], [after_seq], "seq", limit)

    def activity_batches_page(
        self, after_seq: int, limit: int, platform: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = _filters(("platform", platform))
        return self._page("activity_batches", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def attestations_page(
        self, after_seq: int, limit: int, verifier: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = _filters(("verifier", verifier))
        return self._page("attestations", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def issuance_runs_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        return self._page("issuance_runs", ["seq > ?"], [after_seq], "seq", limit)

    def claims_page(
        self,
        after: int,
        limit: int,
        *,
        account: str | None = None,
        status: str | None = None,
        platform: str | None = None,
    ) -> list[tuple[int, dict[str, Any]]]:
        """Claims in log order, each with its rowid (the page cursor)."""
        where, args = _filters(("account", account), ("status", status), ("platform", platform))
        rows = self.conn.execute(
            f"SELECT rowid, {', '.join(CLAIM_COLUMNS)} FROM claims WHERE {' AND '.join(['rowid > ?', *where])}"
            " ORDER BY rowid LIMIT ?",
            (after, *args, limit),
        )
        return [(int(row[0]), dict(zip(CLAIM_COLUMNS, row[1:], strict=True))) for row in rows]

    def rejections_page(
        self,
        after: tuple[int, int],
        limit: int,
        *,
        account: str | None = None,
        platform: str | None = None,
        reason: str | None = None,
    ) -> list[dict[str, Any]]:
        """Refused records after `(seq, idx)`, in log order."""
        where, args = _filters(("account", account), ("platform", platform), ("reason", reason))
        return self._page(
            "claim_rejections",
            ["(seq > ? OR (seq = ? AND idx > ?))", *where],
            [after[0], after[0], after[1], *args],
            "seq, idx",
            limit,
        )


# SQLite allows 32,766 bound parameters a statement; queries over many keys go in chunks.
MAX_PARAMETERS = 30_000


def _chunks(items: list[str], size: int = MAX_PARAMETERS // 2) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _filters(*pairs: tuple[str, str | None]) -> tuple[list[str], list[Any]]:
    """`column = ?` conditions for the filters that are set (column names are constants)."""
    where = [f"{column} = ?" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]
