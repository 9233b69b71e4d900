"""SZ_HOME_ELECTRICITY 2.0: a household using less electricity than in the same month a
year before, on the registry's own meter history (corrects 1.0).

深圳市居民低碳用电碳普惠方法学（试行） (2022-06-21; zjssba.com/tanzhonghe/dongtai/
2022-06-16/154121.html) compares a household's use with a baseline. 1.0 took the platform's
"own 7-day average" as that baseline, so day-to-day noise earned credit: a household that
changed nothing was paid for its quieter days and never charged for its busier ones.

This version credits a calendar month (China Standard Time) against a seasonally
comparable baseline that the registry computes itself: `baseline_wh` is 90% of the same
household's metered use in the same month a year earlier, from the readings it holds
(`registry.methodologies.intake`). The 10% margin is a registry rule: the year-on-year
change of an unchanged household's monthly use (weather, a guest) is not a reduction. A
month with no reading a year earlier earns nothing (`no_baseline`). The platform reports
only `used_wh`; a `baseline_wh` it sends is refused as an invalid quantity.

Grid factor: 南方电网 region 0.3869 kg CO2/kWh (2022), the lower of the two published
values (2023: 0.4042): for electricity saved, the lower factor never overstates.

Registry rules: the record covers one calendar month (28-31 days); a household using less
than half its baseline looks vacant, and absence is not a low-carbon behaviour
(`not_eligible`); a baseline above 60 kWh a day is not a household (`implausible`); caps
30,000 g a month.
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
    version="2.0",
    family="home_electricity",
    region="440300",
    title_zh="深圳市居民低碳用电碳普惠方法学（试行，同月同比基准）",
    title_en="Shenzhen residential low-carbon electricity use, month on the same month a year"
    " before",
    source="深圳市居民低碳用电碳普惠方法学（试行）, 2022-06-21, as reported by "
    "zjssba.com/tanzhonghe/dongtai/2022-06-16/154121.html",
    quantities=(
        ("used_wh", "electricity metered over the calendar month, watt-hours"),
        (
            "baseline_wh",
            "computed by the registry: 90% of the same household's use in the same month a"
            " year earlier, Wh",
        ),
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
            "at least half of the baseline (below it the home looks vacant)",
            reason=NOT_ELIGIBLE,
        ),
        AtMost(("baseline_wh",), 60_000 * 31, "Wh per month"),
    ),
    min_duration_s=28 * 86_400,
    max_duration_s=31 * 86_400,
    cap_per_activity_g=30_000,
    cap_per_account_day_g=30_000,
    notes="Corrects 1.0, whose platform-reported 7-day baseline credited day-to-day noise: a"
    " calendar month against 90% of the same month a year earlier, computed by the registry"
    " from the readings it holds; no reading a year earlier, no credit. Lower of the two"
    " published regional grid factors; vacancy rule, plausibility bound, margin and caps are"
    " registry rules.",
    module=__name__,
)
