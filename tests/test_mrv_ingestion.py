"""Platform ingestion: signed batches, claims, duplicates within and across platforms, caps,
idempotent resubmission, rejections with reasons, raw evidence and its erasure.

`MrvWorld` (also used by the other MRV tests) adds to the ledger's test world a household
with two opted-in members, a single person, two platforms, a verifier and a buffer pool.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from registry import errors
from registry import messages as m
from registry.errors import SchemaVersionError
from registry.ledger import Receipt
from registry.methodologies import lookup
from registry.mrv.ingest import evidence_hash
from registry.replay import replay
from registry.signing import Signer
from registry.storage import Store, migrate_file
from tests.ledger_world import World

T0 = 1_772_380_800  # 2026-03-02 00:00 China Standard Time (2026-03-01 16:00 UTC)
MIN = 60


def salt_of(activity_id: str) -> bytes:
    """A distinct 32-byte salt per record (the registry refuses short or reused salts)."""
    return hashlib.sha256(b"test salt " + activity_id.encode()).digest()


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
        signer = Signer.generate()
        self.world.people[name] = signer
        self.world.op(
            "OpenAccount",
            account=signer.address,
            kind="person",
            name="",
            household=self.addr(household),
        )
        return signer

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
        """A record; SZ_TRANSIT defaults to a 10 km metro ride."""
        if not quantities and methodology == "SZ_TRANSIT":
            quantities = {"metro_m": 10_000, "bus_m": 0}
        activity_id = activity_id or f"act-{next(self._ids)}"
        return {
            "id": activity_id,
            "account": self.addr(who) if who in self.world.people else who,
            "methodology": methodology,
            "version": "1.0",
            "start": start,
            "end": start + minutes * MIN,
            "quantities": quantities,
            "evidenceHash": evidence_hash(salt_of(activity_id), activity_id.encode()),
        }

    def signed_batch(
        self, platform: str, records: list[dict[str, Any]], batch_id: str | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any], str]:
        fields = m.activity_batch(self.addr(platform), batch_id or f"b-{next(self._ids)}", records)
        return self.world.people[platform].request(
            self.registry.domain, "SubmitActivities", **fields, **kw
        )

    def submit(
        self,
        platform: str,
        records: list[dict[str, Any]],
        batch_id: str | None = None,
        evidence: dict[str, tuple[bytes, bytes]] | None = None,
    ) -> Receipt:
        _, message, signature = self.signed_batch(platform, records, batch_id)
        return self.registry.submit_activities(message, signature, evidence)

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
        )

    def reverse(self, claim_id: str) -> Receipt:
        return self.world.op(
            "ReverseClaim",
            claimId=claim_id,
            reason="fabricated trips found by the platform's audit",
            evidenceHash="0x" + "cd" * 32,
        )


@pytest.fixture
def mrv(tmp_path: Path) -> Iterator[MrvWorld]:
    world = MrvWorld.create(tmp_path / "mrv.db")
    yield world
    world.store.close()


def outcomes(receipt: Receipt) -> list[str]:
    """Each record's outcome as `claim` or its rejection reason."""
    return ["claim" if "claim" in o else o["reason"] for o in receipt.effects["outcomes"]]


def refused(
    mrv: MrvWorld, error: type[errors.RegistryError], request: tuple[str, dict[str, Any], str]
) -> errors.RegistryError:
    before = mrv.world.snapshot()
    with pytest.raises(error) as caught:
        mrv.registry.submit_activities(request[1], request[2])
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
    assert receipt.effects == {
        "accepted": 2,
        "rejected": 0,
        "grams": 934,
        "methodologies": {"SZ_TRANSIT@1.0": sz.hash()},
        "outcomes": [
            {"claim": f"C{receipt.seq}-0", "grams": 467},
            {"claim": f"C{receipt.seq}-1", "grams": 467},
        ],
    }
    claim = mrv.store.claim(f"C{receipt.seq}-0")
    assert claim["methodology_hash"] == sz.hash()
    assert claim["status"] == "pending"
    assert claim["beneficiary"] == mrv.addr("wang")  # an opted-in member earns for the household
    assert claim["asset_class"] == "SZ_TRANSIT-1.0-2026-440300"
    assert mrv.store.claim(f"C{receipt.seq}-1")["beneficiary"] == mrv.addr("li")
    assert replay(mrv.store).clean


def test_vintage_and_day_are_those_of_china_standard_time(mrv: MrvWorld) -> None:
    new_year_cst = 1_767_196_800  # 2026-01-01 00:00 CST = 2025-12-31 16:00 UTC
    receipt = mrv.submit(
        "metro", [mrv.record("li", new_year_cst - 30 * MIN), mrv.record("li", new_year_cst + MIN)]
    )
    first, second = (mrv.store.claim(o["claim"]) for o in receipt.effects["outcomes"])
    assert (first["day"], first["asset_class"]) == ("2025-12-31", "SZ_TRANSIT-1.0-2025-440300")
    assert (second["day"], second["asset_class"]) == ("2026-01-01", "SZ_TRANSIT-1.0-2026-440300")


def test_the_event_holds_hashes_not_evidence(mrv: MrvWorld) -> None:
    record = mrv.record("li", T0 + 8 * 3600)
    salt = salt_of(record["id"])
    receipt = mrv.submit("metro", [record], evidence={record["id"]: (salt, record["id"].encode())})
    body = mrv.store.event_body(receipt.seq)
    assert record["evidenceHash"].encode() in body
    assert salt.hex().encode() not in body
    [piece] = mrv.registry.vault.of_subject(mrv.addr("li"))
    assert (piece.salt, piece.data) == (salt, record["id"].encode())
    sealed = mrv.store.conn.execute("SELECT ciphertext FROM personal_data").fetchone()[0]
    assert record["id"].encode() not in bytes(sealed)  # encrypted at rest


# -- duplicates and double counting ----------------------------------------------------


def test_the_same_trip_from_two_platforms_yields_one_claim(mrv: MrvWorld) -> None:
    first = mrv.submit("metro", [mrv.record("wang_a", T0 + 8 * 3600)])
    again = mrv.submit("map", [mrv.record("wang_a", T0 + 8 * 3600 + 2 * MIN)])
    assert outcomes(again) == ["double_counted"]
    claim = first.effects["outcomes"][0]["claim"]
    assert again.effects["outcomes"][0]["detail"] == f"overlaps claim {claim}"
    [rejection] = mrv.store.rejections(reason="double_counted")
    assert rejection["platform"] == mrv.addr("map")
    assert rejection["account"] == mrv.addr("wang_a")


def test_overlap_is_per_account_and_per_kind_of_activity(mrv: MrvWorld) -> None:
    start = T0 + 8 * 3600
    receipt = mrv.submit(
        "metro",
        [
            mrv.record("wang_a", start),
            mrv.record("wang_b", start),  # another member: another trip
            mrv.record("wang_a", start + 20 * MIN),  # starts as the first ends: half-open
            mrv.record(
                "wang_a", start, 1_440, "SZ_HOME_ELECTRICITY", used_wh=6_000, baseline_wh=8_000
            ),
        ],
    )
    assert outcomes(receipt) == ["claim"] * 4


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
    assert "of this batch" in receipt.effects["outcomes"][1]["detail"]


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


# -- idempotency and signatures -----------------------------------------------------------


def test_resubmitting_a_batch_returns_the_first_receipt_without_an_event(mrv: MrvWorld) -> None:
    request = mrv.signed_batch("metro", [mrv.record("li", T0 + 8 * 3600)], "day-1")
    first = mrv.registry.submit_activities(request[1], request[2])
    before = mrv.world.snapshot()
    again = mrv.registry.submit_activities(request[1], request[2])
    assert again == first
    # re-signed with a fresh nonce: still the same batch
    resigned = mrv.signed_batch("metro", request[1]["records"], "day-1")
    assert mrv.registry.submit_activities(resigned[1], resigned[2]) == first
    assert mrv.registry.execute_many([resigned]) == [first]
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
    kind, message, _ = mrv.signed_batch("metro", [mrv.record("li", T0)])
    forged = mrv.world.people["map"].sign(mrv.registry.domain, kind, message)
    error = refused(mrv, errors.WrongSignerError, (kind, message, forged))
    assert isinstance(error, errors.WrongSignerError)
    assert error.recovered == mrv.addr("map")


def test_a_batch_from_an_account_without_the_platform_role_is_refused(mrv: MrvWorld) -> None:
    fields = m.activity_batch(mrv.addr("acme"), "b", [mrv.record("li", T0)])
    request = mrv.world.people["acme"].request(mrv.registry.domain, "SubmitActivities", **fields)
    refused(mrv, errors.NotAuthorisedError, request)


def test_records_changed_after_signing_are_refused(mrv: MrvWorld) -> None:
    kind, message, signature = mrv.signed_batch("metro", [mrv.record("li", T0)])
    message["records"][0]["quantities"]["metro_m"] = 20_000
    refused(mrv, errors.ValidationError, (kind, message, signature))
    # with the hash recomputed the signature no longer matches the struct
    message["recordsHash"] = m.digest_of(m.normalise_records(message["records"]))
    refused(mrv, errors.WrongSignerError, (kind, message, signature))


def test_expired_and_replayed_nonce_batches_are_refused(mrv: MrvWorld) -> None:
    refused(
        mrv,
        errors.SignatureExpiredError,
        mrv.signed_batch("metro", [mrv.record("li", T0)], ttl_s=-1),
    )
    first = mrv.signed_batch("metro", [mrv.record("li", T0)], nonce=77)
    mrv.registry.submit_activities(first[1], first[2])
    refused(
        mrv,
        errors.NonceReplayedError,
        mrv.signed_batch("metro", [mrv.record("li", T0 + 3600)], nonce=77),
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"start": T0 + 3600}, "not after its start"),
        ({"id": "has space"}, r"records\[0\]\.id"),
        ({"account": "0x12"}, r"records\[0\]\.account"),
        ({"quantities": {"Metro": 1}}, "lowercase"),
        ({"quantities": {"metro_m": -1}}, "quantities.metro_m"),
        ({"evidenceHash": "0x12"}, "evidenceHash"),
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
    _, message, signature = mrv.signed_batch("metro", records)
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
    # SZ_TRANSIT: 3,000 g a ride, 6,000 g a day; 70 km of metro = 3,269 g -> 3,000 g.
    rides = [mrv.record("li", T0 + h * 3600, 50, metro_m=70_000, bus_m=0) for h in (7, 9)]
    rides += [mrv.record("li", T0 + 11 * 3600), mrv.record("li", T0 + 13 * 3600)]
    receipt = mrv.submit("metro", rides)
    fx = receipt.effects["outcomes"]
    assert [o.get("grams") for o in fx[:2]] == [3_000, 3_000]
    assert fx[0]["capped"] == "activity"
    assert fx[2]["reason"] == "daily_cap"
    next_day = mrv.submit("metro", [mrv.record("li", T0 + 86_400 + 8 * 3600)])
    assert outcomes(next_day) == ["claim"]
    # a partly used day clips the next claim to what is left
    mrv.submit(
        "map", [mrv.record("wang_a", T0 + 2 * 86_400 + 7 * 3600, 50, metro_m=70_000, bus_m=0)]
    )
    partial = mrv.submit(
        "map",
        [
            mrv.record("wang_a", T0 + 2 * 86_400 + 9 * 3600, 50, metro_m=60_000, bus_m=0),
            mrv.record("wang_a", T0 + 2 * 86_400 + 11 * 3600, 50, metro_m=10_000, bus_m=0),
        ],
    )
    assert [o.get("grams") for o in partial.effects["outcomes"]] == [2_802, 198]
    assert partial.effects["outcomes"][1]["capped"] == "daily"


# -- evidence ---------------------------------------------------------------------------


def test_evidence_that_does_not_match_its_hash_refuses_the_batch(mrv: MrvWorld) -> None:
    record = mrv.record("li", T0)
    _, message, signature = mrv.signed_batch("metro", [record])
    before = mrv.world.snapshot()
    for evidence, words in (
        ({record["id"]: (salt_of(record["id"]), b"forged")}, "does not match"),
        ({"other": (salt_of("other"), b"x")}, "not in the batch"),
        ({record["id"]: (b"short", record["id"].encode())}, "32 random bytes"),
    ):
        with pytest.raises(errors.ValidationError, match=words):
            mrv.registry.submit_activities(message, signature, evidence)
    assert mrv.world.snapshot() == before


def test_erasing_evidence_leaves_the_log_and_replay_intact(mrv: MrvWorld) -> None:
    records = [mrv.record("li", T0 + h * 3600) for h in (7, 9)] + [mrv.record("wang_a", T0)]
    evidence = {r["id"]: (salt_of(r["id"]), r["id"].encode()) for r in records}
    mrv.submit("metro", records, evidence=evidence)
    mrv.attest(mrv.claim_ids())
    mrv.run()
    log_before = list(mrv.store.event_rows())
    assert mrv.registry.erase(mrv.addr("li")) == 2
    assert mrv.registry.vault.of_subject(mrv.addr("li")) == []
    assert len(mrv.registry.vault.of_subject(mrv.addr("wang_a"))) == 1
    assert list(mrv.store.event_rows()) == log_before
    assert replay(mrv.store).clean
    assert mrv.registry.erase(mrv.addr("li")) == 0


def test_a_reused_commitment_salt_is_refused(mrv: MrvWorld) -> None:
    first = mrv.record("li", T0 + 8 * 3600)
    mrv.submit(
        "metro", [first], evidence={first["id"]: (salt_of(first["id"]), first["id"].encode())}
    )
    again = mrv.record("li", T0 + 11 * 3600)
    again["evidenceHash"] = evidence_hash(salt_of(first["id"]), b"another trip")
    before = mrv.world.snapshot()
    with pytest.raises(errors.ValidationError, match="salt was used before"):
        mrv.submit(
            "metro", [again], evidence={again["id"]: (salt_of(first["id"]), b"another trip")}
        )
    assert mrv.world.snapshot() == before


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


def test_events_of_batches_are_canonical_and_spliced_exactly(mrv: MrvWorld) -> None:
    receipt = mrv.submit("metro", [mrv.record("li", T0 + h * 3600) for h in (7, 9)])
    body = mrv.store.event_body(receipt.seq)
    assert body == rfc8785.dumps(json.loads(body))
    assert json.loads(body)["payload"]["request"]["records"][1]["start"] == T0 + 9 * 3600


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
    assert [o.get("grams") for o in accepted] == [560]  # 12 km at 46.7 g/pkm
