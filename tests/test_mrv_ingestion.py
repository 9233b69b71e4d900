"""Platform ingestion: signed batches of committed records, claims, duplicates within and
across platforms, accounts and time zones, regions, claim windows, caps, leakage,
idempotent resubmission, rejections with reasons, and the details kept off the log.

`MrvWorld` (also used by the other MRV tests) adds to the ledger's test world a household
with two opted-in members, a single person, two platforms, a verifier and a buffer pool.
Activities happen in the last days before the test runs: claims older than a
methodology's claim window are refused.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from registry import errors
from registry import messages as m
from registry.commitments import commit_text, commitment
from registry.errors import SchemaVersionError
from registry.ledger import OPERATIONS, Authorised, Receipt
from registry.methodologies import lookup
from registry.methodologies.policy import current_version
from registry.mrv.committed import REASONS
from registry.mrv.ingest import cst_day
from registry.replay import replay
from registry.signing import Signer, new_nonce
from registry.storage import Store, migrate_file
from tests.ledger_world import World, legacy_batch

pytestmark = pytest.mark.both_backends

CST = 8 * 3600
DAY = 86_400
MIN = 60
# 00:00 China Standard Time three days before the test runs: inside every claim window.
# 00:00 China Standard Time four days ago: the tests' rides run up to three days and a few
# hours after it, so all of them have ended at any time of today (three days back, rides
# on the third day were still in the future between 00:00 and 02:00 CST).
T0 = (int(time.time()) + CST) // DAY * DAY - CST - 4 * DAY
VINTAGE = cst_day(T0)[:4]
SZ = f"SZ_TRANSIT-1.0-{VINTAGE}-440300"
REGIONS = {"SZ_TRANSIT": "440304", "SZ_HOME_ELECTRICITY": "440304", "BJ_METRO": "110105",
           "BJ_CYCLE_WALK": "110105", "CQ_EBIKE_SHARE": "500103"}  # fmt: skip


class MrvWorld:
    def __init__(self, world: World) -> None:
        self.world = world
        self.registry = world.registry
        self._ids = itertools.count()
        world.open("wang", "household")
        for member in ("wang_a", "wang_b"):
            self.member(member, "wang")
        world.open("li", "person")
        world.open("acme", "company")
        world.open("pool", "company")
        for name in ("metro", "map"):
            world.open(name, "platform")
            world.op("GrantRole", account=world.addr(name), role="platform")
        world.open("audit", "verifier")
        world.op("GrantRole", account=world.addr("audit"), role="verifier")

    @classmethod
    def create(cls, path: Path | str) -> MrvWorld:
        return cls(World.create(path, names=()))

    def member(self, name: str, household: str) -> Signer:
        return self.world.open_person(name, household=self.addr(household))

    def addr(self, name: str) -> str:
        return self.world.addr(name)

    @property
    def store(self) -> Any:
        return self.world.store

    def record(
        self,
        who: str,
        start: int,
        minutes: int = 20,
        methodology: str = "SZ_TRANSIT",
        activity_id: str | None = None,
        **quantities: int,
    ) -> dict[str, Any]:
        """An activity; SZ_TRANSIT defaults to a 10 km metro ride."""
        if not quantities and methodology == "SZ_TRANSIT":
            quantities = {"metro_m": 10_000, "bus_m": 0}
        known = (
            lookup(methodology, current_version(methodology)) if methodology != "NO_SUCH" else None
        )
        return {
            "id": activity_id or f"act-{next(self._ids)}",
            "account": self.addr(who) if who in self.world.people else who,
            "methodology": methodology,
            "version": known.version if known else "1.0",
            "region": REGIONS.get(methodology, "440304"),
            "start": start,
            "end": start + minutes * MIN,
            "quantities": quantities,
        }

    def signed_batch(
        self, platform: str, records: list[dict[str, Any]], batch_id: str | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any], str, list[dict[str, Any]]]:
        """A signed batch `(kind, message, signature, details)` of these activities."""
        fields, details = m.activity_batch(
            self.addr(platform), batch_id or f"b-{next(self._ids)}", records
        )
        kind, message, signature = self.world.people[platform].request(
            self.registry.domain, "SubmitActivities", **fields, **kw
        )
        return kind, message, signature, details

    def submit(
        self, platform: str, records: list[dict[str, Any]], batch_id: str | None = None
    ) -> Receipt:
        _, message, signature, details = self.signed_batch(platform, records, batch_id)
        return self.registry.submit_activities(message, signature, details)

    def legacy_submit(self, platform: str, activities: list[dict[str, Any]]) -> Receipt:
        """A batch in the first release's format (see `legacy_batch`)."""
        return legacy_batch(self.registry, self.world.people[platform], activities)

    def claim_ids(self, status: str = "pending") -> list[str]:
        return [c["claim_id"] for c in self.store.claims(status=status)]

    def attest(
        self, ids: list[str], approve: bool = True, reason: str = "", verifier: str = "audit"
    ) -> Receipt:
        fields = m.attestation(self.addr(verifier), f"att-{next(self._ids)}", ids, approve, reason)
        signer = self.world.people[verifier]
        return self.registry.attest(
            *signer.request(self.registry.domain, "AttestClaims", **fields)[1:]
        )

    def run(self, basis_points: int = 500, pool: str = "pool") -> Receipt:
        return self.world.op(
            "RunIssuance",
            runId=f"run-{next(self._ids)}",
            bufferPool=self.addr(pool),
            bufferBasisPoints=basis_points,
            creditsTo="account",
        )

    def pooled_run(self, basis_points: int = 500, *, commit: bool = True) -> tuple[Any, ...]:
        """A run of the form before issue 11 (no creditsTo: a member's credits pooled to the
        household), signed and committed as that release logged it (the ledger takes no
        such request any more); returns `(kind, message, signature, receipt or None)`."""
        message = {"runId": f"run-{next(self._ids)}", "bufferPool": self.addr("pool"),
                   "bufferBasisPoints": basis_points, "nonce": new_nonce(),
                   "expiry": int(time.time()) + 600}  # fmt: skip
        operator = self.world.operator
        signature = operator.sign_struct(
            self.registry.domain, m.RUN_ISSUANCE_POOLED.struct, message
        )
        receipt = None
        if commit:
            authorised = Authorised(OPERATIONS["RunIssuance"], message, operator.address,
                                    signature)  # fmt: skip
            with self.store.write():
                receipt = self.registry._commit(authorised)
        return "RunIssuance", message, signature, receipt

    def reverse(self, claim_id: str) -> Receipt:
        return self.world.op(
            "ReverseClaim",
            claimId=claim_id,
            reason="fabricated trips found by the platform's audit",
            evidenceHash="0x" + "cd" * 32,
        )


@pytest.fixture
def mrv(store_url: str) -> Iterator[MrvWorld]:
    world = MrvWorld.create(store_url)
    yield world
    world.store.close()


def outcomes(receipt: Receipt) -> list[str]:
    """Each record's outcome as `claim` or its rejection reason."""
    return ["claim" if "claim" in o else o["reason"] for o in receipt.effects["outcomes"]]


def refused(
    mrv: MrvWorld,
    error: type[errors.RegistryError],
    request: tuple[str, dict[str, Any], str, list[dict[str, Any]]],
) -> errors.RegistryError:
    before = mrv.world.snapshot()
    with pytest.raises(error) as caught:
        mrv.registry.submit_activities(*request[1:])
    assert mrv.world.snapshot() == before
    return caught.value


# -- accepted records ---------------------------------------------------------------------


def test_a_batch_becomes_claims_in_one_event(mrv: MrvWorld) -> None:
    before = mrv.store.event_count()
    receipt = mrv.submit(
        "metro", [mrv.record("wang_a", T0 + 8 * 3600), mrv.record("li", T0 + 9 * 3600)]
    )
    assert mrv.store.event_count() == before + 1
    assert receipt.event_type == "ActivitiesSubmitted"
    sz = lookup("SZ_TRANSIT", "1.0")
    assert sz is not None
    effects = dict(receipt.effects)
    assert effects.pop("rules").startswith("0x")
    # 10 km of metro at 46.7 g/km = 467 g, less 5% leakage, rounded down: 443 g
    assert effects == {
        "accepted": 2,
        "rejected": 0,
        "grams": 886,
        "methodologies": {"SZ_TRANSIT@1.0": sz.hash()},
        "outcomes": [
            {"claim": f"C{receipt.seq}-0", "class": SZ, "grams": 443},
            {"claim": f"C{receipt.seq}-1", "class": SZ, "grams": 443},
        ],
    }
    claim = mrv.store.claim(f"C{receipt.seq}-0")
    assert claim["methodology_hash"] == sz.hash()
    assert claim["status"] == "pending"
    assert claim["beneficiary"] == mrv.addr("wang")  # an opted-in member earns for the household
    assert claim["asset_class"] == SZ
    assert mrv.store.claim(f"C{receipt.seq}-1")["beneficiary"] == mrv.addr("li")
    assert replay(mrv.store).clean


def test_the_event_holds_commitments_not_activities(mrv: MrvWorld) -> None:
    ride = mrv.record("li", T0 + 8 * 3600 + 17, activity_id="13800138000-0830")
    _, message, signature, details = mrv.signed_batch("metro", [ride])
    receipt = mrv.registry.submit_activities(message, signature, details)
    body = mrv.store.event_body(receipt.seq)
    assert set(json.loads(body)["payload"]["request"]["records"][0]) == {
        "account", "methodology", "version", "region", "commitment"
    }  # fmt: skip
    for value in (b"13800138000", str(ride["start"]).encode(), str(ride["end"]).encode(),
                  b"10000", details[0]["salt"][2:].encode()):  # fmt: skip
        assert value not in body
    claim = mrv.store.claim(f"C{receipt.seq}-0")
    assert (claim["start_s"], claim["end_s"], claim["day"]) == (0, 0, "")
    assert claim["evidence_hash"] == message["records"][0]["commitment"]
    assert claim["activity_id"] == claim["claim_id"]  # the activity id stays off the log
    [piece] = [p for p in mrv.registry.vault.of_subject(mrv.addr("li")) if p.kind == "activity"]
    assert json.loads(piece.data)["id"] == "13800138000-0830"
    sealed = mrv.store.conn.execute("SELECT ciphertext FROM personal_data").fetchone()[0]
    assert b"13800138000" not in bytes(sealed)  # encrypted at rest
    keys = mrv.store.conn.execute("SELECT activity_key FROM private_activities").fetchall()
    assert keys and all(b"13800138000" not in k for (k,) in keys)  # keyed hash, not the id


def test_details_must_match_their_commitments(mrv: MrvWorld) -> None:
    ride = mrv.record("li", T0 + 8 * 3600)
    _, message, signature, details = mrv.signed_batch("metro", [ride])
    before = mrv.world.snapshot()
    forged = [dict(details[0], quantities={"metro_m": 20_000, "bus_m": 0})]
    short = [dict(details[0], salt="0x" + "ab" * 16)]
    for sent, words in (
        (forged, "do not give records"),
        (short, "32 random bytes"),
        ([], "one activity per record"),
        ([details[0], details[0]], "one activity per record"),
        ([{k: v for k, v in details[0].items() if k != "salt"}], "needs its salt"),
    ):
        with pytest.raises(errors.ValidationError, match=words):
            mrv.registry.submit_activities(message, signature, sent)
    assert mrv.world.snapshot() == before


def test_a_reused_commitment_salt_is_refused(mrv: MrvWorld) -> None:
    first = mrv.record("li", T0 + 8 * 3600)
    _, message, signature, details = mrv.signed_batch("metro", [first])
    mrv.registry.submit_activities(message, signature, details)
    again = mrv.record("li", T0 + 11 * 3600)
    salt = bytes.fromhex(details[0]["salt"][2:])
    detail = {k: again[k] for k in ("id", "start", "end", "quantities")}
    record = {k: again[k] for k in ("account", "methodology", "version", "region")}
    record["commitment"] = commitment(salt, m.detail_bytes(detail))
    records = m.normalise_committed([record])
    fields = {"platform": mrv.addr("metro"), "batchId": "reuse", "records": records,
              "recordCount": 1, "recordsHash": m.records_digest(records),
              "notClaimedElsewhere": True}  # fmt: skip
    _, message, signature = mrv.world.people["metro"].request(
        mrv.registry.domain, "SubmitActivities", **fields
    )
    before = mrv.world.snapshot()
    with pytest.raises(errors.ValidationError, match="salt was used before"):
        mrv.registry.submit_activities(message, signature, [{**detail, "salt": details[0]["salt"]}])
    assert mrv.world.snapshot() == before


def test_the_no_double_claiming_declaration_is_required(mrv: MrvWorld) -> None:
    fields, details = m.activity_batch(
        mrv.addr("metro"), "b", [mrv.record("li", T0)], not_claimed_elsewhere=False
    )
    with pytest.raises(errors.ValidationError, match="DB11/T 3043"):  # no client signs it
        mrv.world.people["metro"].request(mrv.registry.domain, "SubmitActivities", **fields)
    message = {**fields, "nonce": 1, "expiry": int(time.time()) + 600}
    error = refused(mrv, errors.ValidationError, ("SubmitActivities", message, "0x" + "11" * 65,
                                                  details))  # fmt: skip
    assert "notClaimedElsewhere must be true" in str(error)


# -- duplicates and double counting ----------------------------------------------------


def test_the_same_trip_from_two_platforms_yields_one_claim(mrv: MrvWorld) -> None:
    mrv.submit("metro", [mrv.record("wang_a", T0 + 8 * 3600)])
    again = mrv.submit("map", [mrv.record("wang_a", T0 + 8 * 3600 + 2 * MIN)])
    assert outcomes(again) == ["double_counted"]
    [rejection] = mrv.store.rejections(reason="double_counted")
    assert rejection["platform"] == mrv.addr("map")
    assert rejection["account"] == mrv.addr("wang_a")


def test_the_same_trip_under_the_household_account_is_not_credited_again(
    mrv: MrvWorld,
) -> None:
    """Audit defect 5: the member's trip, reported again under the household's account."""
    mrv.submit("metro", [mrv.record("wang_a", T0 + 8 * 3600)])
    household = mrv.submit("map", [mrv.record("wang", T0 + 8 * 3600 + MIN)])
    assert outcomes(household) == ["double_counted"]
    # and the other way round: the household's report first, then the member's
    mrv.submit("map", [mrv.record("wang", T0 + DAY + 8 * 3600)])
    member = mrv.submit("metro", [mrv.record("wang_b", T0 + DAY + 8 * 3600 + MIN)])
    assert outcomes(member) == ["double_counted"]


def test_the_same_trip_eight_hours_off_is_a_time_zone_twin(mrv: MrvWorld) -> None:
    """Audit defect 5: a platform sent local time as if it were UTC."""
    trip = mrv.record("li", T0 + 8 * 3600)
    mrv.submit("metro", [trip])
    shifted = dict(trip, id="other-id", start=trip["start"] + CST, end=trip["end"] + CST)
    assert outcomes(mrv.submit("map", [shifted])) == ["double_counted"]
    # the same ride the next day (24 h later) is another ride
    assert outcomes(mrv.submit("map", [mrv.record("li", T0 + DAY + 8 * 3600)])) == ["claim"]
    # and one platform's rides eight hours apart are a 9-to-5 commute, not twins
    morning = mrv.record("li", T0 + 2 * DAY + 9 * 3600)
    evening = dict(morning, id="evening", start=morning["start"] + CST, end=morning["end"] + CST)
    assert outcomes(mrv.submit("metro", [morning, evening])) == ["claim", "claim"]


def test_overlap_is_per_person_and_per_kind_of_activity(mrv: MrvWorld) -> None:
    start = T0 + 8 * 3600
    receipt = mrv.submit(
        "metro",
        [
            mrv.record("wang_a", start),
            mrv.record("wang_b", start),  # another member: another trip
            mrv.record("wang_a", start + 20 * MIN),  # starts as the first ends: half-open
            mrv.record("wang_a", start, 30, "BJ_METRO", metro_m=12_000) | {"region": "110105"},
        ],
    )
    assert outcomes(receipt) == ["claim", "claim", "claim", "double_counted"]


def test_overlap_within_one_batch_and_across_travel_methodologies(mrv: MrvWorld) -> None:
    start = T0 + 8 * 3600
    receipt = mrv.submit(
        "map",
        [
            mrv.record("li", start),
            mrv.record("li", start + 10 * MIN),
            mrv.record(
                "li", start + 5 * MIN, 30, "BJ_CYCLE_WALK", walk_m=0, cycle_m=5_000, navigated=1
            ),
        ],
    )
    assert outcomes(receipt) == ["claim", "double_counted", "double_counted"]


def test_a_record_id_seen_before_is_a_duplicate(mrv: MrvWorld) -> None:
    record = mrv.record("li", T0 + 8 * 3600)
    mrv.submit("metro", [record])
    later = mrv.record("li", T0 + 12 * 3600, activity_id=record["id"])
    same_batch = mrv.record("li", T0 + 15 * 3600)
    receipt = mrv.submit(
        "metro",
        [later, same_batch, dict(same_batch, start=T0 + 18 * 3600, end=T0 + 18 * 3600 + 1200)],
    )
    assert outcomes(receipt) == ["duplicate_record", "claim", "duplicate_record"]
    # the other platform may use the same activity id for its own activity
    other = mrv.submit("map", [mrv.record("li", T0 + 20 * 3600, activity_id=record["id"])])
    assert outcomes(other) == ["claim"]


def test_a_rejected_record_id_stays_taken(mrv: MrvWorld) -> None:
    bad = mrv.record("li", T0, 2, metro_m=50_000, bus_m=0)
    assert outcomes(mrv.submit("metro", [bad])) == ["implausible"]
    fixed = dict(bad, end=bad["start"] + 3_600)
    assert outcomes(mrv.submit("metro", [fixed])) == ["duplicate_record"]


# -- region and time ------------------------------------------------------------------------


def test_a_methodology_takes_only_activities_of_its_region(mrv: MrvWorld) -> None:
    """Audit defect 6: a Shenzhen ride may not pick Beijing's methodology."""
    ride = mrv.record("li", T0 + 8 * 3600, 30, "BJ_METRO", metro_m=12_000)
    in_shenzhen = dict(ride, region="440304")
    in_beijing = dict(ride, id="bj", start=ride["start"] + 3600, end=ride["end"] + 3600)
    national = mrv.record(
        "li", T0 + 11 * 3600, 40, "NEV_PASSENGER", distance_m=20_000, energy_wh=2_000
    ) | {"region": "500103"}
    assert outcomes(mrv.submit("map", [in_shenzhen, in_beijing, national])) == [
        "wrong_region", "claim", "claim"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (2_082_758_400, "future_activity"),  # 2036-01-01
        (1_560_000_000, "outside_claim_window"),  # 2019
        (T0 - 8 * DAY, "outside_claim_window"),  # Beijing: 7 days
    ],
)
def test_activities_outside_the_claim_window_are_refused(
    mrv: MrvWorld, start: int, reason: str
) -> None:
    """Audit defect 7: a ride dated 2036, and one of 2019, were accepted."""
    ride = mrv.record("li", start, 30, "BJ_METRO", metro_m=12_000)
    assert outcomes(mrv.submit("map", [ride])) == [reason]
    assert mrv.store.claims() == []


def test_a_batch_expiry_far_ahead_is_refused(mrv: MrvWorld) -> None:
    """The expiry is the clock a batch's records are judged by: it may not run ahead."""
    error = refused(
        mrv,
        errors.ValidationError,
        mrv.signed_batch("metro", [mrv.record("li", T0)], ttl_s=10 * 365 * DAY),
    )
    assert "must expire within 3600 s" in str(error)


# -- idempotency and signatures -----------------------------------------------------------


def test_resubmitting_a_batch_returns_the_first_receipt_without_an_event(mrv: MrvWorld) -> None:
    request = mrv.signed_batch("metro", [mrv.record("li", T0 + 8 * 3600)], "day-1")
    first = mrv.registry.submit_activities(*request[1:])
    before = mrv.world.snapshot()
    again = mrv.registry.submit_activities(*request[1:])
    assert again == first
    # re-signed with a fresh nonce: still the same batch
    resigned = mrv.world.people["metro"].request(
        mrv.registry.domain,
        "SubmitActivities",
        **{k: v for k, v in request[1].items() if k not in ("nonce", "expiry")},
    )
    assert mrv.registry.submit_activities(*resigned[1:], request[3]) == first
    assert mrv.registry.execute_many([(*resigned, {"details": request[3]})]) == [first]
    assert mrv.world.snapshot() == before


def test_a_batch_id_reused_for_other_records_is_refused(mrv: MrvWorld) -> None:
    mrv.submit("metro", [mrv.record("li", T0 + 8 * 3600)], "day-1")
    error = refused(
        mrv,
        errors.BatchConflictError,
        mrv.signed_batch("metro", [mrv.record("li", T0 + 9 * 3600)], "day-1"),
    )
    assert "new batch id" in str(error)


def test_a_batch_signed_by_another_key_is_refused(mrv: MrvWorld) -> None:
    kind, message, _, details = mrv.signed_batch("metro", [mrv.record("li", T0)])
    forged = mrv.world.people["map"].sign(mrv.registry.domain, kind, message)
    error = refused(mrv, errors.WrongSignerError, (kind, message, forged, details))
    assert isinstance(error, errors.WrongSignerError)
    assert error.recovered == mrv.addr("map")


def test_a_batch_from_an_account_without_the_platform_role_is_refused(mrv: MrvWorld) -> None:
    fields, details = m.activity_batch(mrv.addr("acme"), "b", [mrv.record("li", T0)])
    request = mrv.world.people["acme"].request(mrv.registry.domain, "SubmitActivities", **fields)
    refused(mrv, errors.NotAuthorisedError, (*request, details))


def test_records_changed_after_signing_are_refused(mrv: MrvWorld) -> None:
    kind, message, signature, details = mrv.signed_batch("metro", [mrv.record("li", T0)])
    message["records"][0]["account"] = mrv.addr("wang_a")
    refused(mrv, errors.ValidationError, (kind, message, signature, details))
    # with the hash recomputed the signature no longer matches the struct
    message["recordsHash"] = m.records_digest(m.normalise_committed(message["records"]))
    refused(mrv, errors.WrongSignerError, (kind, message, signature, details))


def test_expired_and_replayed_nonce_batches_are_refused(mrv: MrvWorld) -> None:
    refused(
        mrv,
        errors.SignatureExpiredError,
        mrv.signed_batch("metro", [mrv.record("li", T0)], ttl_s=-1),
    )
    first = mrv.signed_batch("metro", [mrv.record("li", T0)], nonce=77)
    mrv.registry.submit_activities(*first[1:])
    refused(
        mrv,
        errors.NonceReplayedError,
        mrv.signed_batch("metro", [mrv.record("li", T0 + 3600)], nonce=77),
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"start": T0 + 3600}, "not after its start"),
        ({"id": "has space"}, r"activities\[0\]\.id"),
        ({"account": "0x12"}, r"records\[0\]\.account"),
        ({"quantities": {"Metro": 1}}, "lowercase"),
        ({"quantities": {"metro_m": -1}}, "quantities.metro_m"),
        ({"region": "Shenzhen"}, "region"),
        ({"methodology": "sz-transit"}, "methodology"),
    ],
)
def test_malformed_records_refuse_the_batch(
    mrv: MrvWorld, change: dict[str, Any], words: str
) -> None:
    record = mrv.record("li", T0)
    record.update(change)
    with pytest.raises(errors.ValidationError, match=words):
        m.activity_batch(mrv.addr("metro"), "b", [record])


# -- per-record rejections ----------------------------------------------------------------


def test_every_rejection_has_a_reason_and_is_queryable(mrv: MrvWorld) -> None:
    stranger = Signer.generate().address
    records = [
        mrv.record(stranger, T0),
        mrv.record("acme", T0),
        mrv.record("li", T0, methodology="NO_SUCH", metro_m=1),
        mrv.record("li", T0 + 3600, bus_m=5_000),
        mrv.record("li", T0 + 2 * 3600, 5, metro_m=30_000, bus_m=0),
        mrv.record("li", T0 + 3 * 3600, metro_m=100, bus_m=0),
    ]
    _, message, _, _ = mrv.signed_batch("metro", records)
    future = mrv.record("li", message["expiry"] + 60)
    receipt = mrv.submit("metro", [*records, future])
    assert outcomes(receipt) == [
        "unknown_account",
        "ineligible_account",
        "unknown_methodology",
        "invalid_quantities",
        "implausible",
        "not_eligible",
        "future_activity",
    ]
    rows = mrv.store.rejections(platform=mrv.addr("metro"))
    assert [r["reason"] for r in rows] == outcomes(receipt)
    assert all(r["detail"] for r in rows)
    assert mrv.store.rejections(account=mrv.addr("li"), reason="implausible")[0]["idx"] == 4
    assert mrv.store.rejection_counts()["not_eligible"] == 1
    assert replay(mrv.store).clean


def test_daily_cap_clips_then_rejects(mrv: MrvWorld) -> None:
    # SZ_TRANSIT: 3,000 g a ride, 6,000 g a day; 70 km of metro = 3,269 g -> 3,000 g, then
    # 5% leakage: 2,850 g.
    rides = [mrv.record("li", T0 + h * 3600, 50, metro_m=70_000, bus_m=0) for h in (7, 9)]
    rides += [mrv.record("li", T0 + 11 * 3600), mrv.record("li", T0 + 13 * 3600)]
    receipt = mrv.submit("metro", rides)
    fx = receipt.effects["outcomes"]
    assert [o.get("grams") for o in fx[:3]] == [2_850, 2_850, 300]
    assert fx[0]["capped"] == "activity"
    assert fx[2]["capped"] == "daily"
    assert fx[3]["reason"] == "daily_cap"
    next_day = mrv.submit("metro", [mrv.record("li", T0 + DAY + 8 * 3600)])
    assert outcomes(next_day) == ["claim"]
    # the cap is per account: a household member's own day is not li's
    member = mrv.submit("map", [mrv.record("wang_a", T0 + 7 * 3600, 50, metro_m=70_000, bus_m=0)])
    assert [o.get("grams") for o in member.effects["outcomes"]] == [2_850]


def test_a_rejected_committed_claim_gives_its_day_back(mrv: MrvWorld) -> None:
    rides = [mrv.record("li", T0 + h * 3600, 50, metro_m=70_000, bus_m=0) for h in (7, 9, 11)]
    first = mrv.submit("metro", rides[:2]).effects["outcomes"]
    mrv.attest([first[0]["claim"]], approve=False, reason="spot check failed")
    assert [o.get("grams") for o in mrv.submit("metro", rides[2:]).effects["outcomes"]] == [2_850]
    assert replay(mrv.store).clean


# -- erasure ---------------------------------------------------------------------------


def test_erasing_a_person_leaves_the_log_and_replay_intact(mrv: MrvWorld) -> None:
    records = [mrv.record("li", T0 + h * 3600) for h in (7, 9)] + [mrv.record("wang_a", T0)]
    mrv.submit("metro", records)
    mrv.submit("map", [mrv.record("wang_b", T0 + 3 * 3600)])
    mrv.attest(mrv.claim_ids())
    mrv.run()
    log_before = list(mrv.store.event_rows())
    assert replay(mrv.store).taken_as_logged == 0
    assert mrv.registry.erase(mrv.addr("li")) == 3  # two activities and li's name
    assert mrv.registry.vault.of_subject(mrv.addr("li")) == []
    kept = sorted(p.kind for p in mrv.registry.vault.of_subject(mrv.addr("wang_a")))
    assert kept == ["activity", "household"]  # wang_a's trip and household link
    assert list(mrv.store.event_rows()) == log_before
    report = replay(mrv.store)
    assert report.clean
    assert report.taken_as_logged == 1  # li's batch; wang_b's batch is decided again
    assert mrv.registry.erase(mrv.addr("li")) == 0


def test_an_erased_person_s_account_earns_no_more(mrv: MrvWorld) -> None:
    """Their activity ids went with them: the same trip sent again must not be a new claim,
    and nothing of it is kept."""
    trip = mrv.record("li", T0 + 7 * 3600)
    assert outcomes(mrv.submit("metro", [trip])) == ["claim"]
    mrv.registry.erase(mrv.addr("li"))
    again = mrv.submit("metro", [trip, mrv.record("li", T0 + DAY + 7 * 3600)])
    assert outcomes(again) == ["erased_account", "erased_account"]
    assert mrv.registry.vault.of_subject(mrv.addr("li")) == []  # nothing sealed again
    assert mrv.registry.vault.tables.wrapped_key(mrv.addr("li")) is None  # no new key
    assert (
        mrv.store.conn.execute(
            "SELECT count(*) FROM private_activities WHERE subject = ?", (mrv.addr("li"),)
        ).fetchone()[0]
        == 0
    )
    assert outcomes(mrv.submit("metro", [mrv.record("wang_a", T0 + 7 * 3600)])) == ["claim"]
    assert replay(mrv.store).clean


def test_an_erased_member_s_trip_is_not_credited_again_under_the_household(
    mrv: MrvWorld,
) -> None:
    trip = mrv.record("wang_a", T0 + 7 * 3600)
    assert outcomes(mrv.submit("metro", [trip])) == ["claim"]
    mrv.registry.erase(mrv.addr("wang_a"))
    household = mrv.submit("map", [dict(trip, id="other", account=mrv.addr("wang"))])
    assert outcomes(household) == ["erased_account"]
    # and an erased household's members earn no more either
    mrv.registry.erase(mrv.addr("wang"))
    assert outcomes(mrv.submit("map", [mrv.record("wang_b", T0 + 9 * 3600)])) == ["erased_account"]
    assert replay(mrv.store).clean


def test_activities_credited_before_the_upgrade_count(mrv: MrvWorld) -> None:
    """A first-release batch (records in clear) credited a trip: the same trip in a
    committed batch is a duplicate, an overlapping one double counted, and the day's
    grams count toward the cap."""
    ride = mrv.record("li", T0 + 7 * 3600, 50, metro_m=70_000, bus_m=0, activity_id="old-1")
    assert outcomes(mrv.legacy_submit("metro", [ride])) == ["claim"]
    again = mrv.submit("metro", [ride])
    overlapping = mrv.submit("map", [dict(ride, id="map-1", start=ride["start"] + 60)])
    later = mrv.submit("metro", [mrv.record("li", T0 + 9 * 3600, 50, metro_m=70_000, bus_m=0)])
    assert (outcomes(again), outcomes(overlapping)) == (["duplicate_record"], ["double_counted"])
    # 6,000 g a day: 3,000 g (the first release, no leakage) + 2,850 g leave room for no more
    assert [o.get("grams") for o in later.effects["outcomes"]] == [2_850]
    last = mrv.submit("metro", [mrv.record("li", T0 + 11 * 3600, 50, metro_m=70_000, bus_m=0)])
    assert [o.get("grams") for o in last.effects["outcomes"]] == [150]
    assert replay(mrv.store).clean


def test_a_refusal_that_pointed_at_an_erased_person_s_activity_replays(mrv: MrvWorld) -> None:
    """wang_b's record repeats li's activity id and is refused; once li is erased, nothing
    shows why, and replay takes that batch as logged instead of failing."""
    trip = mrv.record("li", T0 + 7 * 3600, activity_id="trip-9")
    mrv.submit("metro", [trip])
    copy = mrv.submit("metro", [mrv.record("wang_b", T0 + 9 * 3600, activity_id="trip-9")])
    assert outcomes(copy) == ["duplicate_record"]
    mrv.registry.erase(mrv.addr("li"))
    report = replay(mrv.store)
    assert report.clean, report.problems
    assert report.taken_as_logged == 1  # li's batch; wang_b's is decided again, exactly
    # a forged outcome beside such a refusal is still caught
    body = json.loads(mrv.store.event_body(copy.seq))
    body["payload"]["effects"]["outcomes"][0] = {"reason": "double_counted",
                                                 "detail": "x"}  # fmt: skip
    mrv.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (rfc8785.dumps(body), copy.seq)
    )
    assert not replay(mrv.store, verify_signatures=False).clean


def test_a_batch_with_erased_details_replays_as_logged_but_not_forged(mrv: MrvWorld) -> None:
    receipt = mrv.submit("metro", [mrv.record("li", T0 + 7 * 3600)])
    mrv.registry.erase(mrv.addr("li"))
    seq = receipt.seq
    body = json.loads(mrv.store.event_body(seq))
    body["payload"]["effects"]["outcomes"][0]["grams"] = 10**6
    forged = rfc8785.dumps(body)
    mrv.store.conn.execute("UPDATE events SET body = ? WHERE seq = ?", (forged, seq))
    report = replay(mrv.store, verify_signatures=False)
    assert any("not a claim this record could earn" in p for p in report.problems)


# -- canonical bytes and storage ----------------------------------------------------------

_hex = "0123456789abcdef"
records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text("AZaz09._:-", min_size=1, max_size=64),
            "account": st.text(_hex + "ABCDEF", min_size=40, max_size=40).map(lambda h: "0x" + h),
            "methodology": st.text("ABCXYZ019_", min_size=1, max_size=40),
            "version": st.sampled_from(["1", "1.0", "10.2.3"]),
            "start": st.integers(0, 2**40 - 1),
            "quantities": st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True),
                st.integers(0, 2**53 - 1),
                min_size=1,
                max_size=16,
            ),
            "evidenceHash": st.text(_hex + "ABCDEF", min_size=64, max_size=64).map(
                lambda h: "0x" + h
            ),
        }
    ).map(lambda r: dict(r, end=r["start"] + 1)),
    min_size=1,
    max_size=5,
)


@given(records_strategy)
def test_records_bytes_equal_rfc8785(records: list[dict[str, Any]]) -> None:
    normal = m.normalise_records(records)
    assert m.records_bytes(normal) == rfc8785.dumps(normal)
    assert m.records_bytes(list(normal)) == rfc8785.dumps(normal)  # not the memo


committed_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "account": st.text(_hex + "ABCDEF", min_size=40, max_size=40).map(lambda h: "0x" + h),
            "methodology": st.text("ABCXYZ019_", min_size=1, max_size=40),
            "version": st.sampled_from(["1", "1.0", "10.2.3"]),
            "region": st.sampled_from(["440304", "CN", "110000"]),
            "commitment": st.text(_hex + "ABCDEF", min_size=64, max_size=64).map(
                lambda h: "0x" + h
            ),
        }
    ),
    min_size=1,
    max_size=5,
)


@given(committed_strategy)
def test_committed_records_bytes_equal_rfc8785(records: list[dict[str, Any]]) -> None:
    normal = m.normalise_committed(records)
    assert m.records_bytes(normal) == rfc8785.dumps(normal)
    assert m.records_bytes(list(normal)) == rfc8785.dumps(normal)  # not the memo


def test_events_of_batches_are_canonical_and_spliced_exactly(mrv: MrvWorld) -> None:
    receipt = mrv.submit("metro", [mrv.record("li", T0 + h * 3600) for h in (7, 9)])
    body = mrv.store.event_body(receipt.seq)
    assert body == rfc8785.dumps(json.loads(body))
    assert json.loads(body)["payload"]["request"]["records"][1]["region"] == "440304"


def test_a_registry_from_before_the_mrv_tables_gets_them_by_migration(tmp_path: Path) -> None:
    world = World.create(tmp_path / "old.db", names=("alice",))
    world.issue("alice", 100)
    for table in (
        "activity_batches",
        "claims",
        "claim_rejections",
        "daily_totals",
        "attestations",
        "issuance_runs",
        "reversals",
        "evidence",
    ):
        world.store.conn.execute(f"DROP TABLE {table}")
    world.store.conn.execute("PRAGMA user_version = 0")
    world.store.close()
    with pytest.raises(SchemaVersionError, match="carbon-registry migrate"):
        Store(tmp_path / "old.db")
    migrate_file(tmp_path / "old.db")
    reopened = Store(tmp_path / "old.db")
    assert reopened.claims() == []
    assert replay(reopened).clean
    reopened.close()


def test_a_new_batch_citing_a_superseded_version_is_refused(mrv: MrvWorld) -> None:
    ride = mrv.record("li", T0 + 8 * 3600, 30, methodology="BJ_METRO", metro_m=12_000)
    ride["version"] = "1.0"
    before = mrv.world.snapshot()
    with pytest.raises(errors.MethodologySupersededError, match="superseded by 2.0"):
        mrv.submit("metro", [ride])
    assert mrv.world.snapshot() == before
    ride["version"] = "2.0"
    accepted = mrv.submit("metro", [ride]).effects["outcomes"]
    assert [o.get("grams") for o in accepted] == [532]  # 12 km at 46.7 g/pkm, less 5%


@given(
    st.fixed_dictionaries(
        {
            "id": st.text("AZaz09._:-", min_size=1, max_size=64),
            "start": st.integers(0, 2**40 - 2),
            "quantities": st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True),
                st.integers(0, 2**53 - 1),
                min_size=1,
                max_size=16,
            ),
        }
    ).map(lambda d: dict(d, end=d["start"] + 1))
)
def test_detail_bytes_equal_rfc8785(detail: dict[str, Any]) -> None:
    normal = m.normalise_detail(detail, "detail")
    assert m.detail_bytes(normal) == rfc8785.dumps(normal)


def forge_first_claim(mrv: MrvWorld, seq: int, grams: int) -> None:
    """Rewrite the grams of a batch's first claim in the database, as a dishonest operator."""
    body = json.loads(mrv.store.event_body(seq))
    fx = body["payload"]["effects"]
    claim = next(o for o in fx["outcomes"] if "claim" in o)
    fx["grams"] += grams - claim["grams"]
    claim["grams"] = grams
    mrv.store.conn.execute("UPDATE events SET body = ? WHERE seq = ?", (rfc8785.dumps(body), seq))


def test_a_forged_claim_beside_an_unknown_account_is_caught(mrv: MrvWorld) -> None:
    """An unknown account's details are not kept, yet the batch is decided again in full."""
    stranger = Signer.generate().address
    receipt = mrv.submit("metro", [mrv.record(stranger, T0), mrv.record("li", T0 + 7 * 3600)])
    assert outcomes(receipt) == ["unknown_account", "claim"]
    assert replay(mrv.store).clean and replay(mrv.store).taken_as_logged == 0
    forge_first_claim(mrv, receipt.seq, 3_000)
    assert not replay(mrv.store, verify_signatures=False).clean


def test_an_erasure_elsewhere_hides_no_forgery_and_raises_no_false_alarm(mrv: MrvWorld) -> None:
    mrv.registry.erase(mrv.addr("acme"))  # a company the operator controls
    named = mrv.submit("metro", [mrv.record("acme", T0), mrv.record("li", T0 + 7 * 3600)])
    assert outcomes(named) == ["ineligible_account", "claim"]
    report = replay(mrv.store)
    assert report.clean, report.problems
    forge_first_claim(mrv, named.seq, 3_000)
    assert not replay(mrv.store, verify_signatures=False).clean


def test_a_missing_piece_without_an_erasure_is_reported(mrv: MrvWorld) -> None:
    receipt = mrv.submit("metro", [mrv.record("li", T0 + 7 * 3600)])
    mrv.store.conn.execute("DELETE FROM personal_data WHERE seq = ?", (receipt.seq,))
    report = replay(mrv.store)
    assert any("not in the vault" in p for p in report.problems)


def test_a_batch_taken_as_logged_still_credits_no_more_than_its_own_details(
    mrv: MrvWorld,
) -> None:
    """wang_b's trip shares a batch with wang_a's; once wang_a is erased the batch is taken
    as logged, yet wang_b's claim is held to what its own details earn."""
    receipt = mrv.submit(
        "metro", [mrv.record("wang_a", T0 + 7 * 3600), mrv.record("wang_b", T0 + 9 * 3600)]
    )
    mrv.registry.erase(mrv.addr("wang_a"))
    assert replay(mrv.store).clean
    body = json.loads(mrv.store.event_body(receipt.seq))
    fx = body["payload"]["effects"]
    fx["outcomes"][1]["grams"] = 2_900  # 443 g earned
    fx["grams"] = fx["outcomes"][0]["grams"] + 2_900
    mrv.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (rfc8785.dumps(body), receipt.seq)
    )
    report = replay(mrv.store, verify_signatures=False)
    assert any("more than its own details earn" in p for p in report.problems)


def test_an_unrelated_erasure_does_not_excuse_a_made_up_duplicate(mrv: MrvWorld) -> None:
    mrv.registry.erase(mrv.addr("acme"))  # never sent anything
    receipt = mrv.submit("metro", [mrv.record("li", T0 + 7 * 3600)])
    body = json.loads(mrv.store.event_body(receipt.seq))
    fx = body["payload"]["effects"]
    fx["outcomes"][0] = {"reason": "duplicate_record", "detail": REASONS["duplicate_record"]}
    fx.update(accepted=0, rejected=1, grams=0, methodologies={})
    mrv.store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?", (rfc8785.dumps(body), receipt.seq)
    )
    assert not replay(mrv.store, verify_signatures=False).clean


def test_nothing_is_sealed_again_under_an_erased_beneficiary(mrv: MrvWorld) -> None:
    mrv.world.issue("wang", 1_000)
    mrv.registry.erase(mrv.addr("li"))
    salt, named = commit_text("李 (a beneficiary)")
    wang = mrv.world.people["wang"]
    retire = wang.request(mrv.registry.domain, "Retire", owner=wang.address,
                          assetClass="SZ_TRANSIT-1.0-2026-440300", batchNo=0, amount=10,
                          beneficiaryCommitment=named, beneficiary=mrv.addr("li"),
                          reason="gift", jurisdiction="CN-GD")  # fmt: skip
    mrv.registry.execute(*retire, {"beneficiary_name": (salt, "李 (a beneficiary)")})
    assert mrv.registry.vault.tables.wrapped_key(mrv.addr("li")) is None
    assert mrv.registry.vault.of_subject(mrv.addr("li")) == []
