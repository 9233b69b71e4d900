"""Verifier attestations: a signed verdict over a set of pending claims.

A verifier (an account granted the `verifier` role) reviews pending claims (it can recompute
each one from its record, the methodology's code and hash, and the raw evidence where the
platform sent it) and signs `AttestClaims` over the sorted claim ids: approve, or reject
with a reason. The attestation is one event. It is all or nothing: every claim must exist
and be pending, and a verifier may not attest claims that it submitted itself as a
platform. Only approved claims are ever issued.
"""

from __future__ import annotations

from typing import Any

from registry.errors import (
    AttestationExistsError,
    ClaimStatusError,
    NotAuthorisedError,
    UnknownClaimError,
)
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
    status = "approved" if request["approve"] else "rejected"
    return {"status": status, "claims": len(request["claims"])}


def apply_attestation(
    store: Store, request: dict[str, Any], effects: Effects, signer: str, seq: int
) -> None:
    store.set_verdicts(request["claims"], effects["status"], seq, request["reason"])
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
