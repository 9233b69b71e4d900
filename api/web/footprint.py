"""The footprint estimate of /me (衣食住行): a short monthly questionnaire, each answer an
integer quantity times a per-unit factor in integer grams of CO2e.

An estimate only: the page computes it in the browser, nothing is stored or issued. Each
factor is a conservative (lower) reading of a published source, so the estimate errs low.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    key: str
    area: str  # 衣 食 住 行
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    grams_per_unit: int
    source: str


QUESTIONS = (
    # UNEP, as reported by The Drum (redg.co/?p=69762): 33.4 kg CO2 for one pair of jeans
    # from cotton to shop. Asked only of heavy garments, for which the figure is typical.
    Question(
        "jeans",
        "衣",
        "新买的牛仔裤等厚重衣物",
        "New jeans or similar heavy garments",
        "件",
        "items",
        33_400,
        "UNEP: 33.4 kg CO2e per pair of jeans (redg.co/?p=69762, The Drum)",
    ),  # fmt: skip
    # Poore & Nemecek (2018, Science), as summarised at utilitypages.pages.dev/carbon-footprint:
    # beef about 60 kg CO2e per kg, poultry about 6.
    Question(
        "red_meat",
        "食",
        "牛羊肉",
        "Beef and mutton",
        "千克",
        "kg",
        60_000,
        "Poore & Nemecek 2018: beef ~60 kg CO2e/kg (utilitypages.pages.dev/carbon-footprint)",
    ),  # fmt: skip
    # The poultry figure applied to pork too: pork's published figures are higher, so this
    # errs low.
    Question(
        "white_meat",
        "食",
        "猪肉和禽肉",
        "Pork and poultry",
        "千克",
        "kg",
        6_000,
        "Poore & Nemecek 2018: poultry ~6 kg CO2e/kg, used for pork too (lower than pork's)",
    ),  # fmt: skip
    # 生态环境部、国家统计局 2024-12-20 公告: national average power factor 2022, 0.5366
    # kg CO2/kWh, read as 536 g (rounded down).
    Question(
        "electricity",
        "住",
        "家庭用电",
        "Home electricity",
        "千瓦时",
        "kWh",
        536,
        "生态环境部/国家统计局《2022年电力二氧化碳排放因子》全国平均 0.5366 kgCO2/kWh",
    ),  # fmt: skip
    # IPCC 2006 Guidelines Vol.2 Table 1.4: natural gas 56,100 kg CO2/TJ; GB/T 2589-2020 net
    # calorific value 38,931 kJ/m3: 2,184 g/m3, read as 2,180.
    Question(
        "gas",
        "住",
        "天然气",
        "Natural gas",
        "立方米",
        "m³",
        2_180,
        "IPCC 2006 Vol.2 Table 1.4 (56.1 t CO2/TJ) × GB/T 2589-2020 (38,931 kJ/m³)",
    ),  # fmt: skip
    # The registry's own NEV_PASSENGER baseline: 5.0 L/100 km (IEA, China's 2020 target) ×
    # 0.72 kg/L × 44.3 MJ/kg × 69.3 g/MJ (IPCC 2006) = 110.5 g/km, read as 110.
    Question(
        "car_km",
        "行",
        "开燃油车",
        "Driving a petrol car",
        "公里",
        "km",
        110,
        "IEA fuel economy in China (5.0 L/100 km) × IPCC 2006 Vol.2 Ch.1, as in NEV_PASSENGER",
    ),  # fmt: skip
    # calculators.im/carbon-emission-calculator: short-haul 0.255 kg CO2e per passenger-km
    # including a radiative forcing index of 1.9; divided by 1.9 for CO2 alone: 134 g.
    Question(
        "flight_km",
        "行",
        "乘飞机",
        "Flying",
        "公里",
        "km",
        134,
        "EPA/IPCC-based short-haul 0.255 kg/pkm incl. RFI 1.9, ÷ 1.9 (calculators.im)",
    ),  # fmt: skip
)
