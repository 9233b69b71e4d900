"""The methodology library: every version that claims may cite, by id and version.

A methodology version is never edited once claims cite it: its hash (code + parameters)
is in those claims, and `replay` recomputes every claim. A change is a new module with a
new version, added to `CATALOGUE` beside the old one.
"""

from __future__ import annotations

from registry.methodologies import (
    bj_cycle_walk,
    bj_metro,
    bj_metro_v2,
    cq_ebike_share,
    nev_passenger,
    nev_passenger_v2,
    recycling,
    recycling_v2,
    secondhand_reuse,
    secondhand_reuse_v2,
    sz_home_electricity,
    sz_home_electricity_v2,
    sz_transit,
)
from registry.methodologies.base import Methodology

CATALOGUE: dict[tuple[str, str], Methodology] = {
    (m.id, m.version): m
    for m in (
        sz_transit.METHODOLOGY,
        bj_metro.METHODOLOGY,
        bj_metro_v2.METHODOLOGY,
        bj_cycle_walk.METHODOLOGY,
        cq_ebike_share.METHODOLOGY,
        nev_passenger.METHODOLOGY,
        nev_passenger_v2.METHODOLOGY,
        sz_home_electricity.METHODOLOGY,
        sz_home_electricity_v2.METHODOLOGY,
        secondhand_reuse.METHODOLOGY,
        secondhand_reuse_v2.METHODOLOGY,
        recycling.METHODOLOGY,
        recycling_v2.METHODOLOGY,
    )
}

# The longest activity any methodology accepts: bounds the search for overlapping claims.
MAX_DURATION_S = max(m.max_duration_s for m in CATALOGUE.values())


def lookup(methodology_id: str, version: str) -> Methodology | None:
    return CATALOGUE.get((methodology_id, version))
