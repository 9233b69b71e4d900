"""Signature recovery in a worker process (`registry.recovery`): the same answers as
recovering in the caller, and a lost worker costs nothing but the speed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from api.metrics import Metrics
from api.service import render_receipt
from api.writer import Outcome, WriteJob, Writer, WriterStoppedError
from registry import errors, ledger
from registry.eip712 import recover_signer, sign_digest
from registry.ledger import Receipt, Registry
from registry.recovery import MIN_GROUP, RESTART_PAUSE_S, SignerRecovery
from registry.replay import replay
from registry.signing import Signer
from tests.api_world import settings_for
from tests.ledger_world import World
from tests.waiting import wait_for

Request = tuple[str, dict[str, Any], str]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recovery(clock: Clock) -> Iterator[SignerRecovery]:
    with closing(SignerRecovery(clock=clock)) as recovery:
        yield recovery


def signed_pairs(world: World, count: int) -> list[tuple[bytes, str]]:
    pairs = []
    for i in range(count):
        kind, message, signature = world.signed_transfer("alice", "bob", i + 1)
        prepared = world.registry.prepare(kind, message, signature)
        pairs.append((prepared.digest, signature))
    return pairs


def kill(pid: int | None) -> None:
    """SIGKILL the worker and wait until it has died (a zombie its parent has not reaped)."""
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 60
    while stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the killed worker did not die"
        time.sleep(0.01)


def ready(recovery: SignerRecovery) -> SignerRecovery:
    """The worker started and said it is ready (a generous wait: the machines are shared)."""
    assert recovery.wait_ready(120), "the signature worker did not start"
    return recovery


def test_the_worker_recovers_what_the_caller_would(world: World, recovery: SignerRecovery) -> None:
    pairs = signed_pairs(world, MIN_GROUP)
    pairs[3] = (pairs[3][0], "0x" + "00" * 65)  # recovers to no key
    pairs[5] = (pairs[5][0], "0xzz")  # not a signature
    recovered = ready(recovery).recover(pairs)
    signers = [recovered.signer(i) for i in range(len(pairs))]
    assert signers[3] is None and signers[5] is None
    assert all(
        signer == recover_signer(*pair)
        for i, (pair, signer) in enumerate(zip(pairs, signers, strict=True))
        if i not in (3, 5)
    )


def test_a_small_group_starts_no_worker(world: World, recovery: SignerRecovery) -> None:
    recovered = recovery.recover(signed_pairs(world, MIN_GROUP - 1))
    assert recovered.signer(0) is None  # the caller recovers it
    assert recovery.pid is None


def test_a_starting_worker_leaves_its_first_groups_to_the_caller(
    world: World, recovery: SignerRecovery
) -> None:
    """Nobody waits for a worker to start: groups sent before it is ready come back None."""
    pairs = signed_pairs(world, MIN_GROUP)
    before = recovery.recover(pairs)  # starts the worker, which is not ready yet
    assert recovery.pid is not None
    assert before.signer(0) is None
    assert ready(recovery).recover(pairs).signer(0) == recover_signer(*pairs[0])


def test_answers_stay_in_step_when_a_group_is_read_late(
    world: World, recovery: SignerRecovery
) -> None:
    first, second = signed_pairs(world, MIN_GROUP), signed_pairs(world, MIN_GROUP + 3)
    early, late = ready(recovery).recover(first), recovery.recover(second)
    assert [late.signer(i) for i in range(len(second))] == [recover_signer(*p) for p in second]
    assert [early.signer(i) for i in range(len(first))] == [recover_signer(*p) for p in first]


def test_groups_larger_than_the_socket_buffer_neither_block_nor_mix(
    recovery: SignerRecovery,
) -> None:
    """Each answer (6,000 addresses, about 280 KB) is more than the socket holds: the second
    group is sent only once the first one's answer is read."""
    signer = Signer.generate()
    key = bytes.fromhex(signer.private_key_hex[2:])
    digests = [os.urandom(32) for _ in range(12_000)]
    pairs = [(digest, sign_digest(key, digest)) for digest in digests]
    first, second = ready(recovery).recover(pairs[:6_000]), recovery.recover(pairs[6_000:])
    assert {first.signer(i) for i in range(6_000)} == {signer.address}
    assert {second.signer(i) for i in range(6_000)} == {signer.address}


def test_a_lost_worker_leaves_recovery_to_the_caller_then_comes_back(
    world: World, recovery: SignerRecovery, clock: Clock
) -> None:
    pairs = signed_pairs(world, MIN_GROUP)
    pid = ready(recovery).pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # so that it dies before it answers
    pending = recovery.recover(pairs)
    kill(pid)
    assert [pending.signer(i) for i in range(len(pairs))] == [None] * len(pairs)
    assert recovery.pid is None

    clock.now += RESTART_PAUSE_S - 1
    assert recovery.recover(pairs).signer(0) is None  # no new worker yet
    assert recovery.pid is None

    clock.now += 2
    assert ready(recovery).recover(pairs).signer(0) == recover_signer(*pairs[0])


def test_a_worker_that_exited_is_noticed_before_sending(
    world: World, recovery: SignerRecovery, caplog: pytest.LogCaptureFixture
) -> None:
    pairs = signed_pairs(world, MIN_GROUP)
    kill(ready(recovery).pid)
    recovered = recovery.recover(pairs)
    assert "it exited with code -9" in caplog.text
    assert [recovered.signer(i) for i in range(len(pairs))] == [None] * len(pairs)


def test_a_silent_worker_is_killed_and_its_group_left_to_the_caller(
    world: World, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    pairs = signed_pairs(world, MIN_GROUP)
    with closing(SignerRecovery(clock=clock, reply_timeout_s=0.5)) as recovery:
        pid = ready(recovery).pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        stuck = recovery.recover(pairs)
        assert [stuck.signer(i) for i in range(len(pairs))] == [None] * len(pairs)
        assert "no answer in 0.5 s" in caplog.text
        assert recovery.pid is None
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped


def test_a_send_to_a_stuck_worker_gives_up(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    """A group too large for the socket, sent to a worker that reads nothing: the write gives
    up after the reply timeout instead of blocking the caller for good."""
    pairs = [(os.urandom(32), "0x" + os.urandom(65).hex()) for _ in range(20_000)]
    with closing(SignerRecovery(clock=clock, reply_timeout_s=0.5)) as recovery:
        pid = ready(recovery).pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        recovered = recovery.recover(pairs)
        assert recovered.signer(0) is None
        assert "sending a group failed" in caplog.text
        assert recovery.pid is None


def mixed_group(world: World, size: int) -> tuple[list[Request], dict[int, type]]:
    """A group of transfers from alice and carol in turn, with one of each refusal that
    authorisation or the state gives; the first fails its field checks, so that the pairs
    sent to the worker are not the group's requests one for one."""
    requests = [world.signed_transfer(("alice", "carol")[i % 2], "bob", i + 1) for i in range(size)]
    kind, message, signature = requests[0]
    requests[0] = (kind, {**message, "amount": -1}, signature)
    kind, message, _ = requests[2]
    requests[2] = (kind, message, "0x" + "00" * 65)
    kind, message, _ = requests[5]
    requests[5] = (kind, message, world.people["bob"].sign(world.registry.domain, kind, message))
    kind, message, _ = requests[7]
    requests[7] = (kind, message, "0xzz")
    requests[9] = world.signed_transfer("carol", "bob", 1, ttl_s=-10)
    requests[11] = requests[10]
    requests[13] = world.signed_transfer("carol", "bob", 10**9)
    refused = {
        0: errors.ValidationError,
        2: errors.SignatureError,
        5: errors.WrongSignerError,
        7: errors.SignatureError,
        9: errors.SignatureExpiredError,
        11: errors.NonceReplayedError,
        13: errors.InsufficientBalanceError,
    }
    return requests, refused


def test_pipelined_groups_commit_as_execute_many_does(
    world: World, recovery: SignerRecovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each group's answers, in order, as `execute_many` gives them; only the signatures the
    worker could not recover are recovered by the caller."""
    world.issue("alice", 1_000_000)
    world.issue("carol", 1_000_000)
    groups = [mixed_group(world, 2 * MIN_GROUP) for _ in range(3)]
    local: list[str] = []

    def counted(digest: bytes, signature: str) -> str:
        local.append(signature)
        return recover_signer(digest, signature)

    monkeypatch.setattr(ledger, "recover_signer", counted)
    start = world.store.next_seq()

    answered = list(world.registry.execute_pipelined([g for g, _ in groups], ready(recovery)))

    assert len(answered) == len(groups)
    seq = start
    for (_, refused), results in zip(groups, answered, strict=True):
        for i, result in enumerate(results):
            if i in refused:
                assert isinstance(result, refused[i]), (i, result)
            else:
                assert isinstance(result, Receipt) and result.seq == seq
                ranges = result.effects["ranges"]
                assert sum(r["last"] - r["first"] + 1 for r in ranges) == i + 1
                seq += 1
    assert local == ["0x" + "00" * 65, "0xzz"] * len(groups)
    assert world.store.next_seq() == seq
    assert replay(world.store).clean


def test_a_worker_lost_between_prepare_and_commit_changes_no_answer(
    world: World, recovery: SignerRecovery
) -> None:
    world.issue("alice", 1_000_000)
    world.issue("carol", 1_000_000)
    requests, refused = mixed_group(world, MIN_GROUP + 4)
    assert ready(recovery).pid is not None
    os.kill(recovery.pid, signal.SIGSTOP)  # so that it dies before it answers
    prepared = world.registry.prepare_many(requests, recovery)
    kill(recovery.pid)
    results = world.registry.execute_prepared(prepared)
    assert [type(r) for i, r in enumerate(results) if i in refused] == list(refused.values())
    assert all(isinstance(r, Receipt) for i, r in enumerate(results) if i not in refused)
    assert replay(world.store).clean


def writer_jobs(world: World, count: int) -> list[WriteJob]:
    return [
        WriteJob(kind, message, signature, render_receipt, "/v1/transfers", f"hash-{i}")
        for i, (kind, message, signature) in enumerate(
            world.signed_transfer("alice", "bob", i + 1) for i in range(count)
        )
    ]


def run_held(
    writer: Writer, monkeypatch: pytest.MonkeyPatch, first: WriteJob, rest: list[WriteJob]
) -> list[Outcome | BaseException]:
    """Submit `first` alone, hold the writer as it prepares that group until `rest` is all
    queued behind it, then let it go on: it takes `rest` as the next group before it commits
    the first. The answers (or errors) of all of them, in order."""
    held: list[int] = []
    next_seqs: list[int] = []  # the log's next seq as each group is prepared
    prepare_many = Registry.prepare_many

    def gated(registry: Registry, requests: Any, recovery: Any = None) -> Any:
        prepared = prepare_many(registry, requests, recovery)
        next_seqs.append(registry.store.next_seq())
        if not held:
            held.append(len(prepared))
            wait_for(lambda: writer.queue_depth() == len(rest), "the other requests queued")
        return prepared

    monkeypatch.setattr(Registry, "prepare_many", gated)

    async def submit_all() -> list[Outcome | BaseException]:
        answers = [asyncio.ensure_future(writer.submit(first))]
        deadline = time.monotonic() + 120
        while not held:  # the writer holds the first request, alone
            assert time.monotonic() < deadline, "the writer took no request"
            await asyncio.sleep(0.01)
        answers += [asyncio.ensure_future(writer.submit(job)) for job in rest]
        return await asyncio.wait_for(asyncio.gather(*answers, return_exceptions=True), 120)

    writer.start()
    try:
        outcomes = asyncio.run(submit_all())
    finally:
        writer.stop()
    assert held == [1]
    assert next_seqs[0] == next_seqs[1]  # the second group was taken before the first committed
    return outcomes


def test_the_api_writer_hands_a_waiting_group_to_the_worker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the writer commits one group, the requests queued behind it form the next, whose
    signers the worker recovers: the writer recovers only the first, small group's. The next
    group starts with a retry of the first request (same Idempotency-Key and body), which
    gets the first answer back, not a second transfer."""
    world.issue("alice", 1_000_000)
    count = 40
    jobs = writer_jobs(world, count)
    jobs[0].idempotency_key = "key-0"
    retry = WriteJob(**{**jobs[0].__dict__, "future": Future()})
    local: list[str] = []

    def counted(digest: bytes, signature: str) -> str:
        local.append(signature)
        return recover_signer(digest, signature)

    monkeypatch.setattr(ledger, "recover_signer", counted)
    metrics = Metrics()
    writer = Writer(
        settings_for(world.store.path),
        on_commit=lambda seq: None,
        metrics=metrics,
        recovery=ready(SignerRecovery()),
    )

    outcomes = run_held(writer, monkeypatch, jobs[0], [retry, *jobs[1:]])

    assert all(isinstance(o, Outcome) and o.status == 201 for o in outcomes), outcomes
    first, again, *others = outcomes
    assert isinstance(first, Outcome) and isinstance(again, Outcome)
    assert again.replayed and again.body == first.body
    moved = [
        sum(r["last"] - r["first"] + 1 for r in o.body["effects"]["ranges"])
        for o in [first, *others]
        if isinstance(o, Outcome)
    ]
    assert moved == list(range(1, count + 1))
    assert len(local) == 1  # the other 39 signers came from the worker
    exposition = metrics.exposition().decode()
    # The retry is answered from its key: its signer is recovered but never used.
    assert 'carbon_registry_signers_recovered_total{by="worker"} 40.0' in exposition
    assert 'carbon_registry_signers_recovered_total{by="writer"} 1.0' in exposition
    assert world.active("bob") == sum(range(1, count + 1))
    assert replay(world.store).clean


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_that_breaks_answers_every_request_it_took(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something unexpected escapes the writer's loop (here, the commit callback) while a group
    waits behind the one committing: no request is left unanswered."""
    world.issue("alice", 1_000_000)
    jobs = writer_jobs(world, MIN_GROUP + 1)

    def broken(seq: int) -> None:
        raise RuntimeError("the commit callback broke")

    writer = Writer(settings_for(world.store.path), on_commit=broken)

    outcomes = run_held(writer, monkeypatch, jobs[0], jobs[1:])

    assert isinstance(outcomes[0], Outcome) and outcomes[0].status == 201
    assert all(isinstance(o, WriterStoppedError) for o in outcomes[1:]), outcomes


def test_a_group_the_writer_cannot_prepare_still_commits(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Something unexpected breaks preparing a group (a broken worker socket, say): the writer
    says so and runs the group without the worker."""
    world.issue("alice", 1_000_000)
    jobs = writer_jobs(world, 3)
    prepare_many = Registry.prepare_many
    broken = [True]

    def breaks_once(registry: Registry, requests: Any, recovery: Any = None) -> Any:
        if broken.pop() if broken else False:
            raise RuntimeError("the worker's socket broke oddly")
        return prepare_many(registry, requests, recovery)

    monkeypatch.setattr(Registry, "prepare_many", breaks_once)
    writer = Writer(settings_for(world.store.path), on_commit=lambda seq: None)

    async def submit_all() -> list[Outcome]:
        return await asyncio.wait_for(asyncio.gather(*(writer.submit(j) for j in jobs)), 120)

    writer.start()
    try:
        outcomes = asyncio.run(submit_all())
    finally:
        writer.stop()
    assert [o.status for o in outcomes] == [201] * 3
    assert "preparing a write group failed" in caplog.text
    assert world.active("bob") == 1 + 2 + 3
