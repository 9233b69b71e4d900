"""The running registry behind the routes: readers, the writer, events, webhooks, anchoring.

SQLite connections belong to the thread that opened them, so every thread that reads gets
its own `Reader` (a Store, the Merkle log and the checkpoint table on one connection),
opened on first use; writes all go to the single `Writer` thread (group commit). Reads see
committed data only (WAL), so they never wait for the writer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from anchoring.bundle import UnknownEventError, build_bundle
from anchoring.merkle import MerkleLog
from anchoring.worker import AnchorPolicy, CheckpointStore
from api.anchoring import AnchoringRuntime, ChainStatus
from api.errors import ApiError, problem_response
from api.metrics import Metrics
from api.nodes import NodeCount
from api.sessions import SessionKeys
from api.settings import Settings
from api.webhooks import EventHub, WebhookDispatcher
from api.writer import Outcome, WriteJob, Writer, WriterStoppedError
from bridge.release import check_release_evidence
from registry.bridge import mint_deadline
from registry.ledger import Receipt, Registry
from registry.loops import LoopHealth
from registry.messages import message_of
from registry.signing import Signer
from registry.storage import Store
from registry.storage.service import IdempotencyTable, SignInNonceTable, WebhookTable

log = logging.getLogger("carbon_registry.api")

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
READER_UPPER_LEVEL = 8
"""The lowest Merkle level a thread-pool reader keeps whole (0.25 MB at 10^6 leaves, 2.5 MB
at 10^7): the levels below come from the node files past about 10^6 leaves (`nodefile`),
and from the tile cache before."""


@dataclass
class Reader:
    """One thread's view of the database."""

    store: Store
    registry: Registry
    tree: MerkleLog
    checkpoints: CheckpointStore
    idempotency: IdempotencyTable
    webhooks: WebhookTable
    sign_in_nonces: SignInNonceTable


def render_receipt(receipt: Receipt) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": receipt.seq,
        "event_type": receipt.event_type,
        "effects": receipt.effects,
        "event_url": f"/v1/events/{receipt.seq}",
        "proof_url": f"/v1/events/{receipt.seq}/proof",
    }
    certificate = receipt.effects.get("certificate_id")
    if certificate is not None:
        body["certificate_id"] = certificate
        body["certificate_url"] = f"/v1/retirements/{certificate}"
    return body


def request_hash(method: str, path: str, body: dict[str, Any]) -> str:
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def operator_signing_key(settings: Settings) -> Signer:
    """The operator's key for checkpoints: from the settings, else the key file of `init`."""
    if settings.operator_key is not None:
        return Signer(settings.operator_key.get_secret_value())
    return Signer.load(settings.beside_db(".operator-key.json", "CARBON_REGISTRY_OPERATOR_KEY"))


class RegistryService:
    """Everything the routes use; `start()` before serving, `stop()` after."""

    def __init__(self, settings: Settings, *, anchoring: AnchoringRuntime | None = None) -> None:
        self.settings = settings
        store = Store(settings.db, create=False)
        try:
            registry = Registry(store)
            self.log_id = registry.log_id
            self.domain = registry.domain
            self.operator = registry.operator
            last_seq = store.event_count() - 1
        finally:
            store.close()
        self.policy = AnchorPolicy(
            max_pending_events=settings.anchor_max_pending,
            max_age_s=settings.anchor_max_age_s,
            confirmations=settings.anchor_confirmations,
        )
        secret = settings.session_secret
        self.sessions = SessionKeys(
            None if secret is None else secret.get_secret_value().encode(), self.log_id
        )
        self.hub = EventHub(last_seq)
        self.metrics = Metrics()
        self.writer = Writer(settings, on_commit=self.hub.notify, metrics=self.metrics)
        self.webhooks = WebhookDispatcher(settings, self.hub)
        self.nodes = NodeCount(settings.db)
        self.anchoring = anchoring
        self._local = threading.local()
        self.metrics.watch(self)
        self._users = 0
        self._users_lock = threading.Lock()
        self.started = False

    @classmethod
    def with_anchoring(cls, settings: Settings) -> RegistryService:
        """A service that also runs the anchoring worker on the configured chain."""
        service = cls(settings)
        operator = operator_signing_key(settings)
        if not service.reader().store.has_role(operator.address, "operator"):  # rotated keys too
            raise ApiError(
                "not_initialised",
                f"the operator key is {operator.address}, which holds no operator role in this"
                f" registry (its first operator is {service.operator})",
            )
        service.anchoring = AnchoringRuntime(
            db=settings.db,
            chain_spec=settings.chain,
            domain=service.domain,
            log_id=service.log_id,
            operator_key=bytes.fromhex(operator.private_key_hex[2:]),
            operator=operator.address,
            policy=service.policy,
            rpc_port=settings.rpc_port,
            public_rpc_url=settings.public_rpc_url,
            token_address=settings.token,
            public_url=settings.public_url,
            leader_retry_s=settings.anchor_leader_retry_s,
        )
        return service

    def start(self) -> None:
        """Start the threads; nested starts (a second lifespan of the same app) share them."""
        with self._users_lock:
            self._users += 1
            if self._users > 1:
                return
            if self.anchoring is not None:
                self.anchoring.start()
            self.writer.start()
            self.webhooks.start()
            self.nodes.start()
            self.started = True

    def stop(self) -> None:
        with self._users_lock:
            self._users -= 1
            if self._users > 0:
                return
            self.started = False
            self.writer.stop()
            self.webhooks.stop()
            self.nodes.stop()
            if self.anchoring is not None:
                self.anchoring.stop()

    def reader(self) -> Reader:
        """This thread's Reader (opened on first use)."""
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            store = Store(self.settings.db, create=False)
            reader = Reader(
                store,
                Registry(store),
                # Levels 8 and up kept whole, the lower ones in the node files or the tile
                # cache: one thread's reader, the event loop's, keeps the whole tree
                # (`keep_whole_tree`, at start-up), so a node holds one copy of it, not one a
                # thread.
                MerkleLog(store.conn, upper_level=READER_UPPER_LEVEL),
                CheckpointStore(store.conn, self.log_id),
                IdempotencyTable(store.conn),
                WebhookTable(store.conn),
                SignInNonceTable(store.conn),
            )
            self._local.reader = reader
        return reader

    def bundle(self, seq: int) -> dict[str, Any]:
        """The proof bundle of event `seq` (pending, never an error, while not anchored)."""
        reader = self.reader()
        try:
            return build_bundle(
                reader.store, reader.tree, reader.checkpoints, seq, policy=self.policy
            )
        except UnknownEventError as exc:
            raise ApiError("unknown_event", str(exc)) from exc

    def loops(self) -> list[LoopHealth]:
        """The health of every background loop this service runs."""
        loops = [self.writer.health, self.webhooks.health, self.nodes.health]
        if self.anchoring is not None:
            loops.append(self.anchoring.health)
        return loops

    def chain_status(self) -> ChainStatus:
        if self.anchoring is None:
            return ChainStatus("none", None, False, None)
        return self.anchoring.status()

    # -- writes -------------------------------------------------------------------------------

    @staticmethod
    def check_idempotency_key(key: str | None) -> None:
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ApiError(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-255 printable ASCII characters",
            )

    def check_release(self, message: dict[str, Any]) -> None:
        """Check a ReleaseLock's cited block against the chain before the writer applies it
        (the registry's own check of the event needs no chain: the block time)."""
        token = self.anchoring.token if self.anchoring is not None else None
        if token is None:
            raise ApiError("no_token_contract", "releasing a lock needs the token's chain")
        store = self.reader().store
        lock = store.lock_by_seq(message["lockSeq"])
        if lock is None or lock["minted_seq"] is not None or lock["released_seq"] is not None:
            return  # the writer refuses it, or replays the answer to an Idempotency-Key
        deadline = mint_deadline(store, message["lockSeq"])
        check_release_evidence(token, lock["lock_no"], deadline, message, self.policy.confirmations)

    async def write(
        self,
        path: str,
        kind: str,
        body: Any,
        idempotency_key: str | None,
    ) -> JSONResponse:
        """Queue a signed request to the writer and answer with its receipt or problem."""
        self.check_idempotency_key(idempotency_key)
        if kind == "ReleaseLock":  # the one request whose evidence is on the chain
            await run_in_threadpool(self.check_release, body.message.model_dump(by_alias=True))
        private: dict[str, Any] = {}
        # The body's own fields, not getattr: a pydantic model raises for a field it lacks,
        # 3.5 µs each on the event loop.
        fields = body.__dict__
        details = fields.get("details")  # only SubmitActivities carries details
        if details is not None:
            private["details"] = [detail.model_dump() for detail in details]
        for field in message_of(kind).private:
            value = fields.get(field.name)
            if value is not None:
                private[field.name] = (bytes.fromhex(value.salt), value.value)
        job = WriteJob(
            kind,
            body.message.model_dump(by_alias=True),
            body.signature,
            render_receipt,
            path,
            ""
            if idempotency_key is None
            else request_hash("POST", path, body.model_dump(by_alias=True)),
            idempotency_key,
            private or None,
        )
        try:
            outcome = await self.writer.submit(job)
        except WriterStoppedError as exc:
            raise ApiError("unavailable", str(exc)) from exc
        return outcome_response(outcome)


def outcome_response(outcome: Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if not outcome.ok:
        return problem_response(outcome.body, headers)
    headers["Location"] = str(outcome.body.get("certificate_url") or outcome.body["event_url"])
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
