"""Platform ingestion as the first release logged it: records in clear. New batches are
committed (`registry.mrv.committed`); this module decides again, in replay, the batches of a
log written before, and holds what both formats share (CST days, beneficiaries, classes).

A platform signed `SubmitActivities` over the batch id, the record count and the SHA-256 of
the records' RFC 8785 bytes: one signature a batch, however many records. The registry then
decides every record in turn and writes one event for the whole batch, whose payload holds
the records (account addresses, times, quantities, salted evidence hashes) and, record by
record, the outcome: a claim id with its grams, or a rejection reason. Times and quantities
of a person's activities were personal data in a public log: why batches are now committed.

Rules, in the order they are checked (the first that fails is the reason):

1. `duplicate_record`: the platform sent this activity id before (in an earlier batch or
   earlier in this one). Resending the *whole* batch is not a duplicate: the same batch id
   and records hash return the first receipt and write nothing (see `ledger`).
2. `unknown_account`, `ineligible_account` (only person and household accounts earn),
   `unknown_methodology`, `invalid_quantities` (the record's quantity names must be exactly
   the methodology's).
3. `future_activity`: the activity ends after the batch signature's expiry. The expiry is
   the batch's own clock: the decision must not read the wall clock, so that replay makes it
   again identically.
4. the methodology's verdict: `implausible`, `not_eligible`, `no_reduction`, with the grams
   clipped to the per-activity cap.
5. `double_counted`: the account already has a claim of the same *family* (travel, home
   electricity, second-hand, recycling) whose interval overlaps this one, from any platform:
   one person cannot make two trips at once, so the second report of the same trip (the
   metro app's and the map app's) yields no second claim. Intervals are half-open.
6. `daily_cap`: the account's grams under this methodology on this day (China Standard
   Time, of the activity's start) reached the cap; a record that would pass it is clipped to
   what is left.

Accepted records become `pending` claims, id `C<seq>-<index>` (the record at `index` of
the batch logged as event `seq`), which record the methodology
hash, the asset class they will be issued in (methodology x version x vintage x region;
vintage = CST year of the start) and the beneficiary: a person who is a member of a
household (opted in when the account was opened with a household) earns for the household.
Caps count the claims not rejected: a verifier's rejection gives the day its grams back
and decides the day again (`verification`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from registry.messages import asset_class_id
from registry.methodologies import CATALOGUE, MAX_DURATION_S
from registry.methodologies.base import INVALID_QUANTITIES, Methodology
from registry.storage import Store

Effects = dict[str, Any]

EARNING_KINDS = ("person", "household")
CST_OFFSET_S = 8 * 3600

REASONS = {
    "duplicate_record": "the platform submitted this activity id before",
    "unknown_account": "no such account in the registry",
    "ineligible_account": "only person and household accounts earn credits",
    "unknown_methodology": "no such methodology id and version",
    INVALID_QUANTITIES: "the quantities are not exactly the methodology's fields",
    "future_activity": "the activity ends after the batch signature expires",
    "implausible": "the data cannot describe a real activity (speed, duration, ratio)",
    "not_eligible": "the methodology does not credit this activity",
    "no_reduction": "the activity earns less than 1 g",
    "double_counted": "an overlapping activity of the same kind is already claimed",
    "daily_cap": "the account reached the methodology's daily cap",
}


@lru_cache(maxsize=8192)
def _cst_date(day_number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day_number)).isoformat()


def cst_day(unix_s: int) -> str:
    """The China Standard Time (UTC+8) date of a Unix time, `YYYY-MM-DD`."""
    return _cst_date((unix_s + CST_OFFSET_S) // 86_400)


def beneficiary_of(account: Mapping[str, Any]) -> str:
    """Who receives an account's credits: its household if it is an opted-in member."""
    household = account["household"]
    return str(household) if account["kind"] == "person" and household else str(account["address"])


def class_of(methodology: Methodology, start: int) -> str:
    return asset_class_id(
        methodology.id, methodology.version, int(cst_day(start)[:4]), methodology.region
    )


def claim_row(
    store: Store,
    claim_id: str,
    origin: tuple[int, int, str],
    record: Mapping[str, Any],
    methodology: Methodology,
    methodology_hash: str,
    asset_class: str,
    grams: int,
) -> tuple[Any, ...]:
    """A new claim in NEW_CLAIM_COLUMNS order; `origin` is (batch seq, record index, platform)."""
    account = store.account(record["account"])
    assert account is not None  # the batch's decision found it
    seq, index, platform = origin
    return (claim_id, seq, index, platform, record["id"], record["account"],
            beneficiary_of(account), methodology.id, methodology.version, methodology_hash,
            methodology.family, record["start"], record["end"], cst_day(record["start"]),
            asset_class, grams, record["evidenceHash"])  # fmt: skip


def _reject(reason: str, detail: str = "") -> dict[str, str]:
    return {"reason": reason, "detail": detail or REASONS[reason]}


def assess_batch(store: Store, request: dict[str, Any], seq: int) -> Effects:
    """The outcome of every record of a SubmitActivities request logged as event `seq`."""
    platform, records = request["platform"], request["records"]
    outcomes: list[dict[str, Any] | None] = [None] * len(records)
    accounts = store.accounts_by_address(r["account"] for r in records)
    known = store.known_activities(platform, [r["id"] for r in records])
    candidates: list[tuple[int, Methodology, int, bool]] = []
    for index, record in enumerate(records):
        if record["id"] in known:
            outcomes[index] = _reject(
                "duplicate_record", f"activity {record['id']} was sent before"
            )
            continue
        known.add(record["id"])
        account = accounts.get(record["account"])
        methodology = CATALOGUE.get((record["methodology"], record["version"]))
        if account is None:
            outcomes[index] = _reject("unknown_account")
        elif account["kind"] not in EARNING_KINDS:
            outcomes[index] = _reject(
                "ineligible_account", f"{account['kind']} accounts do not earn"
            )
        elif methodology is None:
            outcomes[index] = _reject(
                "unknown_methodology", f"{record['methodology']}@{record['version']} is not known"
            )
        elif record["quantities"].keys() != methodology.quantity_names:
            outcomes[index] = _reject(
                INVALID_QUANTITIES,
                f"{methodology.key} takes {', '.join(sorted(methodology.quantity_names))}",
            )
        elif record["end"] > request["expiry"]:
            outcomes[index] = _reject("future_activity")
        else:
            verdict = methodology.assess(record["quantities"], record["start"], record["end"])
            if verdict.reason is not None:
                outcomes[index] = _reject(verdict.reason, verdict.detail)
            else:
                candidates.append((index, methodology, verdict.grams, verdict.capped))

    probes = [
        (i, records[i]["account"], m.family, records[i]["start"], records[i]["end"])
        for i, m, _, _ in candidates
    ]
    overlapping = store.overlapping_claims(probes, MAX_DURATION_S) if probes else {}
    days = {i: cst_day(records[i]["start"]) for i, _, _, _ in candidates}
    used = store.daily_totals((records[i]["account"] for i in days), days.values())
    accepted: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    hashes: dict[str, str] = {}
    for index, methodology, grams, capped in candidates:
        record = records[index]
        if index in overlapping:
            outcomes[index] = _reject("double_counted", f"overlaps claim {overlapping[index]}")
            continue
        start, end = record["start"], record["end"]
        same_kind = accepted[(record["account"], methodology.family)]
        clash = None
        for other_start, other_end, other in same_kind:
            if other_start < end and start < other_end:
                clash = other
                break
        if clash is not None:
            outcomes[index] = _reject("double_counted", f"overlaps claim {clash} of this batch")
            continue
        day_key = (record["account"], methodology.id, days[index])
        so_far = used.get(day_key, 0)
        room = methodology.cap_per_account_day_g - so_far
        if room <= 0:
            outcomes[index] = _reject(
                "daily_cap", f"{methodology.cap_per_account_day_g} g on {days[index]} reached"
            )
            continue
        claim = f"C{seq}-{index}"
        if grams > room:
            outcomes[index] = {"claim": claim, "grams": room, "capped": "daily"}
            grams = room
        elif capped:
            outcomes[index] = {"claim": claim, "grams": grams, "capped": "activity"}
        else:
            outcomes[index] = {"claim": claim, "grams": grams}
        used[day_key] = so_far + grams
        same_kind.append((start, end, claim))
        if methodology.key not in hashes:
            hashes[methodology.key] = methodology.hash()

    return batch_effects(outcomes, hashes)


def batch_effects(outcomes: list[dict[str, Any] | None], hashes: dict[str, str]) -> Effects:
    """A batch's effects from every record's outcome: counts, grams claimed, methodology
    hashes."""
    final = [o for o in outcomes if o is not None]
    claimed = [o["grams"] for o in final if "claim" in o]
    return {
        "accepted": len(claimed),
        "rejected": len(final) - len(claimed),
        "grams": sum(claimed),
        "methodologies": hashes,
        "outcomes": final,
    }


def apply_batch(store: Store, request: dict[str, Any], effects: Effects, seq: int) -> None:
    """Write the claims, rejections, daily totals and the batch row that `effects` decided."""
    platform, records = request["platform"], request["records"]
    claims, rejections = [], []
    daily: dict[tuple[str, str, str], int] = defaultdict(int)
    classes: dict[tuple[str, str], str] = {}  # (methodology key, day) -> asset class
    hashes = effects["methodologies"]
    for index, (record, outcome) in enumerate(zip(records, effects["outcomes"], strict=True)):
        if "claim" in outcome:
            methodology = CATALOGUE[(record["methodology"], record["version"])]
            day = cst_day(record["start"])
            klass = classes.get((methodology.key, day))
            if klass is None:
                klass = classes[(methodology.key, day)] = class_of(methodology, record["start"])
            claims.append(
                claim_row(
                    store,
                    outcome["claim"],
                    (seq, index, platform),
                    record,
                    methodology,
                    hashes[methodology.key],
                    klass,
                    outcome["grams"],
                )  # fmt: skip
            )
            daily[(record["account"], methodology.id, day)] += outcome["grams"]
        else:
            rejections.append(
                (
                    seq,
                    index,
                    platform,
                    record["id"],
                    record["account"],
                    record["methodology"],
                    record["version"],
                    record["start"],
                    record["end"],
                    outcome["reason"],
                    outcome["detail"],
                )
            )
    store.insert_claims(claims)
    store.insert_rejections(rejections)
    store.add_daily_totals([(*key, grams) for key, grams in daily.items()])
    store.insert_activity_batch(
        (
            platform,
            request["batchId"],
            request["recordsHash"],
            len(records),
            effects["accepted"],
            effects["rejected"],
            effects["grams"],
            seq,
        )
    )
