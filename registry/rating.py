"""An account's low-carbon credit rating, read from its own events by index.

The formula is the light verifier's (`carbon_verifier.rating`), so that a bank recomputes
the same score from the public log; the registry only saves it the full scan, reading the
events that touch the account (its claims' and retirements' events) and the time of the
last event of the prefix rated.
"""

from __future__ import annotations

from typing import Any

from carbon_verifier.rating import rate
from registry.canonical import from_canonical
from registry.storage import Store


def account_rating(store: Store, account: str, size: int) -> dict[str, Any]:
    """The rating of `account` from the log's first `size` events (size >= 1)."""
    as_of = store.event_time(size - 1)
    if as_of is None:
        raise ValueError(f"the log holds fewer than {size} events")
    events = [from_canonical(body) for _, _, _, body in store.rating_event_rows(account, size)]
    rating = rate(account, events, as_of)
    rating["treeSize"] = size
    return rating
