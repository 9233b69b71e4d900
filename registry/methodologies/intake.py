"""Intake rules of committed activity batches, per methodology: where, when, how much.

A methodology's formula says how many grams an activity earns; these rules say which
activities may earn at all, and what is held back:

- **region**: the activity's GB/T 2260 code must lie inside the methodology's region (a
  national methodology takes any), so a platform cannot pick another city's more generous
  methodology;
- **claim window**: an activity older than this when its batch is signed is refused;
- **leakage**: a share deducted from every claim, for emissions the activity shifts
  elsewhere (the published schemes name none: these are registry rules, conservative);
- **buffer floor**: the least share of an issuance run that goes to the buffer pool;
- **registry-computed quantities**: quantities the registry derives from the history it
  holds instead of taking a platform's figure (SZ_HOME_ELECTRICITY's baseline).

The rules are hashed (`RULES_HASH`) into every committed batch's effects, so a changed rule
shows in replay instead of silently re-deciding old batches.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from registry.canonical import canonical_bytes

DAY_S = 86_400
BASIS_POINTS = 10_000

BEIJING_WINDOW = "Beijing MaaS: credit must be claimed within 7 days (bj.people.com.cn 2020-09-11)"
NO_WINDOW = "no published claim window found: registry rule, 30 days"
NO_LEAKAGE = (
    "no published leakage term found: registry rule, a conservative 5% deduction for trips"
    " that would have been made otherwise"
)


@dataclass(frozen=True)
class IntakeRule:
    claim_window_s: int
    leakage_basis_points: int
    buffer_floor_basis_points: int
    computed: tuple[str, ...]
    sources: tuple[str, ...]


TRAVEL = IntakeRule(
    30 * DAY_S, 500, 500, (), (NO_WINDOW, NO_LEAKAGE, "buffer floor 5%: registry rule")
)
BEIJING_TRAVEL = IntakeRule(
    7 * DAY_S, 500, 500, (), (BEIJING_WINDOW, NO_LEAKAGE, "buffer floor 5%: registry rule")
)

RULES: dict[str, IntakeRule] = {
    "SZ_TRANSIT": TRAVEL,
    "BJ_METRO": BEIJING_TRAVEL,
    "BJ_CYCLE_WALK": BEIJING_TRAVEL,
    "CQ_EBIKE_SHARE": TRAVEL,
    "NEV_PASSENGER": TRAVEL,
    "SZ_HOME_ELECTRICITY": IntakeRule(
        45 * DAY_S,
        0,
        1_000,
        ("baseline_wh",),
        (
            "45 days after the metered month ends: registry rule (a monthly reading arrives"
            " after the month)",
            "no leakage: the saving is metered at the home itself",
            "buffer floor 10%: registry rule, for a year-on-year baseline that weather moves",
            "baseline_wh: 90% of the same household's metered use in the same month a year"
            " earlier, from the readings the registry holds",
        ),
    ),
    "SECONDHAND_REUSE": IntakeRule(
        30 * DAY_S,
        1_000,
        1_000,
        (),
        (
            NO_WINDOW,
            "leakage 10%: registry rule, for a sold item replaced by a new one (rebound)",
            "buffer floor 10%: registry rule, a single published figure per item",
        ),
    ),
    "RECYCLING": IntakeRule(
        30 * DAY_S,
        1_000,
        1_000,
        (),
        (
            NO_WINDOW,
            "leakage 10%: registry rule, for material the collector does not recycle",
            "buffer floor 10%: registry rule, factors from a foreign model (EPA WARM)",
        ),
    ),
}

RULES_HASH = (
    "0x"
    + hashlib.sha256(
        canonical_bytes({k: asdict(v) for k, v in sorted(RULES.items())}, checked=False)
    ).hexdigest()
)


def region_covers(methodology_region: str, activity_region: str) -> bool:
    """Whether a GB/T 2260 code lies inside a methodology's region: `CN` covers every code,
    a province (`110000`) its cities and districts, a city (`440300`) its districts."""
    if methodology_region == "CN":
        return True
    prefix = methodology_region.rstrip("0")
    prefix = prefix + "0" * (len(prefix) % 2)  # whole levels: 44 (province), 4403 (city)
    return activity_region.startswith(prefix)


def apply_leakage(grams: int, rule: IntakeRule) -> int:
    """Grams after the leakage deduction, rounded down (never over-credit)."""
    return grams * (BASIS_POINTS - rule.leakage_basis_points) // BASIS_POINTS
