"""SZ_HOME_ELECTRICITY 1.0: a household using less electricity than its own recent average.

深圳市居民低碳用电碳普惠方法学（试行） (2022-06-21; zjssba.com/tanzhonghe/dongtai/
2022-06-16/154121.html) credits a household below the city's seasonal per-household
baseline with the difference, and a household above it against **its own previous 7-day
average**. The seasonal baseline table (5-12 kWh/day) was not available, so this version
applies the own-average rule to every household: the saving must be real for that home,
not an artefact of a small flat under a city average. The utility platform reports, for
one day, the metered use and the household's average daily use over the previous 7 days.

Grid factor: 南方电网 region 0.3869 kg CO2/kWh (2022), the lower of the two published
values (2023: 0.4042), so the credit is never overstated.

Registry rules: the record covers exactly one day (86,400 s); a household using less than
half its own average looks vacant, and absence is not a low-carbon behaviour
(`not_eligible`); an average above 60 kWh/day is not a household (`implausible`); caps
1,500 g per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import (
    NOT_ELIGIBLE,
    AtMost,
    Factor,
    Methodology,
    RatioWithin,
    Term,
)

GRID = "南方 grid 2022 0.3869 kgCO2/kWh, MEE/NBS (daydaynews.cc/zh-hant/finance/3899452.html)"

METHODOLOGY = Methodology(
    id="SZ_HOME_ELECTRICITY",
    version="1.0",
    family="home_electricity",
    region="440300",
    title_zh="深圳市居民低碳用电碳普惠方法学（试行）",
    title_en="Shenzhen residential low-carbon electricity use (trial)",
    source="深圳市居民低碳用电碳普惠方法学（试行）, 2022-06-21, as reported by "
    "zjssba.com/tanzhonghe/dongtai/2022-06-16/154121.html",
    quantities=(
        ("used_wh", "electricity metered over the day, watt-hours"),
        ("baseline_wh", "the household's average daily use over the previous 7 days, Wh"),
    ),
    factors={
        # 0.3869 kg/kWh = 386.9 mg/Wh
        "grid": Factor(Fraction(3869, 10), "mg CO2 per watt-hour", GRID),
    },
    terms=(Term("baseline_wh", "grid"), Term("used_wh", "grid", -1)),
    rules=(
        RatioWithin(
            "used_wh",
            "baseline_wh",
            Fraction(1, 2),
            Fraction(10**6),
            "at least half of the own average (below it the home looks vacant)",
            reason=NOT_ELIGIBLE,
        ),
        AtMost(("baseline_wh",), 60_000, "Wh per day"),
    ),
    min_duration_s=86_400,
    max_duration_s=86_400,
    cap_per_activity_g=1_500,
    cap_per_account_day_g=1_500,
    notes="Own 7-day average as the only baseline (the city's seasonal table was not "
    "available); lower of the two published regional grid factors; vacancy rule, plausibility "
    "bound and caps are registry rules.",
    module=__name__,
)
