"""Activity records and claim ids: the lists attached to ingestion and attestation
requests, checked item by item, and their RFC 8785 bytes and SHA-256 digests."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from registry.canonical import MAX_SAFE_INTEGER, canonical_bytes
from registry.eip712 import checksum_address
from registry.errors import ValidationError
from registry.messages.fields import (
    ADDRESS_PATTERN,
    CLAIM_ID_PATTERN,
    METHODOLOGY_PATTERN,
    VERSION_PATTERN,
    hex32,
    matches,
    ref,
)

_ID_PART = METHODOLOGY_PATTERN
_QUANTITY = r"^[a-z][a-z0-9_]{0,31}$"

MAX_RECORDS = 5_000  # per activity batch: bounds one event's size (about 1.5 MB)
MAX_ATTESTED = 10_000  # claims per attestation, for the same reason
MAX_QUANTITIES = 16
MAX_TIME = 2**40  # Unix seconds, far beyond any activity
RECORD_FIELDS = frozenset(
    ("id", "account", "methodology", "version", "start", "end", "quantities", "evidenceHash")
)


def digest_of(items: list[Any]) -> str:
    """0x SHA-256 of the RFC 8785 bytes of `items` (normalised claim ids, say)."""
    return "0x" + hashlib.sha256(canonical_bytes(items, checked=False)).hexdigest()


def records_digest(records: list[dict[str, Any]]) -> str:
    """0x SHA-256 of the RFC 8785 bytes of normalised activity records (`recordsHash`)."""
    return "0x" + hashlib.sha256(records_bytes(records)).hexdigest()


_last_records: list[tuple[list[dict[str, Any]], bytes]] = []


def records_bytes(records: list[dict[str, Any]]) -> bytes:
    """RFC 8785 bytes of records that `normalise_records` returned, written out directly.

    Every string of a normalised record is drawn from an alphabet that JSON never escapes
    (hex, `A-Z a-z 0-9 . _ : -`), its integers are JSON-safe, and the keys are written in
    RFC 8785 order, so this equals `canonical_bytes(records)` (a property test checks it)
    at a third of the cost. The bytes of the last list are kept (by identity): ingestion
    needs them twice, for `recordsHash` and inside the event.
    """
    if _last_records and _last_records[0][0] is records:
        return _last_records[0][1]
    parts = []
    for r in records:
        q = r["quantities"]
        quantities = ",".join([f'"{name}":{q[name]}' for name in sorted(q)])
        parts.append(
            f'{{"account":"{r["account"]}","end":{r["end"]},"evidenceHash":"{r["evidenceHash"]}",'
            f'"id":"{r["id"]}","methodology":"{r["methodology"]}","quantities":{{{quantities}}},'
            f'"start":{r["start"]},"version":"{r["version"]}"}}'
        )
    data = ("[" + ",".join(parts) + "]").encode("ascii")
    _last_records[:] = [(records, data)]
    return data


@lru_cache(maxsize=1 << 16)
def _checksummed(value: str) -> str | None:
    return checksum_address(value[2:].lower()) if matches(ADDRESS_PATTERN, value) else None


def _is_uint(value: Any, upper: int) -> bool:
    return type(value) is int and 0 <= value <= upper


def _record(value: Any, i: int) -> dict[str, Any]:
    """One activity record, checked field by field; on the hot path of ingestion."""
    where = f"records[{i}]"
    if not isinstance(value, dict) or value.keys() != RECORD_FIELDS:
        raise ValidationError(f"{where} must have exactly the fields {sorted(RECORD_FIELDS)}")
    methodology, version = value["methodology"], value["version"]
    if not isinstance(methodology, str) or not matches(_ID_PART, methodology):
        raise ValidationError(f"{where}.methodology must be 1-40 of A-Z, 0-9, _")
    if not isinstance(version, str) or not matches(VERSION_PATTERN, version):
        raise ValidationError(f"{where}.version must look like 1, 1.0 or 1.0.2")
    start, end = value["start"], value["end"]
    if not _is_uint(start, MAX_TIME) or not _is_uint(end, MAX_TIME):
        raise ValidationError(f"{where}: start and end must be Unix seconds, 0..{MAX_TIME}")
    if end <= start:
        raise ValidationError(f"{where} ends at {end}, not after its start {start}")
    quantities = value["quantities"]
    if not isinstance(quantities, dict) or not 0 < len(quantities) <= MAX_QUANTITIES:
        raise ValidationError(f"{where}.quantities must be an object of 1-{MAX_QUANTITIES} names")
    for name, amount_ in quantities.items():
        if not isinstance(name, str) or not matches(_QUANTITY, name):
            raise ValidationError(f"{where}.quantities: {name!r} is not a lowercase name")
        if not _is_uint(amount_, MAX_SAFE_INTEGER):
            raise ValidationError(f"{where}.quantities.{name} must be an integer >= 0")
    account = value["account"]
    checked = _checksummed(account) if isinstance(account, str) else None
    if checked is None:
        raise ValidationError(f"{where}.account: {account!r} is not a 20-byte hex address")
    return {
        "id": ref(value["id"], f"{where}.id"),
        "account": checked,
        "methodology": methodology,
        "version": version,
        "start": start,
        "end": end,
        "quantities": dict(quantities),
        "evidenceHash": hex32(value["evidenceHash"], f"{where}.evidenceHash"),
    }


def normalise_records(records: Any) -> list[dict[str, Any]]:
    """Records of an activity batch in canonical form (checksummed addresses, lowercase
    hashes); RFC 8785 then fixes the order of every key."""
    if not isinstance(records, list) or not 0 < len(records) <= MAX_RECORDS:
        raise ValidationError(f"records must be a list of 1-{MAX_RECORDS} activity records")
    return [_record(value, i) for i, value in enumerate(records)]


def normalise_claim_ids(claims: Any) -> list[str]:
    if not isinstance(claims, list) or not 0 < len(claims) <= MAX_ATTESTED:
        raise ValidationError(f"claims must be a list of 1-{MAX_ATTESTED} claim ids")
    for claim in claims:
        if not isinstance(claim, str) or not matches(CLAIM_ID_PATTERN, claim):
            raise ValidationError(f"{claim!r} is not a claim id (like C42-7)")
    if any(a >= b for a, b in zip(claims, claims[1:], strict=False)):
        raise ValidationError("claims must be sorted ascending, without repeats")
    return claims


def activity_batch(platform: str, batch_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields of a SubmitActivities request for `records` (normalised, counted, hashed)."""
    normal = normalise_records(records)
    return {
        "platform": platform,
        "batchId": batch_id,
        "records": normal,
        "recordCount": len(normal),
        "recordsHash": records_digest(normal),
    }


def attestation(
    verifier: str, attestation_id: str, claim_ids: list[str], approve: bool, reason: str
) -> dict[str, Any]:
    """The fields of an AttestClaims request over `claim_ids` (sorted, counted, hashed)."""
    claims = normalise_claim_ids(sorted(set(claim_ids)))
    return {
        "verifier": verifier,
        "attestationId": attestation_id,
        "approve": approve,
        "reason": reason,
        "claims": claims,
        "claimCount": len(claims),
        "claimsHash": digest_of(claims),
    }


def asset_class_id(methodology: str, version: str, vintage: int, region: str) -> str:
    """`<methodology>-<version>-<vintage>-<region>`, e.g. `SZ_TRANSIT-1.0-2026-440300`."""
    return f"{methodology}-{version}-{vintage}-{region}"
