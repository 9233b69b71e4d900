"""BJ_METRO 2.0: Beijing rail transit, credited against a mixed baseline (corrects 1.0).

1.0 credited 210 g per passenger-km: the Beijing MaaS 2019 illustration of one 22 km day by
metro *instead of a car*, used as if every ride replaced a car trip. DB11/T 3043-2024
(碳普惠项目减排量核算技术规范 低碳出行) keeps the form ER = BE - PE, but its factor table
could not be read, nor any substitution coefficient. Published metro reductions against a
mixed (not all-car) baseline are 46.7 g/pkm (Shenzhen 2021 methodology, baseline = the
average of the city's road vehicles) and 78.4 g/km (Wuhan 2025); derived from Beijing's own
2020 trip shares and BJTRC factors the reduction lies between about 35 and 91 g/pkm. This
version takes the lowest published one, 46.7 g/pkm (conservative), until the standard's
table can be read; it is a new version, and claims made under 1.0 keep 1.0.

Registry rules (not in the source): rides of at least 500 m, average speed at most 100 km/h,
2 min to 4 h; caps 3,000 g a ride (about 64 km) and 6,000 g per account per day, as for
the Shenzhen rides the factor comes from. Claims within 7 days of the ride (Beijing MaaS
collects credits within 7 days: bj.people.com.cn/BIG5/n2/2020/0911/c82840-34285115.html).
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Factor, MaxSpeed, Methodology, Term

SHENZHEN = "citysz.net/guonei/2022/0923/2022107136.html (Shenzhen 2021 methodology, 46.7 g/pkm)"

METHODOLOGY = Methodology(
    id="BJ_METRO",
    version="2.0",
    family="travel",
    region="110000",
    title_zh="碳普惠项目减排量核算技术规范 低碳出行（轨道交通，混合基准）",
    title_en="Low-carbon travel: Beijing rail transit against a mixed-mode baseline",
    source="DB11/T 3043-2024 (form ER = BE - PE); factor: the lowest published metro reduction "
    "against a mixed baseline, " + SHENZHEN,
    quantities=(("metro_m", "metres ridden by rail transit"),),
    factors={
        "metro_reduction": Factor(
            Fraction(467, 10),
            "mg CO2e reduced per passenger-metre (baseline minus metro)",
            SHENZHEN,
        ),
    },
    terms=(Term("metro_m", "metro_reduction"),),
    rules=(AtLeast(("metro_m",), 500, "m"), MaxSpeed((("metro_m", 100),))),
    min_duration_s=120,
    max_duration_s=4 * 3600,
    cap_per_activity_g=3_000,
    cap_per_account_day_g=6_000,
    notes="Corrects 1.0, which assumed every ride replaced a car (4.5x too much). Beijing's "
    "mode-share baseline could not be read from DB11/T 3043-2024: the lowest published "
    "mixed-baseline metro factor is used instead. Distance, speed, duration and caps are "
    "registry rules.",
    module=__name__,
)
