"""Nothing personal in the log, its proofs, its tiles or on chain; erasure that leaves
nothing to recover and every proof valid (issue 11).

One simulated pilot (households, members, eight platforms, a verifier) runs through
ingestion, attestation and issuance, with a retirement naming its beneficiary, a lock,
a mint and an on-chain retirement, anchored on the embedded chain. Then every event,
every proof bundle, every Merkle tile and every transaction on the chain is scanned for
the personal values the registry holds in its vault: activity ids, times, quantities,
names, phone numbers.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anchoring.audit import audit
from anchoring.chain import Chain
from anchoring.worker import AnchorPolicy
from registry import messages as m
from registry.commitments import NO_COMMITMENT, commit_text, commitment
from registry.methodologies import CATALOGUE
from registry.mrv.simulator import PLATFORMS, SimulationConfig, simulate, simulation_signer
from registry.personal import (
    ACTIVITY,
    BENEFICIARY_NAME,
    HOUSEHOLD,
    PERSONAL_NAME,
    PSEUDONYM,
    Piece,
    salt_fingerprint,
)
from registry.replay import replay
from registry.storage.personal import SealedPiece
from tests.anchoring_world import anchored_world, verify
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.ledger_world import CLASS, World

SEED = 4
PHONE_ID = "13800138000-0830"
BENEFICIARY = "张三 (Zhang San)"
PHONE = re.compile(r"(?<![0-9A-Fa-fx])1[3-9][0-9]{9}(?![0-9A-Fa-f])")
# Above every cap (30,000 g): an integer this large in the log can only be a quantity.
QUANTITY_FLOOR = 35_000
PERSONAL_KEYS = {"start", "end", "quantities", "salt", "beneficiaryName", "evidence"} | {
    name for methodology in CATALOGUE.values() for name in methodology.quantity_names
}


@dataclass
class Personal:
    """The personal values the registry holds, as read from its vault."""

    strings: set[str]
    times: set[int]
    quantities: set[int]
    salts: set[bytes]
    # person -> their household's address: public as an account, personal as a link
    households: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, pieces: list[Piece]) -> Personal:
        found = cls(set(), set(), set(), set())
        for piece in pieces:
            found.salts.add(piece.salt)
            if piece.kind == ACTIVITY:
                detail = json.loads(piece.data)
                found.strings.add(detail["id"])
                found.times |= {detail["start"], detail["end"]}
                found.quantities |= {
                    q for q in detail["quantities"].values() if q >= QUANTITY_FLOOR
                }
            elif piece.kind == HOUSEHOLD:
                found.households[piece.subject] = "0x" + piece.data.hex()
            else:
                found.strings.add(piece.data.decode("utf-8"))
        return found

    def clock_strings(self, hours: int) -> set[str]:
        """Each time as ISO text to the minute, `hours` ahead of UTC."""
        return {
            (datetime.fromtimestamp(t, UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")
            for t in self.times
        }


def leaks_in_json(document: Any, personal: Personal) -> list[str]:
    """Personal keys and values anywhere in a JSON document."""
    utc, china = personal.clock_strings(0), personal.clock_strings(8)
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PERSONAL_KEYS:
                    found.append(f"{where}.{key}: a personal field")
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        elif isinstance(value, bool):
            return
        elif isinstance(value, int):
            if value in personal.times or value in personal.quantities:
                found.append(f"{where}: {value}")
        elif isinstance(value, str):
            if value in personal.strings or any(s and s in value for s in personal.strings):
                found.append(f"{where}: {value!r}")
            # A time marked UTC ("...Z", as the log's own times) is looked for in UTC only:
            # a trip's China Standard Time read as UTC is just the clock eight hours later.
            clocks = utc if value.endswith("Z") else utc | china
            if PHONE.search(value) or any(c in value for c in clocks):
                found.append(f"{where}: {value!r}")

    walk(document, "$")
    return found


def test_the_scan_finds_a_trip_s_time_in_either_zone_but_not_the_log_s_clock() -> None:
    """A trip at 10:21 UTC (18:21 in China): the log's own time 18:21 UTC is not it."""
    trip = int(datetime(2026, 11, 30, 10, 21, 5, tzinfo=UTC).timestamp())
    personal = Personal(set(), {trip}, set(), set())
    assert leaks_in_json({"time": "2026-11-30T18:21:43.196Z"}, personal) == []
    assert leaks_in_json({"time": "2026-11-30T10:21:43.196Z"}, personal) != []
    assert leaks_in_json({"start": "2026-11-30T18:21:05+08:00"}, personal) != []
    assert leaks_in_json({"start": "2026-11-30T18:21"}, personal) != []


def leaks_in_bytes(data: bytes, personal: Personal) -> list[str]:
    """Personal strings, salts, and times or quantities as 32-byte ABI words, in raw bytes."""
    found = [s for s in personal.strings if s.encode("utf-8") in data]
    found += [f"salt {salt.hex()[:8]}" for salt in personal.salts if salt in data]
    numbers = personal.times | personal.quantities
    for i in range(0, len(data) - 31, 32):
        word = int.from_bytes(data[i : i + 32], "big")
        if word in numbers:
            found.append(f"word {word}")
    if PHONE.search(data.decode("latin-1")):
        found.append("a phone number")
    return found


@dataclass
class Pilot:
    world: World
    chain: Chain
    bridge: Bridge
    path: Path | str

    def bundles(self) -> dict[int, dict[str, Any]]:
        return {seq: self.bridge.bundle(seq) for seq in range(self.world.store.event_count())}

    def pieces(self) -> list[Piece]:
        vault = self.world.registry.vault
        return [p for s in vault.tables.all() if (p := vault.open(s)) is not None]


def run_pilot(path: Path | str) -> Pilot:
    world, chain = anchored_world(path)
    bridge = Bridge.start(world, chain, AnchorPolicy(confirmations=1))
    registry = world.registry
    report = simulate(registry, world.operator, SimulationConfig(households=12, days=3, seed=SEED))
    assert report.accepted > 50 and report.issued_grams > 0
    # A platform whose activity ids are phone numbers.
    metro = simulation_signer(SEED, "platform/metro_sz")
    ride = {"id": PHONE_ID, "account": world.addr("alice"), "methodology": "SZ_TRANSIT",
            "version": "1.0", "region": "440304",
            "start": int(datetime.now(UTC).timestamp()) - 2 * 86_400 + 17,
            "end": int(datetime.now(UTC).timestamp()) - 2 * 86_400 + 3_917,
            "quantities": {"metro_m": 41_234, "bus_m": 0}}  # fmt: skip
    fields, details = m.activity_batch(metro.address, "phone-ids", [ride])
    signed = metro.request(registry.domain, "SubmitActivities", **fields)
    assert "claim" in registry.submit_activities(*signed[1:], details).effects["outcomes"][0]
    # A retirement naming its beneficiary, off chain; a lock, a mint, an on-chain retirement.
    world.issue("bob", 10_000)
    salt, named = commit_text(BENEFICIARY)
    bob = world.people["bob"]
    retire = bob.request(registry.domain, "Retire", owner=bob.address, assetClass=CLASS,
                         batchNo=0, amount=100, beneficiaryCommitment=named,
                         beneficiary=bob.address, reason="commute", jurisdiction="CN-GD")  # fmt: skip
    registry.execute(*retire, {"beneficiary_name": (salt, BENEFICIARY)})
    holder = bridge.wallet()
    lock = bridge.lock("bob", 2_000, holder.address)
    bridge.worker.run_once()
    bridge.mint(holder, lock.seq)
    _, on_chain = commit_text(BENEFICIARY)
    bridge.token.retire(key_of(holder), TOKEN, 700, on_chain, "offset")
    bridge.worker.run_once()
    bridge.worker.run_once()
    assert world.store.event_count() == bridge.worker.tree.size
    return Pilot(world, chain, bridge, path)


@pytest.fixture(scope="module")
def pilot(module_store_url: str) -> Iterator[Pilot]:
    run = run_pilot(module_store_url)
    yield run
    run.world.store.close()


def test_the_vault_holds_what_the_scan_looks_for(pilot: Pilot) -> None:
    personal = Personal.of(pilot.pieces())
    kinds = {p.kind for p in pilot.pieces()}
    # PSEUDONYM: the leaderboard names of the simulated community's members
    assert kinds == {ACTIVITY, PERSONAL_NAME, BENEFICIARY_NAME, PSEUDONYM, HOUSEHOLD}
    assert PHONE_ID in personal.strings and BENEFICIARY in personal.strings
    assert any(s.startswith("Shenzhen household") for s in personal.strings)
    assert len(personal.times) > 100 and 41_234 in personal.quantities
    # the scanner finds them where they are (it can fail)
    leaked = {"id": PHONE_ID, "at": max(personal.times), "name": BENEFICIARY}
    assert len(leaks_in_json(leaked, personal)) >= 4
    word = max(personal.times).to_bytes(32, "big")
    assert leaks_in_bytes(b"\x00" * 4 + PHONE_ID.encode() + word, personal)


def test_no_event_bundle_tile_or_transaction_holds_a_personal_value(pilot: Pilot) -> None:
    personal = Personal.of(pilot.pieces())
    store = pilot.world.store
    found: list[str] = []
    for seq, _, _, body in store.event_rows():
        found += [f"event {seq} {leak}" for leak in leaks_in_json(json.loads(body), personal)]
        found += [f"event {seq} {leak}" for leak in leaks_in_bytes(bytes(body), personal)]
    for seq, bundle in pilot.bundles().items():
        found += [f"bundle {seq} {leak}" for leak in leaks_in_json(bundle, personal)]
    for (hashes,) in store.conn.execute("SELECT hashes FROM merkle_tiles"):
        found += [f"tile {leak}" for leak in leaks_in_bytes(bytes(hashes), personal)]
    w3 = pilot.chain.w3
    transactions = 0
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            transactions += 1
            found += [
                f"tx {tx['hash'].hex()} {leak}"
                for leak in leaks_in_bytes(bytes(tx.get("input") or tx["data"]), personal)
            ]
            for log in w3.eth.get_transaction_receipt(tx["hash"])["logs"]:
                data = bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"])
                found += [f"log {leak}" for leak in leaks_in_bytes(data, personal)]
    assert transactions >= 5  # anchors, the token, a mint, a retirement
    assert found == []


def test_no_person_s_account_opening_names_their_household(pilot: Pilot) -> None:
    """The log shows no family: a person's AccountOpened holds a commitment to their
    household, never its address, while the registry keeps the link for its rules."""
    personal = Personal.of(pilot.pieces())
    store = pilot.world.store
    members = {a["address"]: a["household"] for a in store.accounts_page(-1, 1000)
               if a["kind"] == "person" and a["household"]}  # fmt: skip
    assert len(members) >= 12  # every simulated household has a member
    assert {p: h.lower() for p, h in members.items()} == personal.households
    households = {h.lower() for h in members.values()}
    opened = 0
    for _, event_type, _, body in store.event_rows():
        event = json.loads(body)
        request = event["payload"]["request"] if event_type == "AccountOpened" else {}
        if request.get("kind") != "person":
            continue
        assert "household" not in request
        assert not any(h[2:].encode() in bytes(body).lower() for h in households)
        if request["account"] in members:
            opened += 1
            assert request["householdCommitment"] != NO_COMMITMENT
    assert opened == len(members)


def test_no_issuance_batch_shows_a_member_s_household(pilot: Pilot) -> None:
    """Every batch of the pilot's run goes to the account whose logged claims it issues: a
    household's batch holds the household's own claims only, never a member's grams."""
    from tests.test_household_link import unexplained_batches

    store = pilot.world.store
    members = {a["address"]: a["household"] for a in store.accounts_page(-1, 1000)
               if a["kind"] == "person" and a["household"]}  # fmt: skip
    [run] = [json.loads(body) for _, kind, _, body in store.event_rows() if kind == "IssuanceRun"]
    holders = {b["to"] for b in run["payload"]["effects"]["batches"]}
    assert len(holders & set(members)) >= 6  # members hold their own credits
    assert unexplained_batches(store) == []


def test_platform_names_are_public_and_people_s_are_not(pilot: Pilot) -> None:
    store = pilot.world.store
    names = {a["kind"]: a["name"] for a in store.accounts_page(-1, 1000)}
    assert names["platform"] in PLATFORMS.values()
    assert {a["name"] for a in store.accounts_page(-1, 1000) if a["kind"] in m.PERSONAL_KINDS} == {
        ""
    }


# -- erasure --------------------------------------------------------------------------------


@pytest.fixture
def erased_pilot(tmp_path: Path) -> Iterator[Pilot]:
    run = run_pilot(tmp_path / "registry.db")
    yield run
    run.world.store.close()


def file_bytes(path: Path | str) -> bytes:
    path = Path(path)
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_erasing_a_person_leaves_nothing_to_recover_and_every_proof_valid(
    erased_pilot: Pilot,
) -> None:
    pilot, registry = erased_pilot, erased_pilot.world.registry
    store, vault = registry.store, registry.vault
    person = next(a["address"] for a in store.accounts_page(-1, 1000)
                  if a["kind"] == "person" and a["household"]
                  and len([p for p in vault.of_subject(a["address"]) if p.kind == ACTIVITY]) >= 3)  # fmt: skip
    theirs = vault.of_subject(person)
    sealed = vault.tables.of_subject(person)
    personal = Personal.of(theirs)
    rows = store.conn.execute(
        "SELECT start_s, end_s FROM private_activities WHERE subject = ?", (person,)
    ).fetchall()
    assert rows
    on_disk = [struct.pack(">ii", start, end) for start, end in rows]
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert all(pattern in file_bytes(pilot.path) for pattern in on_disk)  # the search works
    bundles = pilot.bundles()

    assert registry.erase(person) == len(theirs)

    # their evidence cannot be decrypted: the key is gone, the ciphertexts too
    assert vault.of_subject(person) == []
    assert all(vault.open(SealedPiece(*s)) is None for s in sealed)
    assert vault.tables.wrapped_key(person) is None
    # no personal value of theirs is anywhere: not in the files, not in the log
    everything = file_bytes(pilot.path)
    assert not any(pattern in everything for pattern in on_disk)
    assert not any(salt in everything for salt in personal.salts)
    assert (
        leaks_in_bytes(everything, Personal(personal.strings, set(), set(), personal.salts)) == []
    )
    for seq, _, _, body in store.event_rows():
        assert leaks_in_json(json.loads(body), personal) == [], seq
    # every bundle issued before still verifies; the state still equals the log
    for seq, bundle in bundles.items():
        checks = verify(bundle, pilot.chain, min_confirmations=1)
        assert all(c.ok for c in checks), (seq, [c for c in checks if not c.ok])
    report = replay(store)
    assert report.clean and report.taken_as_logged >= 1
    assert audit(store, registry.log_id, registry.domain, pilot.chain, vault).clean


def test_recovering_an_erased_reading_needs_the_salt_that_is_gone(erased_pilot: Pilot) -> None:
    """The brute-force test: with the log and the household's public data an attacker knows
    the commitment SHA-256(salt || details) and can enumerate every plausible reading, but
    not the 256-bit salt, which came from the operating system and was erased."""
    registry, store = erased_pilot.world.registry, erased_pilot.world.store
    household = erased_pilot.world.addr("alice")
    grid = simulation_signer(SEED, "platform/grid")
    today = datetime.now(UTC).date().replace(day=1)
    month = {"id": "meter-4403-0001-2026", "account": household,
             "methodology": "SZ_HOME_ELECTRICITY", "version": "2.0", "region": "440304",
             "start": int(datetime(today.year - 1, today.month, 1, tzinfo=UTC).timestamp()) - 8 * 3600,
             "end": int(datetime(today.year - 1, today.month, 1, tzinfo=UTC).timestamp()) - 8 * 3600
             + 30 * 86_400, "quantities": {"used_wh": 312_000}}  # fmt: skip
    fields, details = m.activity_batch(grid.address, "meter-history", [month])
    signed = grid.request(registry.domain, "SubmitActivities", **fields)
    receipt = registry.submit_activities(*signed[1:], details)
    logged = fields["records"][0]["commitment"]
    assert logged in store.event_body(receipt.seq).decode()
    [reading] = [p for p in registry.vault.of_subject(household) if p.ref == logged]

    def attack(salt: bytes) -> int | None:
        """Try every monthly reading to the kWh, up to 2,000 kWh, with `salt`."""
        detail = json.loads(reading.data)
        for wh in range(0, 2_000_001, 1_000):
            guess = dict(detail, quantities={"used_wh": wh})
            if commitment(salt, m.detail_bytes(guess)) == logged:
                return wh
        return None

    assert attack(reading.salt) == 312_000  # with the salt, the reading falls at once

    registry.erase(household)
    assert reading.salt not in file_bytes(erased_pilot.path)
    assert store.conn.execute(
        "SELECT 1 FROM commitment_salts WHERE fingerprint = ?", (salt_fingerprint(reading.salt),)
    ).fetchone()  # only a one-way fingerprint of the salt is kept, to refuse its reuse
    assert attack(b"\x00" * 32) is None and attack(bytes(range(32))) is None
    assert len(reading.salt) * 8 == 256  # 2^256 salts to try, far beyond 2^100


def test_salts_come_from_the_operating_system_not_the_seed(tmp_path: Path) -> None:
    """The first release's simulator drew salts from its seeded generator: two runs gave
    the same evidence hashes. Now no commitment repeats across runs of one seed."""
    logged = []
    for name in ("a.db", "b.db"):
        world, _ = anchored_world(tmp_path / name)
        simulate(world.registry, world.operator, SimulationConfig(households=3, days=2, seed=SEED))
        logged.append({r["commitment"] for _, _, _, body in world.store.event_rows()
                       for r in json.loads(body)["payload"].get("request", {}).get("records", [])})  # fmt: skip
        world.store.close()
    assert len(logged[0]) > 10 and logged[0].isdisjoint(logged[1])
