"""What a 碳普惠 methodology is: versioned parameters and one pure, exact formula.

Every methodology here has the form of the published schemes, `ER = BE - PE`
(reduction = baseline emissions - project emissions), with each side a sum of activity
quantities times an emission factor. So a methodology is declared, not programmed:

- `quantities`: the integer activity fields a platform reports (metres, watt-hours, items,
  grams), all required, zero allowed;
- `factors`: exact rationals in **milligrams CO2e per unit**, each with its source;
- `terms`: which factor multiplies which quantity, with sign +1 (baseline) or -1 (project);
- `rules`: eligibility (`not_eligible`) and plausibility (`implausible`) checks;
- caps per activity and per account per day, in whole grams.

The formula is `grams = floor(sum(sign * quantity * factor) / 1000)`: exact rational
arithmetic (done in integers over the factors' common denominator, which equals the
rational result; `reduction_mg` is the rational reference), rounded once, **down**, to a
whole gram (never over-credit). A result under 1 g earns nothing (`no_reduction`). The
per-activity cap then clips the grams; the per-account daily cap is applied by the
ingestion pipeline, which sees the account's history.

The methodology hash is SHA-256 over the RFC 8785 bytes of `{"code": {...}, "parameters":
{...}}`, where code holds the source text of this module and of the methodology's own
module, and parameters are `Methodology.parameters()`. It is recorded in every claim: a
verifier holding the same code recomputes every claim, and a changed factor or formula
can never hide under an old version number.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import NamedTuple, Protocol

from registry.canonical import canonical_bytes

MG_PER_G = 1000

NOT_ELIGIBLE = "not_eligible"
IMPLAUSIBLE = "implausible"
NO_REDUCTION = "no_reduction"
INVALID_QUANTITIES = "invalid_quantities"


def fraction_text(value: Fraction) -> str:
    """`467/10`, or `43` for a whole number: exact, and readable in the parameters."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


@dataclass(frozen=True)
class Factor:
    """An emission factor: exact milligrams of CO2e per unit of one quantity."""

    mg_per_unit: Fraction
    unit: str
    source: str

    def canonical(self) -> dict[str, str]:
        return {
            "mg_per_unit": fraction_text(self.mg_per_unit),
            "unit": self.unit,
            "source": self.source,
        }


@dataclass(frozen=True)
class Term:
    """`sign * quantity * factor`: +1 for baseline emissions, -1 for project emissions."""

    quantity: str
    factor: str
    sign: int = 1

    def canonical(self) -> dict[str, str | int]:
        return {"quantity": self.quantity, "factor": self.factor, "sign": self.sign}


class Rule(Protocol):
    """A check on one activity; `violation` returns a sentence, or None when it passes."""

    @property
    def reason(self) -> str: ...

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None: ...

    def canonical(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class AtLeast:
    """The sum of `quantities` must be at least `minimum` (e.g. a minimum trip distance)."""

    quantities: tuple[str, ...]
    minimum: int
    unit: str
    reason: str = NOT_ELIGIBLE

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None:
        total = 0
        for name in self.quantities:  # plain loops: these run once per record ingested
            total += quantities[name]
        if total >= self.minimum:
            return None
        return (
            f"{'+'.join(self.quantities)} = {total} {self.unit}, below the minimum {self.minimum}"
        )

    def canonical(self) -> dict[str, object]:
        return {
            "rule": "at_least",
            "quantities": list(self.quantities),
            "minimum": self.minimum,
            "unit": self.unit,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AtMost:
    """The sum of `quantities` must not exceed `maximum` (e.g. items in one order)."""

    quantities: tuple[str, ...]
    maximum: int
    unit: str
    reason: str = IMPLAUSIBLE

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None:
        total = 0
        for name in self.quantities:  # plain loops: these run once per record ingested
            total += quantities[name]
        if total <= self.maximum:
            return None
        return (
            f"{'+'.join(self.quantities)} = {total} {self.unit}, above the maximum {self.maximum}"
        )

    def canonical(self) -> dict[str, object]:
        return {
            "rule": "at_most",
            "quantities": list(self.quantities),
            "maximum": self.maximum,
            "unit": self.unit,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Equals:
    """A flag quantity must have this value (e.g. navigation was on: `navigated` = 1)."""

    quantity: str
    value: int
    meaning: str
    reason: str = NOT_ELIGIBLE

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None:
        if quantities[self.quantity] == self.value:
            return None
        return f"{self.quantity} = {quantities[self.quantity]}: {self.meaning}"

    def canonical(self) -> dict[str, object]:
        return {
            "rule": "equals",
            "quantity": self.quantity,
            "value": self.value,
            "meaning": self.meaning,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class MaxSpeed:
    """Distances (metres) could not have been covered faster than these average speeds.

    With several modes in one activity the time each needs at its top speed adds up:
    `sum(distance_i / speed_i) <= duration`. Checked in integers: with `P` the least common
    multiple of the speeds, `sum(d_i * 3600 * (P / v_i)) <= duration_s * 1000 * P`.
    """

    limits_km_per_h: tuple[tuple[str, int], ...]
    reason: str = IMPLAUSIBLE
    _multiple: int = field(init=False, repr=False, compare=False)
    _weights: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        multiple = lcm(*(v for _, v in self.limits_km_per_h))
        object.__setattr__(self, "_multiple", multiple)
        weights = tuple((q, 3600 * (multiple // v)) for q, v in self.limits_km_per_h)
        object.__setattr__(self, "_weights", weights)

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None:
        needed = 0
        for quantity, weight in self._weights:
            needed += quantities[quantity] * weight
        if needed <= duration_s * 1000 * self._multiple:
            return None
        limits = ", ".join(f"{q} at most {v} km/h" for q, v in self.limits_km_per_h)
        return f"too fast: {duration_s} s is too short for the distance ({limits})"

    def canonical(self) -> dict[str, object]:
        return {
            "rule": "max_speed",
            "km_per_h": {q: v for q, v in self.limits_km_per_h},
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RatioWithin:
    """`low <= numerator / denominator <= high` (e.g. an EV's watt-hours per metre)."""

    numerator: str
    denominator: str
    low: Fraction
    high: Fraction
    meaning: str
    reason: str = IMPLAUSIBLE

    def violation(self, quantities: Mapping[str, int], duration_s: int) -> str | None:
        num, den = quantities[self.numerator], quantities[self.denominator]
        if den > 0 and self.low * den <= num <= self.high * den:
            return None
        return f"{self.numerator}/{self.denominator} = {num}/{den} outside {self.meaning}"

    def canonical(self) -> dict[str, object]:
        return {
            "rule": "ratio_within",
            "numerator": self.numerator,
            "denominator": self.denominator,
            "low": fraction_text(self.low),
            "high": fraction_text(self.high),
            "meaning": self.meaning,
            "reason": self.reason,
        }


class Assessment(NamedTuple):
    """The verdict on one activity: whole grams earned, or a rejection reason and detail."""

    grams: int = 0
    capped: bool = False
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Methodology:
    """One version of one methodology. Instances are immutable; a change is a new version."""

    id: str
    version: str
    family: str
    region: str
    title_zh: str
    title_en: str
    source: str
    quantities: tuple[tuple[str, str], ...]
    factors: Mapping[str, Factor]
    terms: tuple[Term, ...]
    rules: tuple[Rule, ...]
    min_duration_s: int
    max_duration_s: int
    cap_per_activity_g: int
    cap_per_account_day_g: int
    notes: str
    module: str
    _denominator: int = field(init=False, repr=False, compare=False)
    _coefficients: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)
    _hash: str = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = frozenset(q for q, _ in self.quantities)
        object.__setattr__(self, "_names", names)
        for term in self.terms:
            if term.quantity not in names or term.factor not in self.factors:
                raise ValueError(f"{self.id}: term {term} names an undeclared quantity or factor")
        # One common denominator turns the rational formula into integer arithmetic (fast,
        # and exactly equal to `reduction_mg`, which tests check).
        denominator = lcm(*(self.factors[t.factor].mg_per_unit.denominator for t in self.terms))
        coefficients = tuple(
            (t.quantity, int(t.sign * self.factors[t.factor].mg_per_unit * denominator))
            for t in self.terms
        )
        object.__setattr__(self, "_denominator", denominator * MG_PER_G)
        object.__setattr__(self, "_coefficients", coefficients)
        object.__setattr__(self, "_hash", _compute_hash(self))

    @property
    def key(self) -> str:
        """`<id>@<version>`, as claims and events name it."""
        return f"{self.id}@{self.version}"

    @property
    def quantity_names(self) -> frozenset[str]:
        return self._names

    def reduction_mg(self, quantities: Mapping[str, int]) -> Fraction:
        """The exact reduction `BE - PE` in milligrams, before rounding and caps."""
        return sum(
            (
                t.sign * quantities[t.quantity] * self.factors[t.factor].mg_per_unit
                for t in self.terms
            ),
            Fraction(0),
        )

    def grams(self, quantities: Mapping[str, int]) -> int:
        """`floor(reduction_mg / 1000)`, and 0 for no reduction; caps are not applied."""
        total = 0
        for quantity, coefficient in self._coefficients:
            total += quantities[quantity] * coefficient
        return max(0, total // self._denominator)

    def assess(self, quantities: Mapping[str, int], start: int, end: int) -> Assessment:
        """Eligibility, plausibility, formula and per-activity cap for one activity.

        Requires `quantities` to hold exactly the declared quantity names (the pipeline
        rejects other records as `invalid_quantities` before calling this).
        """
        duration = end - start
        if not self.min_duration_s <= duration <= self.max_duration_s:
            return Assessment(
                reason=IMPLAUSIBLE,
                detail=f"lasted {duration} s; {self.key} takes {self.min_duration_s}"
                f"-{self.max_duration_s} s",
            )
        for rule in self.rules:
            problem = rule.violation(quantities, duration)
            if problem is not None:
                return Assessment(reason=rule.reason, detail=problem)
        grams = self.grams(quantities)
        if grams == 0:
            return Assessment(reason=NO_REDUCTION, detail="the activity earns less than 1 g")
        if grams > self.cap_per_activity_g:
            return Assessment(grams=self.cap_per_activity_g, capped=True)
        return Assessment(grams=grams)

    def parameters(self) -> dict[str, object]:
        """Everything that defines this version, in a JSON form hashed into `hash`."""
        return {
            "id": self.id,
            "version": self.version,
            "family": self.family,
            "region": self.region,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "source": self.source,
            "quantities": {q: unit for q, unit in self.quantities},
            "factors": {name: f.canonical() for name, f in self.factors.items()},
            "terms": [t.canonical() for t in self.terms],
            "rules": [r.canonical() for r in self.rules],
            "rounding": "floor(sum(sign * quantity * mg_per_unit) / 1000) g, at least 0",
            "min_duration_s": self.min_duration_s,
            "max_duration_s": self.max_duration_s,
            "cap_per_activity_g": self.cap_per_activity_g,
            "cap_per_account_day_g": self.cap_per_account_day_g,
            "notes": self.notes,
        }

    def hash(self) -> str:
        """SHA-256 (hex) over this framework's code, the methodology's code and parameters."""
        return self._hash


@lru_cache(maxsize=64)
def _source(module: str) -> str:
    return inspect.getsource(sys.modules[module])


def _compute_hash(methodology: Methodology) -> str:
    code = {__name__: _source(__name__), methodology.module: _source(methodology.module)}
    body = canonical_bytes({"code": code, "parameters": methodology.parameters()})
    return hashlib.sha256(body).hexdigest()
