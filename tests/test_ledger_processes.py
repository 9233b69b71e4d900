"""Several processes on one database: races cannot double-spend, SIGKILL cannot corrupt."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from registry.errors import InsufficientBalanceError, RegistryError
from registry.ledger import Registry
from registry.replay import replay
from registry.signing import Signer
from registry.storage import Store
from tests.ledger_world import CLASS, World, check_invariants

SPAWN = mp.get_context("spawn")


def _spend(db: str, request: tuple[str, dict[str, Any], str], go: Any, results: Any) -> None:
    registry = Registry(Store(db))
    go.wait()
    try:
        receipt = registry.execute(*request)
        results.put(("ok", receipt.seq))
    except RegistryError as exc:
        results.put((type(exc).__name__, str(exc)))


def test_two_processes_racing_for_the_same_grams(tmp_path: Path) -> None:
    world = World.create(tmp_path / "race.db")
    for round_no in range(5):
        world.issue("alice", 1_000, f"race-{round_no}")
        requests = [world.signed_transfer("alice", dst, 1_000) for dst in ("bob", "carol")]
        go, results = SPAWN.Event(), SPAWN.Queue()
        procs = [
            SPAWN.Process(target=_spend, args=(str(world.store.path), r, go, results))
            for r in requests
        ]
        for p in procs:
            p.start()
        time.sleep(0.5)  # both children are importing and then waiting on `go`
        go.set()
        outcomes = sorted(results.get(timeout=60)[0] for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert outcomes == ["InsufficientBalanceError", "ok"], outcomes
        assert world.active("alice") == 0
    assert world.active("bob") + world.active("carol") == 5_000
    check_invariants(world.store)
    assert replay(world.store).clean


def _spend_all(
    db: str, requests: list[tuple[str, dict[str, Any], str]], ready: Any, results: Any
) -> None:
    registry = Registry(Store(db))
    ready.wait()  # every writer is connected: they start together
    outcomes = []
    for request in requests:
        try:
            outcomes.append(("ok", registry.execute(*request).seq))
        except Exception as exc:  # reported, so that the test fails at once and says why
            outcomes.append((type(exc).__name__, -1))
    registry.store.close()
    results.put(outcomes)


@pytest.mark.both_backends
def test_two_writers_spending_the_same_grams_spend_exactly_the_balance(world: World) -> None:
    """Two processes each try to move alice's grams away in 30 transfers of 20 g, across
    several batches: together they ask for 1,200 g of her 1,000. Exactly 50 transfers go
    through, whoever wins each; nothing is spent twice, every serial is in one range, the
    log has no gap, and replay agrees."""
    for claim in range(4):
        world.issue("alice", 250, f"split-{claim}")
    first_seq = world.store.next_seq()
    work = {
        dst: [world.signed_transfer("alice", dst, 20) for _ in range(30)]
        for dst in ("bob", "carol")
    }
    ready, results = SPAWN.Barrier(3, timeout=120), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_spend_all, args=(str(world.store.path), requests, ready, results))
        for requests in work.values()
    ]
    for p in procs:
        p.start()
    ready.wait()
    outcomes = [outcome for _ in procs for outcome in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    spent = [seq for kind, seq in outcomes if kind == "ok"]
    refused = [kind for kind, _ in outcomes if kind != "ok"]
    assert refused == ["InsufficientBalanceError"] * 10, refused
    assert len(spent) == 50
    assert sorted(spent) == list(range(first_seq, first_seq + 50))  # one event each, no gap
    assert world.active("alice") == 0
    assert world.active("bob") + world.active("carol") == 1_000
    check_invariants(world.store)
    report = replay(world.store)
    assert report.clean, report.problems


def _churn(db: str, keys: dict[str, str]) -> None:
    """Trade forever between three accounts, in single requests and in groups."""
    registry = Registry(Store(db))
    signers = {name: Signer(key) for name, key in keys.items()}
    names = list(signers)
    i = 0
    while True:
        src, dst = names[i % 3], names[(i + 1) % 3]
        s = signers[src]
        transfer = s.request(
            registry.domain,
            "Transfer",
            **{"from": s.address},
            to=signers[dst].address,
            assetClass=CLASS,
            batchNo=0,
            amount=7,
        )
        retire = s.request(
            registry.domain,
            "Retire",
            owner=s.address,
            assetClass=CLASS,
            batchNo=0,
            amount=1,
            beneficiaryCommitment="0x" + "00" * 32,
            beneficiary=s.address,
            reason="r",
            jurisdiction="CN",
        )
        try:
            if i % 2:
                registry.execute(*transfer)
            else:
                registry.execute_many([transfer, retire, transfer])
        except InsufficientBalanceError:
            pass
        i += 1


@pytest.mark.both_backends
def test_sigkill_in_the_middle_of_operations_leaves_a_consistent_registry(world: World) -> None:
    for name in ("alice", "bob", "carol"):
        world.issue(name, 1_000_000)
    keys = {name: signer.private_key_hex for name, signer in world.people.items()}
    for delay in (0.0, 0.3, 0.7):
        before = world.store.event_count()
        child = SPAWN.Process(target=_churn, args=(str(world.store.path), keys))
        child.start()
        deadline = time.monotonic() + 120
        while world.store.event_count() == before:  # the child has started writing
            assert child.is_alive() and time.monotonic() < deadline, "the child wrote nothing"
            time.sleep(0.05)
        time.sleep(delay)  # then it dies at some point of its writes
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join()
        fresh = Store(world.store.path)
        check_invariants(fresh)
        report = replay(fresh, verify_signatures=False)
        assert report.clean, report.problems
        fresh.close()
