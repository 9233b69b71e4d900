"""Rebuild the registry from its event log alone and compare with the stored tables.

Every event is checked for canonical form and a gapless `seq`; its signature is recovered
again (unless the caller skips it for speed); its request is decided again on the state
rebuilt so far, and the effects must equal those the event recorded. Then the rebuilt
tables are compared row by row with the stored ones. Any difference is reported by name.
What an event shows alone (all but the decision) is checked in worker processes ahead of
the sequential decide-and-apply, one a core, in bounded chunks and in log order: the first
problem reported is the one replay alone would report.

A committed activity batch is decided on details the log does not hold: replay opens them
from the vault, and notes each erasure as it reaches the point in the log where it
happened. A batch logged before someone in one of its households was erased cannot be
decided again (their data went after it was decided): its logged effects are checked for
what the log alone shows (shape, claim ids, per-activity caps, sums) and applied as
logged, and the report counts it (`taken_as_logged`). A later batch that refused a record
as a duplicate of an erased person's activity (whose keyed id went with them) is decided
again with that record taken as a duplicate, and must then equal the log exactly.

A person's household link is committed to in their `AccountOpened`: replay opens it from
the vault too (without a vault, it takes the link the stored account holds, which it cannot
check). Erasing a member forgets the link, and the registry notes only that the household
had a member erased and when (`erased_members`): a batch holding records of such a
household before that point is taken as logged, and so are an issuance run that gave the
member's grams to the household and a reversal that took the member's claim back from it
(their totals checked), since the link that decided them is gone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from registry.canonical import canonical_bytes, from_canonical
from registry.commitments import NO_COMMITMENT
from registry.eip712 import Domain, recover_signer
from registry.errors import RegistryError
from registry.handlers import Operation
from registry.ledger import BY_EVENT_TYPE, GENESIS, apply_genesis, parse_time, sealed_value
from registry.messages import OPEN_ACCOUNT, REVERSE_CLAIM, RUN_ISSUANCE, SUBMIT_ACTIVITIES
from registry.mrv import committed, issuance
from registry.mrv.ingest import EARNING_KINDS, beneficiary_of
from registry.personal import HOUSEHOLD, Vault, existing_master_key
from registry.storage import PRIVATE_TABLES, STATE_TABLES, Store
from registry.storage.personal import PersonalTables

MAX_REPORTED_ROWS = 5


@dataclass
class ReplayReport:
    events: int = 0
    problems: list[str] = field(default_factory=list)
    taken_as_logged: int = 0  # committed batches whose details were erased
    signatures_verified: int = 0  # recovered again and equal to the recorded signer

    @property
    def clean(self) -> bool:
        return not self.problems


PROGRESS_EVERY = 1_000
# Events checked a task in the worker processes; a few tasks a worker are in flight, so that
# memory stays bounded however long the log.
CHUNK = 500
IN_FLIGHT_PER_WORKER = 3
# Below this many events, starting worker processes costs more than it saves.
PARALLEL_FROM = 5_000
WORKER_NICENESS = 10


def replay(
    source: Store,
    *,
    verify_signatures: bool = True,
    progress: Callable[[int], None] | None = None,
    vault: Vault | None = None,
    workers: int | None = None,
) -> ReplayReport:
    """Rebuild state from `source`'s events in memory and diff it against `source`'s tables;
    `progress(n)` is told of every PROGRESS_EVERY events replayed (and of the rest).

    Committed batches are decided again on their details from `vault` (by default, the
    vault of `source` when its master key is at hand), and then the private activity index
    is compared too; without a vault they are taken as logged.

    What an event shows alone (its canonical form, its request's normal form, its signature
    recovered again, its expiry) is checked by `workers` processes ahead of the sequential
    decide-and-apply, in log order (by default one a core, for logs of PARALLEL_FROM events
    or more); the first problem in log order is reported either way."""
    report = ReplayReport()
    rebuilt = Store(":memory:")
    rebuilt.history = source  # decisions that read an earlier event (a lock's, a batch's)
    details = Details(source, vault)
    domain: list[Domain | None] = [None]
    if workers is None:
        workers = usable_cores() if source.event_count() >= PARALLEL_FROM else 1
    checked = _checked_rows(source, lambda: domain[0], verify_signatures, workers)
    try:
        with rebuilt.write():
            for (seq, event_type, time, _), (problem, event, decision_time, verified) in checked:
                if seq != report.events:
                    report.problems.append(
                        f"event log has a gap: expected seq {report.events}, found {seq}"
                    )
                    return report
                report.events += 1
                report.signatures_verified += verified
                if progress is not None and report.events % PROGRESS_EVERY == 0:
                    progress(PROGRESS_EVERY)
                if problem is None:
                    problem = _apply(rebuilt, seq, event_type, time, event, decision_time, details)
                if problem:
                    report.problems.append(problem)
                    return report
                if event_type == GENESIS:
                    meta = rebuilt.meta()
                    domain[0] = Domain(int(meta["chain_id"]), meta["verifying_contract"])
            details.note_erasures(rebuilt, report.events)  # those after the last event
        if progress is not None:
            progress(report.events % PROGRESS_EVERY)
        report.taken_as_logged = details.taken_as_logged
        tables = [*STATE_TABLES, *(PRIVATE_TABLES if details.vault is not None else ())]
        report.problems.extend(compare_tables(source, rebuilt, tables))
        return report
    finally:
        checked.close()  # stops the workers when replay returns early
        rebuilt.close()


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


Row = tuple[int, str, str, bytes]
# A problem, or the event parsed, its decision time (None for the genesis) and 1 when its
# signature was recovered again and matched.
Checked = tuple[str | None, dict[str, Any], int | None, int]
# What a worker process sends back: Checked without the event, which the deciding process
# parses again from the row it holds (cheaper than unpickling the worker's parse).
Alone = tuple[str | None, int | None, int]
_parse_json = json.JSONDecoder().decode


def _checked_rows(
    source: Store, domain: Callable[[], Domain | None], verify: bool, workers: int
) -> Generator[tuple[Row, Checked], None, None]:
    """`source`'s event rows in log order, each with what it shows alone. The genesis comes
    first and alone: the others are checked under the domain it sets."""
    rows = source.event_rows()
    first = next(rows, None)
    if first is None:
        return
    yield first, check_alone(None, *first, verify)
    if workers <= 1:
        for row in rows:
            yield row, check_alone(domain(), *row, verify)
        return
    chunk = max(1, min(CHUNK, (source.event_count() - 1) // (workers * IN_FLIGHT_PER_WORKER)))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding SQLite
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_yield_to_the_decider
    ) as pool:
        pending: deque[tuple[list[Row], Future[list[Alone]]]] = deque()
        try:
            while True:
                while len(pending) < workers * IN_FLIGHT_PER_WORKER:
                    batch = list(islice(rows, chunk))
                    if not batch:
                        break
                    pending.append((batch, pool.submit(check_chunk, domain(), batch, verify)))
                if not pending:
                    return
                batch, future = pending.popleft()
                for row, (problem, decision_time, verified) in zip(
                    batch, future.result(), strict=True
                ):
                    # The worker found the body canonical JSON (UTF-8) of bounded nesting.
                    event = _parse_json(row[3].decode()) if problem is None else {}
                    yield row, (problem, event, decision_time, verified)
        finally:
            for _, future in pending:
                future.cancel()


def _yield_to_the_decider() -> None:
    """Run a worker process at a lower priority: the deciding process is the serial part,
    and the workers, a few chunks ahead, lose nothing by waiting (10^5 events on 2 cores:
    14.2-14.7 s against 15.6-17.6 s at equal priority)."""
    os.nice(WORKER_NICENESS)


def check_chunk(domain: Domain | None, rows: list[Row], verify: bool) -> list[Alone]:
    checked = [check_alone(domain, *row, verify) for row in rows]
    return [(problem, decision_time, verified) for problem, _, decision_time, verified in checked]


def check_alone(
    domain: Domain | None, seq: int, event_type: str, time: str, body: bytes, verify: bool
) -> Checked:
    """What event `seq` shows alone: canonical form, columns, request normal form, signature
    and expiry; no state is read."""
    try:
        event = from_canonical(body)
    except ValueError:
        return f"event {seq}: body is not JSON", {}, None, 0
    try:
        if canonical_bytes(event) != body:
            return f"event {seq}: body is not in RFC 8785 canonical form", {}, None, 0
    except RegistryError as exc:
        return f"event {seq}: {exc}", {}, None, 0
    if event.get("seq") != seq or event.get("type") != event_type or event.get("time") != time:
        return f"event {seq}: seq, type or time column differs from the event body", {}, None, 0
    try:
        if event_type == GENESIS:
            if seq != 0:
                return f"event {seq}: a second {GENESIS} event", {}, None, 0
            return None, event, None, 0
        if domain is None:
            return f"event {seq}: the log does not start with {GENESIS}", {}, None, 0
        operation = BY_EVENT_TYPE.get(event_type)
        if operation is None:
            return f"event {seq}: unknown event type {event_type!r}", {}, None, 0
        request = event["payload"]["request"]
        declared = operation.message.for_logged(request)
        if declared.normalise(request) != request:
            return f"event {seq}: request is not in normal form", {}, None, 0
        (signature,) = event["signatures"]
        signer = signature["signer"]
        if verify:
            recovered = recover_signer(
                domain.digest(declared.struct, request), signature["signature"]
            )
            if recovered != signer:
                problem = (
                    f"event {seq}: signature recovers to {recovered}, not the recorded {signer}"
                )
                return problem, {}, None, 1
        decision_time = int(parse_time(time))
        if request["expiry"] < decision_time:
            return f"event {seq}: request had expired when it was logged", {}, None, int(verify)
        return None, event, decision_time, int(verify)
    except (KeyError, TypeError, ValueError) as exc:
        return f"event {seq} ({event_type}): malformed: {exc!r}", {}, None, 0
    except RegistryError as exc:
        return f"event {seq} ({event_type}): cannot be applied: {exc}", {}, None, 0


def _apply(
    rebuilt: Store,
    seq: int,
    event_type: str,
    time: str,
    event: dict[str, Any],
    decision_time: int | None,
    details: Details,
) -> str | None:
    """Decide event `seq` again on the state rebuilt so far, and apply it."""
    try:
        if decision_time is None:  # the genesis, checked alone
            apply_genesis(rebuilt, event["payload"], seq)
            return None
        return _redo(rebuilt, event, seq, time, decision_time, details)
    except (KeyError, TypeError, ValueError) as exc:
        return f"event {seq} ({event_type}): malformed: {exc!r}"
    except RegistryError as exc:
        return f"event {seq} ({event_type}): cannot be applied: {exc}"


class MissingDetailsError(Exception):
    """A committed record's details are gone from the vault without an erasure."""


class Details:
    """The vault of the log being replayed, as the source of committed batches' details and
    of sealed household links, and the erasures, which replay notes in the rebuilt store as
    it reaches them in the log."""

    def __init__(self, source: Store, vault: Vault | None) -> None:
        if vault is None and source.path != ":memory:":
            key = existing_master_key(source.path)
            vault = None if key is None else Vault(PersonalTables(source.conn), key)
        self.source = source
        self.vault = vault
        self.erasures = source.erasures()
        self.erased = {subject for subject, _ in self.erasures}
        # Households that had a member erased, and when: the member is not named, and on
        # replay their link is gone, so a household's batches are judged by these.
        self.member_erasures = source.member_erasures()
        self.noted = 0  # erasures noted in the rebuilt store so far (they come in log order)
        self.noted_members = 0
        self.erased_records: Counter[str] = Counter()  # records of erased persons, per platform
        # Issuance runs of the form before issue 11, which followed the household link.
        self.pooled_runs: set[int] = set()
        self.taken_as_logged = 0

    def note_erasures(self, rebuilt: Store, seq: int) -> None:
        """Note in the rebuilt store the erasures made before event `seq` was logged: the
        erased persons (whose household link the rebuilt store forgets as the registry did)
        and the households that had a member erased."""
        while self.noted < len(self.erasures) and self.erasures[self.noted][1] <= seq:
            rebuilt.record_erasure(*self.erasures[self.noted])
            self.noted += 1
        members = self.member_erasures
        while self.noted_members < len(members) and members[self.noted_members][1] <= seq:
            rebuilt.record_member_erasure(*members[self.noted_members])
            self.noted_members += 1

    def households_losing_a_member(self, seq: int) -> set[str]:
        """Households that had a member erased after event `seq`."""
        return {household for household, size in self.member_erasures if size > seq}

    def open_account_inputs(
        self, request: dict[str, Any], seq: int
    ) -> list[dict[str, Any] | None] | None:
        """The household beside an OpenAccount of the current form, as its decision takes
        it: opened from the vault; [None] when its person was erased (the link went with
        them); without a vault, the household the stored account holds (it cannot be
        checked). None for the earlier forms, which log it."""
        commitment = request.get("householdCommitment")
        if commitment is None or commitment == NO_COMMITMENT:
            return None
        account = request["account"]
        if self.vault is None:
            stored = self.source.account(account)
            household = None if stored is None else stored["household"]
            return [None if household is None else {"household": household}]
        piece = self.vault.get(HOUSEHOLD, commitment, seq)
        if piece is not None:
            return [{"household": sealed_value(HOUSEHOLD, piece.data)}]
        if account in self.erased:
            return [None]
        raise MissingDetailsError(
            f"the household of {account} is not in the vault, and it was not erased"
        )

    def inputs(
        self, rebuilt: Store, request: dict[str, Any], seq: int
    ) -> tuple[list[dict[str, Any] | None], bool]:
        """The batch's decision inputs (None where not kept or erased), and whether it can be
        decided again: every record either refused for its account (decided without
        details) or with its details at hand, and no one of its households erased later
        (their data went after it was decided)."""
        records = request["records"]
        if self.vault is None:
            return [None] * len(records), False
        inputs = self.vault.batch_inputs(seq, request["platform"], records)
        later = {subject for subject, size in self.erasures if size > seq}
        before = self.erased - later
        losing = self.households_losing_a_member(seq)
        lost = {household for household, size in self.member_erasures if size <= seq}
        accounts = rebuilt.accounts_by_address(r["account"] for r in records)
        groups = {a: beneficiary_of(account) for a, account in accounts.items()}
        members = rebuilt.members_of(set(groups.values()))
        decidable = True
        for index, (record, detail) in enumerate(zip(records, inputs, strict=True)):
            account = accounts.get(record["account"])
            if record["account"] in self.erased:
                self.erased_records[request["platform"]] += 1
            if account is None or account["kind"] not in EARNING_KINDS:
                continue  # refused for its account, whatever its details
            group = groups[record["account"]]
            household = {group, *members[group]}
            erased_before = bool(household & before) or group in lost
            if detail is None and record["account"] not in self.erased and not erased_before:
                raise MissingDetailsError(
                    f"the details of record {index} are not in the vault, and neither its"
                    " account nor its household had been erased"
                )
            if household & later or group in losing or (detail is None and not erased_before):
                decidable = False
        return inputs, decidable

    def reversal_of_a_lost_link(
        self, rebuilt: Store, request: dict[str, Any], seq: int, logged: dict[str, Any]
    ) -> bool:
        """Whether a claim's reversal, logged before its person was erased, took the grams
        from their household (a pooled run issued them there), which the rebuilt store
        cannot know (the link went with them): then it is taken as logged, checked for its
        claim's class and grams."""
        claim = rebuilt.claim(request["claimId"])
        later = {subject for subject, size in self.erasures if size > seq}
        return (
            claim is not None
            and claim["status"] == "issued"
            and claim["issued_seq"] in self.pooled_runs
            and claim["account"] in later
            and claim["beneficiary"] == claim["account"]
            and logged["holder"] in self.households_losing_a_member(seq)
            and logged["asset_class"] == claim["asset_class"]
            and logged["holder_grams"] + logged["pool_grams"] == claim["grams"]
        )

    def explained_by_lost_links(
        self,
        operation: Operation,
        request: dict[str, Any],
        seq: int,
        logged: dict[str, Any],
        decided: dict[str, Any],
    ) -> bool:
        """Whether an issuance run decided before a household lost a member to erasure
        differs from its log only by that member's link, which went with them: the run (a
        pooled one, of the form before issue 11: since, no run follows the link) logged
        batches to such a household, with the claims, grams and new classes decided."""
        losing = self.households_losing_a_member(seq)
        if not losing:
            return False
        if operation.message is RUN_ISSUANCE and not issuance.credits_to_accounts(request):
            logged_to = {b["to"] for b in logged["batches"]}
            differing = logged_to ^ {b["to"] for b in decided["batches"]}
            later = {subject for subject, size in self.erasures if size > seq}
            return (
                bool(logged_to & losing)
                and differing <= losing | later
                and all(logged[k] == decided[k] for k in ("claims", "grams", "new_classes"))
            )
        return False

    def forced_duplicates(
        self,
        platform: str,
        inputs: list[dict[str, Any] | None],
        logged: dict[str, Any],
        decided: dict[str, Any],
    ) -> bool:
        """Where the log refused records as duplicates of an activity an erased person had
        sent through the same platform before (its keyed id went with them) and the decision
        now credits them: mark them duplicates, to be decided again; at most as many as the
        erased persons' earlier records of that platform. False when nothing of the kind
        differs."""
        marked = False
        for detail, was, now in zip(inputs, logged["outcomes"], decided["outcomes"], strict=True):
            if was != now and was.get("reason") == "duplicate_record" and detail is not None:
                if self.erased_records[platform] == 0:
                    return False  # no erased record of this platform it could repeat
                self.erased_records[platform] -= 1
                detail["duplicate"] = True
                marked = True
        return marked


def _redo(
    rebuilt: Store,
    event: dict[str, Any],
    seq: int,
    time: str,
    decision_time: int,
    details: Details,
) -> str | None:
    operation = BY_EVENT_TYPE[event["type"]]
    request = event["payload"]["request"]
    signer = event["signatures"][0]["signer"]
    # Taken before the decision, in one statement: no decision reads the nonces, and replay
    # stops at the first event that fails.
    if not rebuilt.claim_nonce(signer, request["nonce"]):
        return f"event {seq}: nonce {request['nonce']} of {signer} used twice"
    logged = event["payload"]["effects"]
    details.note_erasures(rebuilt, seq)
    committed_batch = operation.message is SUBMIT_ACTIVITIES and committed.is_committed(request)
    inputs: list[dict[str, Any] | None] | None
    try:
        if committed_batch:
            inputs, decidable = details.inputs(rebuilt, request, seq)
        elif operation.message is OPEN_ACCOUNT:
            inputs, decidable = details.open_account_inputs(request, seq), True
        elif operation.message is RUN_ISSUANCE:
            if not issuance.credits_to_accounts(request):
                details.pooled_runs.add(seq)
            inputs, decidable = None, True
        elif operation.message is REVERSE_CLAIM:
            inputs = None
            decidable = not details.reversal_of_a_lost_link(rebuilt, request, seq, logged)
        else:
            inputs, decidable = None, True
    except MissingDetailsError as exc:
        return f"event {seq}: {exc}"
    try:
        rebuilt.private_inputs = inputs
        rebuilt.decision_time = decision_time
        if not decidable:
            if committed_batch:
                committed.check_logged(request, logged, seq, inputs)
            effects = logged
            details.taken_as_logged += 1
        else:
            effects = operation.decide(rebuilt, request, signer, seq)
            if (
                effects != logged
                and committed_batch
                and inputs is not None
                and details.forced_duplicates(request["platform"], inputs, logged, effects)
            ):
                effects = operation.decide(rebuilt, request, signer, seq)
            if effects != logged and details.explained_by_lost_links(
                operation, request, seq, logged, effects
            ):
                effects = logged
                details.taken_as_logged += 1
            if effects != logged:
                return f"event {seq}: recorded effects {logged} differ from {effects}"
        operation.apply(rebuilt, request, effects, signer, seq, time)
    finally:
        rebuilt.private_inputs = None
        rebuilt.decision_time = None
    return None


def compare_tables(
    stored: Store, rebuilt: Store, tables: Iterable[str] = STATE_TABLES
) -> list[str]:
    """Row-by-row differences of every state table, a few rows named per table."""
    problems: list[str] = []
    for table in tables:
        have = stored.dump(table)
        want = rebuilt.dump(table)
        if have == want:
            continue
        have_set, want_set = set(have), set(want)
        extra = sorted(have_set - want_set, key=repr)[:MAX_REPORTED_ROWS]
        missing = sorted(want_set - have_set, key=repr)[:MAX_REPORTED_ROWS]
        columns = ", ".join(stored.columns(table))
        detail = [f"table {table} ({columns}) differs from the log:"]
        detail += [f"  not in the log: {row}" for row in extra]
        detail += [f"  missing:        {row}" for row in missing]
        if not extra and not missing:
            detail.append("  duplicate rows")
        problems.append("\n".join(detail))
    return problems
