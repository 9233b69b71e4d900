"""BJ_CYCLE_WALK 1.0: cycling and walking with navigation on (Beijing MaaS rules).

DB11/T 3043-2024 counts bicycle and walking trips as low-carbon travel; the Beijing MaaS
platform credits them only when the trip was navigated in the app (bj.people.com.cn,
2020-09-11), which is what makes the trip verifiable. The standard's baseline factor was
not readable, so the baseline here is the conservative one: the trip is taken to replace
the *lowest-emitting* motorised alternative in the published Beijing example, the metro at
1.35 kg per 22 km (T/CIIA 058-2025 likewise requires a motorised substitute). Project
emissions of a human-powered trip are zero.

Registry rules: navigation must be on (`navigated` = 1), at least 500 m, average speeds at
most 8 km/h walking and 30 km/h cycling, 2 min to 4 h, caps 1,500 g a trip and 3,000 g per
account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Equals, Factor, MaxSpeed, Methodology, Term

EXAMPLE = "Beijing MaaS worked example, yybnet.net/tiyu/201912/9962635.html (metro 1.35 kg/22 km)"

METHODOLOGY = Methodology(
    id="BJ_CYCLE_WALK",
    version="1.0",
    family="travel",
    region="110000",
    title_zh="碳普惠项目减排量核算技术规范 低碳出行（自行车、步行）",
    title_en="Low-carbon travel: cycling and walking with navigation (Beijing MaaS)",
    source="DB11/T 3043-2024; Beijing MaaS navigation rule (bj.people.com.cn 2020-09-11)",
    quantities=(
        ("walk_m", "metres walked"),
        ("cycle_m", "metres cycled (own or shared bicycle, no motor)"),
        ("navigated", "1 if the whole trip was navigated in the platform's app, else 0"),
    ),
    factors={
        "metro": Factor(
            Fraction(1_350_000, 22_000),
            "mg CO2e per passenger-metre of the substituted metro ride",
            EXAMPLE,
        ),
    },
    terms=(Term("walk_m", "metro"), Term("cycle_m", "metro")),
    rules=(
        Equals("navigated", 1, "only navigated trips count (Beijing MaaS rule)"),
        AtLeast(("walk_m", "cycle_m"), 500, "m"),
        MaxSpeed((("walk_m", 8), ("cycle_m", 30))),
    ),
    min_duration_s=120,
    max_duration_s=4 * 3600,
    cap_per_activity_g=1_500,
    cap_per_account_day_g=3_000,
    notes="Conservative baseline: the lowest-emitting motorised alternative (metro) of the "
    "Beijing example, not the car of DB11/T 3043-2024. Speeds, duration and caps are "
    "registry rules.",
    module=__name__,
)
