"""Several API nodes on one registry (issue 17): what one node did, the others know.

Sign-in nonces are taken once in the database, a webhook subscription is delivered by one
node at a time (a lease), and `carbon-registry serve` processes on one PostgreSQL database
share the spending of the same grams, an idempotency key, a sign-in and a webhook."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.sessions import SIGN_IN
from bridge.token import DEFAULT_PUBLIC_URL
from registry.personal import DATA_KEY_ENV
from registry.signing import new_nonce
from registry.storage import Store
from registry.storage.base import HOME_ENV
from registry.storage.service import SignInNonceTable, WebhookTable
from tests.api_world import OPERATOR, api_client, body
from tests.conftest import ALL_ON_BOTH_ENV
from tests.ledger_world import World, check_invariants
from tests.serve_process import CLI, clean_env, free_port, run_cli
from tests.test_web_pages import siwe
from tests.waiting import wait_for
from tests.webhook_endpoint import webhook_endpoint

pytestmark = pytest.mark.both_backends

WAIT_S = 120  # generous: the machine is shared


@dataclass
class Receiver:
    """A webhook endpoint on loopback that notes the event id of every delivery."""

    url: str = ""
    seqs: list[int] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_count(self, count: int) -> list[int]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(set(self.seqs)) >= count, WAIT_S), (
                f"{len(set(self.seqs))} of {count} events delivered"
            )
            return list(self.seqs)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    def answer(headers: Message, _: bytes) -> int:
        with state.arrived:
            state.seqs.append(int(headers["X-Registry-Event-Id"]))
            state.arrived.notify_all()
        return 204

    with webhook_endpoint(answer) as state.url:
        yield state


def test_a_sign_in_nonce_is_taken_once_across_connections_until_it_expires(
    store_url: str,
) -> None:
    World.create(store_url).store.close()
    first, second = Store(store_url, create=False), Store(store_url, create=False)
    try:
        one, other = SignInNonceTable(first.conn), SignInNonceTable(second.conn)
        now = 1_800_000_000.0
        assert one.take("n0nce-a", int(now) + 60, now)
        assert not other.take("n0nce-a", int(now) + 60, now)  # another node, same nonce
        assert not one.take("n0nce-a", int(now) + 60, now + 59)
        assert other.take("n0nce-b", int(now) + 30, now)
        # Expired, the nonces are pruned: their messages cannot sign in any more anyway.
        assert other.take("n0nce-a", int(now) + 200, now + 60)
        remaining = first.conn.execute("SELECT nonce FROM api_sign_in_nonces").fetchall()
        assert [row[0] for row in remaining] == ["n0nce-a"]
    finally:
        first.close()
        second.close()


def test_a_siwe_message_signs_in_at_one_node_only_and_every_node_takes_its_token(
    world: World,
) -> None:
    host = urlsplit(DEFAULT_PUBLIC_URL).netloc
    alice = world.people["alice"]
    message = siwe(alice, domain=host, uri=f"{DEFAULT_PUBLIC_URL}/me",
                   chain_id=world.registry.domain.chain_id)  # fmt: skip
    secret = "shared-session-secret-of-the-nodes-0123456789"
    with (
        api_client(world, session_secret=secret) as a,
        api_client(world, session_secret=secret) as b,
    ):
        signed_in = a.post("/v1/sessions", json=message)
        assert signed_in.status_code == 200, signed_in.text
        replayed = b.post("/v1/sessions", json=message)
        assert replayed.status_code == 401 and replayed.json()["code"] == "sign_in_nonce_used"
        bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        read = b.get(f"/v1/accounts/{alice.address}/activities", headers=bearer)
        assert read.status_code == 200, read.text
        # The typed-data form's nonce too: a copy of the message signs in nowhere else.
        now = int(time.time())
        typed = {"account": alice.address, "audience": world.registry.log_id, "issuedAt": now,
                 "expiry": now + 600, "nonce": new_nonce()}  # fmt: skip
        signature = alice.sign_struct(world.registry.domain, SIGN_IN, typed)
        signed_typed = {"message": typed, "signature": signature}
        assert b.post("/v1/sessions", json=signed_typed).status_code == 200
        copied = a.post("/v1/sessions", json=signed_typed)
        assert copied.status_code == 401 and copied.json()["code"] == "sign_in_nonce_used"
    with api_client(world, session_secret=secret) as restarted:
        for sent in (message, signed_typed):
            again = restarted.post("/v1/sessions", json=sent)
            assert again.status_code == 401 and again.json()["code"] == "sign_in_nonce_used"


def test_one_idempotency_key_sent_to_two_nodes_at_once_takes_effect_once(world: World) -> None:
    world.issue("alice", 10_000)
    signed = body(world.signed_transfer("alice", "bob", 1_000))
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    with api_client(world) as a, api_client(world) as b:
        start = threading.Barrier(8)

        def retry(node: Any) -> None:
            start.wait()
            r = node.post("/v1/transfers", json=signed, headers={"Idempotency-Key": "two-nodes"})
            with lock:
                answers.append((r.status_code, r.json()))

        threads = [threading.Thread(target=retry, args=(node,)) for node in [a, b] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_S)
    assert len(answers) == 8 and {status for status, _ in answers} == {201}
    assert len({answer["seq"] for _, answer in answers}) == 1
    assert world.active("alice") == 9_000 and world.active("bob") == 1_000


def test_a_webhook_lease_is_held_by_one_node_until_it_expires(world: World) -> None:
    node_a, node_b = Store(world.store.path, create=False), Store(world.store.path, create=False)
    try:
        a, b = WebhookTable(node_a.conn), WebhookTable(node_b.conn)
        hook_id = a.create("http://127.0.0.1:9/hook", "s" * 64, [], cursor=-1, now=0.0)
        now, lease_s = 1_800_000_000.0, 30.0
        claimed = a.claim(hook_id, "node-a", now, lease_s)
        assert claimed is not None and claimed.cursor == -1
        assert b.claim(hook_id, "node-b", now + lease_s - 1, lease_s) is None
        assert a.record(claimed, 0, "delivered", status_code=204, error=None, cursor=0,
                        attempts=0, next_attempt_at=0.0, now=now + 1, holder="node-a",
                        lease_s=lease_s)  # fmt: skip
        # Renewed by the record: still node a's until now + 1 + lease_s.
        assert b.claim(hook_id, "node-b", now + lease_s + 0.5, lease_s) is None
        # Node a stalls past its lease: node b takes over at the cursor a recorded ...
        taken = b.claim(hook_id, "node-b", now + lease_s + 2, lease_s)
        assert taken is not None and taken.cursor == 0
        # ... and node a can neither move the cursor nor log a delivery any more.
        assert not a.record(claimed, 1, "delivered", status_code=204, error=None, cursor=1,
                            attempts=0, next_attempt_at=0.0, now=now + lease_s + 3,
                            holder="node-a", lease_s=lease_s)  # fmt: skip
        assert not a.advance(hook_id, 1, "node-a")
        a.release(hook_id, "node-a")  # not its lease: nothing happens
        assert a.claim(hook_id, "node-a", now + lease_s + 3, lease_s) is None
        hook = a.get(hook_id)
        assert hook is not None and hook.cursor == 0
        assert [d["seq"] for d in a.deliveries(hook_id, 10)] == [0]
        b.release(hook_id, "node-b")
        assert a.claim(hook_id, "node-a", now + lease_s + 3, lease_s) is not None
    finally:
        node_a.close()
        node_b.close()


def test_two_nodes_deliver_every_event_once(world: World, receiver: Receiver) -> None:
    events = 20
    with api_client(world) as a, api_client(world):
        created = a.post("/v1/webhooks", json={"url": receiver.url}, headers=OPERATOR)
        assert created.status_code == 201, created.text
        first = world.store.event_count()
        for _ in range(events):
            world.issue("alice", 10)
        seqs = receiver.wait_for_count(events)
        hook_id = created.json()["id"]
        wait_for(
            lambda: (
                a.get(f"/v1/webhooks/{hook_id}", headers=OPERATOR).json()["cursor"]
                == first + events - 1
            ),
            "the cursor to reach the last event",
        )
        deliveries = a.get(f"/v1/webhooks/{hook_id}/deliveries?limit=100", headers=OPERATOR)
    assert sorted(seqs) == list(range(first, first + events))  # each event once
    assert sorted(d["seq"] for d in deliveries.json()) == sorted(seqs)


# -- serve processes on one PostgreSQL --------------------------------------------------------

NODES = 3
REQUESTS = 100
HELD = 5_000
EACH = 80  # 62 transfers fit, 38 must be refused


def start_node(store_url: str, home: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = clean_env(**{HOME_ENV: str(home),
                       "CARBON_REGISTRY_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
                       "CARBON_REGISTRY_RATE_LIMITS": "false",
                       DATA_KEY_ENV: os.environ[DATA_KEY_ENV]})  # fmt: skip
    process = subprocess.Popen(
        [CLI, "--db", store_url, "serve", "--port", str(port), "--no-anchoring"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def ready(process: subprocess.Popen[str], base: str) -> bool:
    assert process.poll() is None, process.communicate()[0]
    try:
        return bool(httpx.get(f"{base}/v1/health", timeout=5).json()["ready"])
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.mark.skipif(
    os.environ.get(ALL_ON_BOTH_ENV) != "1",
    reason="three serve processes take 20 to 40 s on 2 cores: `make test-pg` runs it",
)
@pytest.mark.parametrize("backend", ["postgresql"])
def test_serve_nodes_on_one_postgresql_spend_the_same_grams_once(
    world: World, tmp_path: Path, receiver: Receiver
) -> None:
    """Three `serve` processes on one database; 100 clients spend the same grams through
    all of them; the same idempotency key and the same sign-in are sent to every node."""
    home = tmp_path / "home"
    home.mkdir()
    world.issue("alice", HELD)
    nodes = [start_node(world.store.path, home) for _ in range(NODES)]
    try:
        for process, base in nodes:
            wait_for(partial(ready, process, base), f"{base} to be ready")
        bases = [base for _, base in nodes]
        key = (home / "registry.operator-api-key").read_text().strip()
        hook = httpx.post(f"{bases[0]}/v1/webhooks", json={"url": receiver.url},
                          headers={"X-Operator-Key": key}, timeout=30)  # fmt: skip
        assert hook.status_code == 201, hook.text
        first = world.store.event_count()

        transfers = [body(world.signed_transfer("alice", "bob", EACH)) for _ in range(REQUESTS)]
        same_key = body(world.signed_transfer("alice", "carol", EACH))
        host = urlsplit(DEFAULT_PUBLIC_URL).netloc
        sign_in = siwe(world.people["alice"], domain=host, uri=f"{DEFAULT_PUBLIC_URL}/me",
                       chain_id=world.registry.domain.chain_id)  # fmt: skip
        answers: dict[str, list[httpx.Response]] = {"transfer": [], "keyed": [], "siwe": []}
        lock = threading.Lock()
        jobs: list[tuple[str, int, str, dict[str, Any], dict[str, str]]]
        jobs = [("transfer", i, "/v1/transfers", p, {}) for i, p in enumerate(transfers)]
        jobs += [("keyed", i, "/v1/transfers", same_key, {"Idempotency-Key": "one-spend"})
                 for i in range(NODES)]  # fmt: skip
        jobs += [("siwe", i, "/v1/sessions", sign_in, {}) for i in range(NODES)]
        start = threading.Barrier(len(jobs))

        def send(
            kind: str, i: int, path: str, payload: dict[str, Any], headers: dict[str, str]
        ) -> None:
            with httpx.Client(base_url=bases[i % NODES], timeout=WAIT_S) as client:
                start.wait()
                response = client.post(path, json=payload, headers=headers)
            with lock:
                answers[kind].append(response)

        threads = [threading.Thread(target=send, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_S * 2)
        assert not any(t.is_alive() for t in threads)

        accepted = [r for r in answers["transfer"] if r.status_code == 201]
        refused = {(r.status_code, r.json()["code"]) for r in answers["transfer"]
                   if r.status_code != 201}  # fmt: skip
        keyed_answers = answers["keyed"]
        # The keyed spend is one transfer of EACH, whichever node each copy reached.
        assert {r.status_code for r in keyed_answers} <= {201, 409}
        assert len({r.json().get("seq", r.json().get("code")) for r in keyed_answers}) == 1
        keyed_spent = EACH if keyed_answers[0].status_code == 201 else 0
        assert (len(accepted) * EACH + keyed_spent) == HELD - HELD % EACH
        assert refused <= {(409, "insufficient_balance")}
        assert world.active("alice") == HELD % EACH
        assert world.active("bob") + world.active("carol") == HELD - HELD % EACH
        check_invariants(world.store)

        sessions = sorted(r.status_code for r in answers["siwe"])
        assert sessions == [200] + [401] * (NODES - 1)
        token = next(r for r in answers["siwe"] if r.status_code == 200).json()["token"]
        alice = world.people["alice"].address
        for base in bases:  # every node checks a token any node issued
            read = httpx.get(f"{base}/v1/accounts/{alice}/activities",
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
            assert read.status_code == 200, read.text

        written = world.store.event_count() - first
        seqs = receiver.wait_for_count(written)
        assert sorted(seqs) == list(range(first, first + written))  # each event once
    finally:
        for process, _ in nodes:
            process.send_signal(signal.SIGINT)
        outputs = [process.communicate(timeout=60)[0] for process, _ in nodes]
    assert [process.returncode for process, _ in nodes] == [0] * NODES, outputs
    env = {HOME_ENV: str(home), DATA_KEY_ENV: os.environ[DATA_KEY_ENV]}
    assert "state equals the log" in run_cli("--db", world.store.path, "replay", env=env).stdout
    assert "clean" in run_cli("--db", world.store.path, "audit", env=env).stdout


def test_a_client_s_rate_limit_holds_across_nodes(world: World) -> None:
    """Each of two nodes allows a client its share of the limit, so that the client gets
    the limit in all, not twice it; a node alone allows the whole limit again."""
    limits: dict[str, Any] = {"rate_limits": True, "rate_limit_expensive_reads": "6/minute"}

    def proofs(client: Any, count: int) -> list[int]:
        return [client.get("/v1/events/0/proof").status_code for _ in range(count)]

    with api_client(world, **limits) as first, api_client(world, **limits) as second:
        nodes = [client.app.state.service.nodes for client in (first, second)]
        wait_for(lambda: [n.current() for n in nodes] == [2, 2], "both nodes counted")
        assert proofs(first, 4) + proofs(second, 4) == [200, 200, 200, 429] * 2
        refused = first.get("/v1/events/0/proof").json()
        assert "share of 6 per 1 minute over 2 nodes" in refused["detail"], refused
    with api_client(world, **limits) as alone:
        count = alone.app.state.service.nodes
        wait_for(lambda: count.health.last_ok_at is not None, "the node's first heartbeat")
        assert count.current() == 1  # the two that stopped said so
        assert proofs(alone, 7) == [200] * 6 + [429]
