"""The anchoring worker inside the service: its own thread, Store and connection.

It also runs the bridge: the CarbonCredits token contract is deployed (embedded chain) or
bound, and its burns are recorded in the registry by the worker's watcher.

On the embedded chain (the default) the chain's state lives in the file `DB.chain`
(`anchoring.persistent_evm`): a restart finds the same contracts, blocks and tokens. The
chain is served over JSON-RPC on a fixed loopback port (`EmbeddedRpcServer`) so that
outside verifiers check bundles against it exactly as against a real node, at the same URL
after every restart; `GET /v1/chain` shows it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from anchoring.chain import Chain, ChainConfigError, ChainIntegrityError, embedded_chain_file
from anchoring.rpc_server import EmbeddedRpcServer
from anchoring.worker import AnchorPolicy, AnchorWorker
from bridge.token import DEFAULT_PUBLIC_URL, TokenContract
from bridge.watcher import start_bridge
from registry.eip712 import Domain
from registry.ledger import Registry
from registry.loops import LoopHealth, sleep_until
from registry.signing import Signer
from registry.storage import Store

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

    @property
    def chain(self) -> Chain:
        if self._chain is None:  # the embedded chain's file is opened (and locked) at start
            raise RuntimeError("the anchoring runtime is not started")
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
        """Start the worker; returns once the contract is bound (deployed on the embedded
        chain) or the first attempt failed (a JSON-RPC chain that is down: the worker keeps
        trying, and `status()` says so)."""
        if self._chain is None:
            self._chain = Chain.create_embedded(embedded_chain_file(self.db))
        self._thread.start()
        if not self._attached.wait(START_TIMEOUT_S):
            raise RuntimeError("the anchoring worker did not attach to the chain in time")
        if self.error is not None:
            raise RuntimeError(f"anchoring worker: {self.error}")
        if self.health.state == "retrying":
            log.warning("anchoring worker not attached yet (%s); retrying", self.health.last_error)
        if self.chain.embedded:
            self._server = EmbeddedRpcServer(self.chain, port=self.rpc_port).start()
            log.info("embedded chain JSON-RPC at %s", self._server.url)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._chain is not None:
            self._chain.close()

    def status(self) -> ChainStatus:
        running = self._thread.is_alive() and not self._stop.is_set() and self.health.healthy
        error = self.error or (self.health.last_error if not self.health.healthy else None)
        return ChainStatus(self.kind, self.rpc_url, running, error, self.health)

    def _run(self) -> None:
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
                worker.run_forever(self._stop.is_set)
        except ChainIntegrityError as exc:  # the chain contradicts the log: said, not a bug
            log.error("anchoring worker stopped: %s", exc)
            self.error = str(exc)
        except Exception as exc:  # a bug: stop anchoring with its traceback, keep serving
            log.exception("anchoring worker stopped")
            self.error = str(exc)
        finally:
            self._attached.set()
            self.health.stopped()
            store.close()

    def _attach(self, store: Store, worker: AnchorWorker) -> bool:
        """Bind (or deploy) the contracts, retrying while the chain is unreachable; False
        when stopped first. A registry that does not fit the chain stops the worker."""
        backoff = self.policy.poll_s
        while not self._stop.is_set():
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
            self._attached.set()
            return True
        return False
