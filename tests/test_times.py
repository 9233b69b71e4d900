"""Event times: the decision's second is the logged time's second."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from registry.times import format_time, parse_time, time_second


@given(st.floats(min_value=0, max_value=2**34, allow_nan=False, allow_infinity=False))
def test_the_decision_second_is_the_second_the_event_logs(epoch: float) -> None:
    """The ledger decides at `time_second(now)` and logs `format_time(now)`: replay reads the
    second back from the log, so the two must agree for every clock value."""
    assert time_second(epoch) == int(parse_time(format_time(epoch)))


def test_a_time_just_before_a_second_is_still_in_it() -> None:
    assert format_time(1_764_000_000.9999) == "2025-11-24T16:00:00.999Z"
    assert time_second(1_764_000_000.9999) == 1_764_000_000
