"""NEV_PASSENGER 2.0: a battery-electric car instead of a petrol car (corrects 1.0).

Form of T/CSAE 235-2021 电动汽车出行碳减排核算方法: ER = BE - PE, baseline = km x petrol
per km x petrol emission factor, project = the electricity charged x the grid factor; a
trip whose result is not positive earns nothing (the methodology never credits a negative
reduction, and `grams` floors at 0).

1.0 took 0.5568 kg/kWh as "the highest national factor"; for electricity *consumed* by the
project the conservative factor is the highest applicable one, and the published factors
above it are the national factor excluding market-traded clean power (0.5856 for 2022,
0.6096 for 2023) and the regional ones, highest 华北 (North China) 0.6776 for 2022
(MEE/NBS, announced 2024-12-20: daydaynews.cc/zh-hant/finance/3899452.html; 2023 华北 0.6361,
163.com/dy/article/KIQVBKCG05567I2C.html). The charging location and so the regional grid
are not reported, so this version takes 0.6776, the highest factor published for any
region and vintage 2021-2023, plus 10% charging loss (registry assumption). With it a 10 km
trip using 1.5 kWh saves nothing (1.0 credited 186 g).

Baseline unchanged from 1.0 (the lowest published, so conservative): 5.0 L/100 km (China's
2020 corporate-average target, IEA 2021) x 2.2104 kg CO2/L (IPCC 2006 defaults at 0.72 kg/L).
Registry rules as in 1.0.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Factor, MaxSpeed, Methodology, RatioWithin, Term
from registry.methodologies.nev_passenger import CHARGING, PETROL_MG_PER_M

GRID_MG_PER_WH = Fraction(6776, 10)  # 0.6776 kg/kWh = 677.6 mg/Wh (North China, 2022)
GRID_SOURCE = (
    "MEE/NBS 2022 regional grid factors, 华北 0.6776 kgCO2/kWh, the highest published for "
    "2021-2023 (daydaynews.cc/zh-hant/finance/3899452.html); charging loss 10%: registry "
    "assumption"
)

METHODOLOGY = Methodology(
    id="NEV_PASSENGER",
    version="2.0",
    family="travel",
    region="CN",
    title_zh="纯电动乘用车替代燃油车出行碳减排核算（最高区域电网因子）",
    title_en="Battery-electric passenger car instead of a petrol car (highest grid factor)",
    source="T/CSAE 235-2021 (form, via m.fpigeon.com/car/2021/12/20/46312.html); IEA 'Fuel "
    "economy in China' 2021; IPCC 2006 Vol.2 Tables 1.2 and 1.4; " + GRID_SOURCE,
    quantities=(
        ("distance_m", "metres driven"),
        ("energy_wh", "battery energy used by the trip, watt-hours"),
    ),
    factors={
        "petrol_car": Factor(
            PETROL_MG_PER_M,
            "mg CO2 per metre by a petrol car (5.0 L/100 km x 0.72 kg/L x 44.3 MJ/kg x 69.3 g/MJ)",
            "origin.iea.org/articles/fuel-economy-in-china (2020 target 5.0 L/100 km); "
            "IPCC 2006 Guidelines Vol.2 Ch.1",
        ),
        "grid_at_plug": Factor(
            GRID_MG_PER_WH * CHARGING,
            "mg CO2 per battery watt-hour (grid 677.6 mg/Wh x 1.1 charging loss)",
            GRID_SOURCE,
        ),
    },
    terms=(Term("distance_m", "petrol_car"), Term("energy_wh", "grid_at_plug", -1)),
    rules=(
        AtLeast(("distance_m",), 1_000, "m"),
        MaxSpeed((("distance_m", 120),)),
        RatioWithin(
            "energy_wh", "distance_m", Fraction(80, 1000), Fraction(300, 1000), "80-300 Wh per km"
        ),
    ),
    min_duration_s=60,
    max_duration_s=6 * 3600,
    cap_per_activity_g=5_000,
    cap_per_account_day_g=8_000,
    notes="Corrects 1.0's grid factor (0.5568, below the published factors that apply to "
    "electricity consumed). The highest regional factor stands in for the unknown charging "
    "location; a trip that does not save is credited 0. Charging loss, energy-per-km "
    "window, speed, duration and caps are registry rules.",
    module=__name__,
)
