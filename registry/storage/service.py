"""The service's own tables (the HTTP API's), beside the registry's in the same file.

`api_idempotency` keeps, per Idempotency-Key, the hash of the request and the response
that the first request got; the writer inserts the row in the same transaction as the
request's effects, so a retried request can never take effect twice nor get another answer.
`api_webhooks` holds webhook subscriptions with a cursor (the last event delivered), and
`api_webhook_deliveries` one row per delivery attempt. None of them is registry state:
`replay` neither reads nor rebuilds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from registry.storage.connection import Connection


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status: int
    body: dict[str, Any]


class IdempotencyTable:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> StoredResponse | None:
        row = self.conn.execute(
            "SELECT request_hash, status, body FROM api_idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return StoredResponse(str(row[0]), int(row[1]), json.loads(row[2]))

    def put(self, key: str, response: StoredResponse, now: float) -> None:
        self.conn.execute(
            "INSERT INTO api_idempotency(key, request_hash, status, body, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, response.request_hash, response.status, json.dumps(response.body), now),
        )

    def prune(self, older_than: float) -> int:
        cursor = self.conn.execute(
            "DELETE FROM api_idempotency WHERE created_at < ?", (older_than,)
        )
        return int(cursor.rowcount)


class SignInNonceTable:
    """The nonces of the sign-in messages (EIP-712 SignIn and EIP-4361 text) that signed in,
    shared by every API node of the registry."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def take(self, nonce: str, expires_at: int, now: float) -> bool:
        """Record `nonce` until `expires_at`; False when it is recorded and not yet expired.

        No writer lock is needed: the primary key lets one insert of a nonce through,
        whichever node or process races for it. The expired nonces go first (they cannot
        sign in any more, and one of them may be taken again)."""
        self.conn.execute("DELETE FROM api_sign_in_nonces WHERE expires_at <= ?", (int(now),))
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO api_sign_in_nonces(nonce, expires_at) VALUES (?, ?)",
            (nonce, expires_at),
        )
        return cursor.rowcount == 1


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    secret: str
    event_types: tuple[str, ...]
    created_at: float
    active: bool
    cursor: int
    attempts: int
    next_attempt_at: float

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


_WEBHOOK_COLUMNS = (
    "id, url, secret, event_types, created_at, active, cursor, attempts, next_attempt_at"
)


class WebhookTable:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Webhook:
        return Webhook(
            int(row[0]),
            str(row[1]),
            str(row[2]),
            tuple(json.loads(row[3])),
            float(row[4]),
            bool(row[5]),
            int(row[6]),
            int(row[7]),
            float(row[8]),
        )

    def create(self, url: str, secret: str, event_types: list[str], cursor: int, now: float) -> int:
        """Insert a subscription (inside the caller's transaction); returns its id."""
        cur = self.conn.execute(
            "INSERT INTO api_webhooks(url, secret, event_types, created_at, cursor)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (url, secret, json.dumps(sorted(set(event_types))), now, cursor),
        )
        return int(cur.fetchone()[0])

    def get(self, webhook_id: int) -> Webhook | None:
        row = self.conn.execute(
            f"SELECT {_WEBHOOK_COLUMNS} FROM api_webhooks WHERE id = ?", (webhook_id,)
        ).fetchone()
        return None if row is None else self._row(tuple(row))

    def all(self, *, active_only: bool = False) -> list[Webhook]:
        where = " WHERE active = 1" if active_only else ""
        rows = self.conn.execute(f"SELECT {_WEBHOOK_COLUMNS} FROM api_webhooks{where} ORDER BY id")
        return [self._row(tuple(r)) for r in rows]

    def deactivate(self, webhook_id: int) -> bool:
        cursor = self.conn.execute(
            "UPDATE api_webhooks SET active = 0 WHERE id = ? AND active = 1", (webhook_id,)
        )
        return cursor.rowcount > 0

    def claim(self, webhook_id: int, holder: str, now: float, lease_s: float) -> Webhook | None:
        """Lease a due subscription to `holder` until `now + lease_s`, unless another holder's
        lease runs; returns it as it stands (its cursor as the last holder left it), or None.

        One statement decides: whichever node's UPDATE runs first takes the row, the other
        finds its lease running. A holder that dies leaves a lease that expires."""
        row = self.conn.execute(
            "UPDATE api_webhooks SET lease_holder = ?, lease_until = ?"
            " WHERE id = ? AND active = 1 AND next_attempt_at <= ?"
            " AND (lease_holder IS NULL OR lease_holder = ? OR lease_until <= ?)"
            f" RETURNING {_WEBHOOK_COLUMNS}",
            (holder, now + lease_s, webhook_id, now, holder, now),
        ).fetchone()
        return None if row is None else self._row(tuple(row))

    def release(self, webhook_id: int, holder: str) -> None:
        """End `holder`'s lease (if it still holds it): another node may deliver at once."""
        self.conn.execute(
            "UPDATE api_webhooks SET lease_holder = NULL, lease_until = 0"
            " WHERE id = ? AND lease_holder = ?",
            (webhook_id, holder),
        )

    def record(
        self,
        hook: Webhook,
        seq: int,
        outcome: str,
        *,
        status_code: int | None,
        error: str | None,
        cursor: int,
        attempts: int,
        next_attempt_at: float,
        now: float,
        holder: str,
        lease_s: float,
    ) -> bool:
        """Log one delivery attempt, move the subscription's cursor and retry state and renew
        `holder`'s lease; False (nothing written) when the lease went to another holder."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            moved = self.conn.execute(
                "UPDATE api_webhooks SET cursor = ?, attempts = ?, next_attempt_at = ?,"
                " lease_until = ? WHERE id = ? AND lease_holder = ?",
                (cursor, attempts, next_attempt_at, now + lease_s, hook.id, holder),
            ).rowcount
            if moved == 1:
                self.conn.execute(
                    "INSERT INTO api_webhook_deliveries(webhook_id, seq, attempt, status_code,"
                    " error, outcome, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (hook.id, seq, hook.attempts + 1, status_code, error, outcome, now),
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return moved == 1

    def advance(self, hook_id: int, cursor: int, holder: str) -> bool:
        """Skip events the subscription does not want (no delivery to log); False when
        `holder` no longer holds the lease."""
        cursor_moved = self.conn.execute(
            "UPDATE api_webhooks SET cursor = ? WHERE id = ? AND lease_holder = ?",
            (cursor, hook_id, holder),
        )
        return cursor_moved.rowcount == 1

    def deliveries(self, webhook_id: int, limit: int) -> list[dict[str, Any]]:
        cols = ("seq", "attempt", "status_code", "error", "outcome", "time")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM api_webhook_deliveries WHERE webhook_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (webhook_id, limit),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]


class NodeTable:
    """The API nodes serving the registry, each with when it last said it was alive."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def beat(self, node: str, now: float, alive_s: float) -> int:
        """Say `node` is alive at `now`; returns how many nodes were alive within `alive_s`
        (this one included). Nodes silent for ten times as long are forgotten."""
        self.conn.execute(
            "INSERT INTO api_nodes(node, seen_at) VALUES (?, ?)"
            " ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at",
            (node, now),
        )
        self.conn.execute("DELETE FROM api_nodes WHERE seen_at < ?", (now - 10 * alive_s,))
        row = self.conn.execute(
            "SELECT COUNT(*) FROM api_nodes WHERE seen_at >= ?", (now - alive_s,)
        ).fetchone()
        return max(1, int(row[0]))

    def leave(self, node: str) -> None:
        self.conn.execute("DELETE FROM api_nodes WHERE node = ?", (node,))
