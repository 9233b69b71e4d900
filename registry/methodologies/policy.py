"""Which methodology versions take new claims (not hashed into any methodology).

A version that overstated is superseded by its correction: claims already made under it
keep it (they replay as decided), but a platform's new batch may not cite it. The check
is made when a batch arrives (`Registry.authorise`), not when the log is replayed, so the
history stays verifiable as it was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from registry.errors import MethodologySupersededError
from registry.methodologies import CATALOGUE

# (id, superseded version) -> (the version that replaces it, why)
SUPERSEDED: dict[tuple[str, str], tuple[str, str]] = {
    ("BJ_METRO", "1.0"): ("2.0", "it assumed every ride replaced a car (about 4.5x too much)"),
    ("NEV_PASSENGER", "1.0"): ("2.0", "its grid factor was below those that apply"),
    ("SECONDHAND_REUSE", "1.0"): ("2.0", "it applied no substitution rate"),
    ("RECYCLING", "1.0"): ("2.0", "its factors came from the press"),
}


def current_version(methodology_id: str) -> str:
    """The version new claims under `methodology_id` cite."""
    versions = [v for (i, v) in CATALOGUE if i == methodology_id and (i, v) not in SUPERSEDED]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def refuse_superseded(records: Iterable[Mapping[str, Any]]) -> None:
    """Raise when a record of a new batch cites a superseded methodology version."""
    for record in records:
        replaced = SUPERSEDED.get((record["methodology"], record["version"]))
        if replaced is not None:
            raise MethodologySupersededError(
                f"record {record['id']}: {record['methodology']} {record['version']} is"
                f" superseded by {replaced[0]} ({replaced[1]}); cite {replaced[0]}"
            )
