"""A persistent, crash-safe embedded EVM chain: eth-tester + py-evm stored in one SQLite file.

`Web3(EthereumTesterProvider())` keeps its whole chain in a Python dict and loses it when the
process exits. `PersistentEVM(path)` gives the same `Web3` interface (same chain id
131277322940537, same pre-funded test accounts, same fork rules: eth-tester's default
`PragueVM` tester chain) but keeps every byte py-evm stores in the SQLite file at `path`:

    evm = PersistentEVM(Path("registry.db.chain"))   # creates genesis, or re-opens the chain
    evm.w3.eth.send_transaction({...})                # mined and durably on disk on return
    evm.close()

Design
------
py-evm keeps everything (headers, bodies, receipts, transaction lookups, state-trie nodes with
code, storage, balances and nonces, the canonical head pointer) in one key-value database
behind the `AtomicDatabaseAPI` interface. `SQLiteKV` implements that interface on a table
`kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID`, but py-evm's writes only go to an
in-memory overlay (reads see the overlay first). The overlay is written to SQLite in ONE
transaction, `SQLiteKV.commit`, and that happens only at points where the in-memory chain is
consistent: at the end of `mine_blocks` (which eth-tester's auto-mining calls inside every
`send_transaction` / `send_raw_transaction`, so a send returns only after its block is on
disk), after `revert_to_snapshot`, after `apply_withdrawals`, and on `close`. The database
is in WAL mode with `synchronous=FULL`, so a committed transaction survives a SIGKILL (and a
power cut), and an interrupted one is rolled back by SQLite on the next open. A SIGKILL at any
moment therefore leaves the file at the state after some complete `mine_blocks` call: the last
block is either entirely there (header, body, receipts, state, canonical head) or not at all.
Writes made between two commits by transactions applied to the pending block are trie nodes
addressed by their hash, so losing them, or committing them together with a later block, is
harmless; the pending block itself is never stored: it is rebuilt on top of the stored head.

A new file is created in a single SQLite transaction too (tables, genesis, metadata), so a
crash during creation leaves a file without tables, which the next open treats as new.

The file is opened with SQLite's EXCLUSIVE locking mode and kept locked while open: a second
process (or a second `PersistentEVM` on the same file) gets `ChainFileLockedError` instead of
silently forking the chain.

What eth-tester / py-evm needed
-------------------------------
* `PyEVMBackend.__init__` always builds a fresh in-memory genesis; `PersistentPyEVMBackend`
  is given a chain built on `SQLiteKV` instead: `MiningChain.from_genesis(store, ...)` for a
  new file (with eth-tester's own default genesis parameters and accounts), or the chain
  class constructed on the existing database, which sets the pending header on top of the
  stored canonical head. The chain class (chain id, VM schedule, constant gas limit) is taken
  from `setup_tester_chain()` itself, so it is exactly eth-tester's. The tester accounts' keys
  are deterministic (private keys 1..10) and are re-derived the same way.
* `mine_blocks`, `revert_to_snapshot`, `apply_withdrawals`: commit afterwards.
* Block timestamps: py-evm stamps the pending header when it is created, i.e. when the
  previous block was mined, so an idle chain would mine its next block with a stale time.
  Before a transaction is applied to an empty pending block, and before a block is mined,
  the pending timestamp is moved forward to the wall clock (never backwards, so timestamps
  stay strictly increasing, across restarts too, even if the clock steps back).
* `get_transaction_by_hash` / `get_transaction_receipt`: eth-tester scans every block from
  the head down to find a transaction, which grows without bound on a chain that persists;
  they use py-evm's transaction-hash index (maintained for the canonical chain) instead.
* `reset_to_genesis` raises: delete the file to start over.

Caveats (things that do not survive a restart)
----------------------------------------------
eth-tester's filters, snapshot ids, accounts added with `add_account` / personal-API
passwords, and transactions queued while auto-mining is disabled live in memory only. A
pending block is never persisted. `eth_getLogs` still scans the requested block range.

Block timestamps must strictly increase (a consensus rule py-evm enforces, as Hardhat does),
so while blocks are mined faster than one per second the chain time runs ahead of the wall
clock by up to one second per extra block; it falls back to the wall clock once mining slows.
State is never pruned (an archive node): the file grows by roughly 1 KB per empty block and
2.5-5.5 KB per block with one contract call.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from eth.abc import AtomicWriteBatchAPI, BlockAPI, SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth.exceptions import CanonicalHeadNotFound, HeaderNotFound
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import (
    PyEVMBackend,
    generate_genesis_state_for_keys,
    get_default_genesis_params,
    setup_tester_chain,
)
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionNotFound
from web3 import EthereumTesterProvider, Web3

from registry.errors import CodedError
from registry.storage.base import create_private

FORMAT = "carbon-registry/persistent-evm/1"
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA = (
    "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class ChainFileError(CodedError):
    """The chain file cannot be used."""

    code = "chain_file"
    status = 500
    title = "The embedded chain's file cannot be used"


class NotAChainFileError(ChainFileError):
    """The file exists but is not a chain database written by this module."""

    code = "not_a_chain_file"
    title = "The file is not a chain database of this registry"


class ChainFileLockedError(ChainFileError):
    """Another connection (usually another process) has the chain file open."""

    code = "chain_file_locked"
    status = 409
    title = "Another process has the chain file open"


class SQLiteKV(BaseAtomicDB):
    """py-evm's key-value database on an SQLite table, with writes buffered until `commit`.

    Not thread-safe by itself: callers serialise access (the project's `Chain.lock`).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        # key -> new value, or None for a deletion; flushed by `commit` in one transaction.
        self._pending: dict[bytes, bytes | None] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ChainFileError("the chain file is closed")
        return self._conn

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def pending_writes(self) -> int:
        return len(self._pending)

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._pending:
            value = self._pending[key]
            if value is None:
                raise KeyError(key)
            return value
        row = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if self._conn is None:
            raise ChainFileError("the chain file is closed")
        self._pending[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[bytes(key)] = None

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        # Same semantics as eth.db.atomic.AtomicDB: the batch reaches the overlay entirely or,
        # if the block raises, not at all (py-evm persists a block inside one such batch).
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction that ends by writing the whole overlay: all of it, or none.

        On failure the overlay is kept (the in-memory chain still reads from it, and the next
        commit retries it); nothing of the failed attempt is on disk.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            upserts = [(k, v) for k, v in self._pending.items() if v is not None]
            deletes = [(k,) for k, v in self._pending.items() if v is None]
            conn.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", upserts)
            conn.executemany("DELETE FROM kv WHERE key = ?", deletes)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._pending.clear()

    def commit(self) -> None:
        """Make every buffered write durable, atomically."""
        if self._pending:
            with self.transaction():
                pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PersistentPyEVMBackend(PyEVMBackend):  # type: ignore[misc]  # eth-tester is untyped
    """eth-tester's py-evm backend on an `SQLiteKV`, committing whenever a block is mined."""

    def __init__(self, store: SQLiteKV, chain: Any, account_keys: tuple[Any, ...]) -> None:
        # PyEVMBackend.__init__ is not called: all it does is build an in-memory genesis.
        self.store = store
        self.chain = chain
        self.account_keys = account_keys

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("a persistent chain cannot be reset; delete its file instead")

    # -- wall-clock timestamps ------------------------------------------------------------

    def _refresh_pending_timestamp(self) -> None:
        """Stamp an empty pending block with the current time (never moving it backwards:
        it is already > the parent's timestamp, and `time_travel` may have set it ahead)."""
        header = self.chain.header
        if header.transaction_root != BLANK_ROOT_HASH:
            return  # transactions already ran with this timestamp; keep it
        now = int(time.time())
        if now > header.timestamp:
            self.chain.header = header.copy(timestamp=now)

    def send_transaction(self, transaction: dict[str, Any]) -> bytes:
        self._refresh_pending_timestamp()
        return bytes(super().send_transaction(transaction))

    def send_signed_transaction(
        self, signed_transaction: Any, block_number: Any = "latest"
    ) -> bytes:
        self._refresh_pending_timestamp()
        return bytes(super().send_signed_transaction(signed_transaction, block_number))

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        self._refresh_pending_timestamp()
        return bytes(super().send_raw_transaction(raw_transaction))

    # -- the commit points ----------------------------------------------------------------

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\x00" * 20) -> tuple[bytes, ...]:
        hashes: list[bytes] = []
        for _ in range(num_blocks):
            self._refresh_pending_timestamp()
            hashes.extend(super().mine_blocks(1, coinbase))
        # One SQLite transaction for all blocks of this call: the caller (a send, or an explicit
        # mine) returns only once they are durable.
        self.store.commit()
        return tuple(hashes)

    def revert_to_snapshot(self, snapshot: bytes) -> None:
        super().revert_to_snapshot(snapshot)
        self.store.commit()  # the canonical head moved: keep the file in step

    def apply_withdrawals(self, withdrawals_list: list[dict[str, int | str]]) -> None:
        self._refresh_pending_timestamp()
        super().apply_withdrawals(withdrawals_list)  # mines a block
        self.store.commit()

    # -- transaction lookups by hash through py-evm's index -------------------------------

    def _find_transaction(
        self, transaction_hash: bytes
    ) -> tuple[BlockAPI, SignedTransactionAPI, int]:
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            number, index = self.chain.chaindb.get_transaction_index(transaction_hash)
            block = self.chain.get_canonical_block_by_number(number)
        except (EVMTransactionNotFound, HeaderNotFound):
            raise TransactionNotFound(
                f"No transaction found for transaction hash: 0x{transaction_hash.hex()}"
            ) from None
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, transaction, index, is_pending, self.chain.get_vm()
        )


class PersistentEVM:
    """An embedded EVM chain stored in the SQLite file `path`; use `.w3`, then `.close()`.

    The first open of a missing (or empty) file creates genesis exactly as
    `EthereumTesterProvider()` does; later opens continue the stored chain. Raises
    `NotAChainFileError` for a file that is not such a chain, `ChainFileLockedError` if another
    connection has it open (after waiting `lock_timeout_s`).
    """

    def __init__(self, path: Path, *, lock_timeout_s: float = 2.0) -> None:
        self.path = Path(path)
        self.store = SQLiteKV(_connect(self.path, lock_timeout_s))
        try:
            chain, keys = _open_chain(self.store, self.path)
        except BaseException:
            self.store.close()
            raise
        self.backend = PersistentPyEVMBackend(self.store, chain, keys)
        self.tester = EthereumTester(backend=self.backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester))

    @property
    def closed(self) -> bool:
        return self.store.closed

    def flush(self) -> None:
        """Commit buffered writes now (mining already does; this is for explicit callers)."""
        self.store.commit()

    def backup_to(self, dest: Path) -> None:
        """A consistent copy of the chain in a new file `dest` (SQLite's online backup, through
        this connection, which holds the file's lock). Commits pending writes first."""
        self.store.commit()
        target = sqlite3.connect(dest)
        try:
            self.store.conn.backup(target)
        finally:
            target.close()

    def close(self) -> None:
        """Flush and release the file (idempotent). The `Web3` object is unusable afterwards."""
        if self.closed:
            return
        try:
            self.store.commit()
        finally:
            self.store.close()

    def __enter__(self) -> PersistentEVM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_persistent_web3(path: Path) -> tuple[Web3, Callable[[], None]]:
    """`Web3` on the persistent chain at `path`, and the function that closes it."""
    evm = PersistentEVM(path)
    return evm.w3, evm.close


# -- opening the file -------------------------------------------------------------------------


def _connect(path: Path, lock_timeout_s: float) -> sqlite3.Connection:
    """Open `path` as SQLite, refusing anything that is not SQLite without touching it."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                raise NotAChainFileError(f"{path} is not a chain database (not an SQLite file)")
    create_private(str(path))  # like the registry's file: its owner's only
    # isolation_level=None: transactions are explicit (BEGIN ... COMMIT), nothing implicit.
    conn = sqlite3.connect(
        path, timeout=lock_timeout_s, isolation_level=None, check_same_thread=False
    )
    try:
        # EXCLUSIVE: the lock taken at first access is kept until close, so one process owns
        # the chain (with WAL, this also means no -shm file; readers in other processes wait).
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")  # take the lock now, before looking at the contents
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise ChainFileLockedError(f"{path} is in use by another process: {exc}") from exc
        raise ChainFileError(f"cannot open {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotAChainFileError(f"{path} is not a chain database: {exc}") from exc
    return conn


def _open_chain(store: SQLiteKV, path: Path) -> tuple[Any, tuple[Any, ...]]:
    """Create genesis in a new file, or rebuild the chain object on the stored database."""
    conn = store.conn
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise NotAChainFileError(f"{path} is not a chain database: {exc}") from exc
    if tables and not {"kv", "meta"} <= tables:
        raise NotAChainFileError(
            f"{path} is an SQLite database but not a chain database (tables: {sorted(tables)})"
        )
    if not tables:
        # Only a file we are about to initialise may be switched to WAL (a persistent setting).
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")

    # eth-tester's own chain class (chain id, VM schedule) and its deterministic test keys;
    # the in-memory genesis chain built alongside them is discarded.
    keys, template = setup_tester_chain()
    chain_class = type(template)
    # The fork schedule is recorded so that a file is never re-opened under other rules.
    vm_name = ",".join(f"{n}:{vm.__name__}" for n, vm in chain_class.vm_configuration)

    if not tables:
        # Tables, genesis and metadata in one transaction: a crash leaves no tables (= new).
        with store.transaction():
            for statement in SCHEMA:
                conn.execute(statement)
            chain = chain_class.from_genesis(
                store, get_default_genesis_params(), generate_genesis_state_for_keys(keys)
            )
            genesis = chain.get_canonical_block_header_by_number(0)
            meta = {
                "format": FORMAT,
                "chain_id": str(chain_class.chain_id),
                "genesis_hash": genesis.hash.hex(),
                "vm": vm_name,
            }
            conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", meta.items())
        return chain, keys

    meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        raise NotAChainFileError(f"{path}: unknown chain file format {meta.get('format')!r}")
    if meta.get("chain_id") != str(chain_class.chain_id) or meta.get("vm") != vm_name:
        raise ChainFileError(
            f"{path} holds chain {meta.get('chain_id')} with {meta.get('vm')}, but the installed "
            f"eth-tester builds chain {chain_class.chain_id} with {vm_name}"
        )
    try:
        # Constructing the MiningChain builds the pending header on top of the stored head.
        chain = chain_class(store)
        genesis = chain.get_canonical_block_header_by_number(0)
    except (CanonicalHeadNotFound, HeaderNotFound) as exc:
        raise ChainFileError(f"{path}: chain database has no canonical chain: {exc}") from exc
    if genesis.hash.hex() != meta.get("genesis_hash"):
        raise ChainFileError(f"{path}: stored genesis does not match the chain metadata")
    return chain, keys
