"""Every small change to a proof bundle that a verifier must refuse, field by field.

For every leaf of the bundle's JSON (a number, text, true/false or null at some path) the
changes that apply to its kind: +1, -1, +0.5, the number as a string, null, the field
removed, a hex digit flipped, the letter case swapped; for every object an extra field; for
every list of hashes a hash dropped, duplicated or two swapped; and each part (event,
inclusion, checkpoint, anchor) spliced from another bundle. Changes that leave the bundle
as it was (a case swap of digits only, say) are skipped. Each case names the field it
changed, so a test can require that a failing check names it too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

PARTS = ("event", "inclusion", "checkpoint", "anchor")
HEX = "0123456789abcdef"

Path = tuple[str | int, ...]


def field_name(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path, value


def _containers(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict | list):
        yield path, value
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _containers(item, (*path, key))


def _set(bundle: dict[str, Any], path: Path, value: Any, *, remove: bool = False) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    if remove:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def _flip_hex(text: str) -> str | None:
    for i in range(len(text) - 1, -1, -1):
        if text[i].lower() in HEX and not (text[i] == "x" and i == 1):
            digit = text[i].lower()
            flipped = HEX[(HEX.index(digit) + 1) % 16]
            return text[:i] + (flipped.upper() if text[i].isupper() else flipped) + text[i + 1 :]
    return None


def _changes(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, bool):
        yield "negated", not value
        yield "as a string", json.dumps(value)
    elif isinstance(value, int):
        yield "+1", value + 1
        yield "-1", value - 1
        yield "+0.5", value + 0.5
        yield "as a string", str(value)
    elif isinstance(value, str):
        flipped = _flip_hex(value)
        if flipped is not None:
            yield "a hex digit flipped", flipped
        yield "case swapped", value.swapcase()
        yield "a character added", value + "0"
    if value is not None:
        yield "null", None


def mutations(bundle: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """`(description, field, mutated bundle)` of every change to one bundle."""
    for path, value in _leaves(bundle):
        for what, new in _changes(value):
            yield what, field_name(path), _set(bundle, path, new)
        if not isinstance(path[-1], int):
            yield "removed", field_name(path), _set(bundle, path, None, remove=True)
    for path, container in _containers(bundle):
        if isinstance(container, dict):
            extra = (*path, "extra")
            yield "an extra field", field_name(extra), _set(bundle, extra, 1)
        elif container and all(isinstance(h, str) and len(h) == 64 for h in container):
            name = field_name(path)
            yield "a hash dropped", name, _set(bundle, path, container[:-1])
            yield "a hash duplicated", name, _set(bundle, path, [*container, container[-1]])
            if len(container) > 1:
                swapped = [container[1], container[0], *container[2:]]
                yield "two hashes swapped", name, _set(bundle, path, swapped)


def splices(
    bundle: dict[str, Any], others: list[dict[str, Any]]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each part of `bundle` replaced by the same part of another bundle."""
    for other in others:
        for part in PARTS:
            if other.get(part) != bundle.get(part):
                spliced = _set(bundle, (part,), copy.deepcopy(other[part]))
                yield f"{part} spliced from event {other['leaf_index']}", part, spliced


def tamper_cases(
    bundle: dict[str, Any], others: list[dict[str, Any]]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every mutation and splice, each once (cases that change nothing are left out)."""
    seen = {json.dumps(bundle, sort_keys=True)}
    for what, field, changed in (*mutations(bundle), *splices(bundle, others)):
        key = json.dumps(changed, sort_keys=True)
        if key not in seen:
            seen.add(key)
            yield f"{field}: {what}", field, changed


def covered(field: str, fields: tuple[str, ...]) -> bool:
    """True when a failing check that covers `fields` names `field` (or a part around it)."""
    for name in fields:
        if name in ("", field) or field.startswith((name + ".", name + "[")):
            return True
        if name.startswith((field + ".", field + "[")):
            return True
    return False
