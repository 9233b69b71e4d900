"""Attestation, issuance runs with the buffer pool, households, reversals; and a property test:
for random activity streams, issued + buffer == approved claims and nothing is credited twice.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import errors
from registry import messages as m
from registry.mrv.ingest import cst_day
from registry.mrv.issuance import split_buffer
from registry.replay import replay
from tests.ledger_world import check_invariants
from tests.test_household_link import audit_clean
from tests.test_mrv_ingestion import MIN, SZ, T0, VINTAGE, MrvWorld

pytestmark = pytest.mark.both_backends

HOUR = 3600


@pytest.fixture
def mrv(store_url: str) -> Iterator[MrvWorld]:
    world = MrvWorld.create(store_url)
    yield world
    world.store.close()


def trips(mrv: MrvWorld, who: str, n: int, day: int = 0) -> list[dict[str, Any]]:
    return [mrv.record(who, T0 + day * 86_400 + (7 + 2 * i) * HOUR) for i in range(n)]


def snapshot_refused(mrv: MrvWorld, error: type[errors.RegistryError], call: Any) -> Any:
    before = mrv.world.snapshot()
    with pytest.raises(error) as caught:
        call()
    assert mrv.world.snapshot() == before
    return caught.value


# -- attestation --------------------------------------------------------------------------


def test_attestation_approves_or_rejects_pending_claims(mrv: MrvWorld) -> None:
    mrv.submit("metro", trips(mrv, "li", 3))
    first, second, third = mrv.claim_ids()
    receipt = mrv.attest([first, second])
    assert receipt.event_type == "ClaimsAttested"
    assert receipt.effects == {"status": "approved", "claims": 2}
    mrv.attest([third], approve=False, reason="trip not in the operator's records")
    rejected = mrv.store.claim(third)
    assert (rejected["status"], rejected["verdict"]) == (
        "rejected",
        "trip not in the operator's records",
    )
    assert rejected["attested_seq"] == mrv.store.event_count() - 1
    assert replay(mrv.store).clean


def test_a_rejected_claim_gives_its_day_back_to_the_claims_the_cap_cut(mrv: MrvWorld) -> None:
    # A batch logged in the first release's format (its rules replay unchanged).
    # SZ_TRANSIT caps a day at 6,000 g: 3,000 + 2,802 leave 198 for the 10 km ride (467 g
    # earned); the 4th ride is refused for the cap.
    rides = [
        mrv.record("li", T0 + 7 * HOUR, 50, metro_m=70_000, bus_m=0),
        mrv.record("li", T0 + 9 * HOUR, 50, metro_m=60_000, bus_m=0),
        mrv.record("li", T0 + 11 * HOUR, 50, metro_m=10_000, bus_m=0),
        mrv.record("li", T0 + 13 * HOUR),
    ]
    batch = mrv.legacy_submit("metro", rides)
    outcomes = batch.effects["outcomes"]
    assert [o.get("grams") for o in outcomes[:3]] == [3_000, 2_802, 198]
    assert outcomes[3]["reason"] == "daily_cap"
    wrong, kept, clipped = (o["claim"] for o in outcomes[:3])
    refused = f"C{batch.seq}-3"
    before = mrv.store.daily_totals([mrv.addr("li")], [cst_day(T0)])

    receipt = mrv.attest([wrong], approve=False, reason="not a trip of this account")

    earned_by_fourth = receipt.effects["recredited"][1]["grams"]
    assert receipt.effects["recredited"] == [
        {"claim": clipped, "grams": 467 - 198},
        {"claim": refused, "grams": earned_by_fourth, "readmitted": True},
    ]
    assert 0 < earned_by_fourth <= 6_000 - 2_802 - 467
    assert mrv.store.claim(clipped)["grams"] == 467
    readmitted = mrv.store.claim(refused)
    assert (readmitted["status"], readmitted["grams"]) == ("pending", earned_by_fourth)
    assert mrv.store.rejections(reason="daily_cap") == []
    totals = mrv.store.daily_totals([mrv.addr("li")], [readmitted["day"]])
    assert totals[(mrv.addr("li"), "SZ_TRANSIT", readmitted["day"])] == (
        mrv.store.claim(kept)["grams"] + 467 + earned_by_fourth
    )
    assert before != totals
    mrv.attest([kept, clipped, refused])  # the re-decided claims are issued like any other
    assert replay(mrv.store).clean


def test_a_rejection_on_a_day_under_the_cap_changes_nothing_else(mrv: MrvWorld) -> None:
    mrv.legacy_submit("metro", trips(mrv, "li", 2))  # the first release's format
    first, second = mrv.claim_ids()
    grams = mrv.store.claim(second)["grams"]
    receipt = mrv.attest([first], approve=False, reason="duplicate of a paper ticket")
    assert receipt.effects == {"status": "rejected", "claims": 1}
    assert mrv.store.claim(second)["grams"] == grams
    day = mrv.store.claim(second)["day"]
    assert mrv.store.daily_totals([mrv.addr("li")], [day]) == {
        (mrv.addr("li"), "SZ_TRANSIT", day): grams
    }
    assert replay(mrv.store).clean


def test_attestation_refusals(mrv: MrvWorld) -> None:
    mrv.submit("metro", trips(mrv, "li", 2))
    first, second = mrv.claim_ids()
    mrv.attest([first])
    snapshot_refused(mrv, errors.ClaimStatusError, lambda: mrv.attest([first, second]))
    snapshot_refused(mrv, errors.UnknownClaimError, lambda: mrv.attest(["C999-0"]))
    snapshot_refused(mrv, errors.NotAuthorisedError, lambda: mrv.attest([second], verifier="acme"))
    # a platform that is also a verifier cannot attest its own submissions
    mrv.world.op("GrantRole", account=mrv.addr("metro"), role="verifier")
    snapshot_refused(mrv, errors.NotAuthorisedError, lambda: mrv.attest([second], verifier="metro"))
    with pytest.raises(errors.ValidationError, match="reason"):
        mrv.attest([second], approve=False, reason="")
    fields = m.attestation(mrv.addr("audit"), "same-id", [second], True, "")
    signer = mrv.world.people["audit"]
    mrv.registry.attest(*signer.request(mrv.registry.domain, "AttestClaims", **fields)[1:])
    mrv.submit("metro", trips(mrv, "li", 1, day=1))
    fields = m.attestation(mrv.addr("audit"), "same-id", mrv.claim_ids(), True, "")
    request = signer.request(mrv.registry.domain, "AttestClaims", **fields)
    snapshot_refused(mrv, errors.AttestationExistsError, lambda: mrv.registry.attest(*request[1:]))


def test_a_tampered_claim_list_is_refused(mrv: MrvWorld) -> None:
    mrv.submit("metro", trips(mrv, "li", 2))
    first, second = mrv.claim_ids()
    fields = m.attestation(mrv.addr("audit"), "a", [first], True, "")
    _, message, signature = mrv.world.people["audit"].request(
        mrv.registry.domain, "AttestClaims", **fields
    )
    message["claims"] = [second]
    snapshot_refused(mrv, errors.ValidationError, lambda: mrv.registry.attest(message, signature))


# -- issuance -------------------------------------------------------------------------------


def test_unattested_and_rejected_claims_are_not_issued(mrv: MrvWorld) -> None:
    mrv.submit("metro", trips(mrv, "li", 2))
    snapshot_refused(mrv, errors.NothingToIssueError, mrv.run)
    first, second = mrv.claim_ids()
    mrv.attest([first], approve=False, reason="no evidence")
    snapshot_refused(mrv, errors.NothingToIssueError, mrv.run)
    mrv.attest([second])
    receipt = mrv.run()
    assert receipt.effects["claims"] == 1
    assert mrv.store.claim(first)["status"] == "rejected"
    assert mrv.store.claim(second)["status"] == "issued"
    snapshot_refused(mrv, errors.NothingToIssueError, mrv.run)  # issued claims stay issued


@pytest.mark.parametrize(
    ("grams", "basis_points", "amount", "buffer"),
    [
        (1_401, 500, 1_330, 71),
        (20, 500, 19, 1),
        (1, 500, 0, 1),
        (1_000, 0, 1_000, 0),
        (999, 5_000, 499, 500),
    ],
)
def test_buffer_rounds_up_and_adds_up(
    grams: int, basis_points: int, amount: int, buffer: int
) -> None:
    assert split_buffer(grams, basis_points) == (amount, buffer)


def submit_household_and_li(mrv: MrvWorld) -> None:
    """wang_a: 2 rides, wang_b: 1 (members of wang), li: 1 ride and a bike ride; attested."""
    mrv.submit("metro", trips(mrv, "wang_a", 2) + trips(mrv, "wang_b", 1) + trips(mrv, "li", 1))
    bike = mrv.record(
        "li", T0 + 20 * HOUR, 30, "BJ_CYCLE_WALK", walk_m=0, cycle_m=5_000, navigated=1
    )
    mrv.submit("map", [bike])
    mrv.attest(mrv.claim_ids())


BJ = f"BJ_CYCLE_WALK-1.0-{VINTAGE}-110000"
NEW_BJ = {"id": BJ, "methodology": "BJ_CYCLE_WALK", "version": "1.0",
          "vintage": int(VINTAGE), "region": "110000"}  # fmt: skip


def test_issuance_run_batches_per_claim_account_and_class_with_a_buffer(mrv: MrvWorld) -> None:
    submit_household_and_li(mrv)
    receipt = mrv.run(basis_points=500)
    li, wang_a, wang_b = mrv.addr("li"), mrv.addr("wang_a"), mrv.addr("wang_b")
    # a ride earns 443 g, the bike ride 290 g (after 5% leakage); 2 x 443 = 886 g -> 45 g
    # buffer; 443 -> 23; 290 -> 15 (5%, rounded up)
    groups = sorted([(BJ, li, 275, 15, 1), (SZ, li, 420, 23, 1), (SZ, wang_a, 841, 45, 2),
                     (SZ, wang_b, 420, 23, 1)])  # fmt: skip
    assert receipt.event_type == "IssuanceRun"
    assert receipt.effects == {
        "claims": 5,
        "grams": 4 * 443 + 290,
        "issued_grams": 841 + 420 + 420 + 275,
        "buffer_grams": 45 + 23 + 23 + 15,
        "new_classes": [NEW_BJ],
        "batches": [
            {"batch_no": n, "to": to, "asset_class": c, "amount": a, "buffer": b, "claims": k}
            for n, (c, to, a, b, k) in enumerate(groups, start=1)
        ],
        "buffer_batches": [
            {"batch_no": 5, "asset_class": BJ, "amount": 15},
            {"batch_no": 6, "asset_class": SZ, "amount": 91},
        ],
    }
    # each member holds their own credits, the household none; the pool holds the buffer
    assert mrv.store.active_balance(wang_a, SZ) == 841
    assert mrv.store.active_balance(wang_b, SZ) == 420
    assert mrv.store.active_balance(mrv.addr("wang"), SZ) == 0
    assert mrv.store.active_balance(mrv.addr("pool"), SZ) == 91
    assert {c["beneficiary"] for c in mrv.store.claims(status="issued")} == {li, wang_a, wang_b}
    assert mrv.store.asset_class(BJ)["registered_seq"] == receipt.seq
    [holding] = mrv.registry.holdings(wang_a)
    assert holding["serials"] == f"CN-CIR-SZ_TRANSIT-1.0-{VINTAGE}-{holding['batch_no']}-1-841"
    check_invariants(mrv.store)
    assert replay(mrv.store).clean


def test_a_pooled_run_of_the_earlier_form_replays_with_credits_pooled_as_logged(
    mrv: MrvWorld,
) -> None:
    """A run logged before issue 11 pooled the members' claims to their household: it
    replays and audits clean, the household keeps what it was logged to receive, and a
    reversal of a member's claim still takes back from the household."""
    submit_household_and_li(mrv)
    *_, receipt = mrv.pooled_run(500)
    li, wang = mrv.addr("li"), mrv.addr("wang")
    groups = sorted([(BJ, li, 275, 15, 1), (SZ, li, 420, 23, 1), (SZ, wang, 1_262, 67, 3)])
    assert receipt.effects == {
        "claims": 5,
        "grams": 4 * 443 + 290,
        "issued_grams": 1_262 + 420 + 275,
        "buffer_grams": 67 + 23 + 15,
        "new_classes": [NEW_BJ],
        "batches": [
            {"batch_no": n, "to": to, "asset_class": c, "amount": a, "buffer": b, "claims": k}
            for n, (c, to, a, b, k) in enumerate(groups, start=1)
        ],
        "buffer_batches": [
            {"batch_no": 4, "asset_class": BJ, "amount": 15},
            {"batch_no": 5, "asset_class": SZ, "amount": 90},
        ],
    }
    event = json.loads(mrv.store.event_body(receipt.seq))
    assert "creditsTo" not in event["payload"]["request"]  # logged in the earlier form
    assert mrv.store.active_balance(wang, SZ) == 1_262
    assert mrv.store.active_balance(mrv.addr("wang_a"), SZ) == 0
    [holding] = mrv.registry.holdings(wang)
    assert holding["serials"] == f"CN-CIR-SZ_TRANSIT-1.0-{VINTAGE}-{holding['batch_no']}-1-1262"
    member_claim = next(
        c for c in mrv.store.claims(status="issued") if c["account"] == mrv.addr("wang_b")
    )
    assert member_claim["beneficiary"] == wang
    reversal = mrv.reverse(member_claim["claim_id"])
    assert (reversal.effects["holder"], reversal.effects["holder_grams"]) == (wang, 443)
    check_invariants(mrv.store)
    report = replay(mrv.store)
    assert report.clean and report.taken_as_logged == 0, report.problems
    assert audit_clean(mrv.registry) == []


def test_a_new_run_in_the_pooled_form_is_refused_naming_credits_to(mrv: MrvWorld) -> None:
    submit_household_and_li(mrv)
    kind, message, signature, _ = mrv.pooled_run(500, commit=False)
    error = snapshot_refused(
        mrv, errors.ValidationError, lambda: mrv.registry.execute(kind, message, signature)
    )
    assert "creditsTo" in str(error) and '"account"' in str(error)
    # a run may name no other rule than crediting each claim's account
    with pytest.raises(errors.ValidationError, match="creditsTo must be one of account"):
        mrv.world.op("RunIssuance", runId="r", bufferPool=mrv.addr("pool"),
                     bufferBasisPoints=500, creditsTo="household")  # fmt: skip
    assert mrv.claim_ids("approved")  # nothing issued


def test_issuance_run_refusals(mrv: MrvWorld) -> None:
    mrv.submit("metro", trips(mrv, "li", 1))
    mrv.attest(mrv.claim_ids())
    snapshot_refused(mrv, errors.ValidationError, lambda: mrv.run(pool="wang"))
    snapshot_refused(
        mrv,
        errors.NotAuthorisedError,
        lambda: mrv.registry.run_issuance(
            *mrv.world.people["li"].request(
                mrv.registry.domain,
                "RunIssuance",
                runId="mine",
                bufferPool=mrv.addr("pool"),
                bufferBasisPoints=500,
            )[1:]
        ),
    )
    with pytest.raises(errors.ValidationError, match="bufferBasisPoints"):
        mrv.run(basis_points=5_001)
    snapshot_refused(mrv, errors.BufferBelowFloorError, lambda: mrv.run(basis_points=499))
    mrv.world.op("RunIssuance", runId="r1", bufferPool=mrv.addr("pool"), bufferBasisPoints=500)
    mrv.submit("metro", trips(mrv, "li", 1, day=1))
    mrv.attest(mrv.claim_ids())
    snapshot_refused(
        mrv,
        errors.IssuanceRunExistsError,
        lambda: mrv.world.op(
            "RunIssuance", runId="r1", bufferPool=mrv.addr("pool"), bufferBasisPoints=500
        ),
    )


# -- reversal -------------------------------------------------------------------------------


def issued_world(mrv: MrvWorld, basis_points: int = 500) -> str:
    """li: 30 rides over 3 days (13,290 g, 665 g to the pool); wang_a, a member of wang: one
    ride (443 g: 420 g to wang_a, 23 g to the pool). Returns wang_a's claim."""
    mrv.submit("metro", [*trips(mrv, "li", 10), *trips(mrv, "li", 10, 1), *trips(mrv, "li", 10, 2)])
    [claim] = outcomes_claims(mrv.submit("metro", trips(mrv, "wang_a", 1)))
    mrv.attest(mrv.claim_ids())
    mrv.run(basis_points)
    return claim


def outcomes_claims(receipt: Any) -> list[str]:
    return [o["claim"] for o in receipt.effects["outcomes"] if "claim" in o]


def spend(mrv: MrvWorld, owner: str, amount: int) -> None:
    signer = mrv.world.people[owner]
    mrv.registry.transfer(
        *signer.request(
            mrv.registry.domain,
            "Transfer",
            **{"from": signer.address},
            to=mrv.addr("acme"),
            assetClass=SZ,
            batchNo=0,
            amount=amount,
        )[1:]
    )


def test_reversal_cancels_from_the_holder_then_the_buffer_pool(mrv: MrvWorld) -> None:
    claim = issued_world(mrv)
    assert mrv.store.active_balance(mrv.addr("pool"), SZ) == 688
    receipt = mrv.reverse(claim)
    assert receipt.event_type == "ClaimReversed"
    # the member holds 420 g of the claim's batch; the other 23 g come from the pool
    assert receipt.effects["holder"] == mrv.addr("wang_a")
    assert (receipt.effects["holder_grams"], receipt.effects["pool_grams"]) == (420, 23)
    assert mrv.store.active_balance(mrv.addr("wang_a"), SZ) == 0
    assert mrv.store.active_balance(mrv.addr("pool"), SZ) == 688 - 23
    assert mrv.store.claim(claim)["status"] == "reversed"
    reversal = mrv.store.reversal(claim)
    assert reversal["evidence_hash"] == "0x" + "cd" * 32
    assert reversal["serials"].count(f"CN-CIR-SZ_TRANSIT-1.0-{VINTAGE}-") == 2
    check_invariants(mrv.store)
    assert replay(mrv.store).clean


def test_reversal_after_the_holder_spent_the_grams_takes_them_from_the_pool(
    mrv: MrvWorld,
) -> None:
    claim = issued_world(mrv)
    spend(mrv, "wang_a", 400)
    receipt = mrv.reverse(claim)
    assert (receipt.effects["holder_grams"], receipt.effects["pool_grams"]) == (20, 423)
    assert mrv.store.active_balance(mrv.addr("acme"), SZ) == 400  # the buyer keeps them
    assert mrv.store.active_balance(mrv.addr("pool"), SZ) == 688 - 423
    check_invariants(mrv.store)
    assert replay(mrv.store).clean


def test_reversal_refusals(mrv: MrvWorld) -> None:
    claim = issued_world(mrv)
    spend(mrv, "wang_a", 420)
    spend(mrv, "pool", 688)  # the pool sold its buffer: nothing left to cover a reversal
    error = snapshot_refused(mrv, errors.BufferShortfallError, lambda: mrv.reverse(claim))
    assert error.needed == 443
    snapshot_refused(mrv, errors.UnknownClaimError, lambda: mrv.reverse("C999-1"))
    mrv.submit("metro", [mrv.record("li", T0 + 2 * 86_400 + 6 * HOUR)])
    [pending] = mrv.claim_ids()
    snapshot_refused(mrv, errors.ClaimStatusError, lambda: mrv.reverse(pending))
    request = mrv.world.people["li"].request(
        mrv.registry.domain,
        "ReverseClaim",
        claimId=claim,
        reason="I want it gone",
        evidenceHash="0x" + "00" * 32,
    )
    snapshot_refused(mrv, errors.NotAuthorisedError, lambda: mrv.registry.execute(*request))


def test_a_reversed_claim_cannot_be_reversed_again(mrv: MrvWorld) -> None:
    claim = issued_world(mrv)
    mrv.reverse(claim)
    snapshot_refused(mrv, errors.ClaimStatusError, lambda: mrv.reverse(claim))


# -- property: random activity streams ------------------------------------------------------

PEOPLE = ("li", "wang_a", "wang_b")
activity = st.tuples(
    st.sampled_from(("metro", "map")),  # platform
    st.sampled_from(PEOPLE),
    st.integers(0, 2 * 24 * 60),  # start, minutes after T0
    st.integers(2, 120),  # duration, minutes
    st.integers(0, 60_000),  # metres
    st.booleans(),  # metro (else cycling, Beijing)
    st.integers(0, 40),  # activity id: a small pool, so that ids repeat
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=st.lists(activity, min_size=1, max_size=40),
    batch_size=st.integers(1, 12),
    approve_mask=st.lists(st.booleans(), min_size=40, max_size=40),
    basis_points=st.integers(500, 5_000),  # at least the travel methodologies' floor
)
def test_random_streams_issue_exactly_the_approved_grams_once(
    stream: list[tuple[str, str, int, int, int, bool, int]],
    batch_size: int,
    approve_mask: list[bool],
    basis_points: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mrv = MrvWorld.create(Path(tmp) / "p.db")
        batches: dict[str, list[dict[str, Any]]] = {"metro": [], "map": []}
        for platform, who, start, minutes, metres, metro, act in stream:
            if metro:
                quantities = {"metro_m": metres, "bus_m": 0}
                record = mrv.record(
                    who, T0 + start * MIN, minutes, activity_id=f"a{act}", **quantities
                )
            else:
                record = mrv.record(
                    who,
                    T0 + start * MIN,
                    minutes,
                    "BJ_CYCLE_WALK",
                    f"a{act}",
                    walk_m=0,
                    cycle_m=metres,
                    navigated=1,
                )
            batches[platform].append(record)
        submitted = 0
        for platform, records in batches.items():
            for i in range(0, len(records), batch_size):
                receipt = mrv.submit(platform, records[i : i + batch_size])
                assert len(receipt.effects["outcomes"]) == len(records[i : i + batch_size])
                submitted += len(records[i : i + batch_size])
        claims = mrv.store.claims()
        assert len(claims) + len(mrv.store.rejections()) == submitted

        # no activity claimed twice, no overlapping claims of one person and kind, no day
        # over the cap (times and days are in the private index, not in the claims)
        rows = mrv.store.conn.execute(
            "SELECT platform, activity_key, subject, family, start_s, end_s, methodology, day,"
            " grams FROM private_activities WHERE claim_id IS NOT NULL"
        ).fetchall()
        assert len(rows) == len(claims)
        assert len({(r[0], r[1]) for r in rows}) == len(rows)
        for a in rows:
            for b in rows:
                if a is not b and (a[2], a[3]) == (b[2], b[3]):
                    assert a[5] <= b[4] or b[5] <= a[4]
        daily: dict[tuple[str, str, str], int] = {}
        for r in rows:
            daily[(r[2], r[6], r[7])] = daily.get((r[2], r[6], r[7]), 0) + r[8]
        assert all(grams <= 6_000 for grams in daily.values())

        pending = [c["claim_id"] for c in claims]
        approved = [c for c, ok in zip(pending, approve_mask, strict=False) if ok]
        rejected = [c for c, ok in zip(pending, approve_mask, strict=False) if not ok]
        rejected += pending[len(approve_mask) :]
        if approved:
            mrv.attest(approved)
        if rejected:
            mrv.attest(rejected, approve=False, reason="random verdict")
        approved_grams = sum(c["grams"] for c in claims if c["claim_id"] in set(approved))
        if not approved:
            with pytest.raises(errors.NothingToIssueError):
                mrv.run(basis_points)
            return
        run = mrv.run(basis_points).effects
        assert run["issued_grams"] + run["buffer_grams"] == approved_grams == run["grams"]
        minted = mrv.store.conn.execute(
            "SELECT SUM(amount) FROM batches WHERE issued_seq = ?",
            (mrv.store.event_count() - 1,),
        ).fetchone()[0]
        assert minted == approved_grams
        issued = {c["claim_id"] for c in mrv.store.claims(status="issued")}
        assert issued == set(approved)
        check_invariants(mrv.store)
        assert replay(mrv.store).clean
        mrv.store.close()
