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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from anchoring.chain import (
    Chain,
    ChainConfigError,
    ChainError,
    ChainIntegrityError,
    ChainUnavailableError,
)
from anchoring.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from anchoring.merkle import MerkleLog, leaf_hash
from registry.eip712 import Domain
from registry.loops import LoopHealth, run_resilient
from registry.storage.anchors import AnchorTable, CheckpointRecord
from registry.storage.connection import Connection

log = logging.getLogger("carbon_registry.anchoring")

SYNC_BATCH = 10_000
EMBEDDED_MIN_BALANCE = 10**18  # wei the operator needs on the embedded chain (1 ether)


class EventSource(Protocol):
    """What the anchoring side needs from the registry's log, and nothing more."""

    def event_rows(
        self, after: int = -1, limit: int | None = None
    ) -> Iterator[tuple[int, str, str, bytes]]: ...

    def event_count(self) -> int: ...


class HistoryDivergedError(ChainIntegrityError):
    """The chain holds a root for a size that our log gives another root: stop everything."""

    code = "history_diverged"
    status = 500
    title = "The log no longer gives the roots anchored on chain"


@dataclass(frozen=True)
class AnchorPolicy:
    """When to cut checkpoints and how sure to be before calling an anchor confirmed."""

    max_pending_events: int = 1_000
    max_age_s: float = 30.0
    confirmations: int = 1
    reorg_window_blocks: int = 64
    poll_s: float = 0.5
    max_backoff_s: float = 30.0
    reanchor_lost_chain: bool = False


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


class CheckpointStore:
    """The worker's checkpoints, as signed checkpoints (`registry.storage.anchors` stores them)."""

    def __init__(self, conn: Connection, log_id: str) -> None:
        self.table = AnchorTable(conn)
        self.log_id = log_id

    def _row(self, r: CheckpointRecord) -> CheckpointRow:
        checkpoint = Checkpoint(self.log_id, r.tree_size, r.root_hash, r.timestamp)
        return CheckpointRow(
            SignedCheckpoint(checkpoint, r.signer, r.signature),
            r.checkpoint_hash,
            r.status,
            r.tx_hash,
            r.raw_tx,
            r.block_number,
            r.block_hash,
            r.chain_id,
            r.contract,
        )

    def _rows(self, records: list[CheckpointRecord]) -> list[CheckpointRow]:
        return [self._row(r) for r in records]

    def all(self) -> list[CheckpointRow]:
        return self._rows(self.table.all())

    def page(self, after: int, limit: int, *, confirmed_only: bool = False) -> list[CheckpointRow]:
        return self._rows(self.table.page(after, limit, confirmed_only=confirmed_only))

    def signers(self) -> list[str]:
        """Every key that signed a stored checkpoint (all operator keys, rotated ones too)."""
        return self.table.signers()

    def unconfirmed(self) -> list[CheckpointRow]:
        return self._rows(self.table.unconfirmed())

    def confirmed_since(self, block_number: int) -> list[CheckpointRow]:
        return self._rows(self.table.confirmed_since(block_number))

    def latest_confirmed(self) -> CheckpointRow | None:
        record = self.table.latest_confirmed()
        return None if record is None else self._row(record)

    def get(self, tree_size: int) -> CheckpointRow | None:
        record = self.table.get(tree_size)
        return None if record is None else self._row(record)

    def covering(self, index: int, *, confirmed_only: bool) -> CheckpointRow | None:
        """The smallest checkpoint whose tree contains leaf `index`."""
        record = self.table.covering(index, confirmed_only=confirmed_only)
        return None if record is None else self._row(record)

    def last_size(self) -> int:
        return self.table.last_size()

    def insert(self, signed: SignedCheckpoint, checkpoint_hash: bytes, now: float) -> None:
        cp = signed.checkpoint
        self.table.insert(
            cp.tree_size, cp.root_hash, cp.timestamp, checkpoint_hash, signed.signer,
            signed.signature, now,
        )  # fmt: skip

    def update(self, tree_size: int, **fields: Any) -> None:
        self.table.update(tree_size, **fields)

    def back_to_signed(self, tree_size: int) -> None:
        self.table.back_to_signed(tree_size)


class AnchorWorker:
    """Keeps the Merkle log in step with the event log and anchors its checkpoints."""

    def __init__(
        self,
        events: EventSource,
        conn: Connection,
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
        self.health = LoopHealth("anchoring")

    # -- start ------------------------------------------------------------------------------

    def attach(self) -> None:
        """Bind the anchoring contract, after checking the chain is the one anchored on.

        On the embedded chain, a first start deploys the contract. A chain that lost the
        anchors of this registry (another chain, a reset, a deleted chain file) is refused
        with ChainConfigError naming what was found; `policy.reanchor_lost_chain` instead
        deploys anew and anchors every checkpoint again (older bundles then fail to verify).
        Nothing else is re-anchored at start: start-up does not grow with history.
        """
        contract = self.domain.verifying_contract
        latest = self.checkpoints.latest_confirmed()
        if self.chain.embedded and not self.chain.has_code(contract):
            if latest is not None and not self.policy.reanchor_lost_chain:
                raise ChainConfigError(
                    f"{self.chain.description} has no anchoring contract, yet checkpoint"
                    f" {latest.tree_size} was anchored on it in block {latest.block_number}:"
                    " the chain was lost or replaced. Restore its file from a backup, or start"
                    " over with reanchor_lost_chain (earlier proof bundles will not verify)"
                )
            self._deploy_embedded(contract)
            return
        if not self.chain.has_code(contract):
            raise ChainError(
                f"no RegistryAnchor contract at {contract} on {self.chain.description}"
            )
        self.chain.bind(contract)
        if latest is not None:
            self._check_same_chain(latest)

    def _deploy_embedded(self, contract: str) -> None:
        if self.chain.balance(self.operator) < EMBEDDED_MIN_BALANCE:
            self.chain.fund(self.operator)
        address = self.chain.deploy_anchor(self.key, self.operator, self.operator)
        if address != contract:
            raise ChainConfigError(
                f"the embedded chain deployed RegistryAnchor at {address}, but this registry "
                f"was initialised for {contract}: its operator key sent other transactions first"
            )
        stored = self.checkpoints.all()
        for row in stored:
            self.checkpoints.back_to_signed(row.tree_size)
        log.warning("embedded chain: deployed RegistryAnchor at %s", address)
        if stored:
            log.warning("%d checkpoint(s) of a lost chain are anchored again", len(stored))

    def _check_same_chain(self, latest: CheckpointRow) -> None:
        """The block of the latest anchor must still be there: if the chain's head is below
        it, or it changed and the contract holds no root for that size, this is not a reorg
        but a reset or another chain, and anchoring on it would be wrong."""
        assert latest.block_number is not None
        head = self.chain.head()
        if head < latest.block_number:
            raise ChainConfigError(
                f"the chain's head ({head}) is below block {latest.block_number}, where checkpoint"
                f" {latest.tree_size} was anchored: the chain was reset, or it is another chain"
            )
        if self.chain.block_hash(latest.block_number) != latest.block_hash:
            root = latest.signed.checkpoint.root_hash
            if self.chain.root_at(latest.tree_size) != root:
                raise ChainConfigError(
                    f"block {latest.block_number} changed and the contract holds no root for"
                    f" checkpoint {latest.tree_size}: the chain was reset or replaced"
                )

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
        signed = sign_checkpoint(checkpoint, self.key, self.domain, self.operator)
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
            raise self._diverged(
                f"chain holds root {on_chain.hex()} for size {size}, our log has {root.hex()}"
            )
        chain_size, chain_root = self.chain.latest()
        if chain_size >= size:
            raise self._diverged(
                f"chain is anchored at size {chain_size} >= {size} without our checkpoint {size}"
            )
        if chain_size and self.tree.root(chain_size) != chain_root:
            raise self._diverged(
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

    def _diverged(self, found: str) -> HistoryDivergedError:
        """The error for a log that no longer matches the chain, naming where it diverges:
        between the largest anchored size whose root the log still gives and the smallest
        whose root it does not (`audit` names the exact event when the leaves were kept)."""
        agreed, differs = 0, None
        for row in self.checkpoints.all():
            if row.status != "confirmed" or row.tree_size > self.tree.size:
                continue
            if self.chain.root_at(row.tree_size) == self.tree.root(row.tree_size):
                agreed = row.tree_size
            else:
                differs = row.tree_size
                break
        where = (
            f"the events at seq {agreed}..{differs - 1} were rewritten after they were anchored"
            if differs is not None
            else f"every anchored size up to {agreed} still agrees"
        )
        return HistoryDivergedError(f"history diverged from the chain: {found}; {where}")

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
        """Step until `stop()`. Any error (RPC down, database busy, disk I/O) is retried with
        exponential backoff; a history that diverged from the chain stops the worker, and
        `health` says why."""
        run_resilient(
            self.step,
            stop,
            self.health,
            idle_s=self.policy.poll_s,
            max_backoff_s=self.policy.max_backoff_s,
            fatal=(ChainIntegrityError,),
        )
