"""Rules for new requests that the log's history is not re-judged by (not hashed into any
methodology): which methodology versions take new claims, and the buffer floors.

A version that overstated is superseded by its correction: claims already made under it
keep it (they replay as decided), but a platform's new batch may not cite it. An issuance
run must put at least the floor of every methodology it issues into the buffer pool. Both
checks are made when a request arrives (`Registry`), not when the log is replayed, so the
history stays verifiable as it was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from registry.errors import BufferBelowFloorError, MethodologySupersededError
from registry.methodologies import CATALOGUE
from registry.methodologies.intake import RULES

# (id, superseded version) -> (the version that replaces it, why)
SUPERSEDED: dict[tuple[str, str], tuple[str, str]] = {
    ("BJ_METRO", "1.0"): ("2.0", "it assumed every ride replaced a car (about 4.5x too much)"),
    ("NEV_PASSENGER", "1.0"): ("2.0", "its grid factor was below those that apply"),
    ("SECONDHAND_REUSE", "1.0"): ("2.0", "it applied no substitution rate"),
    ("RECYCLING", "1.0"): ("2.0", "its factors came from the press"),
    ("SZ_HOME_ELECTRICITY", "1.0"): (
        "2.0",
        "its platform-reported 7-day baseline credited day-to-day noise",
    ),
}


def current_version(methodology_id: str) -> str:
    """The version new claims under `methodology_id` cite."""
    versions = [v for (i, v) in CATALOGUE if i == methodology_id and (i, v) not in SUPERSEDED]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def refuse_superseded(records: Iterable[Mapping[str, Any]]) -> None:
    """Raise when a record of a new batch cites a superseded methodology version."""
    for index, record in enumerate(records):
        replaced = SUPERSEDED.get((record["methodology"], record["version"]))
        if replaced is not None:
            raise MethodologySupersededError(
                f"records[{index}]: {record['methodology']} {record['version']} is"
                f" superseded by {replaced[0]} ({replaced[1]}); cite {replaced[0]}"
            )


def buffer_floor(methodology_ids: Iterable[str]) -> tuple[int, str | None]:
    """The highest buffer floor (basis points) among these methodologies, and whose."""
    floors = [(RULES[i].buffer_floor_basis_points, i) for i in methodology_ids if i in RULES]
    return max(floors, default=(0, None))


def refuse_below_floor(basis_points: int, methodology_ids: Iterable[str]) -> None:
    """Raise when an issuance run's buffer share is below a floor of what it issues."""
    floor, methodology = buffer_floor(methodology_ids)
    if basis_points < floor:
        raise BufferBelowFloorError(
            f"bufferBasisPoints {basis_points} is below {methodology}'s floor of {floor}"
        )
