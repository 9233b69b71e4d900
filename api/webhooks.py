"""Signed webhooks: every logged event, pushed to subscribers, with retries.

Each subscription has a cursor (the last event it got) and receives events in log order,
one POST each, body = the event's canonical JSON (the same bytes as the log's leaf data).
Headers:

    X-Registry-Event-Id: <seq>
    X-Registry-Event-Type: <type>
    X-Registry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

A receiver recomputes the HMAC with the secret it got when the subscription was created
(`verify_signature`) and refuses old timestamps, so a captured delivery cannot be replayed
later. A failed delivery (no 2xx within the timeout) is retried after `backoff`, doubling
up to `max_backoff`; after `max_attempts` the event is logged as given up and the
subscription moves on. Every attempt is logged in `api_webhook_deliveries`.

Every API node of a registry runs a dispatcher; a subscription is delivered by one node at a
time. A node leases it (`WebhookTable.claim`: one UPDATE that only takes a row whose lease
has expired), delivers in order, renews the lease with every step it records and releases
it when done. Each step is recorded only while the node still holds the lease, so a node
that stalled past its lease cannot move the cursor another node has moved. A node that dies
mid-delivery leaves a lease that expires after `lease_s` (4 x the delivery timeout + 10 s),
and another node takes over at the cursor the dead one last recorded: nothing is lost, and
only the event being posted when it died can arrive twice (receivers tell by the
X-Registry-Event-Id header).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

import httpx

from api.settings import Settings
from registry.loops import LoopHealth, sleep_until
from registry.storage import Store
from registry.storage.service import Webhook, WebhookTable

log = logging.getLogger("carbon_registry.api.webhooks")

ip_network_type = ipaddress.IPv4Network | ipaddress.IPv6Network

SIGNATURE_HEADER = "X-Registry-Signature"
DELIVERY_BATCH = 100
SIGNATURE_TOLERANCE_S = 300
BACKOFF_FIRST_S = 0.1
LEASE_MARGIN_S = 10.0


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """True when `header` is a fresh signature of `body` with `secret`."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        expected = sign_payload(secret, timestamp, body).split("v1=", 1)[1]
        fresh = abs((time.time() if now is None else now) - timestamp) <= tolerance_s
        return fresh and hmac.compare_digest(expected, parts["v1"])
    except (KeyError, ValueError):
        return False


class TargetRefusedError(ValueError):
    """A webhook URL the dispatcher will not call (SSRF guard)."""


def check_target(url: str, allowed: Sequence[ip_network_type]) -> None:
    """Refuse a webhook URL that is not plain http(s) to public addresses.

    Deliveries are requests the registry makes on a subscriber's behalf; without this check
    a subscription could reach the operator's own network (loopback, private ranges, the
    169.254.169.254 metadata service) and the delivery log would report what answered. The
    host is resolved and EVERY address must be global unicast, or inside a network the
    operator allowed (`webhook_allowed_networks`, e.g. 127.0.0.0/8 for local use). Checked
    when subscribing and again before each delivery (the name may resolve anew).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefusedError("webhook URLs must be http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefusedError("webhook URLs must not carry credentials (user:pass@)")
    host = parts.hostname
    if not host:
        raise TargetRefusedError("the webhook URL names no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as exc:
        raise TargetRefusedError(f"cannot resolve {host!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in allowed):
            continue
        if not address.is_global or address.is_multicast or address.is_reserved:
            raise TargetRefusedError(
                f"{host} resolves to {address}, which is not a public address"
                " (allow its network with CARBON_REGISTRY_WEBHOOK_ALLOWED_NETWORKS)"
            )


class EventHub:
    """The latest logged seq, and a way for threads to wait for a newer one."""

    def __init__(self, last_seq: int = -1) -> None:
        self._last = last_seq
        self._changed = threading.Condition()

    @property
    def last_seq(self) -> int:
        return self._last

    def notify(self, seq: int) -> None:
        with self._changed:
            if seq > self._last:
                self._last = seq
                self._changed.notify_all()

    def wake(self) -> None:
        """Wake every waiter (to notice a stop)."""
        with self._changed:
            self._changed.notify_all()

    def wait_beyond(self, seq: int, timeout_s: float) -> int:
        with self._changed:
            if self._last <= seq:
                self._changed.wait(timeout_s)  # a newer event, wake() or the timeout
            return self._last


class WebhookDispatcher:
    """One thread delivering to every active subscription."""

    def __init__(
        self, settings: Settings, hub: EventHub, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self.health = LoopHealth("webhooks")
        # Who holds a lease: this dispatcher, on this machine, in this process.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # Long enough for one delivery (httpx's timeout bounds connect, write and read each).
        self.lease_s = 4 * settings.webhook_timeout_s + LEASE_MARGIN_S

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.hub.wake()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        """Deliver until stopped; an error (a busy or failing database) is retried with
        exponential backoff, and the loop's `health` shows it meanwhile."""
        client = httpx.Client(timeout=self.settings.webhook_timeout_s, follow_redirects=False)
        store: Store | None = None
        seen = self.hub.last_seq
        backoff = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if store is None:
                        store = Store(self.settings.db, create=False)
                    self._pass(store, WebhookTable(store.conn), client)
                except Exception as exc:
                    backoff = min(
                        max(2 * backoff, BACKOFF_FIRST_S), self.settings.webhook_max_backoff_s
                    )
                    self.health.failed(exc, backoff)
                    log.warning("webhook dispatcher: %s; retrying in %.2f s", exc, backoff)
                    sleep_until(self._stop.is_set, backoff)
                    continue
                self.health.succeeded()
                backoff = 0.0
                seen = self.hub.wait_beyond(seen, 0.5)
        finally:
            self.health.stopped()
            client.close()
            if store is not None:
                store.close()

    def _pass(self, store: Store, table: WebhookTable, client: httpx.Client) -> None:
        """One round: every active subscription that is due gets its next events."""
        # Events written by other processes (the CLI) reach SSE clients this way too.
        self.hub.notify(store.event_count() - 1)
        for hook in table.all(active_only=True):
            if self._stop.is_set():
                return
            if hook.cursor < self.hub.last_seq and hook.next_attempt_at <= self.clock():
                claimed = table.claim(hook.id, self.holder, self.clock(), self.lease_s)
                if claimed is None:  # another node is delivering it
                    continue
                self._deliver(store, table, client, claimed)
                # After an error the lease is kept instead, and expires: this node takes
                # the subscription up again at once, another one after the lease.
                table.release(hook.id, self.holder)

    def _deliver(
        self, store: Store, table: WebhookTable, client: httpx.Client, hook: Webhook
    ) -> None:
        """Deliver the hook's next events in order; stop at the first failure."""
        # Read first, then deliver: an open read cursor would pin a snapshot, and recording a
        # delivery (a write) after another connection committed would fail at once with
        # "database is locked" (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout.
        for seq, event_type, _, body in list(store.event_rows(hook.cursor, DELIVERY_BATCH)):
            if self._stop.is_set():
                return
            if not hook.wants(event_type):
                if not table.advance(hook.id, seq, self.holder):
                    self._lost(hook)
                    return
                hook = replace(hook, cursor=seq, attempts=0, next_attempt_at=0.0)
                continue
            status, error = self._post(client, hook, seq, event_type, body)
            now = self.clock()
            if status is not None and 200 <= status < 300:
                if not table.record(
                    hook, seq, "delivered", status_code=status, error=None, cursor=seq,
                    attempts=0, next_attempt_at=0.0, now=now,
                    holder=self.holder, lease_s=self.lease_s,
                ):  # fmt: skip
                    self._lost(hook)
                    return
                hook = replace(hook, cursor=seq, attempts=0, next_attempt_at=0.0)
                continue
            attempts = hook.attempts + 1
            if attempts >= self.settings.webhook_max_attempts:
                log.warning(
                    "webhook %d: gave up on event %d after %d attempts", hook.id, seq, attempts
                )
                if not table.record(
                    hook, seq, "gave_up", status_code=status, error=error, cursor=seq,
                    attempts=0, next_attempt_at=0.0, now=now,
                    holder=self.holder, lease_s=self.lease_s,
                ):  # fmt: skip
                    self._lost(hook)
                    return
                hook = replace(hook, cursor=seq, attempts=0, next_attempt_at=0.0)
                continue
            delay = min(
                self.settings.webhook_backoff_s * 2 ** (attempts - 1),
                self.settings.webhook_max_backoff_s,
            )
            if not table.record(
                hook, seq, "retry", status_code=status, error=error, cursor=hook.cursor,
                attempts=attempts, next_attempt_at=now + delay, now=now,
                holder=self.holder, lease_s=self.lease_s,
            ):  # fmt: skip
                self._lost(hook)
            return

    def _lost(self, hook: Webhook) -> None:
        log.warning(
            "webhook %d: the lease ran out during a delivery; another node delivers it now",
            hook.id,
        )

    def _post(
        self, client: httpx.Client, hook: Webhook, seq: int, event_type: str, body: bytes
    ) -> tuple[int | None, str | None]:
        try:
            check_target(hook.url, self.settings.webhook_networks())
        except TargetRefusedError as exc:
            return None, f"target refused: {exc}"[:500]
        headers = {
            "Content-Type": "application/json",
            "X-Registry-Event-Id": str(seq),
            "X-Registry-Event-Type": event_type,
            SIGNATURE_HEADER: sign_payload(hook.secret, int(self.clock()), body),
        }
        try:
            response = client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
