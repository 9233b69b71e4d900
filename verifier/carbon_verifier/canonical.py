"""Canonical bytes of events: RFC 8785 (JCS), UTF-8.

Events contain only objects with ASCII keys, strings, booleans, null and integers within
+-(2**53 - 1). For that subset RFC 8785 equals `json.dumps` with sorted keys, no
whitespace and no ASCII escaping (Python escapes control characters as lowercase
`\\u00xx` and uses the short escapes, as RFC 8785 does), and it is three times faster than
the general `rfc8785` encoder. `canonical_bytes` refuses anything outside the subset, and a
property test checks it against the `rfc8785` package.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carbon_verifier.errors import CodedError
from carbon_verifier.jsonsafe import loads

MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class CanonicalError(CodedError, ValueError):
    """A value outside the JSON subset events are made of (floats, huge integers, lone
    surrogates...); `path` names where (`payload.request.amount`)."""

    code = "not_canonical"
    status = 422
    title = "The value has no RFC 8785 form in the events' JSON subset"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'the value'}: {message}")
        self.path = path


_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def _in_subset(value: Any) -> bool:
    """Whether `value` is in the subset; the fast walk, naming nothing."""
    kind = type(value)
    if kind is str:
        return _SURROGATE.search(value) is None
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _in_subset(item):
                return False
        return True
    if kind is list:
        return all(_in_subset(item) for item in value)
    return kind is bool or value is None


def _check(value: Any, path: str = "") -> None:
    """Refuse anything outside the subset, naming where it is (`payload.request.amount`)."""
    if _in_subset(value):
        return
    _name_the_outsider(value, path)


def _name_the_outsider(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise CanonicalError(path, "text contains an unpaired surrogate")
        return
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise CanonicalError(path, f"integer {value} is outside the JSON-safe range +-(2**53-1)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise CanonicalError(path, f"keys must be ASCII strings, got {key!r}")
            _name_the_outsider(item, f"{path}.{key}" if path else key)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _name_the_outsider(item, f"{path}[{i}]")
        return
    raise CanonicalError(path, f"{type(value).__name__} values cannot appear in an event")


def canonical_bytes(value: Any, *, checked: bool = True, path: str = "") -> bytes:
    """RFC 8785 bytes of `value`; raises CanonicalError outside the supported subset.

    `checked=False` skips the walk over the value, for events the ledger builds itself from
    requests whose fields `registry.messages.normalise` has already bounded.
    """
    if checked:
        _check(value, path)
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates have no UTF-8 form
        raise CanonicalError(path, "text contains an unpaired surrogate") from exc


def from_canonical(data: bytes) -> Any:
    """The value of RFC 8785 bytes (parsed with bounded nesting)."""
    return loads(data, what="the event")
