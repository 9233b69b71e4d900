"""Verifier attestations: a signed verdict over a set of pending claims.

A verifier (an account granted the `verifier` role) reviews pending claims (it can recompute
each one from its record, the methodology's code and hash, and the raw evidence where the
platform sent it) and signs `AttestClaims` over the sorted claim ids: approve, or reject
with a reason. The attestation is one event. It is all or nothing: every claim must exist
and be pending, and a verifier may not attest claims that it submitted itself as a
platform. Only approved claims are ever issued.

Daily caps count only claims that are not rejected: a rejection gives its grams back to
the account's day under that methodology, and the day is decided again in the same event,
first decided first served (`seq`, then record index) — pending claims the cap had clipped
get the grams their record earns, up to the cap, then records refused for the cap become
claims (`C<seq>-<index>`, as if accepted at first) unless an overlapping claim of the same
kind exists by now. Claims already approved or issued are left as they are (conservative).

A rejected claim of a committed batch (`committed`) gives its grams back to its group's day
in the private index, which holds its day; no other record of that day is decided again,
since the log holds no record to decide from (conservative: a day may end under its cap).
"""

from __future__ import annotations

from typing import Any

from registry.canonical import from_canonical
from registry.errors import (
    AttestationExistsError,
    ClaimStatusError,
    NotAuthorisedError,
    UnknownClaimError,
)
from registry.methodologies import CATALOGUE, MAX_DURATION_S
from registry.mrv.ingest import claim_row, class_of, cst_day
from registry.storage import Store

Effects = dict[str, Any]


def assess_attestation(store: Store, request: dict[str, Any], signer: str) -> Effects:
    """Raise unless every claim can take the verdict; the effects are the new status."""
    if store.attestation_exists(signer, request["attestationId"]):
        raise AttestationExistsError(
            f"{signer} already made attestation {request['attestationId']!r}"
        )
    states = store.claim_states(request["claims"])
    for claim in request["claims"]:
        state = states.get(claim)
        if state is None:
            raise UnknownClaimError(claim)
        status, platform = state
        if status != "pending":
            raise ClaimStatusError(claim, status, "pending")
        if platform == signer:
            raise NotAuthorisedError(f"{signer} submitted claim {claim}: it cannot attest it")
    if request["approve"]:
        return {"status": "approved", "claims": len(request["claims"])}
    effects: Effects = {"status": "rejected", "claims": len(request["claims"])}
    recredited = _decide_days_again(store, request["claims"])
    if recredited:  # absent otherwise, so attestations logged before this rule replay alike
        effects["recredited"] = recredited
    return effects


def _decide_days_again(store: Store, rejected: list[str]) -> list[dict[str, Any]]:
    """`[{"claim", "grams"}]`: grams added to clipped claims, or records made claims, on the
    days the rejected claims leave room on."""
    days: dict[tuple[str, str, str], int] = {}
    for claim_id in rejected:
        claim = store.claim(claim_id)
        assert claim is not None  # checked above
        if not claim["day"]:
            continue  # a committed claim: its day is private, see _apply_days_again
        key = (claim["account"], claim["methodology"], claim["day"])
        days[key] = days.get(key, 0) + claim["grams"]
    recredited: list[dict[str, Any]] = []
    gone = set(rejected)
    for (account, methodology_id, day), freed in sorted(days.items()):
        claims, refused = store.day_claims(account, methodology_id, day)
        counted = sum(c["grams"] for c in claims if c["status"] != "rejected")
        cap = _cap(claims[0])
        room = cap - (counted - freed)
        candidates = sorted(
            [(c["seq"], c["idx"], c) for c in claims
             if c["status"] == "pending" and c["claim_id"] not in gone]
            + [(r["seq"], r["idx"], r) for r in refused],
            key=lambda item: (item[0], item[1]),
        )  # fmt: skip
        for seq, index, row in candidates:
            if room <= 0:
                break
            record = _record(store, seq, index)
            grams = min(_earned(record) - row.get("grams", 0), room)
            if grams <= 0:
                continue
            if "claim_id" in row:
                recredited.append({"claim": row["claim_id"], "grams": grams})
            else:
                probe = [(index, account, CATALOGUE[(record["methodology"], record["version"])]
                          .family, record["start"], record["end"])]  # fmt: skip
                if store.overlapping_claims(probe, MAX_DURATION_S):
                    continue
                recredited.append({"claim": f"C{seq}-{index}", "grams": grams, "readmitted": True})
            room -= grams
    return recredited


def _cap(claim: dict[str, Any]) -> int:
    return CATALOGUE[(claim["methodology"], claim["version"])].cap_per_account_day_g


def _batch(store: Store, seq: int) -> dict[str, Any]:
    """The SubmitActivities request logged as event `seq`."""
    body = store.event_body(seq)
    assert body is not None  # claims and refusals come from logged batches
    request: dict[str, Any] = from_canonical(body)["payload"]["request"]
    return request


def _record(store: Store, seq: int, index: int) -> dict[str, Any]:
    record: dict[str, Any] = _batch(store, seq)["records"][index]
    return record


def _earned(record: dict[str, Any]) -> int:
    """The grams an activity record earns before the daily cap."""
    methodology = CATALOGUE[(record["methodology"], record["version"])]
    verdict = methodology.assess(record["quantities"], record["start"], record["end"])
    return verdict.grams if verdict.reason is None else 0


def apply_attestation(
    store: Store, request: dict[str, Any], effects: Effects, signer: str, seq: int
) -> None:
    store.set_verdicts(request["claims"], effects["status"], seq, request["reason"])
    if effects["status"] == "rejected":
        _apply_days_again(store, request["claims"], effects.get("recredited", []))
    store.insert_attestation(
        (
            seq,
            request["attestationId"],
            signer,
            int(request["approve"]),
            request["reason"],
            len(request["claims"]),
            request["claimsHash"],
        )
    )


def _apply_days_again(store: Store, rejected: list[str], recredited: list[dict[str, Any]]) -> None:
    """Rejected grams leave the daily totals; recredited ones join them."""
    totals: list[tuple[str, str, str, int]] = []
    uncounted = []
    for claim_id in rejected:
        claim = store.claim(claim_id)
        assert claim is not None
        if not claim["day"]:
            uncounted.append(claim_id)
            continue
        totals.append((claim["account"], claim["methodology"], claim["day"], -claim["grams"]))
    topped_up, readmitted, refusals = [], [], []
    for item in recredited:
        if item.get("readmitted"):
            seq, index = (int(part) for part in item["claim"][1:].split("-"))
            batch = _batch(store, seq)
            record, platform = batch["records"][index], batch["platform"]
            methodology = CATALOGUE[(record["methodology"], record["version"])]
            readmitted.append(
                claim_row(
                    store,
                    item["claim"],
                    (seq, index, platform),
                    record,
                    methodology,
                    methodology.hash(),
                    class_of(methodology, record["start"]),
                    item["grams"],
                )  # fmt: skip
            )
            refusals.append((seq, index))
            day = cst_day(record["start"])
            totals.append((record["account"], methodology.id, day, item["grams"]))
        else:
            claim = store.claim(item["claim"])
            assert claim is not None
            topped_up.append((item["claim"], item["grams"]))
            totals.append((claim["account"], claim["methodology"], claim["day"], item["grams"]))
    store.uncount_claims(uncounted)
    store.add_claim_grams(topped_up)
    store.delete_rejections(refusals)
    store.insert_claims(readmitted)
    store.add_daily_totals(totals)
