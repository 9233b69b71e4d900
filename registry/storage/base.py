"""The storage layer's foundation: opening a registry file, transactions, shared helpers.

Only `registry.storage` knows SQL. A `Store` is one SQLite connection (WAL mode,
`synchronous=FULL`) to one registry file, or, given a `postgresql://` URL, one PostgreSQL
connection that takes the same SQL (`postgres.py`, docs/postgresql.md). It is split by
concern into the modules of this package (events, ledger tables, MRV tables, bridge
tables, read models); the Merkle tiles, anchors and service tables have table classes of
their own over the same connection.

Opening. A writable Store creates a new file (mode 0600: it holds webhook secrets and raw
evidence) with the latest schema, and refuses a file of an older schema until
`carbon-registry migrate` has upgraded it (`schema.py`). A read-only Store (`read_only=True`)
never writes, not even the WAL index: it works on a file in a directory it cannot write and
leaves an empty file empty.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from registry.errors import NotInitialisedError, SchemaVersionError, ValidationError
from registry.storage import schema
from registry.storage.connection import Connection
from registry.storage.postgres import PgConnection, is_url, redacted

if TYPE_CHECKING:
    from registry.storage.events import EventsTables

STATUSES = ("active", "retired", "cancelled", "locked")
# The folder of the files that belong to a registry on PostgreSQL (keys, embedded chain).
HOME_ENV = "CARBON_REGISTRY_HOME"
CACHE_KIB = 64 * 1024

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
    "offers": ("merchant", "offer_id"),
    "redemptions": ("seq",),
    "community_members": ("community", "member"),
}


# Personal tables that replay rebuilds from the log and the vault (not state: erasable).
PRIVATE_TABLES: dict[str, tuple[str, ...]] = {"private_activities": ("activity_key",)}


# Row ids that only name a row (ranges are keyed by batch and first serial); two stores that
# hold the same state may number their rows differently.
SURROGATE: dict[str, tuple[str, ...]] = {"holdings": ("id",)}


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


def create_private(path: str) -> None:
    """Create `path` empty, readable and writable by its owner only, unless it exists.
    SQLite gives the -wal and -shm files the database file's permissions."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        return
    os.close(fd)


def connect_read_only(path: str) -> sqlite3.Connection:
    """A connection that never writes. A WAL file in a directory this process cannot write
    has no WAL index to open: it is then read as it is on disk (`immutable`)."""
    uri = f"file:{quote(path)}"
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=30.0)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    return conn


def migrate_file(
    path: str | Path, on_step: Callable[[schema.Migration], None] | None = None
) -> tuple[int, list[schema.Migration]]:
    """Bring the registry file (or PostgreSQL database) at `path` to the latest schema;
    returns the version it had and the steps applied. Refuses one that holds no registry."""
    location = str(path)
    if not is_url(location) and not Path(path).is_file():
        raise NotInitialisedError(f"no registry at {path}")
    conn = connect(location)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).fetchone()
        if found is None:
            raise NotInitialisedError(f"{display(location)} holds no registry")
        before = schema.version_of(conn)
        if before > schema.LATEST:
            raise SchemaVersionError(
                f"{display(location)} has schema version {before}, newer than this program's"
                f" {schema.LATEST}"
            )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        applied = schema.migrate(conn, on_step)
    finally:
        conn.close()
    if not is_url(location):
        tighten_permissions(location)
    return before, applied


def connect(location: str, *, read_only: bool = False) -> Connection:
    """A connection to a registry: a PostgreSQL URL opens PostgreSQL, anything else is a
    SQLite file. The storage's SQL is SQLite's; `PgConnection` offers the calls the storage
    makes (`Connection`) and translates each statement."""
    if is_url(location):
        return PgConnection(location, read_only=read_only)
    if read_only:
        return connect_read_only(location)
    return sqlite3.connect(location, isolation_level=None, timeout=30.0)


def beside(db: str | Path, suffix: str, setting: str | None = None) -> Path:
    """A file that belongs to the registry at `db` (a key, the embedded chain): beside a
    registry file, `DB<suffix>`; for a registry on PostgreSQL, which has no "beside",
    `registry<suffix>` in the folder named by CARBON_REGISTRY_HOME. `setting` names the
    variable that makes the file unnecessary, for the message when neither is set."""
    location = str(db)
    if not is_url(location):
        return Path(location + suffix)
    home = os.environ.get(HOME_ENV)
    if not home:
        instead = f" (or {setting})" if setting else ""
        raise ValidationError(
            f"a registry on PostgreSQL keeps its {suffix} file in the folder {HOME_ENV}:"
            f" set it{instead}"
        )
    return Path(home) / f"registry{suffix}"


def registry_exists(location: str) -> bool:
    """Whether `location` (a file or a PostgreSQL URL) holds a registry's tables."""
    if not is_url(location):
        return Path(location).is_file()
    conn = connect(location, read_only=True)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).fetchone()
    finally:
        conn.close()
    return found is not None


def display(location: str) -> str:
    """A registry's location for messages: a URL without its password."""
    return redacted(location) if is_url(location) else location


def tighten_permissions(path: str) -> None:
    """Files of the first release were created readable by everyone: owner only now."""
    try:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        pass  # not ours to change: the operator can fix it by hand


class StoreBase:
    """One registry database. Not thread-safe: one Store per thread or process.

    `create=False` opens only a file that already holds a registry (a command that writes
    into a registry must not turn an empty file into one); `read_only=True` never writes.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        read_only: bool = False,
        create: bool = True,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.on_postgres = is_url(self.path)
        self._create = create and not read_only
        if not read_only and not self.on_postgres and self.path != ":memory:":
            if self._create:
                create_private(self.path)
            elif not Path(self.path).is_file():
                raise NotInitialisedError(f"no registry at {self.path}")
        self.conn = connect(self.path, read_only=read_only)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self._depth = 0
        self._next_seq: int | None = None
        self.history: EventsTables | None = None  # see EventsTables.event_body
        # The details beside the committed batch being decided (one per record, None where
        # erased): set by the ledger or by replay around one decision, never stored.
        self.private_inputs: list[dict[str, Any] | None] | None = None
        # The Unix second of the event being decided (its logged time): set by the ledger
        # or by replay around one decision, so that a decision judged by the clock (an
        # offer's end) is the same on replay.
        self.decision_time: int | None = None
        # Accounts and asset classes are never removed, so a row once seen stays valid,
        # except an erased person's household link: another connection's erasure makes the
        # cached accounts stale (`_drop_stale_accounts`, by SQLite's data_version).
        self._accounts: dict[str, dict[str, Any]] = {}
        self._data_version: int | None = None
        self._asset_classes: dict[str, dict[str, Any]] = {}
        # Holdings just read by `active_holdings`, so that applying the ranges picked from
        # them does not read them again; a holding that changes is dropped from it.
        self._picked: dict[int, dict[int, Holding]] = {}  # batch -> id -> holding
        self._range_rule: int | None = None  # `range_rule`, read once
        # Nonces of the write transaction's group read in one query (`read_nonces_ahead`):
        # whether each is used, so that `claim_nonce` decides it without a query.
        self._nonces_ahead: dict[tuple[str, int], bool] = {}
        # Nonces claimed by the write transaction, a set a savepoint level: inserted in one
        # statement before COMMIT (`_insert_claimed_nonces`), dropped with their savepoint.
        self._claimed_nonces: list[set[tuple[str, int]]] = []
        # Active holdings of the write transaction's group by (owner, asset class), read in
        # one query (`read_holdings_ahead`) and kept exact through its changes.
        self._active_ahead: dict[tuple[str, str], list[Holding]] = {}
        self._ahead_by_id: dict[int, Holding] = {}
        self._ahead_partial: set[tuple[str, str]] = set()  # pairs with holdings not read
        try:
            self._open(synchronous)
        except BaseException:
            self.conn.close()
            raise

    def _open(self, synchronous: str) -> None:
        """Check the file before writing anything to it: a new file gets the latest schema,
        an existing one must already have it."""
        has_events = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).fetchone()
        if has_events is None and not self._create:
            raise NotInitialisedError(f"{display(self.path)} holds no registry")
        if not self.read_only:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute(f"PRAGMA synchronous = {synchronous}")
        # Ingestion probes through temporary tables; the indexes of random keys (salts,
        # commitments) want more than the default 2 MB of page cache.
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # Checkpoint the write-ahead log every 40 MB, not 4: a page written by many batches
        # is copied back once.
        self.conn.execute("PRAGMA wal_autocheckpoint = 10000")
        if has_events is None:
            schema.migrate(self.conn)
            return
        version = schema.version_of(self.conn)
        if version < schema.LATEST:
            raise SchemaVersionError(
                f"{display(self.path)} has schema version {version}; this program needs version"
                f" {schema.LATEST}: back it up, then run `carbon-registry migrate`"
            )
        if version > schema.LATEST:
            raise SchemaVersionError(
                f"{display(self.path)} has schema version {version}, newer than this program's"
                f" {schema.LATEST}: upgrade carbon-registry"
            )

    def close(self) -> None:
        self.conn.close()

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one state of the database (inside a write, that write's state)."""
        if self._depth > 0 or self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction; nested calls become savepoints that roll back alone."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
            self._next_seq = None  # another process may have appended since our last write
            self._picked.clear()
            self._nonces_ahead.clear()  # another process may have claimed them since
            self._forget_holdings_ahead()
            self._drop_stale_accounts()
            self._claimed_nonces = [set()]
        else:
            self.conn.execute(f"SAVEPOINT sp{self._depth}")
            self._claimed_nonces.append(set())
        self._depth += 1
        try:
            yield
            if self._depth > 1:
                self.conn.execute(f"RELEASE sp{self._depth - 1}")
                released = self._claimed_nonces.pop()
                self._claimed_nonces[-1] |= released
            else:
                self._insert_claimed_nonces()
        except BaseException:
            self._depth -= 1
            self._claimed_nonces.pop()
            self._forget_uncommitted()
            # Unless already rolled back whole (SQLite after a full disk; `PgConnection` when
            # a write of an earlier, released savepoint fails).
            if self.conn.in_transaction:
                if self._depth == 0:
                    self.conn.execute("ROLLBACK")
                else:
                    self.conn.execute(f"ROLLBACK TO sp{self._depth}")
                    self.conn.execute(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self.conn.execute("COMMIT")
            except BaseException:  # a full disk or an I/O error: nothing was committed
                self._forget_uncommitted()
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _insert_claimed_nonces(self) -> None:
        claimed = sorted(self._claimed_nonces[0])
        self._claimed_nonces[0].clear()
        for chunk in chunks(claimed, MAX_PARAMETERS // 2):
            self.conn.execute(
                f"INSERT INTO nonces(signer, nonce) VALUES {pairs_of_marks(len(chunk))}",
                [value for pair in chunk for value in pair],
            )

    def _drop_stale_accounts(self) -> None:
        """Forget cached accounts when another connection changed the database since."""
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._data_version:
            self._accounts.clear()
            self._data_version = version

    def _forget_holdings_ahead(
        self, owner: str | None = None, asset_class: str | None = None
    ) -> None:
        """Forget the holdings read ahead: all, or an owner's (of one asset class)."""
        if owner is None:
            self._active_ahead.clear()
            self._ahead_by_id.clear()
            self._ahead_partial.clear()
            return
        pairs = (
            [p for p in self._active_ahead if p[0] == owner]
            if asset_class is None
            else [(owner, asset_class)]
        )
        for pair in pairs:
            for holding in self._active_ahead.pop(pair, ()):
                self._ahead_by_id.pop(holding.id, None)
            self._ahead_partial.discard(pair)

    def forget_account(self, address: str) -> None:
        """A cached account row that this connection just changed."""
        self._accounts.pop(address, None)

    def _forget_uncommitted(self) -> None:
        """After a rollback, cached rows may be ones that were never committed."""
        self._next_seq = None
        self._picked.clear()
        self._range_rule = None
        self._nonces_ahead.clear()
        self._forget_holdings_ahead()
        self._accounts.clear()
        self._asset_classes.clear()

    @property
    def range_rule(self) -> int:
        """The serial-range rule the genesis fixed (`handlers.common.pick_ranges`); a
        registry whose genesis names none (written before rule 2) follows rule 1."""
        if self._range_rule is None:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'range_rule'").fetchone()
            self._range_rule = 1 if row is None else int(row[0])
        return self._range_rule

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        self._range_rule = None
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(values.items())
        )

    def insert_row(self, table: str, row: dict[str, Any]) -> None:
        """Insert `row` (column -> scalar) into `table`: a plain INSERT, several times faster
        than sqlite-utils' `insert`, which reads the table's schema every call."""
        columns = ", ".join(row)
        self.conn.execute(
            f"INSERT INTO {table}({columns}) VALUES ({marks(list(row))})", list(row.values())
        )

    def dump(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a state (or private) table, without its surrogate row id, in key
        order."""
        key = STATE_TABLES.get(table) or PRIVATE_TABLES[table]
        columns = self.columns(table)
        cursor = self.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(key)}"
        )
        return [tuple(row) for row in cursor]

    def columns(self, table: str) -> list[str]:
        """The columns of a state table that carry state (not SURROGATE row ids)."""
        skip = SURROGATE.get(table, ())
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})") if r[1] not in skip]


# SQLite allows 32,766 bound parameters a statement; queries over many keys go in chunks.
MAX_PARAMETERS = 30_000


def chunks(items: list[Any], size: int = MAX_PARAMETERS // 2) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def pairs_of_marks(count: int) -> str:
    """`(?, ?), (?, ?), ...`: the rows of a VALUES list of `count` pairs."""
    return ", ".join(["(?, ?)"] * count)


def equal_filters(*pairs: tuple[str, str | None]) -> tuple[list[str], list[Any]]:
    """`column = ?` conditions for the filters that are set (column names are constants)."""
    where = [f"{column} = ?" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]
