"""Waiting in tests for a condition to hold, never for a sleep of a guessed length."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str = "the condition", timeout_s: float = 120) -> T:
    """Poll `condition` until it gives a true value, and return that value; fail, naming
    `what`, after `timeout_s` (generous: the machines are shared)."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value
