"""Event times: the decision's second is the logged time's second."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
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


def _reads_as_strptime(text: str) -> None:
    """`parse_time(text)` accepts and refuses what `strptime` does, with the same result."""
    try:
        expected = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        with pytest.raises(ValueError):
            parse_time(text)
        return
    assert parse_time(text) == expected.timestamp()


@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,6}Z\Z"))
def test_parse_time_reads_what_strptime_reads(text: str) -> None:
    """The field-by-field reading of the written shape accepts and refuses what `strptime`
    does, with the same result (impossible dates such as 2026-02-30 included)."""
    _reads_as_strptime(text)


@pytest.mark.parametrize("text", ["2026-1-05T10:00:00.000Z", "2026-01-05T10:00:00Z", "x"])
def test_other_shapes_are_left_to_strptime(text: str) -> None:
    _reads_as_strptime(text)
