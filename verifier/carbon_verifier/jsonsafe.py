"""JSON from outside, parsed with bounded nesting.

Python's JSON parser recurses once per nested array or object. Under a raised recursion
limit (py_ecc, which web3 imports, sets it to 100,000) a document of 50,000 `[` overflows
the C stack and kills the process before any exception is raised. `loads` counts the
nesting first, outside strings, and refuses anything deeper than `max_depth` with a
`MalformedJsonError` naming the problem; every other parse failure (bad syntax, an integer
of more digits than Python converts) becomes the same error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carbon_verifier.errors import CodedError

MAX_DEPTH = 64
"""Deeper than any document of the registry (bundles, requests, batches): 8 levels suffice."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


class MalformedJsonError(CodedError, ValueError):
    """The text is not JSON, or not JSON this program accepts (too deep, huge numbers)."""

    code = "malformed_json"
    status = 400
    title = "The input is not JSON, or nests too deep"


def too_deep(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects in `data` nest more than `limit` deep (strings ignored)."""
    if data.count(b"[") + data.count(b"{") <= limit:  # cannot nest deeper than it opens
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENERS else -1
        if depth > limit:
            return True
    return False


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, what: str = "input") -> Any:
    """Parse JSON `data`; raises MalformedJsonError for anything this program refuses."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if too_deep(raw, max_depth):
        raise MalformedJsonError(f"{what} nests arrays or objects more than {max_depth} deep")
    try:
        return json.loads(raw)
    except RecursionError as exc:  # only if the caller's stack is already deep
        raise MalformedJsonError(f"{what} nests too deep to parse") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJsonError(f"{what} is not valid JSON: {exc}") from exc
