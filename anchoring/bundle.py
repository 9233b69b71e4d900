"""Proof bundles (version 1, DESIGN.md): everything a verifier needs about one event.

A bundle proves an event against the smallest confirmed checkpoint that contains it, so the
bundle of an old event stays valid forever. An event that is logged but not anchored yet
gets a bundle that says so (`"anchor": null` and a `pending` object with the expected time),
never an error.
"""

from __future__ import annotations

import json
import time
from typing import Any

from anchoring.merkle import MerkleLog
from anchoring.worker import AnchorPolicy, CheckpointRow, CheckpointStore, EventSource
from registry.errors import CodedError
from registry.ledger import format_time

BUNDLE_VERSION = 1


class UnknownEventError(CodedError, LookupError):
    code = "unknown_event"
    status = 404
    title = "No such event in the log"

    def __init__(self, seq: int, size: int) -> None:
        super().__init__(f"no event {seq}: the log holds events 0..{size - 1}")
        self.seq = seq


class UnknownCheckpointError(CodedError, LookupError):
    code = "unknown_checkpoint"
    status = 404
    title = "No such confirmed checkpoint"


def event_body(events: EventSource, seq: int) -> bytes:
    rows = list(events.event_rows(seq - 1, 1))
    if seq < 0 or not rows or rows[0][0] != seq:
        raise UnknownEventError(seq, events.event_count())
    return rows[0][3]


def anchor_json(row: CheckpointRow) -> dict[str, Any]:
    assert row.tx_hash is not None and row.block_hash is not None
    return {
        "chain_id": row.chain_id,
        "contract": row.contract,
        "tx_hash": "0x" + row.tx_hash.hex(),
        "block_number": row.block_number,
        "block_hash": "0x" + row.block_hash.hex(),
    }


def build_bundle(
    events: EventSource,
    tree: MerkleLog,
    checkpoints: CheckpointStore,
    seq: int,
    *,
    policy: AnchorPolicy | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The proof bundle of event `seq`."""
    policy = policy or AnchorPolicy()
    event = json.loads(event_body(events, seq))
    bundle: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "event": event,
        "leaf_index": seq,
        "inclusion": None,
        "checkpoint": None,
        "anchor": None,
    }
    row = checkpoints.covering(seq, confirmed_only=True)
    if row is None:
        row = checkpoints.covering(seq, confirmed_only=False)
        if row is not None and row.tree_size <= tree.size:
            _add_proof(bundle, tree, row, seq)
        bundle["pending"] = _pending(row, policy, now)
        return bundle
    _add_proof(bundle, tree, row, seq)
    bundle["anchor"] = anchor_json(row)
    return bundle


def _add_proof(bundle: dict[str, Any], tree: MerkleLog, row: CheckpointRow, seq: int) -> None:
    bundle["inclusion"] = {
        "tree_size": row.tree_size,
        "path": [h.hex() for h in tree.inclusion_proof(seq, row.tree_size)],
    }
    bundle["checkpoint"] = row.signed.to_json()


def _pending(row: CheckpointRow | None, policy: AnchorPolicy, now: float | None) -> dict[str, Any]:
    moment = time.time() if now is None else now
    if row is None:
        return {
            "status": "awaiting_checkpoint",
            "detail": "logged; the next checkpoint will include it",
            "expected_by": format_time(moment + policy.max_age_s + 15),
        }
    return {
        "status": "awaiting_confirmation",
        "detail": f"in checkpoint {row.tree_size}, anchor transaction not confirmed yet",
        "expected_by": format_time(moment + 15 * max(1, policy.confirmations)),
    }


def consistency_bundle(
    tree: MerkleLog, checkpoints: CheckpointStore, size1: int, size2: int
) -> dict[str, Any]:
    """Two confirmed checkpoints and the RFC 9162 proof that the second extends the first."""
    rows = []
    for size in (size1, size2):
        row = checkpoints.get(size)
        if row is None or row.status != "confirmed":
            raise UnknownCheckpointError(f"no confirmed checkpoint of size {size}")
        rows.append(row)
    return {
        "version": BUNDLE_VERSION,
        "old": {"checkpoint": rows[0].signed.to_json(), "anchor": anchor_json(rows[0])},
        "new": {"checkpoint": rows[1].signed.to_json(), "anchor": anchor_json(rows[1])},
        "proof": [h.hex() for h in tree.consistency_proof(size1, size2)],
    }
