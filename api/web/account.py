"""My carbon account (/me): the page, and the JSON it loads with the person's session.

The page itself holds nothing personal: it signs in with the wallet (EIP-4361, `POST
/v1/sessions`), keeps the token in the tab's sessionStorage and fetches `/me/data` with
`Authorization: Bearer`. sessionStorage rather than a cookie: the token then never travels
on its own with a request another site causes (no CSRF surface), and it ends with the tab;
the price is that a script injected into the page could read it, which the templates'
escaping and the pages' Content-Security-Policy (this server's scripts only, no inline
script: `render.CSP`) guard against.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServiceDep, SignedInDep
from api.errors import ApiError
from api.web import i18n
from api.web.footprint import QUESTIONS
from api.web.render import page
from registry.methodologies import CATALOGUE
from registry.methodologies.base import Methodology
from registry.methodologies.intake import RULES
from registry.units import format_grams

router = APIRouter(include_in_schema=False)

CLAIMS_SHOWN = 200
# Quantities whose name ends so are shown in thousands, their factor per thousand: a factor
# in mg per metre is the same number in g per km.
SCALED = {"_m": ("km", "g/km"), "_wh": ("kWh", "g/kWh"), "_g": ("kg", "g/kg")}


@router.get("/me")
def me_page(request: Request, service: ServiceDep) -> Response:
    lang = i18n.language(request)
    return page(
        request,
        "me.html",
        chain_id=service.domain.chain_id,
        questions=QUESTIONS,
        rating_labels=i18n.rating_labels(lang),
        refusals=i18n.refusals(lang),
    )


def _decimal(value: Fraction) -> str:
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def computation(
    md: Methodology,
    quantities: dict[str, int],
    grams: int,
    capped: str | None,
    t: dict[str, str],
) -> str:
    """The methodology's formula applied to one activity, in words: `12.3 km metro × 46.7
    g/km = 574 g − 5% leakage = 545 g` (terms with a zero quantity left out; the caps and
    the registry's leakage deduction named, in the labels `t`'s language, when they apply;
    factor names stay the methodology's)."""
    parts: list[str] = []
    for term in md.terms:
        amount = quantities.get(term.quantity, 0)
        if amount == 0:
            continue
        factor = md.factors[term.factor].mg_per_unit
        unit, per = next(
            ((u, p) for suffix, (u, p) in SCALED.items() if term.quantity.endswith(suffix)),
            (term.quantity, "mg/unit"),
        )
        shown = _decimal(Fraction(amount, 1000)) if per != "mg/unit" else str(amount)
        sign = "− " if term.sign < 0 else ("+ " if parts else "")
        parts.append(f"{sign}{shown} {unit} {term.factor} × {_decimal(factor)} {per}")
    formula = md.grams(quantities)
    text = " ".join(parts) + f" = {formula:,} g"
    if capped == "activity":
        text += f" → {md.cap_per_activity_g:,} g ({t['cap_per_activity']})"
    rule = RULES.get(md.id)
    if rule is not None and rule.leakage_basis_points:
        text += f" − {_decimal(Fraction(rule.leakage_basis_points, 100))}% {t['leakage']}"
    if capped == "daily":
        text += f" ({t['daily_cap']})"
    return text if text.endswith(f" = {grams:,} g") else text + f" = {grams:,} g"


def _month(activity: dict[str, Any] | None, claim: dict[str, Any]) -> str:
    if claim.get("day"):
        return str(claim["day"])[:7]
    if activity is not None:
        return datetime.fromtimestamp(activity["start"], UTC).strftime("%Y-%m")
    return "?"


@router.get("/me/data")
def me_data(request: Request, service: ServiceDep, caller: SignedInDep) -> dict[str, Any]:
    """Everything /me shows, for the signed-in account only (bearer token); the words of
    each computation in the page's language (its lang cookie or Accept-Language)."""
    if caller.account is None:
        raise ApiError("session_required", "/me/data is the signed-in account's: sign in")
    t = i18n.labels(i18n.language(request))
    reader = service.reader()
    store = reader.store
    address = caller.account
    account = store.account(address)
    if account is None:
        raise ApiError("not_found", f"no account {address}")
    activities = reader.registry.activities(address)
    by_claim = {a["outcome"]["claim"]: a for a in activities if "claim" in a.get("outcome", {})}
    rows = [c for _, c in store.claims_page(-1, 100_000, account=address)]
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_platform: dict[str, int] = defaultdict(int)
    by_platform_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_methodology: dict[str, int] = defaultdict(int)
    for claim in rows:
        if claim["status"] in ("rejected", "reversed"):
            continue
        month = _month(by_claim.get(claim["claim_id"]), claim)
        by_month[month][claim["methodology"]] += claim["grams"]
        by_platform[claim["platform"]] += claim["grams"]
        by_platform_month[month][claim["platform"]] += claim["grams"]
        by_methodology[claim["methodology"]] += claim["grams"]
    verified = sum(c["grams"] for c in rows if c["status"] == "issued")
    claims = []
    for claim in rows[-CLAIMS_SHOWN:][::-1]:
        activity = by_claim.get(claim["claim_id"])
        md = CATALOGUE.get((claim["methodology"], claim["version"]))
        words = None
        if activity is not None and md is not None:
            outcome = activity["outcome"]
            words = computation(
                md, activity["quantities"], claim["grams"], outcome.get("capped"), t
            )
        claims.append({
            "claim_id": claim["claim_id"], "methodology": claim["methodology"],
            "version": claim["version"], "platform": claim["platform"], "grams": claim["grams"],
            "status": claim["status"], "verdict": claim["verdict"], "computation": words,
            "month": _month(activity, claim),
        })  # fmt: skip
    refused = [
        {"activity_id": a["activity_id"], "methodology": a["methodology"],
         "reason": a["outcome"].get("reason"), "detail": a["outcome"].get("detail")}
        for a in activities if "reason" in a.get("outcome", {})
    ][-CLAIMS_SHOWN:]  # fmt: skip
    household = None
    pooled_of = address if account["kind"] == "household" else account["household"]
    if pooled_of is not None:
        members = store.members_of([pooled_of])[pooled_of]
        pooled: dict[str, int] = defaultdict(int)
        for owner in [pooled_of, *members]:
            for balance in store.balances(owner):
                pooled[balance["asset_class"]] += balance["active"]
        # the household's total only: a member may not read another member's claims
        claimed = store.household_claimed(pooled_of)
        household = {
            "address": pooled_of,
            # A member learns how many they are, not who the others are (DATA-PROTECTION:
            # a link is read by the person, the household and the operator).
            "members": members if pooled_of == address else [address],
            "member_count": len(members),
            "active": dict(pooled),
            "claimed": claimed,
        }
    return {
        "account": address,
        "kind": account["kind"],
        "balances": store.balances(address),
        "total_claimed": sum(by_methodology.values()),
        "total_claimed_text": format_grams(sum(by_methodology.values())),
        "total_verified": verified,
        "total_verified_text": format_grams(verified),
        "months": sorted(by_month),
        "methodologies": sorted(by_methodology),
        "series": {m: [by_month[k].get(m, 0) for k in sorted(by_month)] for m in by_methodology},
        "by_platform": dict(by_platform),
        "platforms": sorted(by_platform),
        "platform_series": {
            p: [by_platform_month[k].get(p, 0) for k in sorted(by_month)] for p in by_platform
        },
        "claims": claims,
        "refused": refused,
        "retirements": [
            {k: r[k] for k in ("certificate_id", "asset_class", "amount", "reason", "time")}
            for r in store.retirements_page(-1, CLAIMS_SHOWN, owner=address)
        ],
        "household": household,
    }
