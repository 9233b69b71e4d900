"""Signature recovery on a second core: a group's signers are recovered while the group
before it commits.

Recovering an EIP-712 signer (secp256k1 public-key recovery, then Keccak) is about a third of
a signed transfer's cost and reads no state. Threads cannot share it out: coincurve releases
the GIL, but the Python around each call needs it, and a recovery thread made group commit
slower, not faster. So `SignerRecovery` sends a group's (digest, signature) pairs to one
worker process (`python -m registry.recovery`, over a socket pair), and the caller collects
the signers when it commits the group.

The worker only saves work; it never decides a refusal. For a pair it cannot recover it
answers None, and so does every pair of a group while the worker is starting (until it says
it is ready), and when it cannot be started, dies, or is silent for `reply_timeout_s`: the
caller then recovers the pair itself, with the exact error a bad signature gets. A lost
worker is killed and replaced RESTART_PAUSE_S later. One group at a time is sent: the next is
sent once the last is answered, so that neither side can block on a full socket, and the
socket's own timeouts bound every read and write. One thread at a time uses a SignerRecovery
(the API's writer thread, a bench's loop).
"""

from __future__ import annotations

import logging
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from registry.eip712 import recover_signer

log = logging.getLogger("carbon_registry.recovery")

MIN_GROUP = 16
"""Smaller groups are left to the caller: sending them would cost about what it saves."""
RESTART_PAUSE_S = 60.0
REPLY_TIMEOUT_S = 10.0
"""A group of 256 takes the worker about 15 ms; one silent this long is taken for stuck."""
START_TIMEOUT_S = 120.0
"""A worker not ready this long after its start (Python and its imports) is given up."""
READY = "ready"
"""What the worker says once it has imported what it needs."""
_SOURCE_ROOT = Path(__file__).resolve().parents[1]  # where `-m registry.recovery` resolves

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

    def give_up(self) -> None:
        self._signers = [None] * self.size

    @property
    def resolved(self) -> bool:
        return self._signers is not None


class SignerRecovery:
    """One worker process recovering the signers of whole groups, started on first use."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        self._clock = clock
        self._reply_timeout_s = reply_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._started_at = 0.0
        self._ready = False  # the running worker said READY
        self._pending: Recovered | None = None  # the group sent and not yet answered
        self._start_after = 0.0

    @property
    def pid(self) -> int | None:
        """The worker's process id; None while no worker runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> bool:
        """Start a worker unless one runs or the pause after a lost one lasts; whether one
        runs (it may still be starting)."""
        if self._process is not None:
            if self._process.poll() is None:
                return True
            self._lose(f"it exited with code {self._process.returncode}")
        if self._clock() < self._start_after:
            return False
        ours, theirs = socket.socketpair()
        # Every read and write on our side gives up after the reply timeout (os.read and
        # os.write, which Connection uses, obey these; a socket's settimeout would not).
        timeval = struct.pack(
            "ll", int(self._reply_timeout_s), int(self._reply_timeout_s % 1 * 1e6)
        )
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "registry.recovery", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                cwd=_SOURCE_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except Exception as exc:  # any failure to start leaves the work to us
            ours.close()
            self._start_after = self._clock() + RESTART_PAUSE_S
            log.warning("cannot start the signature worker (%s); recovering in this thread", exc)
            return False
        finally:
            theirs.close()
        self._process, self._conn = process, Connection(ours.detach())
        self._started_at, self._ready = self._clock(), False
        return True

    def wait_ready(self, timeout_s: float) -> bool:
        """Start the worker if need be and wait until it is ready, or `timeout_s`; whether it
        is (benches and tests: the writer never waits for a worker to start)."""
        if not self.start():
            return False
        assert self._conn is not None
        if not self._ready and not self._conn.poll(timeout_s):
            return False
        return self._ready_connection() is not None

    def recover(self, pairs: Sequence[Pair]) -> Recovered:
        """Send a group's pairs to the worker; small groups, and every group while no worker
        is ready, come back all None."""
        if len(pairs) < MIN_GROUP:
            return Recovered(None, len(pairs))
        if self._pending is not None:
            self.wait_for(self._pending)
        conn = self._ready_connection()
        if conn is None:
            return Recovered(None, len(pairs))
        recovered = Recovered(self, len(pairs))
        try:
            conn.send(list(pairs))
        except (OSError, ValueError) as exc:
            recovered.give_up()
            self._lose(f"sending a group failed: {exc!r}")
            return recovered
        self._pending = recovered
        return recovered

    def wait_for(self, recovered: Recovered) -> None:
        """Read the worker's answer to `recovered`'s group."""
        if recovered.resolved:
            return
        conn = self._conn
        if recovered is not self._pending or conn is None:
            recovered.give_up()  # not sent, or sent to a worker since lost
            return
        try:
            if not conn.poll(self._reply_timeout_s):
                self._lose(f"no answer in {self._reply_timeout_s:g} s")
                return
            answer: Any = conn.recv()
        except Exception as exc:  # a broken socket, a truncated or garbled answer
            self._lose(f"reading an answer failed: {exc!r}")
            return
        self._pending = None
        if not isinstance(answer, list) or len(answer) != recovered.size:
            recovered.give_up()
            self._lose("it answered out of step")
            return
        recovered.resolve(answer)

    def close(self) -> None:
        """Stop the worker: it exits when its socket closes (killed if it does not)."""
        self._stop(wait_s=5)

    def _ready_connection(self) -> Connection | None:
        """The worker's socket once it has said READY; None before (starting one if none
        runs), never waiting."""
        if not self.start():
            return None
        conn = self._conn
        assert conn is not None
        if self._ready:
            return conn
        try:
            if not conn.poll(0):
                if self._clock() - self._started_at > START_TIMEOUT_S:
                    self._lose(f"not ready {START_TIMEOUT_S:g} s after its start")
                return None
            said = conn.recv()
        except Exception as exc:
            self._lose(f"starting failed: {exc!r}")
            return None
        if said != READY:
            self._lose(f"it said {said!r} on starting")
            return None
        self._ready = True
        return conn

    def _lose(self, why: str) -> None:
        """Give up on the worker: its outstanding group is left to the caller."""
        process = self._process
        code = None if process is None else process.poll()
        log.warning(
            "signature worker lost (%s%s): recovering in this thread, a new worker in %.0f s",
            why,
            "" if code is None else f"; exit code {code}",
            RESTART_PAUSE_S,
        )
        self._stop(wait_s=0)
        self._start_after = self._clock() + RESTART_PAUSE_S

    def _stop(self, wait_s: float) -> None:
        if self._pending is not None:
            self._pending.give_up()
            self._pending = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            try:
                self._process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._ready = False


def serve(conn: Connection) -> None:
    """The worker: answers each group with its signers, None where recovery fails, until its
    socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops this
    try:
        conn.send(READY)
    except OSError:
        return
    while True:
        try:
            pairs = conn.recv()
            conn.send([_signer_or_none(digest, signature) for digest, signature in pairs])
        except (EOFError, OSError):
            return


def _signer_or_none(digest: bytes, signature: str) -> str | None:
    try:
        return recover_signer(digest, signature)
    except Exception:  # the caller recovers it again and reports the error
        return None


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
