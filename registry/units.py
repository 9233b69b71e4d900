"""Parsing and display of amounts: integer grams of CO2e, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from registry.errors import ValidationError

GRAMS_PER_UNIT = {"g": 1, "kg": 1_000, "t": 1_000_000}


def parse_grams(text: str) -> int:
    """'1500', '1500g', '2.5kg' or '0.75t' -> grams; a fraction of a gram is refused."""
    raw = text.strip().lower().replace("_", "")
    unit = "g"
    for suffix in ("kg", "g", "t"):
        if raw.endswith(suffix):
            unit, raw = suffix, raw[: -len(suffix)].strip()
            break
    try:
        value = Decimal(raw) * GRAMS_PER_UNIT[unit]
    except InvalidOperation as exc:
        raise ValidationError(f"{text!r} is not an amount (examples: 1500, 2.5kg, 0.75t)") from exc
    if value != value.to_integral_value():
        raise ValidationError(f"{text!r} is not a whole number of grams")
    return int(value)


def format_grams(grams: int) -> str:
    """12345678 -> '12,345,678 g (12.345678 t)'."""
    tonnes = Decimal(grams) / GRAMS_PER_UNIT["t"]
    return f"{grams:,} g ({tonnes.normalize():f} t)" if grams >= 1_000_000 else f"{grams:,} g"
