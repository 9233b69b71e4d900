"""Which process may run a registry's one-at-a-time job (the anchoring worker).

On PostgreSQL every `serve` node runs an anchoring worker, and the nodes elect one leader:
the holder of a session-level advisory lock, taken with `pg_try_advisory_lock` on a
connection of its own that the leader keeps open for as long as it leads. The lock is
released when that session ends, whatever ended it: a clean stop, a killed process (its
socket is closed by the operating system, the server ends the session at once), or a
machine or network gone silent (the server's TCP keepalives, set on the session below, end
it after `KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT` seconds). A follower
tries again every few seconds, so it takes over within that bound plus its retry period.

The key is the two-int form `(hashtext('carbon-registry-leader'), hashtext(schema))`: one
lock a registry (a schema), and PostgreSQL keeps the two-int keys apart from the one-bigint
keys of the writer lock (`postgres.WRITER_LOCK`), so the two can never collide.

On SQLite there is no election: a registry file is served by one process (its embedded
chain file is locked by the process that opens it), which is always the leader.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Protocol

import psycopg

from registry.storage.postgres import is_url, redacted

log = logging.getLogger("carbon_registry.leader")

# The server ends a silent leader's session (so frees its lock) after idle + interval *
# count seconds; the leader's own end of the connection detects a lost server as fast.
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
TAKEOVER_BOUND_S = KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT
CHECK_S = 1.0  # `held` asks the server at most this often (a worker asks between steps)

LEADER_KEY = "hashtext('carbon-registry-leader'), hashtext(current_schema())"


class LeaderLock(Protocol):
    """Leadership of one registry: `acquire` tries once, `held` checks it is still ours."""

    def acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


class SoleLeader:
    """A registry file: its one process leads."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class PgLeaderLock:
    """The advisory lock of the registry in the URL's schema, on a session of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._checked_at = 0.0

    def acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                # The name says which process leads (pg_stat_activity shows it).
                application_name=f"carbon-registry anchoring leader (pid {os.getpid()})",
                keepalives=1,
                keepalives_idle=KEEPALIVE_IDLE_S,
                keepalives_interval=KEEPALIVE_INTERVAL_S,
                keepalives_count=KEEPALIVE_COUNT,
            )
        except psycopg.Error as exc:
            log.warning("cannot reach %s to stand for leader: %s", redacted(self.url), exc)
            return False
        try:
            for name, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
            ):
                conn.execute(f"SET {name} = {int(value)}")
            row = conn.execute(f"SELECT pg_try_advisory_lock({LEADER_KEY})").fetchone()
        except psycopg.Error as exc:
            conn.close()
            log.warning("standing for leader failed: %s", exc)
            return False
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """True while the leader's session is alive (the lock lives as long as it does);
        the session is asked once a CHECK_S."""
        if self._conn is None:
            return False
        now = time.monotonic()
        if now - self._checked_at < CHECK_S:
            return True
        self._checked_at = now
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error as exc:
            log.error("the leader's session to the database was lost (%s): leading no more", exc)
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()  # ends the session, so frees the lock


def leader_lock(location: str) -> LeaderLock:
    return PgLeaderLock(location) if is_url(location) else SoleLeader()
