"""Signature recovery on a second core: a group's signers are recovered while the group
before it commits.

Recovering an EIP-712 signer (secp256k1 public-key recovery, then Keccak) is about a third of
a signed transfer's cost and reads no state. Threads cannot share it out: coincurve releases
the GIL, but the Python around each call needs it, and a recovery thread made group commit
slower, not faster. So `SignerRecovery` sends a group's (digest, signature) pairs to one
worker process (`python -m registry.recovery`, over a socket pair), and the caller collects
the signers when it commits the group.

The worker only saves work; it never decides a refusal. For a pair it cannot recover it
answers None, and so does every pair of a group when the worker cannot be started, dies or
stays silent for `reply_timeout_s` (START_TIMEOUT_S for a new worker's first answer): the
caller then recovers the pair itself, with the exact error a bad signature gets. A lost
worker is killed and replaced RESTART_PAUSE_S later. At
most MAX_SENT groups wait for their answers: a caller that never reads some (a group whose
requests all turned out to be replays) cannot fill the socket. One thread at a time uses a
SignerRecovery (the API's writer thread, a bench's loop).
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from registry.eip712 import recover_signer

log = logging.getLogger("carbon_registry.recovery")

MIN_GROUP = 16
"""Smaller groups are left to the caller: sending them would cost about what it saves."""
MAX_SENT = 2
"""Groups sent and not yet answered, at most: the one committing and the next."""
RESTART_PAUSE_S = 60.0
REPLY_TIMEOUT_S = 10.0
"""A group of 256 takes the worker about 15 ms; one silent this long is taken for stuck."""
START_TIMEOUT_S = 120.0
"""A new worker's first answer also waits for it to start (Python and its imports), which a
loaded machine can make slow; a worker that fails to start exits, which ends the wait."""

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
        self.reply_timeout_s = reply_timeout_s
        self._started = False  # whether the running worker has answered once
        self._process: subprocess.Popen[bytes] | None = None
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
        if len(self._sent) >= MAX_SENT:
            self.wait_for(self._sent[0])
        conn = self._connection()
        if conn is None:
            return Recovered(None, len(pairs))
        recovered = Recovered(self, len(pairs))
        try:
            conn.send(list(pairs))
        except (OSError, ValueError) as exc:
            recovered.give_up()
            self._lose(f"sending a group failed: {exc}")
            return recovered
        self._sent.append(recovered)
        return recovered

    def wait_for(self, recovered: Recovered) -> None:
        """Read the worker's answers up to `recovered`'s."""
        while not recovered.resolved:
            conn = self._conn
            if conn is None or not self._sent:
                recovered.give_up()  # sent to a worker since lost: _lose gave its group up
                return
            timeout = self.reply_timeout_s if self._started else START_TIMEOUT_S
            try:
                if not conn.poll(timeout):
                    self._lose(f"no answer in {timeout:g} s")
                    continue
                answer: Any = conn.recv()
            except (OSError, EOFError) as exc:
                self._lose(f"reading an answer failed: {exc!r}")
                continue
            front = self._sent.popleft()
            if not isinstance(answer, list) or len(answer) != front.size:
                front.give_up()
                self._lose("it answered out of step")
                continue
            front.resolve(answer)
            self._started = True

    def close(self) -> None:
        """Stop the worker: it exits when its socket closes (killed if it does not)."""
        self._stop(wait_s=5)

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
        if self._process is not None and self._process.poll() is None:
            return self._conn
        if self._process is not None:
            self._lose(f"it exited with code {self._process.returncode}")
        if self._clock() < self._start_after:
            return None
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "registry.recovery", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        except Exception as exc:  # any failure to start leaves the work to us
            ours.close()
            self._start_after = self._clock() + RESTART_PAUSE_S
            log.warning("cannot start the signature worker (%s); recovering in this thread", exc)
            return None
        finally:
            theirs.close()
        self._process, self._conn = process, Connection(ours.detach())
        self._started = False
        return self._conn

    def _lose(self, why: str) -> None:
        """Give up on the worker: its outstanding groups are left to the caller."""
        log.warning(
            "signature worker lost (%s): recovering in this thread, a new worker in %.0f s",
            why,
            RESTART_PAUSE_S,
        )
        self._stop(wait_s=0)
        self._start_after = self._clock() + RESTART_PAUSE_S

    def _stop(self, wait_s: float) -> None:
        for recovered in self._sent:
            recovered.give_up()
        self._sent.clear()
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


def serve(conn: Connection) -> None:
    """The worker: answers each group with its signers, None where recovery fails, until its
    socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops this
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
