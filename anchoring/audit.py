"""Audit: recompute the Merkle log from the events and hold it against checkpoints and chain.

Three layers of evidence are compared, and every disagreement is named:

1. each event's leaf hash, recomputed from the events table, against the leaf hash the
   Merkle log stored when the event was appended (names the edited event's seq);
2. each stored checkpoint's root against the root recomputed from the events, and its
   signature;
3. each confirmed checkpoint's root against the root the anchoring contract holds on chain
   (catches a rewrite of the events table together with the Merkle tables).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from anchoring.chain import Chain
from anchoring.merkle import MerkleLog, leaf_hash
from anchoring.worker import CheckpointStore, EventSource
from registry.eip712 import Domain
from registry.errors import CodedError

MAX_NAMED_EVENTS = 20


@dataclass
class AuditReport:
    events: int = 0
    checkpoints: int = 0
    anchored_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def audit(
    events: EventSource,
    stored_tree: MerkleLog,
    checkpoints: CheckpointStore,
    domain: Domain,
    chain: Chain | None,
) -> AuditReport:
    report = AuditReport()
    recomputed = MerkleLog(sqlite3.connect(":memory:", isolation_level=None))
    stored_size = stored_tree.size
    expected_seq = 0
    edited: list[int] = []
    batch: list[bytes] = []
    for seq, _, _, body in events.event_rows():
        if seq != expected_seq:
            report.problems.append(
                f"event log has a gap: seq {expected_seq} is missing (next is {seq})"
            )
            expected_seq = seq
        leaf = leaf_hash(body)
        if seq < stored_size and stored_tree.leaf_hash(seq) != leaf:
            edited.append(seq)
        batch.append(leaf)
        if len(batch) >= 10_000:
            recomputed.append(batch)
            batch = []
        expected_seq += 1
    recomputed.append(batch)
    report.events = expected_seq
    if edited:
        shown = ", ".join(map(str, edited[:MAX_NAMED_EVENTS]))
        more = (
            f" and {len(edited) - MAX_NAMED_EVENTS} more" if len(edited) > MAX_NAMED_EVENTS else ""
        )
        report.problems.append(
            f"event(s) {shown}{more} changed after they entered the Merkle log "
            "(their bytes no longer hash to the stored leaf)"
        )
    if report.events < stored_size:
        report.problems.append(
            f"the Merkle log has {stored_size} leaves but only {report.events} events exist"
        )
    for row in checkpoints.all():
        report.checkpoints += 1
        size, root = row.tree_size, row.signed.checkpoint.root_hash
        if size > recomputed.size:
            report.problems.append(f"checkpoint {size}: more leaves than there are events")
            continue
        again = recomputed.root(size)
        if again != root:
            report.problems.append(
                f"checkpoint {size}: signed root {root.hex()} but the events give {again.hex()}"
            )
        try:
            row.signed.verify(domain)
        except CodedError as exc:
            report.problems.append(f"checkpoint {size}: {exc}")
        if chain is None or row.status != "confirmed":
            continue
        report.anchored_checked += 1
        on_chain = chain.root_at(size)
        if on_chain != again:
            report.problems.append(
                f"checkpoint {size}: the chain holds root {on_chain.hex()} but the events give "
                f"{again.hex()}: history was rewritten"
            )
    return report
