"""The methodology library: worked examples of the sources, rounding, caps, rules, hashes."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.methodologies import CATALOGUE, lookup
from registry.methodologies.base import (
    IMPLAUSIBLE,
    NO_REDUCTION,
    NOT_ELIGIBLE,
    Factor,
    Methodology,
)

HOUR = 3600


def m(methodology_id: str) -> Methodology:
    found = lookup(methodology_id, "1.0")
    assert found is not None
    return found


# -- worked examples from the sources (METHODOLOGY-SOURCES.md) ---------------------------


@pytest.mark.parametrize(
    ("methodology_id", "quantities", "grams"),
    [
        # Shenzhen public transport: metro 46.7 g/pkm, e-bus 26.9 g/pkm.
        ("SZ_TRANSIT", {"metro_m": 10_000, "bus_m": 0}, 467),
        ("SZ_TRANSIT", {"metro_m": 0, "bus_m": 10_000}, 269),
        # Beijing MaaS: 22 km by metro instead of car, 5.98 kg - 1.35 kg = 4.63 kg.
        ("BJ_METRO", {"metro_m": 22_000}, 4_630),
        # Chongqing shared e-assist bicycle: 43 g per km.
        ("CQ_EBIKE_SHARE", {"ride_m": 10_000}, 430),
        # Second-hand: at least about 25 kg a phone, 130 kg a fridge.
        ("SECONDHAND_REUSE", {"phones": 1, "fridges": 0}, 25_000),
        ("SECONDHAND_REUSE", {"phones": 0, "fridges": 1}, 130_000),
    ],
)
def test_worked_examples_of_the_sources(
    methodology_id: str, quantities: dict[str, int], grams: int
) -> None:
    assert m(methodology_id).grams(quantities) == grams


def test_beijing_example_baseline_and_project_sides() -> None:
    bj = m("BJ_METRO")
    assert bj.factors["car"].mg_per_unit * 22_000 == 5_980_000  # 5.98 kg by car
    assert bj.factors["metro"].mg_per_unit * 22_000 == 1_350_000  # 1.35 kg by metro


def test_derived_examples_of_this_library() -> None:
    # NEV: 10 km at 150 Wh/km. Petrol 5.0 L/100 km x 0.72 kg/L x 44.3 MJ/kg x 69.3 g/MJ =
    # 110.51964 g/km; grid 556.8 mg/Wh x 1.1 = 612.48 mg/Wh.
    # 1,105,196.4 mg - 918,720 mg = 186,476.4 mg -> 186 g.
    assert m("NEV_PASSENGER").reduction_mg({"distance_m": 10_000, "energy_wh": 1_500}) == (
        Fraction(1_864_764, 10)
    )
    assert m("NEV_PASSENGER").grams({"distance_m": 10_000, "energy_wh": 1_500}) == 186
    # Electricity: 8 kWh own average, 6 kWh used: 2,000 Wh x 386.9 mg/Wh = 773.8 g -> 773 g.
    assert m("SZ_HOME_ELECTRICITY").grams({"used_wh": 6_000, "baseline_wh": 8_000}) == 773
    # Cycling 5 km against the metro's 1.35 kg / 22 km: 306.8 g -> 306 g.
    bike = {"walk_m": 0, "cycle_m": 5_000, "navigated": 1}
    assert m("BJ_CYCLE_WALK").grams(bike) == 306
    # Recycling 1 kg of paper at 0.6 t/t and 100 g of cans at 2.2 t/t.
    bin_drop = {"paper_g": 1_000, "plastic_g": 0, "metal_g": 100, "appliance_g": 0}
    assert m("RECYCLING").grams(bin_drop) == 820


# -- rounding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metres", "grams"),
    [(21, 0), (22, 1), (10_021, 467), (10_706, 499), (10_707, 500)],
)
def test_rounding_is_down_to_a_whole_gram(metres: int, grams: int) -> None:
    # 46.7 mg a metre: 21 m = 980.7 mg -> 0 g, 22 m = 1,027.4 mg -> 1 g,
    # 10,706 m = 499,970.2 mg -> 499 g, 10,707 m = 500,016.9 mg -> 500 g.
    assert m("SZ_TRANSIT").grams({"metro_m": metres, "bus_m": 0}) == grams


def test_negative_reductions_earn_nothing() -> None:
    assert m("SZ_HOME_ELECTRICITY").grams({"used_wh": 9_000, "baseline_wh": 8_000}) == 0
    assert m("NEV_PASSENGER").grams({"distance_m": 10_000, "energy_wh": 3_000}) == 0


@pytest.mark.parametrize("methodology", list(CATALOGUE.values()), ids=lambda x: x.key)
@given(data=st.data())
def test_integer_formula_equals_exact_rational_formula(
    methodology: Methodology, data: st.DataObject
) -> None:
    quantities = {
        name: data.draw(st.integers(0, 10**9), label=name) for name in methodology.quantity_names
    }
    exact = methodology.reduction_mg(quantities)
    expected = max(0, exact.numerator // (exact.denominator * 1000))
    assert methodology.grams(quantities) == expected


# -- eligibility, plausibility and caps -------------------------------------------------


def test_per_activity_cap_clips_and_says_so() -> None:
    verdict = m("SZ_TRANSIT").assess({"metro_m": 90_000, "bus_m": 0}, 0, 2 * HOUR)
    assert (verdict.grams, verdict.capped, verdict.reason) == (3_000, True, None)
    verdict = m("SZ_TRANSIT").assess({"metro_m": 10_000, "bus_m": 0}, 0, HOUR)
    assert (verdict.grams, verdict.capped) == (467, False)


def test_every_methodology_has_caps_that_can_bind() -> None:
    for methodology in CATALOGUE.values():
        assert 0 < methodology.cap_per_activity_g <= methodology.cap_per_account_day_g


@pytest.mark.parametrize(
    ("methodology_id", "quantities", "duration_s", "reason", "words"),
    [
        ("SZ_TRANSIT", {"metro_m": 400, "bus_m": 0}, 600, NOT_ELIGIBLE, "below the minimum 500"),
        ("SZ_TRANSIT", {"metro_m": 30_000, "bus_m": 0}, 900, IMPLAUSIBLE, "too fast"),
        ("SZ_TRANSIT", {"metro_m": 0, "bus_m": 12_000}, 600, IMPLAUSIBLE, "too fast"),
        ("SZ_TRANSIT", {"metro_m": 5_000, "bus_m": 0}, 60, IMPLAUSIBLE, "lasted 60 s"),
        ("SZ_TRANSIT", {"metro_m": 5_000, "bus_m": 0}, 5 * HOUR, IMPLAUSIBLE, "lasted"),
        ("BJ_METRO", {"metro_m": 22_000}, 600, IMPLAUSIBLE, "too fast"),
        (
            "BJ_CYCLE_WALK",
            {"walk_m": 2_000, "cycle_m": 0, "navigated": 0},
            HOUR,
            NOT_ELIGIBLE,
            "navigated",
        ),
        (
            "BJ_CYCLE_WALK",
            {"walk_m": 3_000, "cycle_m": 0, "navigated": 1},
            1_200,
            IMPLAUSIBLE,
            "walk_m at most 8 km/h",
        ),
        ("CQ_EBIKE_SHARE", {"ride_m": 10_000}, 1_200, IMPLAUSIBLE, "too fast"),
        (
            "NEV_PASSENGER",
            {"distance_m": 20_000, "energy_wh": 500},
            HOUR,
            IMPLAUSIBLE,
            "80-300 Wh per km",
        ),
        (
            "SZ_HOME_ELECTRICITY",
            {"used_wh": 3_000, "baseline_wh": 8_000},
            86_400,
            NOT_ELIGIBLE,
            "vacant",
        ),
        (
            "SZ_HOME_ELECTRICITY",
            {"used_wh": 6_000, "baseline_wh": 8_000},
            3_600,
            IMPLAUSIBLE,
            "lasted",
        ),
        (
            "SZ_HOME_ELECTRICITY",
            {"used_wh": 70_000, "baseline_wh": 80_000},
            86_400,
            IMPLAUSIBLE,
            "above the maximum",
        ),
        ("SZ_HOME_ELECTRICITY", {"used_wh": 9_000, "baseline_wh": 8_000}, 86_400, NO_REDUCTION, ""),
        ("SECONDHAND_REUSE", {"phones": 3, "fridges": 0}, 60, NOT_ELIGIBLE, "above the maximum 2"),
        ("SECONDHAND_REUSE", {"phones": 0, "fridges": 0}, 60, NOT_ELIGIBLE, "below the minimum 1"),
        (
            "RECYCLING",
            {"paper_g": 90_000, "plastic_g": 20_000, "metal_g": 0, "appliance_g": 0},
            60,
            IMPLAUSIBLE,
            "above the maximum 100000",
        ),
    ],
)
def test_rules_reject_with_a_reason(
    methodology_id: str, quantities: dict[str, int], duration_s: int, reason: str, words: str
) -> None:
    verdict = m(methodology_id).assess(quantities, 1_000_000, 1_000_000 + duration_s)
    assert verdict.reason == reason
    assert verdict.grams == 0
    assert words in verdict.detail


def test_combined_modes_add_their_minimum_times() -> None:
    sz = m("SZ_TRANSIT")
    # 20 km metro at 100 km/h needs 720 s, 6 km of bus at 60 km/h another 360 s.
    assert sz.assess({"metro_m": 20_000, "bus_m": 6_000}, 0, 1_080).reason is None
    assert sz.assess({"metro_m": 20_000, "bus_m": 6_000}, 0, 1_079).reason == IMPLAUSIBLE


# -- declarations and hashes ------------------------------------------------------------


def test_the_library_covers_transport_home_energy_and_consumption() -> None:
    assert len(CATALOGUE) >= 6
    families = {methodology.family for methodology in CATALOGUE.values()}
    assert {"travel", "home_electricity", "secondhand", "recycling"} <= families


@pytest.mark.parametrize("methodology", list(CATALOGUE.values()), ids=lambda x: x.key)
def test_declarations_are_complete(methodology: Methodology) -> None:
    assert re.fullmatch(r"[A-Z0-9_]{1,40}", methodology.id)
    assert re.fullmatch(r"[0-9]+\.[0-9]+", methodology.version)
    assert re.fullmatch(r"[0-9]{6}|CN", methodology.region)
    assert re.search(r"[\u4e00-\u9fff]", methodology.title_zh)
    assert methodology.title_en.isascii() and methodology.title_en
    assert methodology.source and methodology.notes
    for factor in methodology.factors.values():
        assert isinstance(factor.mg_per_unit, Fraction)
        assert factor.source and factor.unit
    parameters = methodology.parameters()
    assert set(parameters["quantities"]) == methodology.quantity_names  # type: ignore[arg-type]


def test_hashes_are_distinct_and_stable() -> None:
    hashes = [methodology.hash() for methodology in CATALOGUE.values()]
    assert len(set(hashes)) == len(hashes)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    sz = m("SZ_TRANSIT")
    assert dataclasses.replace(sz).hash() == sz.hash()


def test_a_changed_factor_changes_the_hash() -> None:
    sz = m("SZ_TRANSIT")
    factors = dict(sz.factors)
    factors["metro"] = Factor(Fraction(468, 10), factors["metro"].unit, factors["metro"].source)
    changed = dataclasses.replace(sz, factors=factors)
    assert changed.hash() != sz.hash()
    assert changed.grams({"metro_m": 10_000, "bus_m": 0}) == 468


def test_a_term_naming_an_undeclared_factor_is_refused() -> None:
    sz = m("SZ_TRANSIT")
    with pytest.raises(ValueError, match="undeclared"):
        dataclasses.replace(sz, factors={"metro": sz.factors["metro"]})


# -- corrected versions (the audit's overstatements) --------------------------------------


def v2(methodology_id: str) -> Methodology:
    found = lookup(methodology_id, "2.0")
    assert found is not None
    return found


def test_beijing_metro_no_longer_assumes_every_ride_replaced_a_car() -> None:
    ride = {"metro_m": 12_000}
    assert m("BJ_METRO").grams(ride) == 2_525  # 210.45 g/km: the car baseline of 1.0
    assert v2("BJ_METRO").grams(ride) == 560  # 46.7 g/pkm: the lowest published factor
    assert v2("BJ_METRO").grams(ride) == m("SZ_TRANSIT").grams({"metro_m": 12_000, "bus_m": 0})


def test_an_electric_trip_on_a_coal_heavy_grid_earns_nothing() -> None:
    trip = {"distance_m": 10_000, "energy_wh": 1_500}
    assert m("NEV_PASSENGER").grams(trip) == 186
    # 110.51964 g/km x 10 km - 1,500 Wh x 677.6 mg/Wh x 1.1 = 1,105.2 g - 1,118.0 g < 0
    assert v2("NEV_PASSENGER").reduction_mg(trip) < 0
    assessed = v2("NEV_PASSENGER").assess(trip, 0, 1_200)
    assert (assessed.grams, assessed.reason) == (0, NO_REDUCTION)
    efficient = {"distance_m": 10_000, "energy_wh": 1_000}  # 100 Wh/km
    assert v2("NEV_PASSENGER").grams(efficient) == 359  # 1,105.2 g - 745.4 g


def test_second_hand_credits_a_transaction_with_its_substitution_rate() -> None:
    assert v2("SECONDHAND_REUSE").grams({"phones": 1, "fridges": 0}) == 10_250  # 25 kg x 41%
    assert v2("SECONDHAND_REUSE").grams({"phones": 0, "fridges": 1}) == 53_300  # 130 kg x 41%
    two = v2("SECONDHAND_REUSE").assess({"phones": 2, "fridges": 0}, 0, 300)
    assert two.reason == NOT_ELIGIBLE  # 1.0 credited 50 kg for this order


def test_recycling_factors_are_discounted_from_a_cited_model() -> None:
    drop = {"paper_g": 1_000, "plastic_g": 1_000, "metal_g": 1_000, "appliance_g": 0}
    assert m("RECYCLING").grams(drop) == 4_000  # press figures 0.6 + 1.2 + 2.2 t/t
    assert v2("RECYCLING").grams(drop) == 2_500  # 0.5 + 0.6 + 1.4 t/t
    assert all("WARM v16" in f.source for f in v2("RECYCLING").factors.values())


def test_new_claims_cite_the_correction_and_old_ones_keep_their_version() -> None:
    from registry.methodologies.policy import SUPERSEDED, current_version

    for (methodology_id, old), (new, why) in SUPERSEDED.items():
        assert current_version(methodology_id) == new and why
        assert lookup(methodology_id, old) is not None  # kept: claims cite it
    assert current_version("SZ_TRANSIT") == "1.0"


def test_the_methodology_notes_cite_every_version_and_factor() -> None:
    from pathlib import Path

    notes = (Path(__file__).resolve().parents[1] / "docs" / "METHODOLOGY.md").read_text("utf-8")
    for (methodology_id, version), methodology in CATALOGUE.items():
        assert f"### {methodology_id} {version} " in notes, methodology.key
        for factor in methodology.factors.values():
            assert factor.source in notes, (methodology.key, factor.source)
