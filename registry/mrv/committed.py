"""Committed activity batches: decided on details that the log never holds.

A platform signs `SubmitActivities` over committed records (account, methodology, version,
region, and a commitment to the activity's details); the details (activity id, start, end,
quantities) come beside the request with their salts. The ledger checks every commitment,
seals the details in the vault under the person's key, and hands them to this module
(`Store.private_inputs`, keyed activity ids instead of the ids themselves). The event logs
the committed records and each outcome: a claim id with its grams, or a reason, never a
time, a quantity or an activity id. What later decisions need of the details goes to the
private activity index (`registry.storage.activities`), not to state.

Rules, in the order they are checked (the first that fails is the reason):

1. `duplicate_record`: the platform sent this activity id before.
2. `unknown_account`, `ineligible_account`, `erased_account` (the account's person, their
   household or, for a household, a member was erased: their activity ids and intervals
   were forgotten with them, so nothing reported under those accounts can be told apart
   from what was credited before), `unknown_methodology`, `invalid_quantities` (the
   details' quantity names must be the methodology's, less those the registry computes).
3. `wrong_region`: the record's region lies outside the methodology's.
4. `future_activity`: the activity ends after the batch's expiry (which the ledger holds
   to at most an hour after its clock); `outside_claim_window`: it ended more than the
   methodology's claim window before the expiry.
5. `no_baseline` (registry-computed baseline, SZ_HOME_ELECTRICITY 2.0): the group has no
   reading for the same month a year earlier; such a month must cover a calendar month.
6. the methodology's verdict (`implausible`, `not_eligible`, `no_reduction`), then the
   leakage deduction, rounded down (a claim under 1 g is `no_reduction`).
7. `double_counted`, across a person's accounts (their own and their household's, which
   may report their activity): an activity of the same family whose interval overlaps, or
   the same activity (methodology, quantities, duration to the minute) reported by another
   platform eight hours away (one platform's UTC, the other's UTC+8 local time sent as
   UTC). The same platform's rides eight hours apart (a 9-to-5 commute) are two rides; a
   ride repeated eight hours later to the minute and reported only by another platform
   loses its claim: the conservative side.
   Two members' simultaneous trips are two trips; a household's own report clashes with
   every member's.
8. `daily_cap`, per account, methodology and China Standard Time day.

Every time-dependent check reads the batch's own fields, never the clock: replay decides
again identically wherever the details are still in the vault. Claims of first-release
batches (in clear, in the claims and daily totals tables) count too: an activity credited
before the upgrade is a duplicate, overlaps or fills a day like any other.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from registry.errors import ValidationError
from registry.messages import asset_class_id
from registry.methodologies import CATALOGUE, MAX_DURATION_S
from registry.methodologies.base import INVALID_QUANTITIES, Methodology
from registry.methodologies.intake import RULES, RULES_HASH, apply_leakage, region_covers
from registry.mrv.ingest import EARNING_KINDS, batch_effects, beneficiary_of, class_of, cst_day
from registry.storage import Store
from registry.storage.activities import same_person

Effects = dict[str, Any]

REASONS = {
    "duplicate_record": "the platform submitted this activity id before",
    "unknown_account": "no such account in the registry",
    "ineligible_account": "only person and household accounts earn credits",
    "erased_account": "the person (or their household) asked to be erased: no more credit",
    "unknown_methodology": "no such methodology id and version",
    INVALID_QUANTITIES: "the quantities are not the methodology's reported fields",
    "wrong_region": "the activity's region is outside the methodology's",
    "future_activity": "the activity ends after the batch signature expires",
    "outside_claim_window": "the activity is older than the methodology's claim window",
    "no_baseline": "the registry holds no reading to compute the baseline from",
    "implausible": "the data cannot describe a real activity (speed, duration, ratio)",
    "not_eligible": "the methodology does not credit this activity",
    "no_reduction": "the activity earns less than 1 g",
    "double_counted": "the person already claimed this activity, under this or another account",
    "daily_cap": "the account reached the methodology's daily cap",
}
# Records refused for their account: decided without their details, which are not kept.
NOT_KEPT = frozenset(("unknown_account", "ineligible_account", "erased_account"))
# Reasons after which a reading is real enough to be a later baseline: it came in time
# (not `outside_claim_window`: a reading sent a year late could be made up to raise it).
HISTORY_REASONS = frozenset(("no_baseline", "not_eligible", "no_reduction", "daily_cap"))
YEAR_S = 365 * 86_400


def is_committed(request: dict[str, Any]) -> bool:
    """Whether a SubmitActivities request is of the committed format."""
    return "notClaimedElsewhere" in request


def fingerprint(methodology: Methodology, detail: dict[str, Any]) -> bytes:
    """What a time-zone twin shares: methodology, quantities and duration (to the minute)."""
    minutes = (detail["end"] - detail["start"] + 30) // 60
    quantities = sorted(detail["quantities"].items())
    return hashlib.blake2b(f"{methodology.key}|{quantities}|{minutes}".encode(),
                           digest_size=16).digest()  # fmt: skip


def _outcome(reason: str) -> dict[str, str]:
    return {"reason": reason, "detail": REASONS[reason]}


def _reported(methodology: Methodology) -> frozenset[str]:
    """The quantities a platform reports: the methodology's, less those the registry
    computes."""
    return _reported_by_key(methodology.id, methodology.version)


@lru_cache(maxsize=64)
def _reported_by_key(methodology_id: str, version: str) -> frozenset[str]:
    methodology = CATALOGUE[(methodology_id, version)]
    return methodology.quantity_names - set(RULES[methodology_id].computed)


@lru_cache(maxsize=4096)
def _covers(methodology_region: str, activity_region: str) -> bool:
    return region_covers(methodology_region, activity_region)


def _month_start_year_before(start: int) -> int | None:
    """00:00 CST of the same calendar month a year before, if `start` opens a CST month."""
    local = datetime.fromtimestamp(start, UTC) + timedelta(hours=8)
    if (local.day, local.hour, local.minute, local.second) != (1, 0, 0, 0):
        return None
    earlier = local.replace(year=local.year - 1) - timedelta(hours=8)
    return int(earlier.timestamp())


def _inputs(store: Store, count: int) -> list[dict[str, Any] | None]:
    details = store.private_inputs
    if details is None or len(details) != count:
        raise ValidationError("a committed batch needs the details of every record beside it")
    return details


def assess_batch(store: Store, request: dict[str, Any], seq: int) -> Effects:
    """The outcome of every record of a committed SubmitActivities logged as event `seq`.

    A record whose account cannot earn (unknown, not a person or household, or erased with
    its household) is refused before its details are looked at: its details are not kept,
    and replay decides it the same without them."""
    platform, records = request["platform"], request["records"]
    details = _inputs(store, len(records))
    outcomes: list[dict[str, Any] | None] = [None] * len(records)
    accounts = store.accounts_by_address(r["account"] for r in records)
    groups = {a: beneficiary_of(account) for a, account in accounts.items()}
    members = store.members_of(set(groups.values()))
    reporting = {a: _reporting_accounts(a, g, members) for a, g in groups.items()}
    household = {a: [g, *members.get(g, [])] for a, g in groups.items()}
    erased = store.erased_among({r for accounts_ in household.values() for r in accounts_})
    # An erased member's link went with them: their household is known only to have had one.
    lost_member = store.with_erased_member(set(groups.values()))
    for index, record in enumerate(records):
        account = accounts.get(record["account"])
        if account is None:
            outcomes[index] = _outcome("unknown_account")
        elif account["kind"] not in EARNING_KINDS:
            outcomes[index] = _outcome("ineligible_account")
        elif erased.intersection(_erasable_with(record, reporting, household)) or (
            groups[record["account"]] in lost_member and _household_wide(record, groups)
        ):
            outcomes[index] = _outcome("erased_account")
    if any(d is None for i, d in enumerate(details) if outcomes[i] is None):
        raise ValidationError("a batch with erased details cannot be decided again")
    rows: dict[int, dict[str, Any]] = {i: d for i, d in enumerate(details) if d is not None}
    open_ = [i for i in range(len(records)) if outcomes[i] is None]
    known = store.known_activity_keys([rows[i]["activity_key"] for i in open_])
    known |= {rows[i]["activity_key"] for i in open_ if rows[i].get("duplicate")}
    known_in_clear = store.known_activities(platform, [rows[i]["id"] for i in open_])
    candidates: list[tuple[int, Methodology, int, bool]] = []
    for index in open_:
        record, detail, account = records[index], rows[index], accounts[records[index]["account"]]
        if detail["activity_key"] in known or detail["id"] in known_in_clear:
            outcomes[index] = _outcome("duplicate_record")
            continue
        known.add(detail["activity_key"])
        methodology = CATALOGUE.get((record["methodology"], record["version"]))
        rule = RULES.get(record["methodology"])
        if methodology is None or rule is None:
            outcomes[index] = _outcome("unknown_methodology")
        elif detail["quantities"].keys() != _reported(methodology):
            outcomes[index] = _outcome(INVALID_QUANTITIES)
        elif not _covers(methodology.region, record["region"]):
            outcomes[index] = _outcome("wrong_region")
        elif detail["end"] > request["expiry"]:
            outcomes[index] = _outcome("future_activity")
        elif detail["end"] < request["expiry"] - rule.claim_window_s:
            outcomes[index] = _outcome("outside_claim_window")
        elif rule.computed and not _calendar_month(detail["start"], detail["end"]):
            outcomes[index] = _outcome("implausible")
        else:
            quantities = detail["quantities"]
            if rule.computed:
                quantities = dict(quantities)
                baseline = _baseline(store, household[record["account"]], methodology, detail)
                if baseline is None:
                    outcomes[index] = _outcome("no_baseline")
                    continue
                quantities["baseline_wh"] = baseline
            verdict = methodology.assess(quantities, detail["start"], detail["end"])
            grams = apply_leakage(verdict.grams, rule)
            if verdict.reason is not None:
                outcomes[index] = _outcome(verdict.reason)
            elif grams == 0:
                outcomes[index] = _outcome("no_reduction")
            else:
                candidates.append((index, methodology, grams, verdict.capped))

    # A meter is the household's: any of its accounts may report a month of it.
    subjects = {i: household[records[i]["account"]] if RULES[m.id].computed
                else reporting[records[i]["account"]] for i, m, _, _ in candidates}  # fmt: skip
    for i, m, _, _ in candidates:
        rows[i]["fingerprint"] = fingerprint(m, rows[i])
    probes = [(i, subject, m.family, rows[i]["start"], rows[i]["end"])
              for i, m, _, _ in candidates for subject in subjects[i]]  # fmt: skip
    overlapping = store.overlaps(probes, MAX_DURATION_S) if probes else {}
    twins = store.zone_twins(
        platform,
        [(i, subject, m.family, rows[i]["fingerprint"], rows[i]["start"])
         for i, m, _, _ in candidates for subject in subjects[i]],
    ) if candidates else set()  # fmt: skip
    days = {i: cst_day(rows[i]["start"]) for i, _, _, _ in candidates}
    used = store.day_totals(
        ((records[i]["account"], m.id, days[i]) for i, m, _, _ in candidates),
        {m.id: m.family for _, m, _, _ in candidates},
    ) if candidates else {}  # fmt: skip
    legacy = store.daily_totals({records[i]["account"] for i in days}, days.values())
    for key, grams in legacy.items():  # first-release claims of the same days
        used[key] = used.get(key, 0) + grams
    accepted: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    hashes: dict[str, str] = {}
    for index, methodology, grams, capped in candidates:
        account = records[index]["account"]
        detail, group = rows[index], groups[account]
        start, end = detail["start"], detail["end"]
        same_kind = accepted[(group, methodology.family)]
        if (
            index in overlapping
            or index in twins
            or _overlaps(
                same_kind, account, group, start, end, bool(RULES[methodology.id].computed)
            )
        ):
            outcomes[index] = _outcome("double_counted")
            continue
        day_key = (account, methodology.id, days[index])
        so_far = used.get(day_key, 0)
        room = methodology.cap_per_account_day_g - so_far
        if room <= 0:
            outcomes[index] = _outcome("daily_cap")
            continue
        claim = {"claim": f"C{seq}-{index}", "class": class_of(methodology, start)}
        if grams > room:
            outcomes[index] = {**claim, "grams": room, "capped": "daily"}
            grams = room
        elif capped:
            outcomes[index] = {**claim, "grams": grams, "capped": "activity"}
        else:
            outcomes[index] = {**claim, "grams": grams}
        used[day_key] = so_far + grams
        same_kind.append((account, start, end))
        if methodology.key not in hashes:
            hashes[methodology.key] = methodology.hash()
    return {**batch_effects(outcomes, hashes), "rules": RULES_HASH}


def class_of_vintage(methodology: Methodology, vintage: int) -> str:
    return asset_class_id(methodology.id, methodology.version, vintage, methodology.region)


def _overlaps(
    same_kind: list[tuple[str, int, int]],
    account: str,
    group: str,
    start: int,
    end: int,
    whole_household: bool,
) -> bool:
    """Whether an activity of the same person (of the same household, for a meter) accepted
    earlier in the batch overlaps this one (a batch comes from one platform, so it holds no
    time-zone twins)."""
    return any(
        (whole_household or same_person(account, group, other)) and s < end and start < e
        for other, s, e in same_kind
    )


def _erasable_with(
    record: dict[str, Any], reporting: dict[str, list[str]], household: dict[str, list[str]]
) -> list[str]:
    """The accounts whose erasure refuses this record: those that may have reported the same
    person's activity, and for a meter the whole household."""
    rule = RULES.get(record["methodology"])
    if rule is not None and rule.computed:
        return household[record["account"]]
    return reporting[record["account"]]


def _household_wide(record: dict[str, Any], groups: dict[str, str]) -> bool:
    """Whether an erased member of the record's household refuses it: the household's own
    record (any member's activity may be reported under it), and a meter's."""
    rule = RULES.get(record["methodology"])
    return groups[record["account"]] == record["account"] or bool(rule and rule.computed)


def _calendar_month(start: int, end: int) -> bool:
    """Whether [start, end) is one calendar month of China Standard Time."""
    first = datetime.fromtimestamp(start, UTC) + timedelta(hours=8)
    if (first.day, first.hour, first.minute, first.second) != (1, 0, 0, 0):
        return False
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return end == int((following - timedelta(hours=8)).timestamp())


def _reporting_accounts(account: str, group: str, members: dict[str, list[str]]) -> list[str]:
    """The accounts under which an activity of `account`'s person may have been reported:
    its own; a member's household; a household's members."""
    if group != account:
        return [account, group]
    return [account, *members.get(account, [])]


def _baseline(
    store: Store, subjects: list[str], methodology: Methodology, detail: dict[str, Any]
) -> int | None:
    """90% of the group's reading for the same calendar month a year earlier (rounded down:
    a lower baseline never over-credits), or None."""
    earlier = _month_start_year_before(detail["start"])
    if earlier is None:
        return None
    reading = store.reading(subjects, methodology.family, methodology.id, earlier)
    return None if reading is None else reading * 9 // 10


def check_logged(
    request: dict[str, Any],
    effects: Effects,
    seq: int,
    details: list[dict[str, Any] | None] | None = None,
) -> None:
    """What can be checked of a committed batch's effects that cannot be decided again (some
    of its data erased): their shape, claim ids, classes and per-activity caps, and for a
    claim whose details are at hand, that it earns no more than those details do and falls
    in their vintage (what others' erased data could change is refusals and caps, never
    that)."""
    records, outcomes = request["records"], effects["outcomes"]
    if len(outcomes) != len(records):
        raise ValidationError("the effects do not hold one outcome per record")
    claimed = 0
    for index, (record, outcome) in enumerate(zip(records, outcomes, strict=True)):
        if "claim" in outcome:
            methodology = CATALOGUE.get((record["methodology"], record["version"]))
            grams = outcome["grams"]
            if (
                methodology is None
                or outcome["claim"] != f"C{seq}-{index}"
                or not _class_fits(outcome["class"], methodology)
                or type(grams) is not int
                or not 0 < grams <= methodology.cap_per_activity_g
            ):
                raise ValidationError(f"outcome {index} is not a claim this record could earn")
            detail = details[index] if details is not None else None
            if detail is not None and not RULES[methodology.id].computed:
                own = methodology.assess(detail["quantities"], detail["start"], detail["end"])
                if (
                    own.reason is not None
                    or grams > apply_leakage(own.grams, RULES[methodology.id])
                    or outcome["class"] != class_of(methodology, detail["start"])
                ):
                    raise ValidationError(f"outcome {index} credits more than its own details earn")
            claimed += grams
        elif outcome.get("reason") not in REASONS:
            raise ValidationError(f"outcome {index} names no known reason")
    if claimed != effects["grams"]:
        raise ValidationError("the effects' grams are not the sum of their claims")


def _class_fits(class_id: Any, methodology: Methodology) -> bool:
    """Whether an asset class id names this methodology version and region (any vintage)."""
    if not isinstance(class_id, str) or class_id.count("-") != 3:
        return False
    _, _, vintage, _ = class_id.split("-")
    return vintage.isdigit() and class_id == class_of_vintage(methodology, int(vintage))


def apply_batch(store: Store, request: dict[str, Any], effects: Effects, seq: int) -> None:
    """Write the claims and refusals `effects` decided (no time, no quantity: those stay in
    the private index), the batch row, and the private index rows of the details at hand."""
    platform, records = request["platform"], request["records"]
    details = _inputs(store, len(records))
    accounts = store.accounts_by_address(r["account"] for r in records)
    claims, rejections, private = [], [], []
    for index, (record, outcome, detail) in enumerate(
        zip(records, effects["outcomes"], details, strict=True)
    ):
        methodology = CATALOGUE.get((record["methodology"], record["version"]))
        account = accounts.get(record["account"])
        group = beneficiary_of(account) if account is not None else record["account"]
        if "claim" in outcome:
            assert methodology is not None and account is not None  # decided above
            claims.append(
                (outcome["claim"], seq, index, platform, outcome["claim"], record["account"],
                 group, methodology.id, methodology.version,
                 effects["methodologies"][methodology.key], methodology.family, 0, 0, "",
                 outcome["class"], outcome["grams"], record["commitment"])
            )  # fmt: skip
        else:
            rejections.append(
                (seq, index, platform, record["commitment"], record["account"],
                 record["methodology"], record["version"], 0, 0, outcome["reason"],
                 outcome["detail"])
            )  # fmt: skip
        if detail is not None and outcome.get("reason") not in NOT_KEPT | {"duplicate_record"}:
            private.append(_private_row(platform, record, detail, outcome, group, seq, index))
    store.insert_claims(claims)
    store.insert_rejections(rejections)
    store.insert_private_activities(private)
    store.insert_activity_batch(
        (platform, request["batchId"], request["recordsHash"], len(records),
         effects["accepted"], effects["rejected"], effects["grams"], seq)
    )  # fmt: skip


def _private_row(
    platform: str,
    record: dict[str, Any],
    detail: dict[str, Any],
    outcome: dict[str, Any],
    group: str,
    seq: int,
    index: int,
) -> tuple[Any, ...]:
    methodology = CATALOGUE.get((record["methodology"], record["version"]))
    claimed = "claim" in outcome
    reading = None
    if methodology is not None and (claimed or outcome.get("reason") in HISTORY_REASONS):
        reading = detail["quantities"].get("used_wh")
    return (detail["activity_key"], platform, record["account"], group, seq, index,
            record["methodology"], methodology.family if methodology else "",
            detail["start"], detail["end"], cst_day(detail["start"]),
            detail.get("fingerprint") or (fingerprint(methodology, detail) if methodology
                                          else b""), reading,
            outcome.get("claim"), outcome.get("grams", 0), int(claimed))  # fmt: skip
