"""The anchoring worker: Merkle log sync, checkpoints, anchors, confirmations, reorgs.

State lives in table `anchor_checkpoints` (one row per checkpoint, keyed by tree size), so a
restarted worker carries on where it stopped:

    signed    -> the checkpoint is cut and signed; no transaction yet
    sent      -> a transaction was signed and RECORDED BEFORE it was broadcast (its hash and
                 raw bytes are known), so a crash between sending and confirming loses
                 nothing: on restart the same raw transaction (same nonce) is looked up or
                 broadcast again, and a nonce can be mined only once, so nothing is anchored
                 twice
    confirmed -> mined with enough confirmations; tx hash, block number and block hash kept

Checkpoints are anchored one after another in tree-size order; each anchor carries the
consistency proof from the size the contract holds at that moment. Every step re-reads the
block hash at the height of recent anchors: a reorg that dropped a transaction sends the
checkpoint back to `sent` (rebroadcast) or `signed` (a new transaction).

The worker writes only its own tables (`anchor_*`, `merkle_*`) and reads the event log
through `EventSource`, the narrow interface the registry's Store provides.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from anchoring.chain import Chain, ChainError, ChainUnavailableError
from anchoring.checkpoint import Checkpoint, SignedCheckpoint
from anchoring.merkle import MerkleLog, leaf_hash
from registry.eip712 import Domain

log = logging.getLogger("carbon_registry.anchoring")

SYNC_BATCH = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS anchor_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    checkpoint_hash BLOB NOT NULL,
    signer TEXT NOT NULL,
    signature TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('signed', 'sent', 'confirmed')),
    tx_hash BLOB,
    raw_tx BLOB,
    block_number INTEGER,
    block_hash BLOB,
    chain_id INTEGER,
    contract TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    confirmed_at REAL
)
"""


class EventSource(Protocol):
    """What the anchoring side needs from the registry's log, and nothing more."""

    def event_rows(
        self, after: int = -1, limit: int | None = None
    ) -> Iterator[tuple[int, str, str, bytes]]: ...

    def event_count(self) -> int: ...


class HistoryDivergedError(ChainError):
    """The chain holds a root for a size that our log gives another root: stop everything."""


@dataclass(frozen=True)
class AnchorPolicy:
    """When to cut checkpoints and how sure to be before calling an anchor confirmed."""

    max_pending_events: int = 1_000
    max_age_s: float = 30.0
    confirmations: int = 1
    reorg_window_blocks: int = 64
    poll_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(frozen=True)
class CheckpointRow:
    signed: SignedCheckpoint
    checkpoint_hash: bytes
    status: str
    tx_hash: bytes | None
    raw_tx: bytes | None
    block_number: int | None
    block_hash: bytes | None
    chain_id: int | None
    contract: str | None

    @property
    def tree_size(self) -> int:
        return self.signed.checkpoint.tree_size


_ROW_COLUMNS = (
    "tree_size, root_hash, timestamp, signer, signature, checkpoint_hash, status, tx_hash,"
    " raw_tx, block_number, block_hash, chain_id, contract"
)


def _blob(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


class CheckpointStore:
    """The worker's table of checkpoints, on the registry's SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, log_id: str) -> None:
        self.conn = conn
        self.log_id = log_id
        conn.execute(_SCHEMA)

    def _row(self, values: tuple[Any, ...]) -> CheckpointRow:
        size, root, ts, signer, signature, cp_hash, status, tx, raw, bn, bh, chain_id, contract = (
            values
        )
        signed = SignedCheckpoint(Checkpoint(self.log_id, size, bytes(root), ts), signer, signature)
        return CheckpointRow(
            signed, bytes(cp_hash), status, _blob(tx), _blob(raw), bn, _blob(bh), chain_id, contract
        )

    def _select(
        self, where: str = "", args: tuple[Any, ...] = (), limit: int = -1
    ) -> list[CheckpointRow]:
        rows = self.conn.execute(
            f"SELECT {_ROW_COLUMNS} FROM anchor_checkpoints {where} ORDER BY tree_size LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [self._row(tuple(r)) for r in rows]

    def all(self) -> list[CheckpointRow]:
        return self._select()

    def unconfirmed(self) -> list[CheckpointRow]:
        return self._select("WHERE status != 'confirmed'")

    def confirmed_since(self, block_number: int) -> list[CheckpointRow]:
        return self._select("WHERE status = 'confirmed' AND block_number >= ?", (block_number,))

    def get(self, tree_size: int) -> CheckpointRow | None:
        rows = self._select("WHERE tree_size = ?", (tree_size,))
        return rows[0] if rows else None

    def covering(self, index: int, *, confirmed_only: bool) -> CheckpointRow | None:
        """The smallest checkpoint whose tree contains leaf `index`."""
        status = "AND status = 'confirmed'" if confirmed_only else ""
        rows = self._select(f"WHERE tree_size > ? {status}", (index,), limit=1)
        return rows[0] if rows else None

    def last_size(self) -> int:
        row = self.conn.execute(
            "SELECT COALESCE(MAX(tree_size), 0) FROM anchor_checkpoints"
        ).fetchone()
        return int(row[0])

    def insert(self, signed: SignedCheckpoint, checkpoint_hash: bytes, now: float) -> None:
        cp = signed.checkpoint
        with _transaction(self.conn):
            self.conn.execute(
                "INSERT INTO anchor_checkpoints(tree_size, root_hash, timestamp, checkpoint_hash,"
                " signer, signature, status, created_at) VALUES (?,?,?,?,?,?, 'signed', ?)",
                (
                    cp.tree_size,
                    cp.root_hash,
                    cp.timestamp,
                    checkpoint_hash,
                    signed.signer,
                    signed.signature,
                    now,
                ),
            )

    def update(self, tree_size: int, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        with _transaction(self.conn):
            self.conn.execute(
                f"UPDATE anchor_checkpoints SET {sets} WHERE tree_size = ?",
                (*fields.values(), tree_size),
            )

    def back_to_signed(self, tree_size: int) -> None:
        with _transaction(self.conn):
            self.conn.execute(
                "UPDATE anchor_checkpoints SET status = 'signed', tx_hash = NULL, raw_tx = NULL,"
                " block_number = NULL, block_hash = NULL, attempts = attempts + 1 WHERE tree_size = ?",
                (tree_size,),
            )


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class AnchorWorker:
    """Keeps the Merkle log in step with the event log and anchors its checkpoints."""

    def __init__(
        self,
        events: EventSource,
        conn: sqlite3.Connection,
        *,
        log_id: str,
        domain: Domain,
        operator_key: bytes,
        operator: str,
        chain: Chain,
        policy: AnchorPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.events = events
        self.conn = conn
        self.tree = MerkleLog(conn)
        self.checkpoints = CheckpointStore(conn, log_id)
        self.log_id = log_id
        self.domain = domain
        self.key = operator_key
        self.operator = operator
        self.chain = chain
        self.policy = policy or AnchorPolicy()
        self.clock = clock
        self._last_cut = clock()
        # Called first in every step, e.g. the bridge watcher that records token burns.
        self.watchers: list[Callable[[], object]] = []

    # -- start ------------------------------------------------------------------------------

    def attach(self) -> None:
        """Bind the contract; on the embedded chain deploy it first and re-anchor everything."""
        contract = self.domain.verifying_contract
        if self.chain.embedded:
            self.chain.fund(self.operator)
            address = self.chain.deploy_anchor(self.key, self.operator, self.operator)
            if address != contract:
                raise ChainError(
                    f"the embedded chain deployed RegistryAnchor at {address}, but this registry "
                    f"was initialised for {contract}: its operator key sent other transactions first"
                )
            stored = self.checkpoints.all()
            for row in stored:
                self.checkpoints.back_to_signed(row.tree_size)
            log.warning(
                "embedded chain: deployed RegistryAnchor at %s; its state is not persistent, "
                "so %d stored checkpoint(s) are re-anchored now",
                address,
                len(stored),
            )
            return
        if not self.chain.has_code(contract):
            raise ChainError(
                f"no RegistryAnchor contract at {contract} on {self.chain.description}"
            )
        self.chain.bind(contract)

    # -- one step -----------------------------------------------------------------------------

    def sync_tree(self) -> int:
        """Append the leaf hashes of events not yet in the Merkle log; returns the tree size."""
        size = self.tree.size
        while True:
            rows = list(self.events.event_rows(size - 1, SYNC_BATCH))
            if not rows:
                return size
            if rows[0][0] != size:
                raise ChainError(f"event log has a gap at seq {size}")
            size = self.tree.append([leaf_hash(body) for _, _, _, body in rows])

    def cut_if_due(self, *, force: bool = False) -> SignedCheckpoint | None:
        """Sign a checkpoint of the whole tree when enough events or time have accumulated."""
        size = self.tree.size
        pending = size - self.checkpoints.last_size()
        now = self.clock()
        due = pending >= self.policy.max_pending_events or (
            pending > 0 and now - self._last_cut >= self.policy.max_age_s
        )
        if pending <= 0 or not (due or force):
            return None
        checkpoint = Checkpoint(self.log_id, size, self.tree.root(size), int(now))
        signed = checkpoint.sign(self.key, self.domain, self.operator)
        self.checkpoints.insert(signed, checkpoint.digest(self.domain), now)
        self._last_cut = now
        log.info("checkpoint %d signed, root %s", size, checkpoint.root_hash.hex())
        return signed

    def step(self, *, force_checkpoint: bool = False) -> bool:
        """Sync, maybe cut, move anchors forward, check reorgs. True when all is confirmed."""
        for watch in self.watchers:
            watch()
        self.sync_tree()
        self.cut_if_due(force=force_checkpoint)
        self.check_reorgs()
        return all(self._advance(row) for row in self.checkpoints.unconfirmed())

    def _advance(self, row: CheckpointRow) -> bool:
        """Move one checkpoint forward; True when it is confirmed (the next may go)."""
        if row.status == "signed":
            self._send(row)
            return False
        assert row.tx_hash is not None and row.raw_tx is not None
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is None:
            self._resend(row)
            return False
        if receipt["status"] != 1:
            self._after_revert(row)
            return False
        block_number, block_hash = int(receipt["blockNumber"]), bytes(receipt["blockHash"])
        confirmations = self.chain.head() - block_number + 1
        if confirmations < self.policy.confirmations:
            self.checkpoints.update(row.tree_size, block_number=block_number, block_hash=block_hash)
            if self.chain.embedded:  # nobody else produces blocks on the embedded chain
                self.chain.mine(self.policy.confirmations - confirmations)
            return False
        self.checkpoints.update(
            row.tree_size,
            status="confirmed",
            block_number=block_number,
            block_hash=block_hash,
            confirmed_at=self.clock(),
        )
        log.info(
            "checkpoint %d anchored in block %d (tx %s)",
            row.tree_size,
            block_number,
            row.tx_hash.hex(),
        )
        return True

    def _send(self, row: CheckpointRow) -> None:
        size, root = row.tree_size, row.signed.checkpoint.root_hash
        on_chain = self.chain.root_at(size)
        if on_chain == root:
            self._adopt_existing(row)
            return
        if on_chain != bytes(32):
            raise HistoryDivergedError(
                f"chain holds root {on_chain.hex()} for size {size}, our log has {root.hex()}"
            )
        chain_size, chain_root = self.chain.latest()
        if chain_size >= size:
            raise HistoryDivergedError(
                f"chain is anchored at size {chain_size} >= {size} without our checkpoint {size}"
            )
        if chain_size and self.tree.root(chain_size) != chain_root:
            raise HistoryDivergedError(
                f"chain root at size {chain_size} is {chain_root.hex()}, our log says "
                f"{self.tree.root(chain_size).hex()}"
            )
        proof = self.tree.consistency_proof(chain_size, size) if chain_size else []
        nonce = self.chain.nonce(self.operator)
        raw, tx_hash = self.chain.anchor_transaction(
            self.key, nonce, size, root, row.checkpoint_hash, proof
        )
        # Recorded before broadcasting: a crash now leaves a transaction we can find or resend.
        self.checkpoints.update(
            size,
            status="sent",
            tx_hash=tx_hash,
            raw_tx=raw,
            chain_id=self.chain.chain_id,
            contract=self.chain.anchor_address,
        )
        try:
            self.chain.broadcast(raw)
        except ChainUnavailableError:
            raise  # stays `sent`: the same transaction is looked up or resent next step
        except ChainError as exc:
            log.warning("checkpoint %d: node refused the anchor (%s); signing anew", size, exc)
            self.checkpoints.back_to_signed(size)
            return
        log.info("checkpoint %d sent (tx %s, %d proof hashes)", size, tx_hash.hex(), len(proof))

    def _adopt_existing(self, row: CheckpointRow) -> None:
        """The chain already holds our root for this size (a previous run sent it)."""
        record = self.chain.find_anchor(row.tree_size)
        if record is None:
            raise ChainError(f"root of size {row.tree_size} is on chain but its event is not")
        self.checkpoints.update(
            row.tree_size,
            status="sent",
            tx_hash=record.tx_hash,
            raw_tx=b"",
            chain_id=self.chain.chain_id,
            contract=self.chain.anchor_address,
        )

    def _resend(self, row: CheckpointRow) -> None:
        """No receipt: the transaction is pending, was never broadcast, or a reorg dropped it."""
        assert row.tx_hash is not None and row.raw_tx is not None
        if self.chain.root_at(row.tree_size) == row.signed.checkpoint.root_hash:
            self._adopt_existing(row)
            return
        if not row.raw_tx:
            self.checkpoints.back_to_signed(row.tree_size)
            return
        try:
            self.chain.broadcast(row.raw_tx)
            log.warning(
                "checkpoint %d: transaction %s rebroadcast", row.tree_size, row.tx_hash.hex()
            )
        except ChainUnavailableError:
            raise
        except ChainError as exc:  # nonce already used by another transaction, fees changed...
            log.warning("checkpoint %d: rebroadcast refused (%s); signing anew", row.tree_size, exc)
            self.checkpoints.back_to_signed(row.tree_size)

    def _after_revert(self, row: CheckpointRow) -> None:
        if self.chain.root_at(row.tree_size) == row.signed.checkpoint.root_hash:
            self._adopt_existing(row)
            return
        log.warning("checkpoint %d: anchor transaction reverted; signing anew", row.tree_size)
        self.checkpoints.back_to_signed(row.tree_size)

    def check_reorgs(self) -> None:
        """Re-read the block hash at each recent anchor's height; a change means a reorg."""
        head = self.chain.head()
        for row in self.checkpoints.confirmed_since(max(0, head - self.policy.reorg_window_blocks)):
            assert row.block_number is not None
            if self.chain.block_hash(row.block_number) == row.block_hash:
                continue
            log.warning(
                "checkpoint %d: block %d changed (reorg); anchoring again",
                row.tree_size,
                row.block_number,
            )
            self.checkpoints.update(
                row.tree_size, status="sent", block_number=None, block_hash=None
            )
        # Later anchors cannot stand without earlier ones: re-check everything after a reorg.

    # -- loops ----------------------------------------------------------------------------------

    def run_once(self, timeout_s: float = 60.0) -> list[CheckpointRow]:
        """Checkpoint everything logged so far and wait until all checkpoints are confirmed."""
        deadline = time.monotonic() + timeout_s
        force = True
        while not self.step(force_checkpoint=force):
            force = False
            if time.monotonic() > deadline:
                raise ChainError(f"anchors not confirmed within {timeout_s:.0f} s")
            time.sleep(0 if self.chain.embedded else self.policy.poll_s)
        return self.checkpoints.all()

    def run_forever(self, stop: Callable[[], bool]) -> None:
        """Step until `stop()`; back off exponentially while the RPC is down."""
        backoff = self.policy.poll_s
        while not stop():
            try:
                self.step()
                backoff = self.policy.poll_s
            except HistoryDivergedError:
                log.exception("history diverged from the chain: stopping the worker")
                raise
            except ChainError as exc:  # RPC down, or a refusal worth retrying later
                log.warning("chain: %s; retrying in %.1f s", exc, backoff)
                backoff = min(backoff * 2, self.policy.max_backoff_s)
            _sleep_until(stop, backoff)


def _sleep_until(stop: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.05, seconds))
