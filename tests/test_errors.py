"""Every error class carries its code, HTTP status and title, and every layer shows them alike.

The walk covers each layer's errors (registry, verifier, anchoring, bridge) through
`api.errors.coded_errors`, which is also what `GET /v1/problems` publishes.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import carbon_registry.cli  # noqa: F401 - imports every layer's errors
from api.errors import API_PROBLEMS, PROBLEMS, coded_errors
from carbon_registry.cli import cli
from carbon_registry.cli.app import describe
from carbon_verifier.errors import CodedError

CLASSES = coded_errors()


def test_every_layer_has_errors_in_the_walk() -> None:
    modules = {cls.__module__.split(".")[0] for cls in CLASSES}
    assert {"registry", "carbon_verifier", "anchoring", "bridge"} <= modules, modules
    assert len(CLASSES) > 40


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_each_error_class_carries_code_status_and_title(cls: type[CodedError]) -> None:
    # A class may share its parent's code (a kind of it); one with a code of its own says
    # what it means in a title of its own. The status may be the parent's category.
    assert "code" not in vars(cls) or "title" in vars(cls), f"{cls.__name__} has no title"
    assert cls.code != CodedError.code, f"{cls.__name__} has no code"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.code)
    assert isinstance(cls.status, int) and 400 <= cls.status <= 599
    assert cls.title and cls.title[0].isupper() and not cls.title.endswith(".")
    assert PROBLEMS[cls.code][0] == cls.status  # what GET /v1/problems tells integrators
    error = cls.__new__(cls)  # some take structured arguments; the message is what is shown
    Exception.__init__(error, "the detail")
    code, message = describe(error)
    assert (code, message) == (cls.code, "the detail")  # what the command line prints


def test_one_code_means_one_status() -> None:
    statuses: dict[str, set[int]] = {}
    for cls in CLASSES:
        statuses.setdefault(cls.code, set()).add(cls.status)
    assert {c: s for c, s in statuses.items() if len(s) > 1} == {}
    assert not set(API_PROBLEMS) & set(statuses), "an API code shadows an error class's"


def test_the_command_line_prints_the_code_of_a_registry_error() -> None:
    result = CliRunner().invoke(
        cli, ["--db", "/nonexistent/registry.db", "balance", "0x" + "1" * 40]
    )
    assert result.exit_code == 1
    assert re.match(r"Error \[[a-z_]+\]: ", result.output), result.output
