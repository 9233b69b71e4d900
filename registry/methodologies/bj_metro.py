"""BJ_METRO 1.0: Beijing rail transit instead of a car (Beijing MaaS, DB11/T 3043-2024 form).

DB11/T 3043-2024 碳普惠项目减排量核算技术规范 低碳出行 (Beijing-Tianjin-Hebei, in force
2024-10-01) computes `ER = BE - PE` with `BE = sum(EF_baseline x distance)` against a
small car (<= 9 seats) and `PE = sum(EF_project x distance)`. Its factor table was not
readable; the factors here are derived exactly from the Beijing MaaS worked example of the
Beijing transport commission (2019): 22 km by metro instead of a car, car 5.98 kg, metro
1.35 kg, reduction 4.63 kg. Keeping them as the rationals 5980/22 and 1350/22 g/km makes
that published example come out exactly.

Registry rules (conservative, not in the source): rides of at least 500 m, average speed at
most 100 km/h, 2 min to 4 h, caps of 10,000 g a ride and 20,000 g per account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Factor, MaxSpeed, Methodology, Term

EXAMPLE = "Beijing MaaS worked example, yybnet.net/tiyu/201912/9962635.html"

METHODOLOGY = Methodology(
    id="BJ_METRO",
    version="1.0",
    family="travel",
    region="110000",
    title_zh="碳普惠项目减排量核算技术规范 低碳出行（轨道交通）",
    title_en="Low-carbon travel: rail transit instead of a car (Beijing MaaS)",
    source="DB11/T 3043-2024 (formula ER = BE - PE); factors derived from " + EXAMPLE,
    quantities=(("metro_m", "metres ridden by rail transit"),),
    factors={
        # 5.98 kg per 22 km = 5,980,000 mg / 22,000 m.
        "car": Factor(
            Fraction(5_980_000, 22_000),
            "mg CO2e per passenger-metre by car",
            EXAMPLE + " (car 5.98 kg for 22 km)",
        ),
        # 1.35 kg per 22 km.
        "metro": Factor(
            Fraction(1_350_000, 22_000),
            "mg CO2e per passenger-metre by metro",
            EXAMPLE + " (metro 1.35 kg for 22 km)",
        ),
    },
    terms=(Term("metro_m", "car"), Term("metro_m", "metro", -1)),
    rules=(AtLeast(("metro_m",), 500, "m"), MaxSpeed((("metro_m", 100),))),
    min_duration_s=120,
    max_duration_s=4 * 3600,
    cap_per_activity_g=10_000,
    cap_per_account_day_g=20_000,
    notes="Baseline is the small car of DB11/T 3043-2024. Bus rides are not covered: no "
    "Beijing bus factor was found. Minimum distance, speed, duration and caps are registry "
    "rules.",
    module=__name__,
)
