"""RECYCLING 2.0: household recyclables at smart recycling points, by weight (corrects 1.0).

1.0 took its factors from the press. No Chinese methodology's factor table could be read
(Chengdu 碳惠天府's recycling methodologies; the T/CACE 034 group standards). This version
starts from the US EPA's Waste Reduction Model (WARM v16, December 2023, recycling versus
landfill, short tons converted to metric: epa.gov/system/files/documents/2023-12/warm_
containers_packaging_and_non-durable_goods_materials_v16_dec.pdf; transcribed figures, to
be checked against the PDF) and discounts each figure, because WARM is US-based and its
paper figures include forest carbon, which is not credited here:

| fraction | WARM v16 (t CO2e/t) | credited | discount |
|---|---|---|---|
| paper and cardboard | 3.46 (corrugated) to 3.91 (mixed) | 0.5 | forest carbon out, about -85% |
| plastic bottles | PET 1.15, HDPE 0.84, PP 0.87 | 0.6 | the lowest plastic, then about -30% |
| scrap metal (cans) | steel 2.02, aluminium 10.06 | 1.4 | steel (the mix is unknown), about -30% |
| small appliances | none in WARM | 0.6 | as the lowest material in them (plastic) |

Registry rules: at least 100 g; at most 100 kg a drop-off (a household, not a collector);
1 s to 1 h; caps 10,000 g a drop-off and per account per day. Issuance holds back a 30%
buffer for this family (`registry.methodologies.policy`).
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, AtMost, Factor, Methodology, Term
from registry.methodologies.recycling import FRACTIONS

WARM = (
    "EPA WARM v16 (2023-12), epa.gov/system/files/documents/2023-12/warm_containers_"
    "packaging_and_non-durable_goods_materials_v16_dec.pdf, discounted (module docstring)"
)

METHODOLOGY = Methodology(
    id="RECYCLING",
    version="2.0",
    family="recycling",
    region="CN",
    title_zh="生活垃圾可回收物智能回收碳减排（折减因子）",
    title_en="Household recyclables at smart recycling points (discounted factors)",
    source=WARM,
    quantities=(
        ("paper_g", "grams of waste paper and cardboard"),
        ("plastic_g", "grams of plastic bottles"),
        ("metal_g", "grams of scrap metal (cans)"),
        ("appliance_g", "grams of small household appliances"),
    ),
    factors={
        "paper": Factor(Fraction(500), "mg CO2e avoided per gram (0.5 t/t)", WARM),
        "plastic": Factor(Fraction(600), "mg CO2e avoided per gram (0.6 t/t)", WARM),
        "metal": Factor(Fraction(1400), "mg CO2e avoided per gram (1.4 t/t)", WARM),
        "appliance": Factor(Fraction(600), "mg CO2e avoided per gram (0.6 t/t)", WARM),
    },
    terms=(
        Term("paper_g", "paper"),
        Term("plastic_g", "plastic"),
        Term("metal_g", "metal"),
        Term("appliance_g", "appliance"),
    ),
    rules=(AtLeast(FRACTIONS, 100, "g"), AtMost(FRACTIONS, 100_000, "g")),
    min_duration_s=1,
    max_duration_s=3_600,
    cap_per_activity_g=10_000,
    cap_per_account_day_g=10_000,
    notes="Corrects 1.0's press figures with discounted EPA WARM v16 factors (no Chinese "
    "table could be read). Weight bounds, duration and caps are registry rules.",
    module=__name__,
)
