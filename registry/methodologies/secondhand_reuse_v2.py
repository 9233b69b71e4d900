"""SECONDHAND_REUSE 2.0: a second-hand phone or fridge instead of a new one (corrects 1.0).

The CACE group standard for idle-goods trading on internet platforms (2023) computes
`reduction = production-stage emissions of the new item x substitution rate`
(dbnyb.com/06/jienenjianpai/2023/0912/68595.html). 1.0 applied no substitution rate and
multiplied the published figure, which is *per transaction*, by the number of phones.

This version: one transaction credits one item of each kind (an order of two phones is
trading, not reuse: not eligible); the published per-transaction figures (a phone "at least
about 25 kg", a fridge 130 kg: zhishi5.com/redianxinwen/202303/291244.html) are taken as
the production-stage emissions avoided and multiplied by 41%, the share of second-hand
purchases in China that displaced a new purchase (Farfetch and London Waste & Recycling
Board, 2020: fashionista.com/2020/06/secondhand-shopping-displace-new-purchases-farfetch-
report; the only China-specific displacement rate found, measured on clothing, lower than
the 65% measured in the US and UK, so the conservative one). Phone 10.25 kg, fridge 53.3 kg.

Only the buyer is credited (one record per order). Registry rules: caps 63,550 g an order
(one of each) and per account per day; the order interval lasts 1 s to 1 day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import NOT_ELIGIBLE, AtLeast, AtMost, Factor, Methodology, Term

FIGURES = "zhishi5.com/redianxinwen/202303/291244.html"
DISPLACEMENT = Fraction(41, 100)
DISPLACEMENT_SOURCE = (
    "41% displacement in China: fashionista.com/2020/06/secondhand-shopping-displace-new-"
    "purchases-farfetch-report"
)

METHODOLOGY = Methodology(
    id="SECONDHAND_REUSE",
    version="2.0",
    family="secondhand",
    region="CN",
    title_zh="互联网平台闲置物品交易（二手手机、冰箱）碳减排（含替代率）",
    title_en="Second-hand phones and fridges bought on a trading platform, with substitution",
    source="CACE idle-goods trading group standard, 2023 (formula production emissions x "
    "substitution rate, via dbnyb.com 2023-09-12); per-item figures "
    + FIGURES
    + "; "
    + DISPLACEMENT_SOURCE,
    quantities=(
        ("phones", "second-hand phones bought in the order"),
        ("fridges", "second-hand household fridges bought in the order"),
    ),
    factors={
        "phone": Factor(
            25_000_000 * DISPLACEMENT,
            "mg CO2e per phone reused (25 kg x 41% displacement)",
            FIGURES + " ('at least about 25 kg' per phone transaction); " + DISPLACEMENT_SOURCE,
        ),
        "fridge": Factor(
            130_000_000 * DISPLACEMENT,
            "mg CO2e per fridge reused (130 kg x 41% displacement)",
            FIGURES + " (130 kg per fridge transaction); " + DISPLACEMENT_SOURCE,
        ),
    },
    terms=(Term("phones", "phone"), Term("fridges", "fridge")),
    rules=(
        AtLeast(("phones", "fridges"), 1, "items"),
        AtMost(("phones",), 1, "phones", reason=NOT_ELIGIBLE),
        AtMost(("fridges",), 1, "fridges", reason=NOT_ELIGIBLE),
    ),
    min_duration_s=1,
    max_duration_s=86_400,
    cap_per_activity_g=63_550,
    cap_per_account_day_g=63_550,
    notes="Corrects 1.0 (no substitution rate; per-transaction figures multiplied by the "
    "item count). The displacement rate is the only China-specific one found (clothing). "
    "Buyer-only crediting, one item per kind and order, duration and caps are registry rules.",
    module=__name__,
)
