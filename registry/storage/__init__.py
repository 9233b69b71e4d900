"""The registry's storage: the only package that knows SQL.

`Store` is the registry database seen by the domain, one class assembled from one module
per concern (events, ledger, MRV, bridge, merchants and communities, read models); `schema` holds every table as
numbered migrations. A `postgresql://` URL instead of a file path keeps the registry in
PostgreSQL (`postgres.py`).
"""

from __future__ import annotations

from registry.storage.activities import ActivityIndex
from registry.storage.base import (
    PRIVATE_TABLES,
    STATE_TABLES,
    STATUSES,
    Holding,
    StoreBase,
    beside,
    display,
    migrate_file,
    registry_exists,
)
from registry.storage.bridge import BridgeTables
from registry.storage.events import EventsTables
from registry.storage.ledger import LedgerTables
from registry.storage.mrv import CLAIM_COLUMNS, NEW_CLAIM_COLUMNS, REJECTION_COLUMNS, MrvTables
from registry.storage.people import PeopleTables
from registry.storage.reads import ReadModels

__all__ = [
    "CLAIM_COLUMNS",
    "NEW_CLAIM_COLUMNS",
    "REJECTION_COLUMNS",
    "PRIVATE_TABLES",
    "STATE_TABLES",
    "STATUSES",
    "Holding",
    "Store",
    "beside",
    "display",
    "migrate_file",
    "registry_exists",
]


class Store(
    EventsTables,
    LedgerTables,
    MrvTables,
    ActivityIndex,
    BridgeTables,
    PeopleTables,
    ReadModels,
    StoreBase,
):
    """One registry database (see `registry.storage.base` for opening and transactions)."""
