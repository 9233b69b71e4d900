"""One anchoring worker at a time on PostgreSQL, and a takeover when the leader dies.

Two `serve` nodes on one PostgreSQL registry, sharing its home folder (keys, embedded chain
file) and the embedded chain's RPC port: the first leads and anchors, the second stands by
(`/v1/health` says which). The leader is killed (SIGKILL) in the middle of an anchor: after
it signed the transaction, recorded it as sent and broadcast it, before it recorded the
confirmation. The second node takes over, finishes that same transaction instead of
anchoring again, and anchors on; the chain then holds every size once, in increasing order,
and audit and replay are clean.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from anchoring.chain import Chain
from anchoring.worker import AnchorPolicy
from api.anchoring import AnchoringRuntime
from api.client import RegistryClient
from registry.signing import Signer
from registry.storage.anchors import AnchorTable
from registry.storage.base import HOME_ENV
from registry.storage.leader import PgLeaderLock
from tests.anchoring_world import anchored_world
from tests.ledger_world import World
from tests.serve_process import CLI, clean_env, free_port, run_cli
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parent.parent
RETRY_S = 1.0  # how often the standing-by node tries to take over


def anchoring_loop(port: int) -> dict[str, Any] | None:
    """The anchoring loop's health on the node at `port`, once the node is ready."""
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    loop: dict[str, Any] | None = health.get("loops", {}).get("anchoring")
    return loop if health.get("ready") else None


def leader_gauge(port: int) -> float:
    """`carbon_registry_anchoring_leader` of the node at `port`."""
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    (line,) = [m for m in metrics.splitlines() if m.startswith("carbon_registry_anchoring_leader ")]
    return float(line.split()[1])


def end_leader_session(url: str) -> None:
    """End the session that holds the leader lock, as a killed process or a lost machine does."""
    with psycopg.connect(url, autocommit=True) as admin:
        ((pid,),) = admin.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 2 AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())"
        ).fetchall()
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def leader_sessions(url: str) -> list[str]:
    """The application names of the sessions that hold a leader lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
        ).fetchall()
    return [str(name) for (name,) in rows]


def anchored_seq(api: RegistryClient, operator: Signer) -> int:
    opened = api.open_account(operator, Signer.generate().address, "household")
    api.wait_for_anchor(opened.seq, timeout_s=120)
    return int(opened.seq)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_node_anchors_and_another_takes_over_a_killed_leaders_anchor(
    store_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(**{HOME_ENV: str(home), "CARBON_REGISTRY_ANCHOR_LEADER_RETRY_S": str(RETRY_S)})
    rpc_port, port_a, port_b = free_port(), free_port(), free_port()
    marker = tmp_path / "killed-mid-anchor.json"
    serve = ["--db", store_url, "serve", "--rpc-port", str(rpc_port), "--anchor-max-age", "0.3"]
    log_a, log_b = open(tmp_path / "a.log", "wb"), open(tmp_path / "b.log", "wb")  # noqa: SIM115
    # Node A dies on its second anchor transaction (the first anchors the registry's start).
    node_a = subprocess.Popen(
        [sys.executable, "-m", "tests.anchoring_node", str(marker), "2", *serve,
         "--port", str(port_a)],
        cwd=REPO, env=env, stdout=log_a, stderr=subprocess.STDOUT,
    )  # fmt: skip
    node_b: subprocess.Popen[bytes] | None = None
    stack = ExitStack()
    try:
        loop_a = wait_for(lambda: anchoring_loop(port_a), "node A ready")
        assert loop_a["leader"] is True
        node_b = subprocess.Popen(
            [CLI, *serve, "--port", str(port_b)], env=env, stdout=log_b, stderr=subprocess.STDOUT
        )
        loop_b = wait_for(lambda: anchoring_loop(port_b), "node B ready")
        assert loop_b["leader"] is False and loop_b["state"] == "running"
        assert leader_sessions(store_url) == [
            f"carbon-registry anchoring leader (pid {node_a.pid})"
        ]

        key = (home / "registry.operator-api-key").read_text().strip()
        operator = Signer.load(home / "registry.operator-key.json")
        api_a = stack.enter_context(
            RegistryClient(f"http://127.0.0.1:{port_a}", operator_api_key=key)
        )
        api_b = stack.enter_context(
            RegistryClient(f"http://127.0.0.1:{port_b}", operator_api_key=key)
        )
        wait_for(lambda: api_a.latest_checkpoint().status == "confirmed", "the start anchored")
        chain_url = api_a.chain().rpc_url
        assert chain_url == f"http://127.0.0.1:{rpc_port}"
        assert api_b.chain().rpc_url is None  # B opened no chain: it does not lead
        assert wait_for(lambda: anchoring_loop(port_b), "node B ready")["leader"] is False
        assert leader_gauge(port_b) == 0 and leader_gauge(port_a) == 1

        # A write through B; A anchors it and is killed between broadcast and confirmation.
        opened = api_b.open_account(operator, Signer.generate().address, "household")
        assert wait_for(node_a.poll, "node A killed", timeout_s=120) == -signal.SIGKILL
        died = time.monotonic()
        killed_in = json.loads(marker.read_text())
        assert killed_in["tree_size"] > opened.seq

        wait_for(lambda: (anchoring_loop(port_b) or {}).get("leader"), "node B leads")
        takeover_s = time.monotonic() - died
        print(f"takeover: node B leads {takeover_s:.2f} s after node A was killed")
        assert takeover_s < 60
        assert leader_gauge(port_b) == 1
        assert api_b.wait_for_anchor(opened.seq, timeout_s=120)["anchor"] is not None
        assert api_b.chain().rpc_url == chain_url  # the verifiers' URL did not change
        anchored_seq(api_b, operator)  # and B anchors on by itself

        checkpoints = api_b.checkpoints(limit=100).items
        assert checkpoints and all(c.status == "confirmed" for c in checkpoints)
        # B finished A's transaction: the same hash, not a second anchor of that size.
        (half_done,) = [c for c in checkpoints if c.tree_size == killed_in["tree_size"]]
        assert half_done.anchor is not None
        assert half_done.anchor.tx_hash.removeprefix("0x") == killed_in["tx_hash"]

        chain = Chain.connect(chain_url)
        chain.bind(api_b.chain().contract)
        sizes = [anchor.tree_size for anchor in chain.anchors()]
        assert sizes == sorted(set(sizes)), sizes  # each size once, strictly increasing
        assert sizes == [c.tree_size for c in checkpoints]
        chain.close()

        audited = run_cli("--db", store_url, "audit", "--rpc", chain_url, env={HOME_ENV: str(home)})
        assert "clean" in audited.stdout, audited.stdout + audited.stderr
    finally:
        for node in (node_a, node_b):
            if node is not None and node.poll() is None:
                node.send_signal(signal.SIGINT)
                node.wait(timeout=60)
        stack.close()
        log_a.close()
        log_b.close()
    assert node_b.returncode == 0, (tmp_path / "b.log").read_text()
    replayed = run_cli("--db", store_url, "replay", env={HOME_ENV: str(home)})
    assert "state equals the log" in replayed.stdout, replayed.stdout


@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_session_at_a_time_holds_the_leader_lock(world: World) -> None:
    """The leader lock of a registry is held by one session; it is freed by a release or by
    the end of its session, and it is apart from the writer lock and other registries."""
    url = world.store.path
    first, second = PgLeaderLock(url), PgLeaderLock(url)
    try:
        assert first.acquire() and first.held()
        assert not second.acquire() and not second.held()
        world.issue("alice", 100, "while-a-leader-leads")  # writers do not wait for it
        other = f"other_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {other}")
        another_registry = PgLeaderLock(f"{url.rsplit('%3D', 1)[0]}%3D{other}")
        assert another_registry.acquire()  # another schema, another registry, another lock
        another_registry.release()
        first.release()
        assert second.acquire()
        # The leader's session ends (a killed process, a lost machine): the lock is free.
        end_leader_session(url)
        assert wait_for(first.acquire, "the lock freed", timeout_s=60)
        # `held` asks the server at most once a CHECK_S: it finds the session gone.
        wait_for(lambda: not second.held(), "the killed session's holder sees it lost")
    finally:
        first.release()
        second.release()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_anchor_once_refuses_while_another_node_leads(store_url: str, tmp_path: Path) -> None:
    env = {HOME_ENV: str(tmp_path)}
    run_cli("--db", store_url, "init", "--log-id", "test.local/leader", env=env)
    leader = PgLeaderLock(store_url)
    try:
        assert leader.acquire()
        refused = run_cli("--db", store_url, "anchor", "--once", check=False, env=env)
        assert refused.returncode != 0
        assert "another node leads anchoring" in refused.stdout + refused.stderr
    finally:
        leader.release()
    anchored = run_cli("--db", store_url, "anchor", "--once", env=env)
    assert "anchored 1 checkpoint(s)" in anchored.stdout, anchored.stdout


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_leader_whose_lock_session_ends_steps_down_and_another_anchors(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader's process lives on but its lock's session is ended (the database dropped
    it): it stops anchoring and closes the chain; the other worker takes over and anchors."""
    world, in_memory = anchored_world(store_url)  # a domain that names the embedded chain
    in_memory.close()
    monkeypatch.setenv(HOME_ENV, str(tmp_path))  # the embedded chain file of the registry
    policy = AnchorPolicy(max_age_s=0.2, poll_s=0.1)
    runtimes = [
        AnchoringRuntime(
            db=world.store.path,
            chain_spec="embedded",
            domain=world.registry.domain,
            log_id=world.registry.log_id,
            operator_key=bytes.fromhex(world.operator.private_key_hex[2:]),
            operator=world.operator.address,
            policy=policy,
            rpc_port=0,
            leader_retry_s=0.2,
        )  # fmt: skip
        for _ in range(2)
    ]
    first, second = runtimes
    anchors = AnchorTable(world.store.conn)

    def anchored_all() -> bool:
        latest = anchors.latest_confirmed()
        return latest is not None and latest.tree_size == world.store.event_count()

    try:
        first.start()
        second.start()
        assert first.health.leader is True and second.health.leader is False
        assert first.rpc_url is not None and second.rpc_url is None
        wait_for(anchored_all, "the first leader anchors")

        end_leader_session(world.store.path)
        # The old leader finds its session gone at its next check (once a second at most).
        wait_for(lambda: first.health.leader is False, "the old leader steps down")
        assert first.rpc_url is None
        wait_for(lambda: second.health.leader, "the other worker leads")
        assert first.error is None and first.health.healthy  # standing by, not failed

        world.issue("alice", 100, "after-the-takeover")
        wait_for(anchored_all, "the new leader anchors")
        assert second.rpc_url is not None
        chain = Chain.connect(second.rpc_url)
        chain.bind(world.registry.domain.verifying_contract)
        sizes = [anchor.tree_size for anchor in chain.anchors()]
        chain.close()
        assert sizes == sorted(set(sizes)) and sizes[-1] == world.store.event_count()
    finally:
        for runtime in runtimes:
            runtime.stop()
        world.store.close()
