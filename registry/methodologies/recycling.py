"""RECYCLING 1.0: recyclables handed in at a smart recycling point, by weight.

Chengdu's 碳惠天府 (2020) includes waste-paper, plastic and e-waste recycling methodologies
whose factors were not found. This version uses per-tonne avoided-emission figures
published in the press: waste paper 0.6 t CO2 per t, plastic bottles 1.2 t/t, scrap metal
2.2 t/t (httgc.com, "垃圾回收如何助力减排二氧化碳"), and discarded household appliances
4.7 t/t (industry association figure reported by xuehua.us, 2024). They are popular-press
values, kept as they are (no uplift) until a methodology's own table can be read.

The smart bin weighs each fraction; the record's interval is the drop-off session. Registry
rules: at least 100 g in total; at most 100 kg in one drop-off (a household, not a
collector); 1 s to 1 h; caps 10,000 g a drop-off and per account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, AtMost, Factor, Methodology, Term

PRESS = (
    "www.httgc.com/kk/jie-mi-la-ji-hui-shou-ru-he-zhu-li-jian-pai-er-yang-hua-tan-jie-mi-"
    "lv-se-huan-bao-xin-qu-shi.html"
)
APPLIANCES = "www.xuehua.us/a/65efa3d2024d560d6ba45371"
FRACTIONS = ("paper_g", "plastic_g", "metal_g", "appliance_g")

METHODOLOGY = Methodology(
    id="RECYCLING",
    version="1.0",
    family="recycling",
    region="CN",
    title_zh="生活垃圾可回收物智能回收碳减排",
    title_en="Household recyclables at smart recycling points",
    source="press figures: " + PRESS + "; " + APPLIANCES,
    quantities=(
        ("paper_g", "grams of waste paper and cardboard"),
        ("plastic_g", "grams of plastic bottles"),
        ("metal_g", "grams of scrap metal (cans)"),
        ("appliance_g", "grams of small household appliances"),
    ),
    factors={
        # t CO2 per t recycled = g per g = 1000 mg per g x the figure
        "paper": Factor(Fraction(600), "mg CO2 avoided per gram", PRESS + " (0.6 t/t)"),
        "plastic": Factor(Fraction(1200), "mg CO2 avoided per gram", PRESS + " (1.2 t/t)"),
        "metal": Factor(Fraction(2200), "mg CO2 avoided per gram", PRESS + " (2.2 t/t)"),
        "appliance": Factor(
            Fraction(4700), "mg CO2e avoided per gram", APPLIANCES + " (4.7 t per t of appliances)"
        ),
    },
    terms=(
        Term("paper_g", "paper"),
        Term("plastic_g", "plastic"),
        Term("metal_g", "metal"),
        Term("appliance_g", "appliance"),
    ),
    rules=(
        AtLeast(FRACTIONS, 100, "g"),
        AtMost(FRACTIONS, 100_000, "g"),
    ),
    min_duration_s=1,
    max_duration_s=3_600,
    cap_per_activity_g=10_000,
    cap_per_account_day_g=10_000,
    notes="Press figures, to be replaced by a methodology's own table in a new version. "
    "Weight bounds, duration and caps are registry rules.",
    module=__name__,
)
