"""How many API nodes serve the registry, so that each client's rate limit holds across them.

Every node says it is alive every HEARTBEAT_S in the registry's database (`NodeTable`) and
counts the nodes that did within ALIVE_S. `api.middleware.RateLimit` gives each node that
share of a client's limit: with N nodes alive, a node allows a client limit / N, so a load
balancer spreading a client over every node lets it through at most the limit in all. The
count moves within a heartbeat when a node starts, and within ALIVE_S when one dies (a node
that stops says so at once); meanwhile the nodes' shares may add up to a little more or
less than the limit.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from registry.loops import LoopHealth, run_resilient
from registry.storage import Store
from registry.storage.service import NodeTable

log = logging.getLogger("carbon_registry.api")

HEARTBEAT_S = 2.0
ALIVE_S = 3 * HEARTBEAT_S


class NodeCount:
    """This node's heartbeat, and the number of nodes alive (at least 1) it last counted."""

    def __init__(self, db: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self.node = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.count = 1
        self.health = LoopHealth("nodes")
        self._stop = threading.Event()
        self._store: Store | None = None
        self._thread = threading.Thread(target=self._run, name="nodes", daemon=True)

    def current(self) -> int:
        return self.count

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            run_resilient(self._beat, self._stop.is_set, self.health, idle_s=HEARTBEAT_S)
        finally:
            self._leave()

    def _beat(self) -> None:
        if self._store is None:
            self._store = Store(self.db, create=False)
        # Statements of their own, outside the registry's write transactions: a heartbeat
        # never waits for the writer lock, nor holds it.
        self.count = NodeTable(self._store.conn).beat(self.node, self.clock(), ALIVE_S)

    def _leave(self) -> None:
        """Say this node stopped, so that the others' shares grow at their next beat."""
        if self._store is None:
            return
        try:
            NodeTable(self._store.conn).leave(self.node)
        except Exception as exc:  # the others stop counting it after ALIVE_S anyway
            log.warning("could not remove node %s: %s", self.node, exc)
        finally:
            self._store.close()
