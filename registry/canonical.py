"""Canonical bytes of events (RFC 8785), as the light verifier computes them
(`carbon_verifier.canonical`), with values outside the subset refused as ValidationError."""

from __future__ import annotations

from typing import Any

from carbon_verifier import canonical
from carbon_verifier.canonical import MAX_SAFE_INTEGER, from_canonical
from registry.errors import ValidationError

__all__ = ["MAX_SAFE_INTEGER", "canonical_bytes", "from_canonical"]


def canonical_bytes(value: Any, *, checked: bool = True) -> bytes:
    """RFC 8785 bytes of `value`; `checked=False` skips the walk over a value the ledger
    built itself from normalised requests."""
    try:
        return canonical.canonical_bytes(value, checked=checked)
    except canonical.CanonicalError as exc:
        raise ValidationError(str(exc)) from exc
