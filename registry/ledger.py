"""The registry's ledger: one library call, one signed request, one event.

Every request runs the same three steps:

1. *authorise* (outside the write lock): check the request's fields against its declaration
   (`registry.messages`), recover the EIP-712 signer, refuse an expired request. For a group
   it comes in two halves: `prepare_many` checks the fields and may hand the signatures to
   a worker process (`registry.recovery`), and `execute_prepared` finishes it at commit, so
   that a writer can commit one group while the next one's signers are recovered;
2. *decide* (inside the transaction): its handler (`registry.handlers`) raises a named
   error when the state does not allow the request (wrong signer, replayed nonce, balance
   too low, ...); else it returns the effects (the serial ranges chosen first in first out,
   the new batch number, the certificate id);
3. *apply*: the handler changes the tables to match the effects, and the event is appended,
   in the same transaction.

`registry.replay` runs decide and apply again over the log alone, which is how it proves
that the tables are exactly what the log says.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry import messages as m
from registry.canonical import canonical_bytes
from registry.commitments import NO_COMMITMENT
from registry.eip712 import Domain, normalise_signature, recover_signer
from registry.errors import (
    AlreadyInitialisedError,
    NonceReplayedError,
    NotInitialisedError,
    RegistryError,
    SignatureExpiredError,
    UnknownAccountError,
    UnknownCertificateError,
    ValidationError,
)
from registry.handlers import BY_EVENT_TYPE, OPERATIONS, Operation
from registry.handlers.common import LATEST_RANGE_RULE, RANGE_RULES, Effects, Receipt, serial_range
from registry.messages import Message
from registry.messages.fields import ADDRESS
from registry.methodologies.policy import refuse_below_floor, refuse_superseded
from registry.mrv import committed
from registry.personal import (
    ACTIVITY,
    BENEFICIARY_NAME,
    HOUSEHOLD,
    PERSONAL_NAME,
    PSEUDONYM,
    Piece,
    Vault,
    master_key,
)
from registry.recovery import Recovered, SignerRecovery
from registry.storage import Store, display
from registry.storage.personal import PersonalTables
from registry.times import format_time, parse_time, time_second

__all__ = [
    "BY_EVENT_TYPE",
    "GENESIS",
    "OPERATIONS",
    "Effects",
    "Receipt",
    "Registry",
    "format_time",
    "parse_time",
    "serial_range",
]

GENESIS = "RegistryOpened"


def genesis_payload(
    chain_id: int, verifying_contract: str, operator: str, log_id: str, range_rule: int
) -> dict[str, Any]:
    return {
        "log_id": log_id,
        "chain_id": chain_id,
        "verifying_contract": verifying_contract,
        "operator": operator,
        "range_rule": range_rule,
    }


def apply_genesis(store: Store, payload: dict[str, Any], seq: int) -> None:
    meta = {
        "log_id": payload["log_id"],
        "chain_id": str(payload["chain_id"]),
        "verifying_contract": payload["verifying_contract"],
        "operator": payload["operator"],
    }
    # A genesis logged before range rules were versioned names none, and stores none: its
    # registry follows rule 1 (`Store.range_rule`).
    if "range_rule" in payload:
        range_rule = payload["range_rule"]
        if type(range_rule) is not int or range_rule not in RANGE_RULES:
            raise ValueError(f"unknown range_rule {range_rule!r}")
        meta["range_rule"] = str(range_rule)
    store.set_meta(meta)
    store.insert_account(payload["operator"], "operator", "registry operator", None, seq)
    store.insert_role(payload["operator"], "operator", seq)


def build_event(
    seq: int, event_type: str, time: str, payload: dict[str, Any], signatures: list[dict[str, str]]
) -> dict[str, Any]:
    event: dict[str, Any] = {"seq": seq, "type": event_type, "time": time, "payload": payload}
    if signatures:
        event["signatures"] = signatures
    return event


# Stands for an attached list while the event is encoded: control characters never pass
# `messages.normalise`, so its JSON form appears nowhere else in an event.
_PLACEHOLDER = "\x00"
_PLACEHOLDER_JSON = canonical_bytes(_PLACEHOLDER)


def _event_bytes(event: dict[str, Any], message: Message, request: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of an event; an attached list (activity records) whose bytes are known
    already is spliced in rather than encoded a second time."""
    attached = m.attached_bytes(message, request)
    if attached is None or message.attached is None:
        return canonical_bytes(event, checked=False)
    name = message.attached.name
    stub = dict(event, payload=dict(event["payload"], request={**request, name: _PLACEHOLDER}))
    return canonical_bytes(stub, checked=False).replace(_PLACEHOLDER_JSON, attached, 1)


# Personal data sent beside a request, never logged: {"details": [{salt, id, start, end,
# quantities}, ...]} beside a SubmitActivities batch (one per record), {"beneficiary_name":
# (salt, name)} beside a Retire, {"household": (salt, address), "personal_name": (salt, name)}
# beside an OpenAccount.
Private = Mapping[str, Any]

# A batch's expiry is the clock its records are judged by (`committed`): it may not run
# further ahead of the registry's clock than this.
MAX_BATCH_EXPIRY_S = 3600


# More grams than any account holds: a request that names no amount may take them all.
ALL_GRAMS = 2**62


# A request as a caller sends it: kind, message, signature, and maybe its personal data.
Request = tuple[str, Any, str] | tuple[str, Any, str, Private | None]


@dataclass(slots=True)
class Prepared:
    """A request whose fields are valid and whose digest is known; its signer may be on its
    way from a `SignerRecovery` worker (`recovered`, at `position`)."""

    operation: Operation
    request: dict[str, Any]
    signature: str
    private: Private | None
    digest: bytes
    recovered: Recovered | None = None
    position: int = 0

    def recovered_signer(self) -> str | None:
        """The worker's answer, or None for the caller to recover the signer itself."""
        return None if self.recovered is None else self.recovered.signer(self.position)


@dataclass(frozen=True)
class Authorised:
    """A request whose fields are valid and whose signer is known, with the personal data
    to seal in the vault when it is logged, and the activity details to decide it on."""

    operation: Operation
    request: dict[str, Any]
    signer: str
    signature: str
    pieces: tuple[Piece, ...] = ()
    details: tuple[dict[str, Any], ...] = ()


def activity_details(
    request: dict[str, Any], private: Private
) -> tuple[tuple[Piece, ...], tuple[dict[str, Any], ...]]:
    """The details beside a committed batch, each checked against its record's commitment:
    the pieces to seal, and the details in record order."""
    details = private.get("details")
    records = request["records"]
    if not isinstance(details, list | tuple) or len(details) != len(records):
        raise ValidationError(f"details must list one activity per record: {len(records)} records")
    pieces, checked = [], []
    for index, (record, given) in enumerate(zip(records, details, strict=True)):
        where = f"details[{index}]"
        if not isinstance(given, dict) or "salt" not in given:
            raise ValidationError(f"{where} needs its salt")
        salt = m.salt_bytes(given["salt"], f"{where}.salt")
        detail = m.normalise_detail({k: v for k, v in given.items() if k != "salt"}, where)
        data = m.detail_bytes(detail)
        piece = Piece(record["account"], ACTIVITY, record["commitment"], salt, data, None)
        if piece.commitment != record["commitment"]:
            raise ValidationError(f"{where} and its salt do not give records[{index}].commitment")
        pieces.append(piece)
        checked.append(detail)
    return tuple(pieces), tuple(checked)


def private_pieces(
    message: Message, request: dict[str, Any], private: Private
) -> tuple[tuple[Piece, ...], tuple[dict[str, Any], ...]]:
    """The personal data beside a request, each piece checked against the commitment the
    request logs, and the activity details it carries; raises ValidationError for data that
    does not match or has no place."""
    if message is m.SUBMIT_ACTIVITIES:
        if set(private) != {"details"}:
            raise ValidationError(
                "a SubmitActivities batch takes the details of its records beside it, and"
                f" nothing else: got {sorted(private) or 'none'}"
            )
        return activity_details(request, private)
    fields = {p.name: p for p in message.private}
    unknown = sorted(set(private) - fields.keys())
    if unknown:
        raise ValidationError(f"a {message.name} request takes no such personal data: {unknown}")
    pieces, decision = [], {}
    for declared in message.private:
        committed = request[declared.commits] != NO_COMMITMENT
        if declared.name not in private:
            if committed and declared.decides:
                raise ValidationError(
                    f"{declared.commits} is not zero: send the {declared.name} it commits to"
                    " beside the request, with its salt"
                )
            continue
        if not committed:
            raise ValidationError(
                f"{declared.commits} is zero: the {declared.name} beside the request has no"
                " commitment to check it against"
            )
        given = private[declared.name]
        if not isinstance(given, tuple | list) or len(given) != 2:
            raise ValidationError(f"the {declared.name} goes beside the request with its salt")
        salt, value = given
        if not isinstance(salt, bytes):
            raise ValidationError(f"the salt of the {declared.name} must be bytes")
        data = declared.data(value, declared.name.replace("_", " "))
        piece = Piece(request[declared.subject], declared.name, request[declared.commits], salt,
                      data, None)  # fmt: skip
        if piece.commitment != request[declared.commits]:
            raise ValidationError(
                f"the {declared.name} and its salt do not give {declared.commits}"
            )
        pieces.append(piece)
        if declared.decides:
            decision[declared.name] = sealed_value(declared.name, data)
    return tuple(pieces), (decision,) if decision else ()


def sealed_value(kind: str, data: bytes) -> Any:
    """The value a decision takes of a sealed piece's bytes: a household's address (its 20
    bytes, written EIP-55)."""
    if kind == HOUSEHOLD:
        return m.address("0x" + data.hex(), kind)
    return data.decode("utf-8")


def _keepable(store: Store, authorised: Authorised, effects: Effects) -> list[Piece]:
    """The pieces to seal: none under an erased person, and an activity's details only where
    its account could earn (data that could never be erased, or was asked to be, is not
    kept)."""
    pieces = list(authorised.pieces)
    if authorised.operation.message is m.SUBMIT_ACTIVITIES:
        pieces = [
            piece
            for piece, outcome in zip(pieces, effects["outcomes"], strict=True)
            if outcome.get("reason") not in committed.NOT_KEPT
        ]
    erased = store.erased_among({p.subject for p in pieces})
    return [piece for piece in pieces if piece.subject not in erased]


class Registry:
    """The ledger over one Store. Methods raise RegistryError subclasses and change nothing."""

    def __init__(self, store: Store, clock: Callable[[], float] = _time.time) -> None:
        meta = store.meta()
        if "operator" not in meta:
            raise NotInitialisedError(
                f"{display(store.path)} holds no registry: run `carbon-registry init`"
            )
        self.store = store
        self.clock = clock
        self.domain = Domain(int(meta["chain_id"]), meta["verifying_contract"])
        self.operator = meta["operator"]
        self.log_id = meta["log_id"]
        self._vault: Vault | None = None

    @classmethod
    def create(
        cls,
        store: Store,
        *,
        chain_id: int,
        verifying_contract: str,
        operator: str,
        log_id: str,
        clock: Callable[[], float] = _time.time,
        range_rule: int = LATEST_RANGE_RULE,
    ) -> Registry:
        """Write the genesis event: the EIP-712 domain, the log id, the operator and the
        serial-range rule (`handlers.common.pick_ranges`; rule 1 only for a registry that
        must decide as old logs do, as tests comparing the rules need)."""
        payload = genesis_payload(
            chain_id,
            m.address(verifying_contract, "verifying_contract"),
            m.address(operator, "operator"),
            m.text(log_id, "log_id"),
            range_rule,
        )
        with store.write():
            if store.next_seq() != 0:
                raise AlreadyInitialisedError(f"{display(store.path)} already holds a registry")
            time = format_time(clock())
            event = build_event(0, GENESIS, time, payload, [])
            apply_genesis(store, payload, 0)
            store.append_event(0, GENESIS, time, canonical_bytes(event))
        return cls(store, clock)

    # -- writes -------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        """The personal data vault, on the same connection (opened on first use)."""
        if self._vault is None:
            self._vault = Vault(PersonalTables(self.store.conn), master_key(self.store.path))
        return self._vault

    def prepare(
        self, kind: str, message: Any, signature: str, private: Private | None = None
    ) -> Prepared:
        """Check a request's fields and compute its EIP-712 digest; no state is read."""
        operation = OPERATIONS.get(kind)
        if operation is None:
            raise ValidationError(f"unknown operation {kind!r}")
        request = operation.message.normalise(message)
        digest = self.domain.digest(operation.struct, request)
        return Prepared(operation, request, signature, private, digest)

    def prepare_many(
        self, requests: Iterable[Request], recovery: SignerRecovery | None = None
    ) -> list[Prepared | RegistryError]:
        """`prepare` each request; with `recovery`, their signers are recovered on another
        core while the caller goes on (committing the previous group)."""
        prepared: list[Prepared | RegistryError] = []
        for kind, message, signature, *private in requests:
            try:
                prepared.append(self.prepare(kind, message, signature, *private))
            except RegistryError as exc:
                prepared.append(exc)
        if recovery is not None:
            sendable = [
                p for p in prepared if isinstance(p, Prepared) and isinstance(p.signature, str)
            ]
            recovered = recovery.recover([(p.digest, p.signature) for p in sendable])
            for position, item in enumerate(sendable):
                item.recovered, item.position = recovered, position
        return prepared

    def authorise(
        self, kind: str, message: Any, signature: str, private: Private | None = None
    ) -> Authorised:
        """Check fields, signature, expiry and the personal data beside; no state is read."""
        return self._authorised(self.prepare(kind, message, signature, private))

    def _authorised(self, prepared: Prepared) -> Authorised:
        """Recover the signer (unless the worker did), refuse an expired request, check the
        personal data beside it."""
        operation, request = prepared.operation, prepared.request
        signer = prepared.recovered_signer() or recover_signer(prepared.digest, prepared.signature)
        now = self.clock()
        if request["expiry"] < now:
            raise SignatureExpiredError(request["expiry"], int(now))
        if operation.message is m.SUBMIT_ACTIVITIES:
            refuse_superseded(request["records"])
            if request["expiry"] > now + MAX_BATCH_EXPIRY_S:
                raise ValidationError(
                    f"an activity batch's signature must expire within {MAX_BATCH_EXPIRY_S} s:"
                    " its expiry is the clock its records are judged by"
                )
        pieces, details = private_pieces(operation.message, request, prepared.private or {})
        return Authorised(
            operation, request, signer, normalise_signature(prepared.signature), pieces, details
        )

    def execute(
        self, kind: str, message: Any, signature: str, private: Private | None = None
    ) -> Receipt:
        authorised = self.authorise(kind, message, signature, private)
        with self.store.write():
            return self._commit(authorised)

    def execute_many(self, requests: Iterable[Request]) -> list[Receipt | RegistryError]:
        """Apply many requests in one transaction (group commit); each stands alone.

        A refused request rolls back to its own savepoint and its error takes its place in
        the result; the others still commit. A request may carry its personal data as a
        fourth item.
        """
        return self.execute_prepared(self.prepare_many(requests))

    def execute_pipelined(
        self, groups: Iterable[Iterable[Request]], recovery: SignerRecovery
    ) -> Iterator[list[Receipt | RegistryError]]:
        """`execute_many` of each group in turn, yielding its results; each group's signers
        are recovered by `recovery`'s worker while the group before it commits."""
        waiting: list[Prepared | RegistryError] | None = None
        for group in groups:
            prepared = self.prepare_many(group, recovery)
            if waiting is not None:
                yield self.execute_prepared(waiting)
            waiting = prepared
        if waiting is not None:
            yield self.execute_prepared(waiting)

    def execute_prepared(
        self, prepared: Sequence[Prepared | RegistryError]
    ) -> list[Receipt | RegistryError]:
        """`execute_many` of requests `prepare_many` prepared (an error stands for itself)."""
        authorised: list[Authorised | RegistryError] = []
        for request in prepared:
            if isinstance(request, RegistryError):
                authorised.append(request)
                continue
            try:
                authorised.append(self._authorised(request))
            except RegistryError as exc:
                authorised.append(exc)
        results: list[Receipt | RegistryError] = []
        with self.store.write():
            self._read_ahead([item for item in authorised if isinstance(item, Authorised)])
            for item in authorised:
                if isinstance(item, RegistryError):
                    results.append(item)
                    continue
                try:
                    with self.store.write():
                        results.append(self._commit(item))
                except RegistryError as exc:
                    results.append(exc)
        return results

    def _read_ahead(self, group: list[Authorised]) -> None:
        """Read the group's accounts, nonces and (on PostgreSQL) spendable holdings in one
        query each, which the requests would otherwise read one at a time (on PostgreSQL, a
        round trip each)."""
        if len(group) < 2:
            return
        addresses = {authorised.signer for authorised in group}
        for authorised in group:
            for field in authorised.operation.message.fields:
                value = authorised.request.get(field.name)
                if field.kind is ADDRESS and isinstance(value, str):
                    addresses.add(value)
        self.store.accounts_by_address(addresses)
        self.store.read_nonces_ahead((a.signer, a.request["nonce"]) for a in group)
        if not self.store.on_postgres:
            # SQLite reads a signer's oldest holdings as the request needs them, at no round
            # trip; reading them ahead needs a running sum over all of them.
            return
        # The holdings a request may spend: its signer's, of the asset class it names, up to
        # its amount (all, when it names none). Under range rule 2, the first that covers the
        # amount alone may lie beyond them: `first_covering_holding` then reads it.
        spends: dict[tuple[str, str], int] = {}
        for a in group:
            asset_class, amount = a.request.get("assetClass"), a.request.get("amount")
            if isinstance(asset_class, str):
                grams = amount if isinstance(amount, int) else ALL_GRAMS
                spends[a.signer, asset_class] = spends.get((a.signer, asset_class), 0) + grams
        self.store.read_holdings_ahead(
            {pair: min(grams, ALL_GRAMS) for pair, grams in spends.items()}
        )

    def _commit(self, authorised: Authorised) -> Receipt:
        store = self.store
        operation, request, signer = authorised.operation, authorised.request, authorised.signer
        if operation.previous is not None:
            earlier = operation.previous(store, request, signer)
            if earlier is not None:
                return earlier
        if operation.message is m.RUN_ISSUANCE:
            waiting = {asset_class.split("-")[0] for asset_class in store.approved_classes()}
            refuse_below_floor(request["bufferBasisPoints"], waiting)
        seq = store.next_seq()
        # Claimed first: a refusal below rolls the transaction (or savepoint) back with it.
        if not store.claim_nonce(signer, request["nonce"]):
            raise NonceReplayedError(signer, request["nonce"])
        if operation.message is m.SUBMIT_ACTIVITIES:
            store.private_inputs = self.vault.decision_inputs(
                request["platform"], authorised.details
            )
        elif authorised.details:  # a private value the decision needs (a household)
            store.private_inputs = list(authorised.details)
        now = self.clock()
        time = format_time(now)
        store.decision_time = time_second(now)
        try:
            effects = operation.decide(store, request, signer, seq)
            event = build_event(
                seq,
                operation.event_type,
                time,
                {"request": request, "effects": effects},
                [{"signer": signer, "signature": authorised.signature}],
            )
            body = _event_bytes(event, operation.message, request)
            operation.apply(store, request, effects, signer, seq, time)
        finally:
            store.private_inputs = None
            store.decision_time = None
        store.append_event(seq, operation.event_type, time, body)
        if authorised.pieces:
            self.vault.claim_salts([piece.salt for piece in authorised.pieces])
            self.vault.seal_many(_keepable(store, authorised, effects), seq)
        return Receipt(seq, operation.event_type, effects)

    def open_account(self, message: Any, signature: str) -> Receipt:
        return self.execute("OpenAccount", message, signature)

    def grant_role(self, message: Any, signature: str) -> Receipt:
        return self.execute("GrantRole", message, signature)

    def register_asset_class(self, message: Any, signature: str) -> Receipt:
        return self.execute("RegisterAssetClass", message, signature)

    def issue(self, message: Any, signature: str) -> Receipt:
        return self.execute("Issue", message, signature)

    def transfer(self, message: Any, signature: str) -> Receipt:
        return self.execute("Transfer", message, signature)

    def retire(self, message: Any, signature: str) -> Receipt:
        """Retire grams for a beneficiary; the receipt's effects carry the certificate id."""
        return self.execute("Retire", message, signature)

    def cancel(self, message: Any, signature: str) -> Receipt:
        return self.execute("Cancel", message, signature)

    def lock(self, message: Any, signature: str) -> Receipt:
        """Lock grams for minting as tokens to `recipient`; the receipt's seq is the lock id."""
        return self.execute("Lock", message, signature)

    def submit_activities(
        self, message: Any, signature: str, details: list[dict[str, Any]]
    ) -> Receipt:
        """Ingest a platform's signed batch of committed records; `details` holds each
        record's activity (salt, id, start, end, quantities), sealed in the vault under the
        person's key and never logged (see `erase`).

        The receipt's effects hold each record's outcome. The same batch again returns the
        first receipt and writes no event.
        """
        return self.execute("SubmitActivities", message, signature, {"details": details})

    def attest(self, message: Any, signature: str) -> Receipt:
        return self.execute("AttestClaims", message, signature)

    def run_issuance(self, message: Any, signature: str) -> Receipt:
        return self.execute("RunIssuance", message, signature)

    def reverse_claim(self, message: Any, signature: str) -> Receipt:
        return self.execute("ReverseClaim", message, signature)

    def erase(self, subject: str) -> int:
        """Erase what the registry knows personally about `subject` (PIPL art. 47): their
        data key and every piece sealed under it (evidence, names). Events keep only
        commitments, so the log, its proofs and replay are unaffected; writes no event.
        Returns how many pieces were erased."""
        address = m.address(subject, "subject")
        if self.store.account(address) is None:
            raise UnknownAccountError(address)
        with self.store.write():
            self.store.forget_household_link(address, self.store.next_seq())
            erased = self.vault.erase(address)
        # Deleted rows are overwritten (secure_delete); the write-ahead log may still hold
        # the pages as they were until a checkpoint copies them back and truncates it.
        self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased

    # -- reads --------------------------------------------------------------------------

    def balances(self, address: str) -> list[dict[str, Any]]:
        return self.store.balances(m.address(address, "address"))

    def holdings(self, address: str) -> list[dict[str, Any]]:
        """Serial ranges held by `address` in every status, with their serial strings."""
        classes = {c["id"]: c for c in self.store.asset_classes()}
        return [
            {
                "asset_class": h.asset_class,
                "batch_no": h.batch_no,
                "first": h.first,
                "last": h.last,
                "amount": h.amount,
                "status": h.status,
                "ref": h.ref,
                "serials": serial_range(classes[h.asset_class], h.batch_no, h.first, h.last),
            }
            for h in self.store.holdings_of(m.address(address, "address"))
        ]

    def activities(self, address: str) -> list[dict[str, Any]]:
        """The activities sealed under `address` (their details, opened from the vault), each
        with the batch that logged it and its outcome, in log order; none once erased."""
        out: list[dict[str, Any]] = []
        batches: dict[int, dict[str, Any]] = {}
        for piece in self.vault.of_subject(m.address(address, "address")):
            if piece.kind != ACTIVITY or piece.seq is None:
                continue
            if piece.seq not in batches:
                body = self.store.event_body(piece.seq)
                assert body is not None  # a piece is sealed with its event
                batches[piece.seq] = json.loads(body)["payload"]
            payload = batches[piece.seq]
            records = payload["request"]["records"]
            index = next(i for i, r in enumerate(records) if r["commitment"] == piece.ref)
            detail = json.loads(piece.data)
            out.append({
                "seq": piece.seq, "index": index, "platform": payload["request"]["platform"],
                "methodology": records[index]["methodology"],
                "version": records[index]["version"], "region": records[index]["region"],
                "commitment": piece.ref, "activity_id": detail["id"], "start": detail["start"],
                "end": detail["end"], "quantities": detail["quantities"],
                "outcome": payload["effects"]["outcomes"][index],
            })  # fmt: skip
        return sorted(out, key=lambda a: (a["seq"], a["index"]))

    def personal_name(self, address: str) -> str | None:
        """A person's or household's name as sealed when the account was opened; None when
        none was given, or it was erased."""
        for piece in self.vault.of_subject(m.address(address, "address")):
            if piece.kind == PERSONAL_NAME:
                return piece.data.decode("utf-8")
        return None

    def community_leaderboard(self, address: str, limit: int = -1) -> list[dict[str, Any]]:
        """The first `limit` (-1: all) members of a community who opted in to its
        leaderboard, by pseudonym (from the vault: an erased member is left out), most
        verified grams first, ranked from 1. No address: the board is public."""
        board: list[dict[str, Any]] = []
        for row in self.store.community_leaderboard(m.address(address, "address")):
            if len(board) == limit:
                break
            piece = self.vault.get(PSEUDONYM, row["pseudonym_commitment"], row["joined_seq"])
            if piece is not None:
                board.append({"rank": len(board) + 1, "pseudonym": piece.data.decode("utf-8"),
                              "verified_grams": row["verified_grams"]})  # fmt: skip
        return board

    def certificate(self, certificate_id: str) -> dict[str, Any]:
        """A retirement certificate; one recorded from the chain names its chain event."""
        row = self.store.retirement(certificate_id)
        if row is None:
            raise UnknownCertificateError(f"no retirement certificate {certificate_id}")
        commitment = row.get("beneficiary_commitment")
        if commitment and commitment != NO_COMMITMENT:
            piece = self.vault.get(BENEFICIARY_NAME, commitment, int(row["seq"]))
            if piece is not None:  # disclosed, and not erased
                row = {**row, "beneficiary_name": piece.data.decode("utf-8"),
                       "beneficiary_salt": piece.salt.hex()}  # fmt: skip
        chain_event = self.store.chain_event_of(int(row["seq"]))
        return row if chain_event is None else {**row, "chain_event": chain_event}
