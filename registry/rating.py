"""An account's low-carbon credit rating, read from the registry's tables by index.

The formula is the light verifier's (`carbon_verifier.rating`), so that a bank recomputes
the same score from the public log's events. The registry reads the same facts from its
tables instead of the events: the account's issued claims (their grams are final once
issued) with the times of the runs that issued them and of their reversals, and its
retirements, all before the tree size rated. tests/test_rating.py checks that both agree.
"""

from __future__ import annotations

from typing import Any

from carbon_verifier.rating import IssuedClaim, Retired, rate_facts
from registry.storage import Store


def account_rating(store: Store, account: str, size: int) -> dict[str, Any]:
    """The rating of `account` from the log's first `size` events (size >= 1)."""
    as_of = store.event_time(size - 1)
    if as_of is None:
        raise ValueError(f"the log holds fewer than {size} events")
    claims, retirements = store.rating_facts(account, size)
    rating = rate_facts(
        account,
        [IssuedClaim(*claim) for claim in claims],
        [Retired(*retired) for retired in retirements],
        as_of,
    )
    rating["treeSize"] = size
    return rating
