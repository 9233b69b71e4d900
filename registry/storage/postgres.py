"""PostgreSQL under the storage's SQL: a connection with the sqlite3 subset the storage uses.

The storage speaks SQLite's dialect through `execute` / `executemany` with `?` parameters,
explicit `BEGIN IMMEDIATE` / `SAVEPOINT` / `COMMIT` and a few PRAGMAs. `PgConnection`
offers the same calls on a psycopg 3 connection in autocommit mode (so that those explicit
statements delimit transactions, as with sqlite3's `isolation_level=None`), and rewrites
each statement text once (cached) into PostgreSQL's dialect (`translate`):

- `?` -> `%s` (outside string literals), and `%` -> `%%` (psycopg's escape);
- `INSERT OR IGNORE` -> `INSERT ... ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` ->
  `INSERT ... ON CONFLICT (primary key) DO UPDATE` of the other columns;
- `BEGIN IMMEDIATE` -> `BEGIN` and then `pg_advisory_xact_lock` on this registry's key:
  every writer of the registry waits for the one before it to commit, as with SQLite's
  single writer, so the event sequence and each balance change are decided by one
  transaction that sees every earlier commit (READ COMMITTED takes a new snapshot per
  statement, and the first statement after the lock sees everything committed before it);
  a plain `BEGIN` (the storage's read snapshots) -> `BEGIN ISOLATION LEVEL REPEATABLE READ`,
  one state for every read;
- `PRAGMA user_version` -> a one-row table `carbon_schema_version`; `PRAGMA data_version`
  -> a number that changes whenever this connection's snapshot changes (another session
  committed, or this one did: a cache dropped more often than needed, never less);
  `PRAGMA table_info(t)` -> information_schema; other PRAGMAs (tuning of SQLite's files)
  do nothing;
- `LIMIT ?` bound to a negative number (SQLite's "no limit") -> `LIMIT NULL`;
- `sqlite_master` -> the tables of the current schema; `temp.` -> `pg_temp.`;
  `CROSS JOIN t ON` (SQLite's join-order hint) -> `JOIN t ON`;
- in DDL, SQLite's types: `INTEGER PRIMARY KEY` (a rowid alias, numbered when omitted) ->
  a BIGINT identity, INTEGER -> BIGINT, BLOB -> BYTEA, REAL -> DOUBLE PRECISION, and
  `WITHOUT ROWID` dropped; a table of ROWID_TABLES gets its `rowid` as an identity column.

Inside a transaction, a write whose answer the caller does not read waits in a queue that
is sent in one round trip with the next statement whose answer is needed (`_defer`). With
the accounts, nonces and holdings of a group read ahead (`Registry._read_ahead`), a group
of transfers takes five round trips, plus one for each transfer whose sender received grams
earlier in the group, instead of nine or ten a transfer.

Results come back as sqlite3 would give them: SUM over BIGINT (NUMERIC in PostgreSQL) as an
int, a boolean as 0 or 1. Errors are raised as sqlite3's exception classes (the DB-API
names that the callers already catch): a duplicate key is a `sqlite3.IntegrityError`, a
lost connection or a serialisation failure a `sqlite3.OperationalError`.

Text compares byte for byte only in a database created with `--locale=C` (or
`LC_COLLATE 'C'`), as SQLite compares it: `ORDER BY` of text keys is part of what replay
compares.
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

SCHEMES = ("postgresql://", "postgres://")

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS carbon_schema_version"
    " (id INTEGER PRIMARY KEY CHECK (id = 0), version BIGINT NOT NULL)"
)
# One registry a schema: writers of the registry in the connection's current schema wait
# for one another, and for no other registry's.
WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtext('carbon-registry:' || current_schema()))"
CURRENT_SNAPSHOT = "SELECT pg_current_snapshot()::text"


# Tables whose implicit SQLite rowid the storage reads (the claims page cursor): PostgreSQL
# gives them a `rowid` column numbered in insertion order, as SQLite numbers its rowids
# (hidden from `PRAGMA table_info`, as SQLite's is).
ROWID_TABLES = frozenset({"claims"})


def is_url(location: str) -> bool:
    return location.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password, to name the database in messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class _IntegralNumeric(Loader):
    """NUMERIC (what SUM over BIGINT gives) as an int when integral, as SQLite gives it."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode("ascii")
        return float(text) if any(c in text for c in ".eEN") else int(text)


class _BoolAsInt(Loader):
    """A comparison's result as SQLite gives it: 1 or 0."""

    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


class PgCursor:
    """A finished statement's rows and count, read as from a sqlite3 cursor."""

    def __init__(
        self,
        rows: list[tuple[Any, ...]],
        rowcount: int,
        description: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self._rows = rows
        self._next = 0
        self._rowcount = rowcount
        self.description = description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class _DeferredCursor(PgCursor):
    """A queued write's cursor: reading its count sends the queue first (see `_defer`)."""

    def __init__(self, owner: PgConnection, sent: list[psycopg.Cursor[Any]], index: int) -> None:
        super().__init__([], -1)
        self._owner = owner
        self._sent = sent
        self._index = index

    @property
    def rowcount(self) -> int:
        self._owner.flush()
        return self._sent[self._index].rowcount


class PgConnection:
    """One PostgreSQL session, driven like a sqlite3 connection in autocommit mode."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._url = url
        self._read_only = read_only
        self._conn = self._connect()
        # Whether the session was lost inside a transaction, which only ROLLBACK ends.
        self._lost_in_transaction = False
        self._primary_keys: dict[str, list[str]] = {}
        self._snapshot: str | None = None
        self._data_version = 0
        self._begun_snapshot: tuple[Any, ...] | None = None
        # Writes queued until a result is needed (`_defer`), each with its `_DeferredCursor`
        # (weakly: once dropped, nobody can read the write's count), and the cursors they
        # get when sent.
        self._queued: list[tuple[str, tuple[Any, ...], Callable[[], object]]] = []
        self._sent: list[psycopg.Cursor[Any]] = []
        if not read_only:
            # Another session creating it at the same moment is no error.
            with suppress(sqlite3.IntegrityError):
                self.execute(SCHEMA_VERSION_TABLE)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._url, autocommit=True)
            conn.adapters.register_loader("numeric", _IntegralNumeric)
            conn.adapters.register_loader("bool", _BoolAsInt)
            if self._read_only:
                conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as exc:
            raise sqlite3.OperationalError(f"cannot open {redacted(self._url)}: {exc}") from exc
        return conn

    @property
    def in_transaction(self) -> bool:
        if self._conn.broken:
            return self._lost_in_transaction
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()

    def __del__(self) -> None:
        # Dropped unclosed (the API's per-thread readers are never closed explicitly): closed
        # here, as a sqlite3 connection is, instead of psycopg's warning at its own collection.
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.closed:
            conn.close()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PgCursor:
        """Run one statement. A session lost (a server restart, a dropped connection) is
        opened again: at once for a statement outside a transaction, which is tried again
        when it is a read or a BEGIN (nothing of it took effect); inside a transaction, at
        its ROLLBACK, every other statement till then being refused (nothing of the
        transaction committed, and nothing after it may run outside it)."""
        if self._conn.broken:
            if self._lost_in_transaction:
                if sql.strip().upper() != "ROLLBACK":
                    raise sqlite3.OperationalError(
                        "the connection to PostgreSQL was lost inside a transaction, which"
                        " is rolled back: roll back and begin again"
                    )
                self._reopen()
                return PgCursor([], -1)
            self._reopen()
        in_transaction = self.in_transaction
        try:
            return self._execute(sql, parameters, in_transaction)
        except sqlite3.OperationalError:
            if not self._conn.broken:
                raise
            self._lost_in_transaction = in_transaction
            if in_transaction or sql.split(None, 1)[0].upper() not in _REDOABLE:
                raise
            self._reopen()
            return self._execute(sql, parameters, False)

    def _reopen(self) -> None:
        self._conn.close()
        self._queued, self._sent, self._begun_snapshot = [], [], None
        self._conn = self._connect()
        self._lost_in_transaction = False

    def _execute(self, sql: str, parameters: Sequence[Any], in_transaction: bool) -> PgCursor:
        # The snapshot taken with a writer's BEGIN serves only the statement right after it.
        begun, self._begun_snapshot = self._begun_snapshot, None
        special = self._special(sql, begun)
        if special is not None:
            return special
        statement = translate(sql)
        if statement.startswith("INSERT OR REPLACE"):
            statement = self._replace_to_upsert(statement)
        params = tuple(parameters)
        head = statement.split(None, 1)[0].upper()
        if head in _DEFERRABLE and in_transaction and "RETURNING" not in statement:
            return self._defer(statement, params)
        if statement == "ROLLBACK":  # what is queued is undone unsent
            self._queued, self._sent = [], []
        elif head == "ROLLBACK":
            # What is queued is undone by this rollback: its errors no longer matter (a
            # savepoint still queued is sent first, so that ROLLBACK TO finds it).
            with suppress(sqlite3.Error):
                self.flush()
        elif self._queued:
            return self._send_with_queue(statement, params)
        with _as_sqlite_errors():
            return _finished(self._conn.execute(statement, params))

    def flush(self) -> None:
        """Send the queued writes, raising the first one's error (see `_defer`)."""
        if self._queued:
            self._send_with_queue(None, ())

    def _defer(self, statement: str, params: tuple[Any, ...]) -> PgCursor:
        """Queue a write of an open transaction instead of waiting for its answer.

        A statement whose result the caller does not read (an INSERT, UPDATE or DELETE, a
        SAVEPOINT or RELEASE) waits in a queue, and the queue is sent in one round trip
        (psycopg's pipeline mode) with the next statement whose result is needed: a read,
        COMMIT, ROLLBACK, or the count of a queued write. PostgreSQL skips the rest of a
        pipeline after an error, and the transaction is aborted until rolled back: nothing
        after a failed write takes effect. A queued write's error (a duplicate key) is
        raised as itself while the queue holds no RELEASE: the write was one of the open
        savepoint, and rolling back to it undoes it alone. Once the queue holds a RELEASE,
        the write may be one of a savepoint already released, whose request was answered
        as done: the whole transaction is rolled back and a `sqlite3.DatabaseError` raised
        (the API's writer then commits its group's requests one at a time)."""
        deferred = _DeferredCursor(self, self._sent, len(self._queued))
        self._queued.append((statement, params, weakref.ref(deferred)))
        return deferred

    def _send_with_queue(self, statement: str | None, params: tuple[Any, ...]) -> PgCursor:
        queued, self._queued = self._queued, []
        sent, self._sent = self._sent, []
        cursor = None
        try:
            with _as_sqlite_errors():
                with self._conn.pipeline():
                    # One cursor for the writes whose count nobody holds a way to read (most):
                    # a cursor a statement is much of psycopg's own work.
                    unread = self._conn.cursor()
                    for text, values, deferred in queued:
                        if deferred() is None:
                            sent.append(unread.execute(text, values))
                        else:
                            sent.append(self._conn.execute(text, values))
                    if statement is not None:
                        cursor = self._conn.execute(statement, params)
                return PgCursor([], -1) if cursor is None else _finished(cursor)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError) as exc:
            if not any(text.startswith("RELEASE") for text, _, _ in queued):
                raise  # an error of the open savepoint: rolling back to it undoes it
            # The failed write may be one of a savepoint already released, whose request was
            # answered as done: nothing of this transaction may commit.
            with suppress(psycopg.Error):
                self._conn.execute("ROLLBACK")
            raise sqlite3.DatabaseError(
                f"a queued write failed, the transaction is rolled back whole: {exc}"
            ) from exc

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> PgCursor:
        statement = translate(sql)
        if statement.startswith("INSERT OR REPLACE"):
            statement = self._replace_to_upsert(statement)
        self._begun_snapshot = None
        params = [tuple(p) for p in seq_of_parameters]
        if not params:
            return PgCursor([], 0)
        self.flush()
        with _as_sqlite_errors(), self._conn.cursor() as cursor:
            cursor.executemany(statement, params)
            return PgCursor([], cursor.rowcount)

    # -- what is not a statement of its own ---------------------------------------------------

    def _special(self, sql: str, begun: tuple[Any, ...] | None) -> PgCursor | None:
        """BEGIN IMMEDIATE and the PRAGMAs, which need more than a rewrite (or nothing)."""
        words = sql.split()
        head = words[0].upper() if words else ""
        if head == "BEGIN" and len(words) > 1 and words[1].upper() == "IMMEDIATE":
            # One round trip for the three: the snapshot, taken once the lock is held, is
            # what the `PRAGMA data_version` that follows a writer's BEGIN reads.
            self._queued += [("BEGIN", (), _dropped), (WRITER_LOCK, (), _dropped)]
            try:
                self._begun_snapshot = self._send_with_queue(CURRENT_SNAPSHOT, ()).fetchone()
            except BaseException:  # not begun, as when SQLite's BEGIN IMMEDIATE fails
                if self.in_transaction:
                    self.execute("ROLLBACK")
                raise
            return PgCursor([], -1)
        if head != "PRAGMA":
            return None
        pragma = " ".join(words[1:])
        name, _, value = (part.strip() for part in pragma.partition("="))
        if name == "user_version" and value:
            self.execute(
                "INSERT INTO carbon_schema_version(id, version) VALUES (0, ?)"
                " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                (int(value),),
            )
            return PgCursor([], 1)
        if name == "user_version":
            return self.execute(
                "SELECT COALESCE((SELECT version FROM carbon_schema_version WHERE id = 0), 0)"
            )
        if name == "data_version":
            snapshot = begun or self.execute(CURRENT_SNAPSHOT).fetchone()
            assert snapshot is not None
            if snapshot[0] != self._snapshot:
                self._snapshot = snapshot[0]
                self._data_version += 1
            return PgCursor([(self._data_version,)], 1)
        table_info = re.fullmatch(r"table_info\((\w+)\)", name)
        if table_info:
            return self.execute(
                "SELECT ordinal_position - 1, column_name, data_type"
                " FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?"
                " AND column_name <> 'rowid' ORDER BY ordinal_position",
                (table_info.group(1),),
            )
        return PgCursor([], -1)  # SQLite's file tuning: PostgreSQL configures its own

    def _replace_to_upsert(self, statement: str) -> str:
        found = re.match(r"INSERT OR REPLACE INTO\s+(\w+)\s*\(([^)]*)\)", statement)
        if found is None:
            raise sqlite3.ProgrammingError(f"INSERT OR REPLACE without columns: {statement}")
        table, columns = found.group(1), [c.strip() for c in found.group(2).split(",")]
        key = self._primary_key(table)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        body = "INSERT INTO" + statement[len("INSERT OR REPLACE INTO") :]
        return f"{body} ON CONFLICT ({', '.join(key)}) {action}"

    def _primary_key(self, table: str) -> list[str]:
        if table not in self._primary_keys:
            rows = self._conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = to_regclass(%s) AND i.indisprimary"
                " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                (table,),
            ).fetchall()
            if not rows:
                raise sqlite3.OperationalError(f"no table {table} with a primary key")
            self._primary_keys[table] = [str(r[0]) for r in rows]
        return self._primary_keys[table]


def _dropped() -> None:
    """What a weak reference gives once its object is gone: for a statement nobody reads."""
    return None


_DEFERRABLE = frozenset({"INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE"})
# Statements tried again on a new session when the session is lost outside a transaction.
_REDOABLE = frozenset({"BEGIN", "SELECT", "PRAGMA"})


def _finished(cursor: psycopg.Cursor[Any]) -> PgCursor:
    if cursor.description is None:
        return PgCursor([], cursor.rowcount)
    description = [(column.name, *(None,) * 6) for column in cursor.description]
    return PgCursor(cursor.fetchall(), cursor.rowcount, description)


@contextmanager
def _as_sqlite_errors() -> Iterator[None]:
    """psycopg's errors as the sqlite3 classes the storage's callers catch."""
    try:
        yield
    except psycopg.IntegrityError as exc:
        raise sqlite3.IntegrityError(str(exc)) from exc
    except (psycopg.ProgrammingError, psycopg.DataError) as exc:
        raise sqlite3.ProgrammingError(str(exc)) from exc
    except psycopg.Error as exc:
        raise sqlite3.OperationalError(str(exc)) from exc


# -- the dialect --------------------------------------------------------------------------

_LITERAL_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")
_DDL = re.compile(r"^\s*(CREATE\s+(TEMP\s+)?TABLE|ALTER\s+TABLE)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """One statement of the storage's SQLite dialect in PostgreSQL's (see the module)."""
    text = re.sub(r"^\s*--[^\n]*$", "", sql, flags=re.MULTILINE).strip().rstrip(";")
    head = text.split(None, 1)[0].upper() if text else ""
    if head == "BEGIN" and text.upper() == "BEGIN":
        return "BEGIN ISOLATION LEVEL REPEATABLE READ"
    if _DDL.match(text):
        text = _ddl_types(text)
    text = re.sub(r"\bsqlite_master\b", _SQLITE_MASTER, text)
    text = re.sub(r"\btemp\.", "pg_temp.", text)
    text = re.sub(r"\bLIMIT \?", "LIMIT NULLIF(GREATEST(?, -1), -1)", text)
    text = re.sub(r"\bCROSS JOIN(\s+\w+\s+\w+\s+ON)\b", r"JOIN\1", text)
    if re.match(r"INSERT\s+OR\s+IGNORE\b", text, re.IGNORECASE):
        text = re.sub(r"^INSERT\s+OR\s+IGNORE", "INSERT", text, flags=re.IGNORECASE)
        text += " ON CONFLICT DO NOTHING"
    text = re.sub(r"^INSERT\s+OR\s+REPLACE", "INSERT OR REPLACE", text, flags=re.IGNORECASE)
    return _LITERAL_OR_MARK.sub(_mark, text)


_SQLITE_MASTER = (
    "(SELECT 'table' AS type, tablename AS name FROM pg_tables"
    " WHERE schemaname = current_schema()) AS sqlite_master"
)


def _mark(found: re.Match[str]) -> str:
    token = found.group(0)
    if token == "?":
        return "%s"
    return token.replace("%", "%%")


def _ddl_types(text: str) -> str:
    temporary = re.match(r"\s*CREATE\s+TEMP\b", text, re.IGNORECASE) is not None
    if not temporary:
        text = re.sub(
            r"\bINTEGER PRIMARY KEY\b",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            text,
            flags=re.IGNORECASE,
        )
    text = re.sub(r"\bINTEGER\b", "BIGINT", text, flags=re.IGNORECASE)
    text = re.sub(r"\bBLOB\b", "BYTEA", text, flags=re.IGNORECASE)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text, flags=re.IGNORECASE)
    text = re.sub(r"\)\s*WITHOUT ROWID\s*$", ")", text, flags=re.IGNORECASE)
    created = re.match(
        r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)", text, re.IGNORECASE
    )
    if created is not None and created.group(1) in ROWID_TABLES:
        text = text.rstrip()[:-1] + ", rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE)"
    return text
