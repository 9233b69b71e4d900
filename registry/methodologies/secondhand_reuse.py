"""SECONDHAND_REUSE 1.0: buying a second-hand phone or fridge instead of a new one.

The group standard of the China Association of Circular Economy for idle-goods trading on
internet platforms (2023) computes `reduction = production-stage emissions of a new item x
substitution rate` (dbnyb.com/06/jienenjianpai/2023/0912/68595.html; Xianyu's example: a
90%-new iPhone 14 Pro Max, 51.9 kg). Wuhan and Shenzhen have second-hand phone
methodologies whose factors were not found. This version uses the published per-transaction
lower bounds instead of per-model footprints: a second-hand phone "at least about 25 kg",
a household fridge 130 kg (NPC deputy 刘锐, March 2023, zhishi5.com/redianxinwen/202303/
291244.html).

Only the buyer's account is credited (the platform reports one record per order, for the
buyer), so the seller's side of the same item cannot be counted twice. Registry rules: at
least one item; at most 2 phones and 1 fridge in an order (more looks like trading, not
reuse); the order interval lasts 1 s to 1 day; caps 130,000 g an order and per account per
day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import NOT_ELIGIBLE, AtLeast, AtMost, Factor, Methodology, Term

FIGURES = "zhishi5.com/redianxinwen/202303/291244.html"

METHODOLOGY = Methodology(
    id="SECONDHAND_REUSE",
    version="1.0",
    family="secondhand",
    region="CN",
    title_zh="互联网平台闲置物品交易（二手手机、冰箱）碳减排",
    title_en="Second-hand phones and fridges bought on a trading platform",
    source="CACE idle-goods trading group standard, 2023 (formula, via dbnyb.com 2023-09-12); "
    "per-item figures " + FIGURES,
    quantities=(
        ("phones", "second-hand phones bought in the order"),
        ("fridges", "second-hand household fridges bought in the order"),
    ),
    factors={
        "phone": Factor(
            Fraction(25_000_000),
            "mg CO2e per phone reused",
            FIGURES + " ('at least about 25 kg' per phone transaction)",
        ),
        "fridge": Factor(
            Fraction(130_000_000),
            "mg CO2e per fridge reused",
            FIGURES + " (130 kg per fridge transaction)",
        ),
    },
    terms=(Term("phones", "phone"), Term("fridges", "fridge")),
    rules=(
        AtLeast(("phones", "fridges"), 1, "items"),
        AtMost(("phones",), 2, "phones", reason=NOT_ELIGIBLE),
        AtMost(("fridges",), 1, "fridges", reason=NOT_ELIGIBLE),
    ),
    min_duration_s=1,
    max_duration_s=86_400,
    cap_per_activity_g=130_000,
    cap_per_account_day_g=130_000,
    notes="Per-transaction lower bounds stand in for production footprint x substitution "
    "rate. Buyer-only crediting, item limits, duration and caps are registry rules.",
    module=__name__,
)
