"""Credits that do not overstate (issue 11's audit defects, each reproduced on the version
that had it and shown fixed on its correction): a household's electricity judged against
its own meter history, the same meter-month claimed once per household, buffer floors per
methodology, and the intake rules' sources."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from registry import errors
from registry.methodologies import CATALOGUE
from registry.methodologies.intake import RULES, apply_leakage, region_covers
from registry.mrv.committed import REASONS
from registry.replay import replay
from tests.test_mrv_ingestion import CST, MrvWorld, outcomes

HOME = "SZ_HOME_ELECTRICITY"
V1, V2 = CATALOGUE[(HOME, "1.0")], CATALOGUE[(HOME, "2.0")]


def month_start(day: date) -> int:
    """00:00 China Standard Time on the first of `day`'s month."""
    first = day.replace(day=1)
    return int(datetime(first.year, first.month, 1, tzinfo=UTC).timestamp()) - CST


def last_month() -> tuple[int, int, int, int]:
    """(start, end) of the last whole CST month, and of the same month a year earlier."""
    today = (datetime.now(UTC) + timedelta(seconds=CST)).date()
    end_day = today.replace(day=1)
    start_day = (end_day - timedelta(days=1)).replace(day=1)
    return (month_start(start_day), month_start(end_day),
            month_start(start_day.replace(year=start_day.year - 1)),
            month_start(end_day.replace(year=end_day.year - 1)))  # fmt: skip


@pytest.fixture
def mrv(tmp_path: Path) -> Iterator[MrvWorld]:
    world = MrvWorld.create(tmp_path / "mrv.db")
    yield world
    world.store.close()


def reading(mrv: MrvWorld, who: str, start: int, end: int, used_wh: int) -> dict[str, object]:
    return mrv.record(who, start, (end - start) // 60, HOME, used_wh=used_wh)


def in_time(mrv: MrvWorld, platform: str, record: dict[str, object]) -> list[str]:
    """Submit `record` as if the day after it ended (the registry's clock and the batch's
    expiry set back): a reading received in time, as a year of operation would hold."""
    then = int(record["end"]) + 86_400  # type: ignore[call-overload]
    clock = mrv.registry.clock
    mrv.registry.clock = lambda: float(then)
    try:
        _, message, signature, details = mrv.signed_batch(
            platform, [record], ttl_s=then + 600 - int(time.time())
        )
        return outcomes(mrv.registry.submit_activities(message, signature, details))
    finally:
        mrv.registry.clock = clock


# -- SZ_HOME_ELECTRICITY --------------------------------------------------------------------


def test_a_household_that_changes_nothing_earned_under_1_0_and_earns_nothing_under_2_0() -> None:
    """Audit defect 3: day-to-day noise against a 7-day average earned 48-103 kg a year."""
    rng = random.Random(11)
    mean = 8_000  # Wh a day, the same every year
    days = [int(mean * rng.uniform(0.8, 1.2)) for _ in range(730)]
    earned_1_0 = 0
    for i in range(372, 730):  # the second year, day by day against the previous 7 days
        average = sum(days[i - 7 : i]) // 7
        verdict = V1.assess({"used_wh": days[i], "baseline_wh": average}, 0, 86_400)
        earned_1_0 += verdict.grams
    assert earned_1_0 > 40_000  # the noise earned tens of kilograms

    earned_2_0 = 0
    for month in range(12):  # the second year, month by month against the first
        before = sum(days[month * 30 : month * 30 + 30])
        used = sum(days[365 + month * 30 : 365 + month * 30 + 30])
        quantities = {"used_wh": used, "baseline_wh": before * 9 // 10}
        earned_2_0 += V2.assess(quantities, 0, 30 * 86_400).grams
    assert earned_2_0 == 0


def test_a_month_is_credited_against_the_same_month_a_year_before(mrv: MrvWorld) -> None:
    start, end, start_before, end_before = last_month()
    history = in_time(mrv, "map", reading(mrv, "wang", start_before, end_before, 300_000))
    assert history == ["no_baseline"]  # the registry held nothing two years back
    receipt = mrv.submit("map", [reading(mrv, "wang", start, end, 200_000)])
    # baseline 90% of 300 kWh = 270 kWh; saved 70 kWh x 386.9 g/kWh = 27,083 g, no leakage
    assert [o.get("grams") for o in receipt.effects["outcomes"]] == [27_083]
    assert replay(mrv.store).clean


def test_without_history_or_on_the_platform_s_baseline_nothing_is_credited(
    mrv: MrvWorld,
) -> None:
    start, end, _, _ = last_month()
    no_history = mrv.submit("map", [reading(mrv, "li", start, end, 200_000)])
    assert outcomes(no_history) == ["no_baseline"]
    assert REASONS["no_baseline"]
    platform_baseline = mrv.record(
        "wang", start, (end - start) // 60, HOME, used_wh=200_000, baseline_wh=400_000
    )
    assert outcomes(mrv.submit("map", [platform_baseline])) == ["invalid_quantities"]


def test_a_baseline_cannot_be_made_up_late_or_raised_later(mrv: MrvWorld) -> None:
    """A reading of last year sent now is refused and is no baseline; one sent in time is,
    and a later, higher reading of the same month cannot raise it."""
    start, end, start_before, end_before = last_month()
    late = mrv.submit("map", [reading(mrv, "li", start_before, end_before, 600_000)])
    assert outcomes(late) == ["outside_claim_window"]
    assert outcomes(mrv.submit("map", [reading(mrv, "li", start, end, 200_000)])) == ["no_baseline"]
    in_time(mrv, "map", reading(mrv, "wang_a", start_before, end_before, 250_000))
    # the same meter-month again, higher, sent now by another platform: refused, and the
    # first reading stands
    again = mrv.submit("metro", [reading(mrv, "wang", start_before, end_before, 600_000)])
    assert outcomes(again) == ["outside_claim_window"]
    second = mrv.submit("metro", [reading(mrv, "wang_b", start, end, 200_000)])
    # baseline 90% of the first reading, 250 kWh: 25 kWh saved x 386.9 g/kWh = 9,672 g
    assert [o.get("grams") for o in second.effects["outcomes"]] == [9_672]


def test_the_same_meter_month_from_two_members_is_credited_once(mrv: MrvWorld) -> None:
    """A meter is the household's: any member may report it, once."""
    start, end, start_before, end_before = last_month()
    in_time(mrv, "map", reading(mrv, "wang", start_before, end_before, 300_000))
    first = mrv.submit("map", [reading(mrv, "wang_a", start, end, 200_000)])
    again = mrv.submit("metro", [reading(mrv, "wang_b", start, end, 200_000)])
    assert (outcomes(first), outcomes(again)) == (["claim"], ["double_counted"])


def test_erasing_a_member_does_not_raise_the_household_s_baseline(mrv: MrvWorld) -> None:
    start, end, start_before, end_before = last_month()
    in_time(mrv, "map", reading(mrv, "wang_a", start_before, end_before, 250_000))
    mrv.registry.erase(mrv.addr("wang_a"))
    after = mrv.submit("metro", [reading(mrv, "wang_b", start, end, 200_000)])
    assert outcomes(after) == ["erased_account"]  # the household's meter is erased with her


def test_a_reading_that_is_not_a_calendar_month_is_refused(mrv: MrvWorld) -> None:
    """A shorter period would eat the margin; a longer one would raise a later baseline."""
    start, end, start_before, end_before = last_month()
    in_time(mrv, "map", reading(mrv, "wang", start_before, end_before, 300_000))
    shorter = reading(mrv, "wang", start, end, 200_000)
    shorter["end"] = int(shorter["start"]) + 28 * 86_400  # type: ignore[call-overload]
    later = reading(mrv, "wang", start + 86_400, end, 200_000)
    assert outcomes(mrv.submit("map", [shorter])) == ["implausible"]
    assert outcomes(mrv.submit("metro", [later])) == ["implausible"]


def test_the_same_meter_month_under_a_household_and_a_member_is_credited_once(
    mrv: MrvWorld,
) -> None:
    start, end, start_before, end_before = last_month()
    in_time(mrv, "map", reading(mrv, "wang", start_before, end_before, 300_000))
    first = mrv.submit("map", [reading(mrv, "wang", start, end, 200_000)])
    again = mrv.submit("metro", [reading(mrv, "wang_a", start, end, 200_000)])
    assert (outcomes(first), outcomes(again)) == (["claim"], ["double_counted"])


# -- buffer floors and leakage ------------------------------------------------------------


def test_an_issuance_run_below_a_methodology_s_buffer_floor_is_refused(mrv: MrvWorld) -> None:
    start, end, start_before, end_before = last_month()
    in_time(mrv, "map", reading(mrv, "wang", start_before, end_before, 300_000))
    mrv.submit("map", [reading(mrv, "wang", start, end, 200_000)])
    mrv.attest(mrv.claim_ids())
    before = mrv.world.snapshot()
    with pytest.raises(errors.BufferBelowFloorError, match="SZ_HOME_ELECTRICITY's floor of 1000"):
        mrv.run(basis_points=500)
    assert mrv.world.snapshot() == before
    run = mrv.run(basis_points=1_000)
    assert run.effects["buffer_grams"] == 2_709  # ceil(10% of 27,083)


def test_every_methodology_has_intake_rules_with_sources() -> None:
    for (methodology_id, _), methodology in CATALOGUE.items():
        rule = RULES[methodology_id]
        assert rule.buffer_floor_basis_points >= 500
        assert 0 < rule.claim_window_s <= 45 * 86_400
        assert len(rule.sources) >= 3 and all(rule.sources)
        assert set(rule.computed) <= methodology.quantity_names
    assert RULES["BJ_METRO"].claim_window_s == 7 * 86_400


@pytest.mark.parametrize(
    ("region", "activity", "inside"),
    [
        ("CN", "440304", True),
        ("440300", "440304", True),
        ("440300", "440000", False),
        ("440300", "110105", False),
        ("110000", "110105", True),
        ("500000", "500103", True),
        ("500000", "510104", False),
    ],
)
def test_regions_nest_as_gb_t_2260_codes(region: str, activity: str, inside: bool) -> None:
    assert region_covers(region, activity) is inside


def test_leakage_rounds_down() -> None:
    assert apply_leakage(467, RULES["SZ_TRANSIT"]) == 443
    assert apply_leakage(1, RULES["SZ_TRANSIT"]) == 0
    assert apply_leakage(27_083, RULES[HOME]) == 27_083
