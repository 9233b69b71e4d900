"""The anchoring worker inside the service: its own thread, Store and connection.

It also runs the bridge: the CarbonCredits token contract is deployed (embedded chain) or
bound, and its burns are recorded in the registry by the worker's watcher.

On the embedded chain (the default) the chain's state lives in the file `DB.chain`
(`anchoring.persistent_evm`): a restart finds the same contracts, blocks and tokens. The
chain is served over JSON-RPC on a fixed loopback port (`EmbeddedRpcServer`) so that
outside verifiers check bundles against it exactly as against a real node, at the same URL
after every restart; `GET /v1/chain` shows it.

On PostgreSQL every node runs this runtime and one of them leads (`registry.storage.leader`):
a follower opens no chain and anchors nothing; it stands for leader every
`leader_retry_s` seconds. The leader opens the chain (an embedded chain's file only now:
it is locked by the process that has it open), attaches and anchors, checking before each
step that it still holds the lock; if it loses it, it stops and follows again. A new leader
carries on from the checkpoint records exactly as a restarted worker does.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from anchoring.chain import Chain, ChainConfigError, ChainIntegrityError, embedded_chain_file
from anchoring.persistent_evm import ChainFileLockedError
from anchoring.rpc_server import EmbeddedRpcServer
from anchoring.worker import AnchorPolicy, AnchorWorker
from bridge.token import DEFAULT_PUBLIC_URL, TokenContract
from bridge.watcher import start_bridge
from registry.eip712 import Domain
from registry.ledger import Registry
from registry.loops import LoopHealth, sleep_until
from registry.signing import Signer
from registry.storage import Store
from registry.storage.leader import LeaderLock, SoleLeader, leader_lock

log = logging.getLogger("carbon_registry.api.anchoring")

START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ChainStatus:
    kind: str
    rpc_url: str | None
    running: bool
    error: str | None
    health: LoopHealth | None = None


class AnchoringRuntime:
    """Runs `AnchorWorker.run_forever` in a thread until `stop()`."""

    def __init__(
        self,
        *,
        db: str,
        chain_spec: str,
        domain: Domain,
        log_id: str,
        operator_key: bytes,
        operator: str,
        policy: AnchorPolicy,
        rpc_port: int = 0,
        public_rpc_url: str | None = None,
        token_address: str | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
        leader_retry_s: float = 5.0,
    ) -> None:
        self.db = db
        self.domain = domain
        self.log_id = log_id
        self.operator_key = operator_key
        self.operator = operator
        self.policy = policy
        self.chain_spec = chain_spec
        self._chain: Chain | None = None if chain_spec == "embedded" else Chain.connect(chain_spec)
        self.rpc_port = rpc_port
        self._public_rpc_url = public_rpc_url
        self._token_address = token_address
        self._public_url = public_url
        self.token: TokenContract | None = None
        self._server: EmbeddedRpcServer | None = None
        self._stop = threading.Event()
        self._attached = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anchoring-worker", daemon=True)
        self.health = LoopHealth("anchoring")
        self.error: str | None = None
        self.leader_retry_s = leader_retry_s
        self._lock: LeaderLock = leader_lock(db)

    @property
    def chain(self) -> Chain:
        if self._chain is None:  # the embedded chain's file is opened (and locked) by a leader
            raise RuntimeError("the anchoring runtime is not started, or does not lead")
        return self._chain

    @property
    def kind(self) -> str:
        return "embedded" if self.chain_spec == "embedded" else "json-rpc"

    @property
    def rpc_url(self) -> str | None:
        """The URL verifiers use: the public one when configured (behind a proxy), else the
        embedded chain's own server."""
        if self._public_rpc_url is not None:
            return self._public_rpc_url
        return self._server.url if self._server is not None else None

    def start(self) -> None:
        """Start the worker; returns once this node follows another leader, or leads and
        the contract is bound (deployed on the embedded chain), or the first attempt failed
        (a JSON-RPC chain that is down: the worker keeps trying, and `status()` says so)."""
        self._thread.start()
        if not self._attached.wait(START_TIMEOUT_S):
            raise RuntimeError("the anchoring worker did not attach to the chain in time")
        if self.error is not None:
            raise RuntimeError(f"anchoring worker: {self.error}")
        if self.health.state == "retrying":
            log.warning("anchoring worker not attached yet (%s); retrying", self.health.last_error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._close_chain()
        if self._chain is not None:
            self._chain.close()

    def _close_chain(self) -> None:
        """Stop serving and close an embedded chain (a leader's); a JSON-RPC one stays."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._chain is not None and self._chain.embedded:
            self._chain.close()
            self._chain = None

    def status(self) -> ChainStatus:
        running = self._thread.is_alive() and not self._stop.is_set() and self.health.healthy
        error = self.error or (self.health.last_error if not self.health.healthy else None)
        return ChainStatus(self.kind, self.rpc_url, running, error, self.health)

    def _run(self) -> None:
        try:
            while self.error is None and self._follow():
                try:
                    self._lead()
                finally:
                    self._lock.release()
                    self._close_chain()
                    if self.error is None and not self._stop.is_set():
                        # Following again: healthy, as a follower is, by the time it shows
                        # that it no longer leads (the worker's loop said "stopped").
                        self.health.succeeded()
                    self.health.leader = False
        finally:
            self._lock.release()
            self._attached.set()
            self.health.stopped()

    def _follow(self) -> bool:
        """Stand for leader until elected (True) or stopped (False); a follower's loop is
        healthy, and says it does not lead."""
        while not self._stop.is_set():
            if self._lock.acquire():
                self.health.leader = True
                log.info("anchoring: this node leads")
                return True
            if self.health.leader is not False or self.health.state != "running":
                log.info("anchoring: another node leads; standing again every %.1f s",
                         self.leader_retry_s)  # fmt: skip
            self.health.leader = False
            self.health.succeeded()
            self._attached.set()
            sleep_until(self._stop.is_set, self.leader_retry_s)
        return False

    def _quitting(self) -> bool:
        return self._stop.is_set() or not self._lock.held()

    def _open_chain(self) -> bool:
        """Open the embedded chain's file (it is locked by the process that has it open);
        False when stopped, no longer leading, or failed (`error` says why)."""
        while self._chain is None and not self._quitting():
            try:
                self._chain = Chain.create_embedded(embedded_chain_file(self.db))
            except ChainFileLockedError as exc:
                if isinstance(self._lock, SoleLeader):  # another process serves this file
                    self.error = str(exc)
                    return False
                # The previous leader, on this machine, has lost the lock but not yet seen
                # it: it closes the file at its next check.
                self.health.failed(exc, self.leader_retry_s)
                log.warning("anchoring: %s; trying again", exc)
                sleep_until(self._stop.is_set, self.leader_retry_s)
            except Exception as exc:
                log.exception("anchoring worker stopped")
                self.error = str(exc)
                return False
        return self._chain is not None

    def _lead(self) -> None:
        """Anchor until stopped or no longer the leader; a fatal error stops the worker."""
        if not self._open_chain():
            return
        store = Store(self.db, create=False)
        try:
            worker = AnchorWorker(
                store,
                store.conn,
                log_id=self.log_id,
                domain=self.domain,
                operator_key=self.operator_key,
                operator=self.operator,
                chain=self.chain,
                policy=self.policy,
            )
            worker.health = self.health
            if self._attach(store, worker):
                if self.chain.embedded:
                    self._server = EmbeddedRpcServer(self.chain, port=self.rpc_port).start()
                    log.info("embedded chain JSON-RPC at %s", self._server.url)
                self._attached.set()
                worker.run_forever(self._quitting)
            if not self._stop.is_set():
                log.warning("anchoring: this node no longer leads; following")
        except ChainIntegrityError as exc:  # the chain contradicts the log: said, not a bug
            log.error("anchoring worker stopped: %s", exc)
            self.error = str(exc)
        except Exception as exc:  # a bug: stop anchoring with its traceback, keep serving
            log.exception("anchoring worker stopped")
            self.error = str(exc)
        finally:
            self.token = None
            store.close()

    def _attach(self, store: Store, worker: AnchorWorker) -> bool:
        """Bind (or deploy) the contracts, retrying while the chain is unreachable; False
        when stopped first. A registry that does not fit the chain stops the worker."""
        backoff = self.policy.poll_s
        while not self._quitting():
            try:
                worker.attach()
                self.token = start_bridge(
                    Registry(store),
                    worker,
                    Signer(self.operator_key),
                    self._token_address,
                    self._public_url,
                )
            except ChainConfigError as exc:
                self.health.failed(exc, None)
                self.error = str(exc)
                raise
            except Exception as exc:  # the RPC is down, or the database busy: try again
                backoff = min(backoff * 2, self.policy.max_backoff_s)
                self.health.failed(exc, backoff)
                log.warning("anchoring worker cannot attach yet (%s); retrying", exc)
                self._attached.set()
                sleep_until(self._stop.is_set, backoff)
                continue
            self.health.succeeded()
            return True
        return False
