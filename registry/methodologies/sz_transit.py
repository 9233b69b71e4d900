"""SZ_TRANSIT 1.0: Shenzhen low-carbon public transport (bus and metro rides).

Follows 深圳市低碳公共出行碳普惠方法学（试行） (深圳市生态环境局, December 2021): the
reduction of a ride is a per-person-km factor times the distance ridden, the factor
already being baseline minus project emissions. The methodology's own text was not read;
its factors were, in the press report cited on each factor.

Registry rules where the source gives none (stated as such, each conservative): rides under
500 m are not credited; average speeds above 100 km/h (metro) or 60 km/h (bus) are
implausible; a ride lasts 2 min to 4 h; caps of 3,000 g a ride (about 64 km of metro) and
6,000 g per account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Factor, MaxSpeed, Methodology, Term

REPORT = "citysz.net/guonei/2022/0923/2022107136.html (report of the 2021 methodology)"

METHODOLOGY = Methodology(
    id="SZ_TRANSIT",
    version="1.0",
    family="travel",
    region="440300",
    title_zh="深圳市低碳公共出行碳普惠方法学（试行）",
    title_en="Shenzhen low-carbon public transport carbon-inclusion methodology (trial)",
    source="深圳市生态环境局, 2021-12; factors as reported in " + REPORT,
    quantities=(
        ("metro_m", "metres ridden by metro"),
        ("bus_m", "metres ridden by battery-electric bus"),
    ),
    factors={
        # 46.7 g CO2 per person-km = 46.7 mg per person-metre. Another report gives 46.8;
        # the lower value is used (never over-credit).
        "metro": Factor(Fraction(467, 10), "mg CO2e reduced per passenger-metre", REPORT),
        # 26.9 g CO2 per person-km for battery-electric buses.
        "ebus": Factor(Fraction(269, 10), "mg CO2e reduced per passenger-metre", REPORT),
    },
    terms=(Term("metro_m", "metro"), Term("bus_m", "ebus")),
    rules=(
        AtLeast(("metro_m", "bus_m"), 500, "m"),
        MaxSpeed((("metro_m", 100), ("bus_m", 60))),
    ),
    min_duration_s=120,
    max_duration_s=4 * 3600,
    cap_per_activity_g=3_000,
    cap_per_account_day_g=6_000,
    notes="Reduction factors are net of the ride's own emissions (as published). Minimum "
    "distance, speed limits, duration window and caps are registry rules.",
    module=__name__,
)
