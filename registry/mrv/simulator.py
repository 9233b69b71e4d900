"""A simulated city pilot: households, platforms and a verifier driving the whole pipeline.

`simulate` opens households (with opted-in members) in Shenzhen, Beijing and Chongqing,
eight data-provider platforms, a verifier and a buffer pool; generates `days` days of
everyday activity from a seeded random source (commutes by metro, bus, bicycle, e-bike or
electric car, daily electricity readings, second-hand purchases, recycling drop-offs); and
runs it through ingestion -> attestation -> issuance -> one reversal, all as signed
requests through `Registry`, so every credit comes out of a real methodology calculation.
Then the people's side: three merchants publish offers that households' earners redeem (by
transfer and by retirement), one merchant retires what it collected, and households'
earners join a community (some on its leaderboard under a pseudonym) that retires a pooled
contribution. A household's earner is whichever of its account and members holds the most
credits: each claim's credits go to its own account, never pooled to the household.

The data is messy on purpose, as real platform data is:
- the map app reports a share of the same transit trips as the transit apps, minutes
  apart, some under the household's account instead of the person's (`double_counted`
  across platforms and accounts); the NEV app sends a few trips a second time in local time
  as if it were UTC (`double_counted`: a time-zone twin); the map app files a few Shenzhen
  rides under Beijing's methodology (`wrong_region`);
- the metro app resends its first batch whole (idempotent: same receipt, no event) and
  repeats a few records of the day before in the next day's batch (`duplicate_record`);
- some trips are impossibly fast, some walks were not navigated, some homes look vacant,
  some records name people who never opened an account. The utility app sends last
  year's reading of the month too, a year late: refused (`outside_claim_window`) and no
  baseline either (a reading sent late could be made up), so a registry credits a month
  only once it holds the same month of the year before, received in time (`no_baseline`).

The simulated days end yesterday (China Standard Time) unless a start date is given:
claims older than a methodology's claim window are refused, as a late platform's are.

Everything but the commitments' salts is derived from the seed: keys (so accounts and
platforms have the same addresses on every run), nonces and data. Two runs with the same
seed, start date and a fresh registry give the same report; event times, signature
expiries and salts (from the operating system: a salt must be unguessable) differ.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from registry import messages as m
from registry.commitments import NO_COMMITMENT, commit_text
from registry.eip712 import SECP256K1_N
from registry.errors import RegistryError, ValidationError
from registry.ledger import Receipt, Registry
from registry.methodologies.policy import current_version
from registry.mrv.committed import REASONS
from registry.mrv.ingest import CST_OFFSET_S
from registry.signing import Signer
from registry.units import format_grams

SESSION_TTL_S = 3600
CITIES = ("Shenzhen", "Beijing", "Chongqing")
# GB/T 2260 district codes where each city's activities take place.
DISTRICTS = {
    "Shenzhen": ("440303", "440304", "440305", "440306"),
    "Beijing": ("110101", "110105", "110108"),
    "Chongqing": ("500103", "500105", "500106"),
}
CITY_SHARES = (5, 3, 2)

PLATFORMS = {
    "metro_sz": "Shenzhen transit card app",
    "map": "Map navigation app",
    "maas_bj": "Beijing MaaS app",
    "bike_cq": "Chongqing e-bike share",
    "nev": "NEV telematics",
    "grid": "Power utility app",
    "market": "Second-hand marketplace",
    "bins": "Smart recycling bins",
}
# (name, offer id, title, grams) of the simulated merchants, each with one offer.
MERCHANTS = (
    ("街角咖啡 Corner Cafe", "coffee", "咖啡券 coffee voucher", 1_000),
    ("社区菜市场 Fresh Market", "veg-box", "蔬菜盒 vegetable box", 2_000),
    ("单车修理 Bike Repair", "tune-up", "单车保养 bicycle tune-up", 500),
)
COMMUNITY_NAME = "莲花山社区 Lianhuashan community"
PSEUDONYMS = ("绿色狐狸", "Quiet Owl", "步行者 Walker", "Solar Panda", "骑行侠 Rider", "Leaf")
MEMBER_COUNTS = (1, 2, 2, 3, 3, 4)  # a household's people, drawn from this
MAX_REDEMPTIONS = 6
POOLED_SHARE = 10  # a member gives a tenth of its largest holding to the pooled retirement


@dataclass(frozen=True)
class SimulationConfig:
    households: int
    days: int
    seed: int
    start: date | None = None  # None: the days up to yesterday
    buffer_basis_points: int = 1_000
    batch_size: int = 1_000

    def first_day(self, now: float) -> date:
        if self.start is not None:
            return self.start
        today = (datetime.fromtimestamp(now, UTC) + timedelta(seconds=CST_OFFSET_S)).date()
        return today - timedelta(days=self.days)

    def check(self, now: float) -> None:
        if not 1 <= self.households <= 100_000:
            raise ValidationError("households must be between 1 and 100,000")
        if not 1 <= self.days <= 366:
            raise ValidationError("days must be between 1 and 366")
        if not 1 <= self.batch_size <= m.MAX_RECORDS:
            raise ValidationError(f"batch size must be between 1 and {m.MAX_RECORDS}")
        if _day_start(self.first_day(now), self.days) > now:
            raise ValidationError(
                f"the simulated days {self.start} + {self.days} end after now: choose an earlier"
                " --start"
            )


@dataclass
class Household:
    account: Signer
    city: str
    members: list[Signer]
    has_nev: bool
    baseline_wh: int
    district: str


@dataclass
class SimulationReport:
    """What the simulation did, in numbers; `lines()` is its readable form."""

    seed: int
    start: str
    days: int
    households: int
    people: int
    records: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    resent_batches: int = 0
    accepted: int = 0
    accepted_grams: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    approved: int = 0
    approved_grams: int = 0
    verifier_rejected: int = 0
    holder_batches: int = 0
    issued_grams: int = 0
    buffer_grams: int = 0
    buffer_basis_points: int = 0
    classes: dict[str, dict[str, int]] = field(default_factory=dict)
    reversal: dict[str, Any] | None = None
    merchants: int = 0
    redemptions: dict[str, int] = field(default_factory=dict)  # per mode
    redeemed_grams: int = 0
    merchant_retired_grams: int = 0
    community_members: int = 0
    leaderboard: int = 0
    pooled_grams: int = 0
    events: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        out = [
            f"Simulation seed {self.seed}: {self.households} households ({self.people} people)"
            f" in {', '.join(CITIES)}, {self.days} days from {self.start}",
            f"Platforms ({len(self.records)}) sent {sum(self.records.values()):,} activity records"
            f" in {self.batches} signed batches ({self.resent_batches} resent whole: same"
            " receipt, no new event)",
        ]
        out += [f"  {PLATFORMS[p]:<28} {n:>8,}" for p, n in self.records.items()]
        out.append(f"Claims accepted: {self.accepted:,} ({format_grams(self.accepted_grams)})")
        out.append(f"Records rejected: {sum(self.rejected.values()):,}")
        out += [
            f"  {reason:<20} {n:>7,}  {REASONS[reason]}"
            for reason, n in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        out.append(
            f"Verifier: {self.approved:,} approved ({format_grams(self.approved_grams)}),"
            f" {self.verifier_rejected:,} rejected on spot check"
        )
        out.append(
            f"Issuance: {self.holder_batches} batches to claim accounts,"
            f" {format_grams(self.issued_grams)}"
            f" issued, {format_grams(self.buffer_grams)} to the buffer pool"
            f" ({self.buffer_basis_points / 100:.2f}% share, rounded up per batch)"
        )
        out += [
            f"  {klass:<36} issued {c['issued']:>10,} g  buffer {c['buffer']:>8,} g"
            for klass, c in self.classes.items()
        ]
        if self.reversal:
            r = self.reversal
            out.append(
                f"Reversal of claim {r['claim']} ({r['grams']:,} g, platform audit):"
                f" {r['holder_grams']:,} g cancelled from its holder,"
                f" {r['pool_grams']:,} g from the buffer pool"
            )
        if self.merchants:
            out.append(
                f"Merchants: {self.merchants} offers, redeemed"
                f" {', '.join(f'{n} by {mode}' for mode, n in self.redemptions.items()) or 'never'}"
                f" ({format_grams(self.redeemed_grams)}); merchants retired"
                f" {format_grams(self.merchant_retired_grams)} of what they collected"
            )
            out.append(
                f"Community: {self.community_members} members ({self.leaderboard} on its"
                f" leaderboard), {format_grams(self.pooled_grams)} retired in a pooled retirement"
            )
        out.append(f"Events written: {self.events:,}")
        return out


def simulation_signer(seed: int, label: str) -> Signer:
    """The deterministic key of one simulated party (never use such keys for real)."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"carbon-registry/simulate/{seed}/{label}/{counter}".encode())
        secret = int.from_bytes(digest.digest(), "big")
        if 0 < secret < SECP256K1_N:
            return Signer(digest.digest())
        counter += 1  # pragma: no cover - probability 2**-128


def _day_start(start: date, offset: int) -> int:
    """Unix time of 00:00 China Standard Time on `start + offset` days."""
    day = start + timedelta(days=offset)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - CST_OFFSET_S


class Simulation:
    """One run of the simulated pilot; `run` drives it and returns the report."""

    def __init__(self, registry: Registry, operator: Signer, config: SimulationConfig) -> None:
        self.registry = registry
        self.operator = operator
        self.config = config
        self.start = config.first_day(registry.clock())
        self.rng = random.Random(config.seed)
        self.platforms = {p: simulation_signer(config.seed, f"platform/{p}") for p in PLATFORMS}
        self.verifier = simulation_signer(config.seed, "verifier")
        self.pool = simulation_signer(config.seed, "buffer-pool")
        self.merchants = [
            simulation_signer(config.seed, f"merchant/{i}") for i in range(len(MERCHANTS))
        ]
        self.community = simulation_signer(config.seed, "community/0")
        self.households: list[Household] = []
        self.report = SimulationReport(
            seed=config.seed,
            start=self.start.isoformat(),
            days=config.days,
            households=config.households,
            people=0,
            records=dict.fromkeys(PLATFORMS, 0),
            buffer_basis_points=config.buffer_basis_points,
        )
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.serial = Counter[str]()

    # -- signing ------------------------------------------------------------------------

    def _request(
        self, signer: Signer, kind: str, /, **fields: Any
    ) -> tuple[str, dict[str, Any], str]:
        nonce = self.rng.randrange(m.MAX_AMOUNT)
        return signer.request(
            self.registry.domain, kind, ttl_s=SESSION_TTL_S, nonce=nonce, **fields
        )

    def _all_ok(self, requests: list[Any]) -> list[Receipt]:
        results = self.registry.execute_many(requests)
        receipts = []
        for result in results:
            if isinstance(result, RegistryError):
                raise result
            receipts.append(result)
        return receipts

    # -- setup --------------------------------------------------------------------------

    def open_accounts(self) -> None:
        store = self.registry.store
        if store.account(self.verifier.address) is not None:
            raise ValidationError(
                f"this registry already holds the simulation of seed {self.config.seed};"
                " use another --seed or a new --db"
            )
        rng = self.rng
        opens: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = []
        grants: list[tuple[str, dict[str, Any], str]] = []

        def open_account(signer: Signer, kind: str, name: str, household: str) -> None:
            """A person's or household's name, and a person's household, go beside the
            request, each committed to with a fresh salt."""
            personal = kind in m.PERSONAL_KINDS
            beside = {"personal_name": name if personal else "",
                      "household": "" if household == m.ZERO_ADDRESS else household}  # fmt: skip
            fields, sealed = m.OPEN_ACCOUNT.fill(
                self.operator.address,
                {"account": signer.address, "kind": kind, "name": "" if personal else name},
                beside,
            )
            signed = self._request(self.operator, "OpenAccount", **fields)
            opens.append((*signed, sealed or None))

        for label, name in PLATFORMS.items():
            open_account(self.platforms[label], "platform", name, m.ZERO_ADDRESS)
            grants.append(
                self._request(
                    self.operator,
                    "GrantRole",
                    account=self.platforms[label].address,
                    role="platform",
                )
            )
        open_account(self.verifier, "verifier", "Simulated verification body", m.ZERO_ADDRESS)
        grants.append(
            self._request(
                self.operator, "GrantRole", account=self.verifier.address, role="verifier"
            )
        )
        open_account(self.pool, "company", "Buffer pool", m.ZERO_ADDRESS)
        for h in range(self.config.households):
            account = simulation_signer(self.config.seed, f"household/{h}")
            city = rng.choices(CITIES, CITY_SHARES)[0]
            members = [
                simulation_signer(self.config.seed, f"household/{h}/member/{i}")
                for i in range(rng.choice(MEMBER_COUNTS))
            ]
            household = Household(
                account,
                city,
                members,
                has_nev=rng.random() < 0.2,
                baseline_wh=int(min(20_000, max(3_000, rng.gauss(8_000, 1_800)))),
                district=rng.choice(DISTRICTS[city]),
            )
            self.households.append(household)
            open_account(account, "household", f"{city} household {h}", m.ZERO_ADDRESS)
            for member in members:  # a member opened with its household is opted in
                open_account(member, "person", "", account.address)
        self._all_ok(opens)
        self._all_ok(grants)
        self.report.people = sum(len(h.members) for h in self.households)

    # -- activity data ------------------------------------------------------------------

    def _add(
        self,
        platform: str,
        account: str,
        methodology: str,
        start: int,
        end: int,
        quantities: dict[str, int],
        region: str,
    ) -> None:
        self.serial[platform] += 1
        self.records.setdefault(platform, []).append(
            {
                "id": f"{platform}-{self.serial[platform]:08d}",
                "account": account,
                "methodology": methodology,
                "version": current_version(methodology),
                "region": region,
                "start": start,
                "end": end,
                "quantities": quantities,
            }
        )

    def _trip(self, household: Household, person: Signer, start: int) -> None:
        rng = self.rng
        implausible = rng.random() < 0.015
        if household.city == "Shenzhen":
            mode = rng.choices(("metro", "bus", "both"), (60, 25, 15))[0]
            metro = rng.randint(6_000, 25_000) if mode != "bus" else 0
            bus = rng.randint(3_000, 12_000) if mode != "metro" else 0
            minutes = (
                metro / 1000 / rng.uniform(28, 40) * 60 + bus / 1000 / rng.uniform(14, 22) * 60
            )
            end = start + int(minutes * 60) + 120
            quantities = {"metro_m": metro * (8 if implausible else 1), "bus_m": bus}
            where = household.district
            self._add("metro_sz", person.address, "SZ_TRANSIT", start, end, quantities, where)
            if rng.random() < 0.2:  # the map app reports the same trip too
                shift = rng.randint(-90, 90)
                # ... sometimes under the household's account
                account = household.account if rng.random() < 0.3 else person
                self._add("map", account.address, "SZ_TRANSIT", start + shift, end + shift,
                          quantities, where)  # fmt: skip
            elif rng.random() < 0.01:  # ... or under Beijing's methodology
                metro_only = {"metro_m": metro + bus}
                self._add("map", person.address, "BJ_METRO", start, end, metro_only, where)
        elif household.city == "Beijing":
            if rng.random() < 0.65:
                metro = rng.randint(5_000, 30_000)
                end = start + int(metro / 1000 / rng.uniform(28, 40) * 3600) + 120
                quantities = {"metro_m": metro * (8 if implausible else 1)}
                where = household.district
                self._add("maas_bj", person.address, "BJ_METRO", start, end, quantities, where)
                if rng.random() < 0.1:
                    self._add("map", person.address, "BJ_METRO", start + 60, end + 60,
                              quantities, where)  # fmt: skip
            else:
                cycling = rng.random() < 0.6
                distance = rng.randint(2_000, 8_000) if cycling else rng.randint(800, 3_000)
                speed = rng.uniform(12, 18) if cycling else rng.uniform(4, 5.5)
                end = start + int(distance / 1000 / speed * 3600) + 60
                quantities = {
                    "walk_m": 0 if cycling else distance,
                    "cycle_m": distance * (8 if implausible else 1) if cycling else 0,
                    "navigated": 0 if rng.random() < 0.1 else 1,
                }
                self._add("map", person.address, "BJ_CYCLE_WALK", start, end, quantities,
                          household.district)  # fmt: skip
        elif rng.random() < 0.7:  # Chongqing: shared e-assist bicycles
            distance = rng.randint(1_000, 8_000)
            end = start + int(distance / 1000 / rng.uniform(12, 18) * 3600) + 60
            quantities = {"ride_m": distance * (8 if implausible else 1)}
            self._add("bike_cq", person.address, "CQ_EBIKE_SHARE", start, end, quantities,
                      household.district)  # fmt: skip

    def _drive(self, household: Household, person: Signer, start: int) -> None:
        rng = self.rng
        distance = rng.randint(8_000, 40_000)
        end = start + int(distance / 1000 / rng.uniform(25, 45) * 3600)
        per_km = rng.randint(120, 190) if rng.random() > 0.02 else rng.randint(20, 40)
        quantities = {"distance_m": distance, "energy_wh": distance * per_km // 1000}
        where = household.district
        self._add("nev", person.address, "NEV_PASSENGER", start, end, quantities, where)
        if rng.random() < 0.03:  # sent again in local time, read as UTC: 8 hours later
            shift = CST_OFFSET_S
            self._add("nev", person.address, "NEV_PASSENGER", start + shift, end + shift,
                      quantities, where)  # fmt: skip

    def generate_day(self, offset: int) -> None:
        rng = self.rng
        midnight = _day_start(self.start, offset)
        weekday = (self.start + timedelta(days=offset)).weekday() < 5
        for household in self.households:
            driver = household.members[0] if household.has_nev else None
            for person in household.members:
                if weekday and rng.random() < 0.85:
                    morning = midnight + rng.randint(7 * 3600, 9 * 3600)
                    evening = midnight + rng.randint(17 * 3600 + 1800, 19 * 3600 + 1800)
                    for start in (morning, evening):
                        if person is driver and rng.random() < 0.6:
                            self._drive(household, person, start)
                        else:
                            self._trip(household, person, start)
                elif not weekday and rng.random() < 0.4:
                    self._trip(household, person, midnight + rng.randint(10 * 3600, 16 * 3600))
            if rng.random() < 0.015:
                buyer = rng.choice(household.members)
                order = midnight + rng.randint(9 * 3600, 22 * 3600)
                phones, fridges = (3, 0) if rng.random() < 0.05 else (1, int(rng.random() < 0.1))
                self._add(
                    "market",
                    buyer.address,
                    "SECONDHAND_REUSE",
                    order,
                    order + 300,
                    {"phones": phones, "fridges": fridges},
                    household.district,
                )
            if rng.random() < 0.12:
                drop = midnight + rng.randint(8 * 3600, 20 * 3600)
                self._add(
                    "bins",
                    rng.choice(household.members).address,
                    "RECYCLING",
                    drop,
                    drop + 120,
                    {
                        "paper_g": rng.randint(300, 2_500),
                        "plastic_g": rng.randint(50, 600),
                        "metal_g": rng.randint(0, 300),
                        "appliance_g": rng.randint(500, 3_000) if rng.random() < 0.02 else 0,
                    },
                    household.district,
                )
        stranger = simulation_signer(self.config.seed, f"unregistered/{offset}").address
        start = midnight + 8 * 3600
        self._add(
            "map", stranger, "SZ_TRANSIT", start, start + 1_800, {"metro_m": 12_000, "bus_m": 0},
            "440304",
        )  # fmt: skip

    def meter_readings(self) -> None:
        """The utility app's monthly readings: the last whole month before the simulated
        days end, and (first, sent a year late) the same month a year before."""
        last_day = self.start + timedelta(days=self.config.days - 1)
        month_end = last_day.replace(day=1)
        month_start = (month_end - timedelta(days=1)).replace(day=1)
        rng = self.rng
        history: list[dict[str, Any]] = []
        current: list[dict[str, Any]] = []
        for household in self.households:
            if household.city != "Shenzhen":
                continue
            days = (month_end - month_start).days
            before = int(household.baseline_wh * days * rng.uniform(0.95, 1.05))
            vacant = rng.random() < 0.03
            used = int(before * (0.3 if vacant else rng.uniform(0.7, 1.05)))
            for target, first, last, wh in (
                (history, month_start.replace(year=month_start.year - 1),
                 month_end.replace(year=month_end.year - 1), before),
                (current, month_start, month_end, used),
            ):  # fmt: skip
                self.serial["grid"] += 1
                target.append(
                    {
                        "id": f"grid-{self.serial['grid']:08d}",
                        "account": household.account.address,
                        "methodology": "SZ_HOME_ELECTRICITY",
                        "version": current_version("SZ_HOME_ELECTRICITY"),
                        "region": household.district,
                        "start": _day_start(first, 0),
                        "end": _day_start(last, 0),
                        "quantities": {"used_wh": wh},
                    }
                )
        self.records["grid"] = history
        self.submit_platform("grid", "history", [])
        self.records["grid"] = current

    # -- the pipeline -------------------------------------------------------------------

    def submit_day(self, offset: int, previous_tail: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Submit the day's records of every platform; returns the metro app's last records."""
        day = (self.start + timedelta(days=offset)).isoformat()
        tail: list[dict[str, Any]] = []
        for platform in PLATFORMS:
            if platform == "metro_sz":
                tail = self.records.get(platform, [])[-3:]
                # resent by mistake: duplicate_record
                self.records[platform] = previous_tail + self.records.get(platform, [])
            self.submit_platform(platform, day, [] if offset else ["metro_sz"])
        return tail

    def submit_platform(self, platform: str, label: str, resend: list[str]) -> None:
        """Submit a platform's pending records in batches; the first batch of a platform in
        `resend` is sent twice (idempotent: the same receipt, no new event)."""
        records = self.records.pop(platform, [])
        for n, chunk in enumerate(_chunks(records, self.config.batch_size)):
            self.report.records[platform] += len(chunk)
            signer = self.platforms[platform]
            fields, details = m.activity_batch(signer.address, f"{platform}-{label}-{n}", chunk)
            _, message, signature = self._request(signer, "SubmitActivities", **fields)
            receipt = self.registry.submit_activities(message, signature, details)
            self.report.batches += 1
            self._count(receipt)
            if platform in resend and n == 0:
                again = self.registry.submit_activities(message, signature, details)
                assert again.seq == receipt.seq  # idempotent: nothing new was written
                self.report.resent_batches += 1

    def _count(self, receipt: Receipt) -> None:
        for outcome in receipt.effects["outcomes"]:
            if "claim" in outcome:
                self.report.accepted += 1
                self.report.accepted_grams += outcome["grams"]
            else:
                reason = outcome["reason"]
                self.report.rejected[reason] = self.report.rejected.get(reason, 0) + 1

    def attest(self) -> None:
        """Approve the pending claims of the simulation's platforms, bar a 1% spot check."""
        store = self.registry.store
        approve: list[str] = []
        reject: list[str] = []
        for signer in self.platforms.values():
            for claim in store.claims(status="pending", platform=signer.address):
                if self.rng.random() < 0.01:
                    reject.append(claim["claim_id"])
                else:
                    approve.append(claim["claim_id"])
                    self.report.approved_grams += claim["grams"]
        self.report.approved, self.report.verifier_rejected = len(approve), len(reject)
        requests = []
        for verdict, ids, reason in (
            (True, approve, ""),
            (False, reject, "spot check: the evidence does not support the activity"),
        ):
            for n, chunk in enumerate(_chunks(sorted(ids), m.MAX_ATTESTED)):
                attestation_id = f"sim-{self.config.seed}-{'ok' if verdict else 'no'}-{n}"
                fields = m.attestation(
                    self.verifier.address, attestation_id, chunk, verdict, reason
                )
                requests.append(self._request(self.verifier, "AttestClaims", **fields))
        self._all_ok(requests)

    def issue(self) -> Receipt | None:
        try:
            [receipt] = self._all_ok(
                [
                    self._request(
                        self.operator,
                        "RunIssuance",
                        runId=f"sim-{self.config.seed}",
                        bufferPool=self.pool.address,
                        bufferBasisPoints=self.config.buffer_basis_points,
                        creditsTo="account",
                    )
                ]
            )
        except RegistryError as exc:
            if exc.code == "nothing_to_issue":
                return None
            raise
        fx = receipt.effects
        self.report.holder_batches = sum(1 for b in fx["batches"] if b["batch_no"] is not None)
        self.report.issued_grams, self.report.buffer_grams = fx["issued_grams"], fx["buffer_grams"]
        for b in fx["batches"]:
            totals = self.report.classes.setdefault(b["asset_class"], {"issued": 0, "buffer": 0})
            totals["issued"] += b["amount"]
            totals["buffer"] += b["buffer"]
        return receipt

    def reverse_one(self) -> None:
        """A platform audit finds one issued trip fabricated: the operator reverses it."""
        store = self.registry.store
        issued = store.claims(status="issued", platform=self.platforms["metro_sz"].address, limit=1)
        if not issued:
            return
        claim = issued[0]
        case = hashlib.sha256(f"simulated audit case {claim['claim_id']}".encode()).hexdigest()
        [receipt] = self._all_ok(
            [
                self._request(
                    self.operator,
                    "ReverseClaim",
                    claimId=claim["claim_id"],
                    reason="platform audit: trip fabricated",
                    evidenceHash="0x" + case,
                )
            ]
        )
        self.report.reversal = {
            "claim": claim["claim_id"],
            "grams": claim["grams"],
            "holder_grams": receipt.effects["holder_grams"],
            "pool_grams": receipt.effects["pool_grams"],
        }

    # -- the people's side ---------------------------------------------------------------

    def _largest_holding(self, account: str) -> tuple[str, int]:
        """The asset class `account` holds most active grams of, and how many."""
        best = ("", 0)
        for balance in self.registry.store.balances(account):
            if balance["active"] > best[1]:
                best = (balance["asset_class"], balance["active"])
        return best

    def _earner(self, household: Household) -> Signer:
        """Of the household's account and its members, the one holding the most active
        grams of one class (the first of them on a tie)."""
        holders = [household.account, *household.members]
        return max(holders, key=lambda signer: self._largest_holding(signer.address)[1])

    def merchants_and_community(self) -> None:
        """Merchants publish offers, households' earners redeem them in both modes, one
        merchant retires what it collected; households' earners join a community, some on
        its leaderboard, and the community retires what members pooled."""
        opens = [
            self._request(self.operator, "OpenAccount", account=signer.address, kind=kind,
                          name=name)  # organisations: no name or household committed to
            for signer, kind, name in (
                *((s, "merchant", spec[0]) for s, spec in zip(self.merchants, MERCHANTS,
                                                              strict=True)),
                (self.community, "community", COMMUNITY_NAME),
            )
        ]  # fmt: skip
        self._all_ok(opens)
        self._all_ok([
            self._request(merchant, "PublishOffer", merchant=merchant.address, offerId=offer,
                          title=title, grams=grams, validUntil=0)
            for merchant, (_, offer, title, grams) in zip(self.merchants, MERCHANTS, strict=True)
        ])  # fmt: skip
        self.report.merchants = len(MERCHANTS)
        collected: Counter[tuple[int, str]] = Counter()  # (merchant, class) -> grams
        for h, household in enumerate(self.households):
            if sum(self.report.redemptions.values()) == MAX_REDEMPTIONS:
                break
            earner = self._earner(household)
            address = earner.address
            index = h % len(MERCHANTS)
            asset_class, active = self._largest_holding(address)
            grams = MERCHANTS[index][3]
            if active < grams:
                continue
            mode = ("transfer", "retire")[h % 2]
            merchant = self.merchants[index]
            self._all_ok([self._request(
                earner, "RedeemOffer", owner=address, merchant=merchant.address,
                offerId=MERCHANTS[index][1], assetClass=asset_class, batchNo=0, mode=mode,
            )])  # fmt: skip
            self.report.redemptions[mode] = self.report.redemptions.get(mode, 0) + 1
            self.report.redeemed_grams += grams
            if mode == "transfer":
                collected[(index, asset_class)] += grams
        for (index, asset_class), grams in sorted(collected.items())[:1]:
            merchant = self.merchants[index]
            self._all_ok([self._request(
                merchant, "Retire", owner=merchant.address, assetClass=asset_class, batchNo=0,
                amount=grams, beneficiaryCommitment=NO_COMMITMENT, beneficiary=merchant.address,
                reason="offset the shop's electricity with collected points",
                jurisdiction="CN-GD",
            )])  # fmt: skip
            self.report.merchant_retired_grams = grams
        self.join_community()

    def join_community(self) -> None:
        joins: list[Any] = []
        members = [self._earner(h) for h in self.households[: max(2, len(self.households) // 2)]]
        for h, member in enumerate(members):
            fields: dict[str, Any] = {"member": member.address,
                                      "community": self.community.address,
                                      "leaderboard": h % 2 == 0}  # fmt: skip
            private = None
            if fields["leaderboard"]:
                pseudonym = f"{PSEUDONYMS[h % len(PSEUDONYMS)]} {h}"
                salt, fields["pseudonymCommitment"] = commit_text(pseudonym)
                private = {"pseudonym": (salt, pseudonym)}
                self.report.leaderboard += 1
            joins.append((*self._request(member, "JoinCommunity", **fields), private))
        self._all_ok(joins)
        self.report.community_members = len(members)
        pooled: Counter[str] = Counter()
        transfers = []
        for member in members:
            asset_class, active = self._largest_holding(member.address)
            give = active // POOLED_SHARE
            if give == 0:
                continue
            pooled[asset_class] += give
            transfers.append(self._request(
                member, "Transfer", **{"from": member.address},
                to=self.community.address, assetClass=asset_class, batchNo=0, amount=give,
            ))  # fmt: skip
        self._all_ok(transfers)
        self._all_ok([
            self._request(
                self.community, "Retire", owner=self.community.address, assetClass=asset_class,
                batchNo=0, amount=grams, beneficiaryCommitment=NO_COMMITMENT,
                beneficiary=self.community.address,
                reason="社区低碳行动 community low-carbon pledge", jurisdiction="CN-GD",
            )
            for asset_class, grams in sorted(pooled.items())
        ])  # fmt: skip
        self.report.pooled_grams = sum(pooled.values())

    def run(self, progress: Callable[[int], None] | None = None) -> SimulationReport:
        self.config.check(self.registry.clock())
        first_event = self.registry.store.event_count()
        self.open_accounts()
        self.meter_readings()
        tail: list[dict[str, Any]] = []
        for offset in range(self.config.days):
            self.generate_day(offset)
            tail = self.submit_day(offset, tail)
            if progress is not None:
                progress(1)
        self.attest()
        if self.issue() is not None:
            self.reverse_one()
        self.merchants_and_community()
        self.report.events = self.registry.store.event_count() - first_event
        return self.report


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def simulate(
    registry: Registry,
    operator: Signer,
    config: SimulationConfig,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Run the simulation on `registry`, signing operator requests with `operator`;
    `progress(1)` after each simulated day."""
    return Simulation(registry, operator, config).run(progress)
