"""NEV_PASSENGER 1.0: driving a battery-electric car instead of a petrol car.

Follows the form of T/CSAE 235-2021 电动汽车出行碳减排核算方法 (reported by 中国汽车报,
2021-12-20): baseline = km x petrol per km x petrol emission factor; project = the
electricity the trip used x the grid emission factor. The vehicle's telematics report the
distance and the battery energy of each trip. Every choice below is the conservative one:

- petrol per km: 5.0 L/100 km, China's 2020 corporate-average fuel consumption target (IEA,
  "Fuel economy in China", 2021), the lowest of the published figures (MIIT 2020 real
  average 5.6, IEA 2019 7.2 L/100 km);
- petrol CO2: IPCC 2006 defaults (69.3 t CO2/TJ, net calorific value 44.3 TJ/Gg) at a
  density of 0.72 kg/L, the low end of China's grade gasoline density (the GB 17930 range
  720-775 kg/m3 is quoted from memory, not re-read): 2.2104 kg CO2 per litre;
- grid: 0.5568 kg CO2/kWh, the highest national average factor published for 2021-2023
  (MEE/NBS; 2022 0.5366, 2023 0.5306), plus 10% charging loss between plug and battery
  (a registry assumption; no published value was found).

Registry rules: at least 1 km; average speed at most 120 km/h; 80-300 Wh per km (outside it
the telemetry is implausible for a passenger car); 1 min to 6 h; caps 5,000 g a trip and
8,000 g per account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import (
    AtLeast,
    Factor,
    MaxSpeed,
    Methodology,
    RatioWithin,
    Term,
)

LITRES_PER_M = Fraction(5, 100_000)  # 5.0 L per 100 km
KG_PER_LITRE = Fraction(72, 100)
MJ_PER_KG = Fraction(443, 10)  # IPCC 2006 NCV of motor gasoline, 44.3 TJ/Gg
G_CO2_PER_MJ = Fraction(693, 10)  # IPCC 2006 default, 69,300 kg CO2/TJ
PETROL_MG_PER_M = LITRES_PER_M * KG_PER_LITRE * MJ_PER_KG * G_CO2_PER_MJ * 1000

GRID_MG_PER_WH = Fraction(5568, 10)  # 0.5568 kg/kWh = 556.8 mg/Wh
CHARGING = Fraction(11, 10)  # 10% loss from plug to battery

METHODOLOGY = Methodology(
    id="NEV_PASSENGER",
    version="1.0",
    family="travel",
    region="CN",
    title_zh="纯电动乘用车替代燃油车出行碳减排核算",
    title_en="Battery-electric passenger car instead of a petrol car",
    source="T/CSAE 235-2021 (form, via m.fpigeon.com/car/2021/12/20/46312.html); IEA 'Fuel "
    "economy in China' 2021; IPCC 2006 Vol.2 Tables 1.2 and 1.4; MEE/NBS grid factor 2021",
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
            "mg CO2 per battery watt-hour (grid 556.8 mg/Wh x 1.1 charging loss)",
            "national grid factor 2021 0.5568 kgCO2/kWh (daydaynews.cc/zh-hant/finance/"
            "3899452.html); charging loss: registry assumption",
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
    notes="Every factor is the conservative end of what was published (lowest baseline, "
    "highest grid factor). The charging loss, energy-per-km window, speed, duration and caps "
    "are registry rules.",
    module=__name__,
)
