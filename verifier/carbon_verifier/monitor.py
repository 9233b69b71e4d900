"""Follow a public log from its tiles alone, as a Certificate Transparency monitor would.

Each `check` fetches the signed checkpoint note, verifies its signature against the trust
anchor (the log id, and the pinned signers or else the key's ANCHORER_ROLE on chain),
recomputes the root of the checkpoint's size from the tiles, and then checks that:
- the log only grew: the root of the previously seen size, recomputed from today's tiles,
  is the root seen then (a rewrite, or a split view between two fetches, fails here);
- the log agrees with the chain: the contract's latest anchored root, and the root the
  contract holds for this size if anchored, equal the roots the tiles give.
The monitor's memory is `MonitorState` (size and root last seen), kept by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carbon_verifier.crypto import Domain
from carbon_verifier.rpc import Rpc
from carbon_verifier.tiles import (
    Fetch,
    LogFormatError,
    LogUnavailableError,
    TileReader,
    parse_note,
)
from carbon_verifier.trust import TrustAnchor


@dataclass(frozen=True)
class MonitorState:
    tree_size: int = 0
    root_hash: bytes = b""

    def to_json(self) -> dict[str, object]:
        return {"tree_size": self.tree_size, "root_hash": self.root_hash.hex()}

    @classmethod
    def from_json(cls, value: dict[str, object]) -> MonitorState:
        return cls(int(str(value["tree_size"])), bytes.fromhex(str(value["root_hash"])))


@dataclass
class MonitorReport:
    state: MonitorState
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(fetch: Fetch, rpc: Rpc, trust: TrustAnchor, seen: MonitorState) -> MonitorReport:
    """One round of monitoring; the report's state is what to remember when it is ok."""
    domain = Domain(trust.chain_id, trust.contract)
    report = MonitorReport(seen)
    try:
        signed = parse_note(fetch("checkpoint").decode("utf-8"), domain)
    except (LogFormatError, LogUnavailableError, UnicodeDecodeError) as exc:
        report.problems.append(f"checkpoint: {exc}")
        return report
    checkpoint = signed.checkpoint
    if checkpoint.log_id != trust.log_id:
        report.problems.append(f"checkpoint of log {checkpoint.log_id!r}, not {trust.log_id!r}")
        return report
    if trust.signers and signed.signer not in trust.signers:
        report.problems.append(f"checkpoint signed by {signed.signer}, not a pinned signer")
        return report
    if not trust.signers and not rpc.is_anchorer(trust.contract, signed.signer):
        report.problems.append(f"checkpoint signer {signed.signer} holds no ANCHORER_ROLE")
        return report
    size = checkpoint.tree_size
    if size < seen.tree_size:
        report.problems.append(f"the log shrank from {seen.tree_size} to {size} leaves")
        return report
    tiles = TileReader(fetch, size)
    try:
        if tiles.root(size) != checkpoint.root_hash:
            report.problems.append(f"the tiles do not give the signed root of size {size}")
        if seen.tree_size and tiles.root(seen.tree_size) != seen.root_hash:
            report.problems.append(
                f"the log was rewritten: the root of size {seen.tree_size} is no longer the one"
                " seen before (split view or rewritten history)"
            )
        anchored_size, anchored_root = rpc.latest(trust.contract)
        if anchored_size and anchored_size <= size:
            if tiles.root(anchored_size) != anchored_root:
                report.problems.append(
                    f"the root anchored on chain for size {anchored_size} is not the log's"
                )
            else:
                report.notes.append(f"size {anchored_size} matches the root anchored on chain")
        on_chain = rpc.root_at(trust.contract, size)
        if any(on_chain) and on_chain != checkpoint.root_hash:
            report.problems.append(f"the chain holds another root for size {size}")
    except (LogFormatError, LogUnavailableError) as exc:
        report.problems.append(f"tiles: {exc}")
    if report.ok:
        report.state = MonitorState(size, checkpoint.root_hash)
        grown = size - seen.tree_size
        report.notes.insert(0, f"checkpoint {size} consistent ({grown} new leaves)")
    return report
