"""Audit: everything the registry stores, checked against the log and the chain.

Each layer of evidence is recomputed and compared, and every disagreement is named:

1. events: gapless seq; each event's leaf hash, recomputed from its bytes, against the leaf
   the Merkle log stored when it was appended (names the edited event's seq);
2. tiles: every stored tile of the Merkle log against the tile recomputed from the leaves
   (a corrupted interior hash would make proofs fail silently);
3. checkpoints: each signed root against the root the events give, and its signature;
4. state: every state table rebuilt from the log and compared row by row (`replay`), which
   also checks each event's canonical form, its `type` and `time` columns and signatures;
5. evidence: each stored piece of raw evidence against the commitment its claim logged;
6. with a chain: each confirmed checkpoint's root, transaction, block, chain id and
   contract against the chain; every size anchored on chain must be a stored checkpoint
   (deleting checkpoint rows is caught), and the contract's latest size must be one.

Operational state that proves nothing (retry counters, timestamps of the worker, the API's
idempotency and webhook tables) is listed in OPERATIONAL with the reason it is not audited.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anchoring.chain import Chain, ChainError
from anchoring.merkle import MerkleLog, leaf_hash
from anchoring.worker import CheckpointStore
from registry.canonical import from_canonical
from registry.commitments import commitment
from registry.eip712 import Domain
from registry.errors import CodedError
from registry.ledger import BY_EVENT_TYPE, sealed_value
from registry.personal import ACTIVITY, EVIDENCE, HOUSEHOLD, Piece, Vault, salt_fingerprint
from registry.replay import replay
from registry.storage import Store

MAX_NAMED = 20
SYNC_BATCH = 10_000

# table -> (columns not audited, why). Every other stored column is audited.
OPERATIONAL: dict[str, tuple[tuple[str, ...], str]] = {
    "holdings": (("id",), "a surrogate row id: ranges are keyed by batch and first serial"),
    "anchor_checkpoints": (
        ("raw_tx", "attempts", "created_at", "confirmed_at"),
        "the worker's bookkeeping: the signed checkpoint and the chain are the evidence",
    ),
    "personal_keys": (("created_at",), "when a data key was made proves nothing"),
    "erased_subjects": (
        ("erased_at", "log_size"),
        "when an erasure happened: replay decides later batches knowing it, so a wrong size"
        " shows as a difference wherever a batch depended on it",
    ),
    "anchor_bridge_cursor": (
        ("id", "token", "next_block", "mints_next_block"),
        "where the watcher reads next; an event it skipped shows in the reserve check",
    ),
    "api_idempotency": (
        ("key", "request_hash", "status", "body", "created_at"),
        "cached HTTP answers that expire; the log holds what was done",
    ),
    "api_webhooks": (
        (
            "id",
            "url",
            "secret",
            "event_types",
            "created_at",
            "active",
            "cursor",
            "attempts",
            "next_attempt_at",
            "lease_holder",
            "lease_until",
        ),
        "subscriptions and their delivery state, not registry state",
    ),  # fmt: skip
    "api_sign_in_nonces": (
        ("nonce", "expires_at"),
        "sign-in nonces already used, kept until they expire: no registry state",
    ),
    "api_webhook_deliveries": (
        ("id", "webhook_id", "seq", "attempt", "status_code", "error", "outcome", "time"),
        "a log of delivery attempts, not registry state",
    ),
    "api_nodes": (
        ("node", "seen_at"),
        "the API nodes alive, for their shares of the rate limits: no registry state",
    ),
}


@dataclass
class AuditReport:
    events: int = 0
    checkpoints: int = 0
    anchored_checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def clean(self) -> bool:
        return not self.problems


def _named(seqs: list[int]) -> str:
    shown = ", ".join(map(str, seqs[:MAX_NAMED]))
    return shown + (f" and {len(seqs) - MAX_NAMED} more" if len(seqs) > MAX_NAMED else "")


def audit(
    store: Store,
    log_id: str,
    domain: Domain,
    chain: Chain | None,
    vault: Vault | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Everything stored, against the log and, with `chain`, the chain; with `vault` (the
    master key at hand) the sealed personal data too. `progress` follows the replay of the
    events, the longest part."""
    report = AuditReport()
    stored = MerkleLog(store.conn)
    recomputed = MerkleLog(sqlite3.connect(":memory:", isolation_level=None))
    checkpoints = CheckpointStore(store.conn, log_id)
    sections: list[tuple[str, Callable[[], None]]] = [
        ("the events", lambda: _audit_events(store, stored, recomputed, report)),
        ("the Merkle tiles", lambda: _audit_tiles(stored, recomputed, report)),
        (
            "the checkpoints",
            lambda: _audit_checkpoints(checkpoints, stored, recomputed, domain, report),
        ),
        (
            "the state tables",
            lambda: report.problems.extend(replay(store, progress=progress, vault=vault).problems),
        ),
        ("the personal data", lambda: _audit_evidence(store, vault, report)),
    ]
    if chain is not None:
        sections.append(
            ("the chain", lambda: _audit_chain(checkpoints, recomputed, domain, chain, report))
        )
    for what, section in sections:
        try:
            section()
        except (CodedError, ChainError, sqlite3.DatabaseError, ValueError) as exc:
            report.problems.append(f"{what} could not be checked: {exc}")
    return report


def _audit_events(
    store: Store, stored: MerkleLog, recomputed: MerkleLog, report: AuditReport
) -> None:
    stored_size = stored.size
    expected, edited, batch = 0, [], []
    for seq, _, _, body in store.event_rows():
        if seq != expected:
            report.problems.append(f"event log has a gap: seq {expected} is missing (next: {seq})")
            expected = seq
        leaf = leaf_hash(body)
        if seq < stored_size and stored.leaf_hash(seq) != leaf:
            edited.append(seq)
        batch.append(leaf)
        if len(batch) >= SYNC_BATCH:
            recomputed.append(batch)
            batch = []
        expected += 1
    recomputed.append(batch)
    report.events = expected
    if edited:
        report.problems.append(
            f"event(s) {_named(edited)} changed after they entered the Merkle log "
            "(their bytes no longer hash to the stored leaf)"
        )
    if report.events < stored_size:
        report.problems.append(
            f"the Merkle log has {stored_size} leaves but only {report.events} events exist"
        )


def _audit_tiles(stored: MerkleLog, recomputed: MerkleLog, report: AuditReport) -> None:
    """Every stored tile must equal the tile the events give (levels and partial tiles too)."""
    mine, theirs = stored.table, recomputed.table
    for level in sorted(set(mine.levels()) | set(theirs.levels())):
        expected = dict(theirs.tiles_of_level(level))
        for index, hashes in mine.tiles_of_level(level):
            want = expected.pop(index, None)
            if want is None or not want.startswith(hashes) and not hashes.startswith(want):
                report.problems.append(
                    f"Merkle tile {index} of level {level} differs from the tile the events give"
                )
        if expected and stored.size >= recomputed.size:
            report.problems.append(f"Merkle level {level} lacks tiles {sorted(expected)[:5]}")
    differences = stored.node_file_differences()
    if differences:
        report.problems.append(
            f"a Merkle node file differs from the stored tiles (level, tile) {differences[:5]}:"
            " proofs read from it would be wrong; delete it (levels 0-3: DB-merkle-nodes,"
            " 4-7: DB-merkle-nodes-4), the anchoring worker rebuilds it"
        )


def _audit_checkpoints(
    checkpoints: CheckpointStore,
    stored: MerkleLog,
    recomputed: MerkleLog,
    domain: Domain,
    report: AuditReport,
) -> None:
    if checkpoints.last_size() > stored.size:
        report.problems.append(
            f"the Merkle log holds {stored.size} leaves but checkpoint {checkpoints.last_size()}"
            " covers more: its size was changed"
        )
    for row in checkpoints.all():
        report.checkpoints += 1
        size, root = row.tree_size, row.signed.checkpoint.root_hash
        if size > recomputed.size:
            report.problems.append(f"checkpoint {size}: more leaves than there are events")
            continue
        if recomputed.root(size) != root:
            report.problems.append(
                f"checkpoint {size}: signed root {root.hex()} but the events give "
                f"{recomputed.root(size).hex()}"
            )
        try:
            row.signed.verify(domain)
        except CodedError as exc:
            report.problems.append(f"checkpoint {size}: {exc}")
        if row.checkpoint_hash != row.signed.checkpoint.digest(domain):
            report.problems.append(f"checkpoint {size}: stored checkpoint hash is not its digest")


def _audit_evidence(store: Store, vault: Vault | None, report: AuditReport) -> None:
    """Each piece of personal data against the commitment the log holds for it: evidence
    against the record its batch logged (platform, account, hash), a beneficiary's name
    against its commitment; every sealed piece must open (the vault's authentication), and
    every salt must be remembered. Without the master key only the first release's
    plaintext evidence can be checked, and the report says so."""
    wrong: list[str] = []
    batches: dict[int, tuple[Any, dict[Any, Any]]] = {}

    def logged_record(seq: int, activity_id: str) -> tuple[Any, Any]:
        if seq not in batches:
            body = store.event_body(seq)
            request = (from_canonical(body) if body else {}).get("payload", {}).get("request", {})
            records = request.get("records", [])
            batches[seq] = (
                request.get("platform"),
                {r.get("id"): r for r in records if isinstance(r, dict)},
            )
        platform, by_id = batches[seq]
        return platform, by_id.get(activity_id)

    committed: dict[int, dict[str, str]] = {}

    def committed_records(seq: int) -> dict[str, str]:
        """The commitments a committed batch logged, with their accounts."""
        if seq not in committed:
            body = store.event_body(seq)
            request = (from_canonical(body) if body else {}).get("payload", {}).get("request", {})
            committed[seq] = {str(r.get("commitment")): str(r.get("account"))
                              for r in request.get("records", []) if isinstance(r, dict)}  # fmt: skip
        return committed[seq]

    for row in store.all_evidence():  # the first release kept evidence in plaintext
        platform, record = logged_record(int(row["seq"]), row["activity_id"])
        if (
            record is None
            or platform != row["platform"]
            or record.get("account") != row["account"]
            or record.get("evidenceHash") != commitment(bytes(row["salt"]), bytes(row["data"]))
        ):
            wrong.append(f"{row['platform']}/{row['activity_id']}")
    if vault is None:
        if store.personal_count():
            report.notes.append(
                "sealed personal data not checked: no master key (CARBON_REGISTRY_DATA_KEY)"
            )
    else:
        for sealed in vault.tables.all():
            try:
                piece = vault.open(sealed)
            except CodedError as exc:
                wrong.append(str(exc))
                continue
            if piece is None:
                wrong.append(f"{sealed.kind} {sealed.ref} (its subject's key was erased)")
                continue
            if piece.kind == EVIDENCE:
                platform, activity_id = piece.ref.split("/", 1)
                _, record = logged_record(piece.seq or -1, activity_id)
                ok = (
                    record is not None
                    and platform == batches[piece.seq or -1][0]
                    and record.get("account") == piece.subject
                    and record.get("evidenceHash") == piece.commitment
                )
            elif piece.kind == ACTIVITY:
                logged = committed_records(piece.seq or -1)
                ok = piece.commitment == piece.ref and logged.get(piece.ref) == piece.subject
            else:  # a declared private field: its event commits to it, for its subject
                ok = _sealed_field_matches(store, piece)
            if not ok:
                wrong.append(f"{piece.kind} {piece.ref}")
            if not vault.tables.salt_seen(salt_fingerprint(piece.salt)):
                wrong.append(f"the salt of {piece.kind} {piece.ref} (not remembered)")
        for subject in sorted(store.erased_subjects()):
            if store.account(subject) is None:
                wrong.append(f"{subject} (recorded as erased, but no such account)")
            elif vault.tables.wrapped_key(subject) is not None or vault.tables.of_subject(subject):
                wrong.append(f"{subject} (recorded as erased, yet data is kept)")
        erased_at = {size for _, size in store.erasures()}
        for household, size in store.member_erasures():
            account = store.account(household)
            if account is None or account["kind"] != "household" or size not in erased_at:
                wrong.append(f"{household} (recorded as losing a member at {size}: no such"
                             " household, or no erasure then)")  # fmt: skip
    if wrong:
        report.problems.append(
            f"personal data of {', '.join(wrong[:MAX_NAMED])} does not match the commitment logged"
        )


def _sealed_field_matches(store: Store, piece: Piece) -> bool:
    """Whether a sealed private field opens to the commitment its event logged in the field
    its declaration names, for the subject it names; a household link also matches the
    household the account holds."""
    body = store.event_body(piece.seq) if piece.seq is not None else None
    event = from_canonical(body) if body else {}
    request = event.get("payload", {}).get("request", {})
    operation = BY_EVENT_TYPE.get(event.get("type", ""))
    if operation is None or not isinstance(request, dict):
        return False
    declared = {p.name: p for p in operation.message.for_logged(request).private}
    field = declared.get(piece.kind)
    if field is None:
        return False
    if not (
        piece.commitment == piece.ref == request.get(field.commits)
        and request.get(field.subject) == piece.subject
    ):
        return False
    if piece.kind == HOUSEHOLD:
        account = store.account(piece.subject)
        return account is not None and account["household"] == sealed_value(HOUSEHOLD, piece.data)
    return True


def _audit_chain(
    checkpoints: CheckpointStore,
    recomputed: MerkleLog,
    domain: Domain,
    chain: Chain,
    report: AuditReport,
) -> None:
    chain_id = chain.chain_id
    rows = checkpoints.all()
    confirmed = {r.tree_size: r for r in rows if r.status == "confirmed"}
    for size, row in confirmed.items():
        report.anchored_checked += 1
        where = f"checkpoint {size}"
        if size <= recomputed.size:
            on_chain = chain.root_at(size)
            if on_chain != recomputed.root(size):
                report.problems.append(
                    f"{where}: the chain holds root {on_chain.hex()} but the events give "
                    f"{recomputed.root(size).hex()}: history was rewritten"
                )
        if row.chain_id != chain_id or row.contract != domain.verifying_contract:
            report.problems.append(
                f"{where}: stored anchor names chain {row.chain_id} contract {row.contract},"
                f" the registry's are {chain_id} and {domain.verifying_contract}"
            )
        if row.tx_hash is None:
            report.problems.append(f"{where}: confirmed without a transaction")
            continue
        receipt = chain.receipt(row.tx_hash)
        if receipt is None:
            report.problems.append(f"{where}: transaction 0x{row.tx_hash.hex()} is not on chain")
            continue
        logged = [r for r in chain.anchored_in(receipt) if r.tree_size == size]
        if (
            int(receipt["blockNumber"]) != row.block_number
            or bytes(receipt["blockHash"]) != row.block_hash
            or not logged
            or logged[0].checkpoint_hash != row.signed.checkpoint.digest(domain)
        ):
            report.problems.append(
                f"{where}: stored transaction, block number or block hash differ from the chain's"
            )
    # A live worker has anchors on chain still short of their confirmations: stored as sent
    # with the same transaction, they are in flight, not unaccounted for.
    in_flight = {r.tree_size: r for r in rows if r.status == "sent"}
    for record in chain.anchors():
        if record.tree_size in confirmed:
            continue
        sent = in_flight.get(record.tree_size)
        if sent is not None and sent.tx_hash == record.tx_hash:
            size = record.tree_size
            if size <= recomputed.size and chain.root_at(size) != recomputed.root(size):
                report.problems.append(
                    f"checkpoint {size}: the chain holds a root the events do not give"
                )
            if any(later > size for later in confirmed):  # the worker confirms in order
                report.problems.append(
                    f"checkpoint {size}: stored as awaiting confirmations, yet a later"
                    " checkpoint is confirmed"
                )
            report.notes.append(
                f"checkpoint {record.tree_size} is on chain (tx 0x{record.tx_hash.hex()}) and"
                " awaits its confirmations"
            )
            continue
        report.problems.append(
            f"the chain anchored tree size {record.tree_size} (tx 0x{record.tx_hash.hex()})"
            " but no checkpoint of that size and transaction is stored"
        )
    latest, _ = chain.latest()
    if latest and latest not in confirmed and latest not in in_flight:
        report.problems.append(f"the contract's latest anchored size {latest} is not stored")
