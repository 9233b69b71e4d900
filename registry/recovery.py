"""Signature recovery on a second core: a group's signers are recovered while the group
before it commits.

Recovering an EIP-712 signer (secp256k1 public-key recovery, then Keccak) is about a third of
a signed transfer's cost and reads no state. Threads cannot share it out: coincurve releases
the GIL, but the Python around each call needs it, and a recovery thread made group commit
slower, not faster. So `SignerRecovery` sends a group's (digest, signature) pairs to one
worker process, and the caller collects the signers when it commits the group.

The worker only saves work; it never decides a refusal. For a pair it cannot recover it
answers None, and so does every pair of a group when the worker cannot be started, dies or
stays silent: the caller then recovers the pair itself, with the exact error a bad signature
gets. A lost worker is replaced RESTART_PAUSE_S later. One thread at a time uses a
SignerRecovery (the API's writer thread, a bench's loop).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from registry.eip712 import recover_signer

log = logging.getLogger("carbon_registry.recovery")

MIN_GROUP = 16
"""Smaller groups are left to the caller: sending them would cost about what it saves."""
RESTART_PAUSE_S = 60.0
REPLY_TIMEOUT_S = 60.0
"""A group of 256 takes the worker about 15 ms; one silent this long is taken for stuck."""

Pair = tuple[bytes, str]


class Recovered:
    """The signers of one group: `signer(i)` is pair i's address, or None for the caller
    to recover."""

    def __init__(self, recovery: SignerRecovery | None, size: int) -> None:
        self._recovery = recovery
        self.size = size
        self._signers: list[str | None] | None = None if recovery else [None] * size

    def signer(self, position: int) -> str | None:
        if self._signers is None:
            assert self._recovery is not None
            self._recovery.wait_for(self)
        assert self._signers is not None
        return self._signers[position]

    def resolve(self, signers: list[str | None]) -> None:
        self._signers = signers

    @property
    def resolved(self) -> bool:
        return self._signers is not None


class SignerRecovery:
    """One worker process recovering the signers of whole groups, started on first use."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._context = multiprocessing.get_context("spawn")  # safe beside threads
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._sent: deque[Recovered] = deque()  # answers come back in the order sent
        self._start_after = 0.0

    @property
    def pid(self) -> int | None:
        """The worker's process id; None while no worker runs."""
        return None if self._process is None else self._process.pid

    def recover(self, pairs: Sequence[Pair]) -> Recovered:
        """Send a group's pairs to the worker; small groups, and every group while no worker
        runs, come back all None."""
        if len(pairs) < MIN_GROUP:
            return Recovered(None, len(pairs))
        conn = self._connection()
        if conn is None:
            return Recovered(None, len(pairs))
        recovered = Recovered(self, len(pairs))
        try:
            conn.send(list(pairs))
        except (OSError, ValueError) as exc:
            recovered.resolve([None] * len(pairs))
            self._lose(f"sending a group failed: {exc}")
            return recovered
        self._sent.append(recovered)
        return recovered

    def wait_for(self, recovered: Recovered) -> None:
        """Read the worker's answers up to `recovered`'s."""
        while not recovered.resolved:
            conn = self._conn
            if conn is None or not self._sent:
                # Lost with the worker: _lose resolved it. Defensive: never wait forever.
                recovered.resolve([None] * recovered.size)
                return
            try:
                if not conn.poll(REPLY_TIMEOUT_S):
                    self._lose(f"no answer in {REPLY_TIMEOUT_S:.0f} s")
                    continue
                answer: Any = conn.recv()
            except (OSError, EOFError) as exc:
                self._lose(f"reading an answer failed: {exc!r}")
                continue
            front = self._sent.popleft()
            if not isinstance(answer, list) or len(answer) != front.size:
                front.resolve([None] * front.size)
                self._lose("it answered out of step")
                continue
            front.resolve(answer)

    def close(self) -> None:
        """Stop the worker (it exits when its pipe closes)."""
        for recovered in self._sent:
            recovered.resolve([None] * recovered.size)
        self._sent.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None

    def __enter__(self) -> SignerRecovery:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _connection(self) -> Connection | None:
        if self._process is not None and self._process.is_alive():
            return self._conn
        if self._process is not None:
            self._lose(f"it exited with code {self._process.exitcode}")
        if self._clock() < self._start_after:
            return None
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(child,), name="signature-recovery", daemon=True
        )
        try:
            process.start()
        except OSError as exc:
            parent.close()
            child.close()
            self._start_after = self._clock() + RESTART_PAUSE_S
            log.warning("cannot start the signature worker (%s); recovering in this thread", exc)
            return None
        child.close()
        self._process, self._conn = process, parent
        return parent

    def _lose(self, why: str) -> None:
        """Give up on the worker: its outstanding groups are left to the caller."""
        log.warning(
            "signature worker lost (%s): recovering in this thread, a new worker in %.0f s",
            why,
            RESTART_PAUSE_S,
        )
        self.close()
        self._start_after = self._clock() + RESTART_PAUSE_S


def serve(conn: Connection) -> None:
    """The worker: answers each group with its signers, None where recovery fails."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops this
    while True:
        try:
            pairs = conn.recv()
        except EOFError:
            return
        conn.send([_signer_or_none(digest, signature) for digest, signature in pairs])


def _signer_or_none(digest: bytes, signature: str) -> str | None:
    try:
        return recover_signer(digest, signature)
    except Exception:  # noqa: BLE001  the caller recovers it again and reports the error
        return None
