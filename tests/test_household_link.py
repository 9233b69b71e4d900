"""A person's household stays off the log (issue 11): OpenAccount logs a commitment to it,
the address travels beside the request, is sealed under the person's key and decides the
household rules; erasing the person forgets the link, and replay and audit stay clean.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from anchoring.audit import audit
from registry import errors
from registry import messages as m
from registry.commitments import NO_COMMITMENT, commitment
from registry.ledger import OPERATIONS, Authorised, Registry
from registry.personal import HOUSEHOLD
from registry.replay import replay
from registry.signing import Signer, new_nonce
from tests.ledger_world import World
from tests.test_mrv_ingestion import SZ, T0, MrvWorld, outcomes

pytestmark = pytest.mark.both_backends


@pytest.fixture
def mrv(store_url: str) -> Iterator[MrvWorld]:
    world = MrvWorld.create(store_url)
    yield world
    world.store.close()


def opened_request(registry: Registry, seq: int) -> dict[str, Any]:
    body = registry.store.event_body(seq)
    assert body is not None
    event = json.loads(body)
    assert event["type"] == "AccountOpened"
    return dict(event["payload"]["request"])


def audit_clean(registry: Registry) -> list[str]:
    return audit(registry.store, registry.log_id, registry.domain, None, registry.vault).problems


def test_the_log_holds_a_commitment_to_the_household_not_its_address(mrv: MrvWorld) -> None:
    registry, household = mrv.registry, mrv.addr("wang")
    member = mrv.world.open_person("xiao", household=household)
    seq = registry.store.next_seq() - 1
    request = opened_request(registry, seq)
    assert "household" not in request
    assert household[2:].lower().encode() not in registry.store.event_body(seq).lower()
    [piece] = [p for p in registry.vault.of_subject(member.address) if p.kind == HOUSEHOLD]
    assert piece.data == bytes.fromhex(household[2:])  # its 20 bytes
    # the commitment's exact bytes: SHA-256(salt || the household's 20 bytes)
    expected = "0x" + hashlib.sha256(piece.salt + bytes.fromhex(household[2:])).hexdigest()
    assert request["householdCommitment"] == expected == piece.ref
    assert registry.store.account(member.address)["household"] == household
    # a person without a household logs the zero commitment and seals nothing
    alone = mrv.world.open_person("solo")
    assert opened_request(registry, registry.store.next_seq() - 1)["householdCommitment"] == (
        NO_COMMITMENT
    )
    assert [p.kind for p in registry.vault.of_subject(alone.address)] == []
    assert replay(registry.store).clean
    assert audit_clean(registry) == []


def _wrong_value(world: World, request: list[Any]) -> None:
    salt, _ = request[3]["household"]
    request[3] = {"household": (salt, world.addr("li"))}


def _no_value(world: World, request: list[Any]) -> None:
    request[3] = None


REFUSALS = {
    # case: (kind, household, change to the signed request, error, words of its message)
    "a value that does not open the commitment": (
        "person", "wang", _wrong_value, errors.ValidationError, "do not give householdCommitment"
    ),
    "a commitment without its value": (
        "person", "wang", _no_value, errors.ValidationError, "send the household"
    ),
    "an unknown household": (
        "person", "nobody", None, errors.UnknownAccountError, "no account"
    ),
    "a person as the household": (
        "person", "li", None, errors.ValidationError, "is not a household account"
    ),
    "a household joining a household": (
        "household", "wang", None, errors.ValidationError, "only a person"
    ),
    "a company joining a household": (
        "company", "wang", None, errors.ValidationError, "only a person"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_wrong_household_link_is_refused_and_nothing_written(mrv: MrvWorld, case: str) -> None:
    kind, household, change, error, words = REFUSALS[case]
    world = mrv.world
    address = Signer.generate().address if household == "nobody" else world.addr(household)
    fields, sealed = m.OPEN_ACCOUNT.fill(
        world.operator.address, {"account": Signer.generate().address, "kind": kind},
        {"household": address},
    )  # fmt: skip
    # signed as is: the client's own check of the fields would refuse some before sending
    message = {**fields, "nonce": new_nonce(), "expiry": int(time.time()) + 600}
    signature = world.operator.sign_struct(world.registry.domain, m.OPEN_ACCOUNT.struct, message)
    request: list[Any] = ["OpenAccount", message, signature, sealed]
    if change is not None:
        change(world, request)
    before = world.snapshot()
    pieces = len(world.registry.vault.tables.all())
    with pytest.raises(error) as caught:
        world.registry.execute(*request)
    assert words in str(caught.value)
    assert world.snapshot() == before
    assert len(world.registry.vault.tables.all()) == pieces


def test_a_new_request_with_the_household_in_clear_is_refused(mrv: MrvWorld) -> None:
    world = mrv.world
    signed = legacy_open(world, m.OPEN_ACCOUNT_WITH_HOUSEHOLD, Signer.generate().address,
                         mrv.addr("wang"), commit=False)  # fmt: skip
    before = world.snapshot()
    with pytest.raises(errors.ValidationError) as caught:
        world.registry.execute("OpenAccount", *signed)
    assert "householdCommitment" in str(caught.value) and "--household" in str(caught.value)
    assert world.snapshot() == before


def legacy_open(
    world: World, declared: m.Message, account: str, household: str, *, commit: bool = True
) -> tuple[dict[str, Any], str]:
    """An OpenAccount of an earlier form, the household in clear, as its release logged it
    (the ledger takes no such request any more); committed unless `commit` is False."""
    message = {"account": account, "kind": "person", "name": "", "household": household,
               "nonce": new_nonce(), "expiry": int(time.time()) + 600}  # fmt: skip
    if declared is m.OPEN_ACCOUNT_WITH_HOUSEHOLD:
        message["nameCommitment"] = NO_COMMITMENT
    signature = world.operator.sign_struct(world.registry.domain, declared.struct, message)
    if commit:
        authorised = Authorised(OPERATIONS["OpenAccount"], message, world.operator.address,
                                signature)  # fmt: skip
        with world.store.write():
            world.registry._commit(authorised)
    return message, signature


def test_accounts_opened_in_the_earlier_forms_replay_and_their_erasure_forgets_the_link(
    mrv: MrvWorld,
) -> None:
    """Logs of the first and second releases hold the household in clear: they replay, and
    erasing such a member forgets the link in the registry (the log keeps what it logged)."""
    world, household = mrv.world, mrv.addr("wang")
    first, second = Signer.generate(), Signer.generate()
    world.people["first"], world.people["second"] = first, second
    legacy_open(world, m.OPEN_ACCOUNT_IN_CLEAR, first.address, household)
    legacy_open(world, m.OPEN_ACCOUNT_WITH_HOUSEHOLD, second.address, household)
    assert world.store.account(first.address)["household"] == household
    assert world.store.account(second.address)["household"] == household
    trip = mrv.record("first", T0 + 7 * 3600)
    assert outcomes(mrv.submit("metro", [trip, mrv.record("second", T0 + 9 * 3600)])) == [
        "claim", "claim"
    ]  # fmt: skip
    report = replay(world.store)
    assert report.clean and report.taken_as_logged == 0, report.problems
    world.registry.erase(first.address)
    assert world.store.account(first.address)["household"] is None
    assert outcomes(mrv.submit("map", [dict(trip, id="again", account=household)])) == [
        "erased_account"
    ]
    report = replay(world.store)
    assert report.clean, report.problems
    assert audit_clean(world.registry) == []


@pytest.mark.parametrize("pooled", [False, True], ids=["credited to accounts", "pooled run"])
def test_erasing_a_member_keeps_replay_and_audit_clean(mrv: MrvWorld, pooled: bool) -> None:
    """wang_a's trip is credited; the household then sends the same activity (refused as a
    duplicate) and an overlapping one (double counted); the claims are issued: to wang_a,
    or by a run of the earlier form to the household. Once wang_a is erased, the link is
    gone, the household is known only to have had a member erased: those batches (and a
    pooled run, which the link decided) replay as logged, a run that credited wang_a is
    decided again, and later batches are decided again knowing the erasure."""
    registry, store = mrv.registry, mrv.store
    wang, wang_a = mrv.addr("wang"), mrv.addr("wang_a")
    trip = mrv.record("wang_a", T0 + 7 * 3600, activity_id="ride-1")
    assert outcomes(mrv.submit("metro", [trip])) == ["claim"]
    again = mrv.submit("metro", [dict(trip, account=wang)])
    overlapping = mrv.submit("map", [dict(trip, id="map-ride-1", account=wang,
                                          start=trip["start"] + 60)])  # fmt: skip
    assert (outcomes(again), outcomes(overlapping)) == (["duplicate_record"], ["double_counted"])
    mrv.submit("metro", [mrv.record("wang_b", T0 + 9 * 3600)])
    mrv.attest(mrv.claim_ids())
    if pooled:
        mrv.pooled_run()
    else:
        mrv.run()
    [claim] = [c for c in store.claims(status="issued") if c["account"] == wang_a]
    assert claim["beneficiary"] == (wang if pooled else wang_a)
    # the platform finds the trip fabricated: taken back from whom the run issued it to
    assert mrv.reverse(claim["claim_id"]).effects["holder"] == (wang if pooled else wang_a)
    report = replay(store)
    assert report.clean and report.taken_as_logged == 0, report.problems
    assert audit_clean(registry) == []
    size = store.next_seq()

    registry.erase(wang_a)

    assert [p for p in registry.vault.tables.of_subject(wang_a)] == []
    assert store.account(wang_a)["household"] is None
    assert store.claim(claim["claim_id"])["beneficiary"] == wang_a  # the link went
    rows = store.conn.execute("SELECT * FROM erased_members").fetchall()
    assert rows == [(wang, size)]  # the household and when, not which member
    assert wang_a not in str(rows)
    # later batches: the household earns no more; its other member still does
    later = mrv.submit("metro", [mrv.record("wang", T0 + 11 * 3600),
                                 mrv.record("wang_b", T0 + 13 * 3600)])  # fmt: skip
    assert outcomes(later) == ["erased_account", "claim"]
    report = replay(store)
    assert report.clean, report.problems
    # the four batches that held the household's records before, and a pooled issuance and
    # the reversal of a claim it gave the household (a run to accounts is decided again)
    assert report.taken_as_logged == 4 + 2 * pooled
    assert audit_clean(registry) == []


def test_replay_catches_a_household_link_missing_without_an_erasure(mrv: MrvWorld) -> None:
    member = mrv.world.open_person("xiao", household=mrv.addr("wang"))
    mrv.store.conn.execute(
        "DELETE FROM personal_data WHERE subject = ? AND kind = ?", (member.address, HOUSEHOLD)
    )
    problems = replay(mrv.store).problems
    assert any("household of" in p and "not in the vault" in p for p in problems), problems


def test_audit_checks_the_sealed_link_against_the_account(mrv: MrvWorld) -> None:
    """A sealed link that opens to its commitment but names another household than the
    account holds is caught."""
    registry = mrv.registry
    member = mrv.world.open_person("xiao", household=mrv.addr("wang"))
    assert audit_clean(registry) == []
    registry.store.conn.execute(
        "UPDATE accounts SET household = ? WHERE address = ?", (mrv.addr("li"), member.address)
    )
    registry.store.forget_account(member.address)
    problems = audit_clean(registry)
    assert any("household" in p for p in problems), problems


def test_the_commitment_is_over_the_address_s_20_bytes_in_any_letter_case() -> None:
    fields = m.OPEN_ACCOUNT.fill(
        "0x" + "11" * 20,
        {"account": "0x" + "22" * 20, "kind": "person"},
        {"household": "0x" + "ab" * 20},
    )
    committed, (salt, value) = fields[0]["householdCommitment"], fields[1]["household"]
    assert committed == commitment(salt, bytes.fromhex("ab" * 20))
    assert committed == commitment(salt, bytes.fromhex(value.upper()[2:]))


def test_an_erasure_by_another_process_is_seen_by_a_running_registry(mrv: MrvWorld) -> None:
    """A server caches accounts; the command line erases on another connection: the
    server's next read and next batch see the link gone."""
    from registry.storage import Store

    wang_a = mrv.addr("wang_a")
    assert mrv.store.account(wang_a)["household"] == mrv.addr("wang")  # cached
    other = Registry(Store(mrv.store.path))
    try:
        other.erase(wang_a)
    finally:
        other.store.close()
    assert mrv.store.account(wang_a)["household"] is None
    trip = mrv.record("wang_a", T0 + 7 * 3600)
    assert outcomes(mrv.submit("metro", [trip])) == ["erased_account"]
    assert replay(mrv.store).clean


def unexplained_batches(store: Any) -> list[dict[str, Any]]:
    """What an observer of the log alone finds: issuance batches that the approved claims
    of the account they go to do not add up to (count and grams per class), so that other
    accounts' claims must: a link the log shows. Claims, their attestation (approvals,
    grams a rejection gave back) and runs are all in the log."""
    claims: dict[str, tuple[str, str, int]] = {}  # claim -> (account, class, grams)
    approved: set[str] = set()
    found = []
    for seq in range(1, store.event_count()):
        event = json.loads(store.event_body(seq))
        request, effects = event["payload"]["request"], event["payload"]["effects"]
        if event["type"] == "ActivitiesSubmitted":
            for record, outcome in zip(request["records"], effects["outcomes"], strict=True):
                if "claim" in outcome:
                    claims[outcome["claim"]] = (record["account"], outcome["class"],
                                                outcome["grams"])  # fmt: skip
        elif event["type"] == "ClaimsAttested":
            if request["approve"]:
                approved.update(request["claims"])
            for given in effects.get("recredited", []):  # grams a rejection gave back
                assert "readmitted" not in given  # first-release records only: none here
                account, asset_class, grams = claims[given["claim"]]
                claims[given["claim"]] = (account, asset_class, grams + given["grams"])
        elif event["type"] == "IssuanceRun":
            issued: dict[tuple[str, str], list[int]] = {}
            for claim in approved:
                account, asset_class, grams = claims[claim]
                issued.setdefault((account, asset_class), []).append(grams)
            approved.clear()
            for batch in effects["batches"]:
                own = issued.get((batch["to"], batch["asset_class"]), [])
                if (len(own), sum(own)) != (batch["claims"], batch["amount"] + batch["buffer"]):
                    found.append(batch)
    return found


@pytest.mark.parametrize("pooled", [False, True], ids=["credited to accounts", "pooled run"])
def test_an_observer_of_the_log_cannot_link_a_member_to_the_household(
    mrv: MrvWorld, pooled: bool
) -> None:
    """The members' claims are issued to the members: every batch of the run is the logged
    claims of the account it goes to, so no batch to the household carries a member's
    grams. A run of the earlier form pooled them, and the observer found the household's
    batch to be its members' claims (which the new form no longer allows)."""
    wang, wang_a, wang_b = mrv.addr("wang"), mrv.addr("wang_a"), mrv.addr("wang_b")
    mrv.submit("metro", [mrv.record("wang_a", T0 + 7 * 3600), mrv.record("wang_a", T0 + 9 * 3600),
                         mrv.record("wang_b", T0 + 8 * 3600), mrv.record("li", T0 + 8 * 3600)])  # fmt: skip
    mrv.attest(mrv.claim_ids())
    receipt = mrv.pooled_run()[-1] if pooled else mrv.run()
    holders = {b["to"] for b in receipt.effects["batches"]}
    if pooled:
        assert holders == {wang, mrv.addr("li")}
        [linked] = unexplained_batches(mrv.store)
        # the household's batch is exactly its members' logged claims: 2 + 1 rides
        assert (linked["to"], linked["claims"]) == (wang, 3)
        assert linked["amount"] + linked["buffer"] == 3 * 443
        return
    assert holders == {wang_a, wang_b, mrv.addr("li")}
    assert unexplained_batches(mrv.store) == []
    body = mrv.store.event_body(receipt.seq).lower()
    assert wang[2:].lower().encode() not in body  # the household is nowhere in the run
    issued = {c["account"]: c["beneficiary"] for c in mrv.store.claims(status="issued")}
    assert issued[wang_a] == wang_a and issued[wang_b] == wang_b
    assert mrv.store.active_balance(wang, SZ) == 0
    # the household's own view still totals its members' claims (not logged: its link)
    assert mrv.store.household_claimed(wang) == 3 * 443
    assert replay(mrv.store).clean
    assert audit_clean(mrv.registry) == []


def test_a_member_s_claim_reversed_after_a_new_run_is_taken_back_from_the_member(
    mrv: MrvWorld,
) -> None:
    wang_a = mrv.addr("wang_a")
    receipt = mrv.submit("metro", [mrv.record("wang_a", T0 + 7 * 3600)])
    [claim] = [o["claim"] for o in receipt.effects["outcomes"]]
    mrv.attest([claim])
    mrv.run()
    assert mrv.store.active_balance(wang_a, SZ) == 420
    reversal = mrv.reverse(claim)
    assert reversal.effects["holder"] == wang_a
    assert (reversal.effects["holder_grams"], reversal.effects["pool_grams"]) == (420, 23)
    assert mrv.store.active_balance(wang_a, SZ) == 0
    assert mrv.store.household_claimed(mrv.addr("wang")) == 0  # a reversed claim counts not
    report = replay(mrv.store)
    assert report.clean and report.taken_as_logged == 0, report.problems
    assert audit_clean(mrv.registry) == []
