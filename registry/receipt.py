"""What an accepted request gives back; shared by the ledger and its HTTP client (which must
not import the ledger itself, nor its storage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Effects = dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    """What an accepted request did: its event's sequence number, type and effects."""

    seq: int
    event_type: str
    effects: Effects
