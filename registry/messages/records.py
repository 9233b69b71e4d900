"""Activity records and claim ids: the lists attached to ingestion and attestation
requests, checked item by item, and their RFC 8785 bytes and SHA-256 digests.

Activity records come in two formats. The first release logged each record whole (times,
quantities, the platform's activity id): `normalise_records`, kept so that old logs
replay. Batches now log *committed* records (`normalise_committed`): who earns, under which
methodology and region, and a commitment to the activity's details; the details (`id`,
`start`, `end`, `quantities`) travel beside the request with their salt
(`normalise_detail`) and are sealed in the personal-data vault, never logged.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from registry.canonical import MAX_SAFE_INTEGER, canonical_bytes
from registry.commitments import commitment, new_salt
from registry.eip712 import checksum_address
from registry.errors import ValidationError
from registry.messages.fields import (
    ADDRESS_PATTERN,
    CLAIM_ID_PATTERN,
    METHODOLOGY_PATTERN,
    REGION_PATTERN,
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
COMMITTED_FIELDS = frozenset(("account", "methodology", "version", "region", "commitment"))
DETAIL_FIELDS = frozenset(("id", "start", "end", "quantities"))


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
    if records and "commitment" in records[0]:
        parts = [
            f'{{"account":"{r["account"]}","commitment":"{r["commitment"]}",'
            f'"methodology":"{r["methodology"]}","region":"{r["region"]}",'
            f'"version":"{r["version"]}"}}'
            for r in records
        ]
    for r in records if not parts else ():
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


def _methodology_of(value: dict[str, Any], where: str) -> tuple[str, str]:
    methodology, version = value["methodology"], value["version"]
    if not isinstance(methodology, str) or not matches(_ID_PART, methodology):
        raise ValidationError(f"{where}.methodology must be 1-40 of A-Z, 0-9, _")
    if not isinstance(version, str) or not matches(VERSION_PATTERN, version):
        raise ValidationError(f"{where}.version must look like 1, 1.0 or 1.0.2")
    return methodology, version


def _account_of(value: dict[str, Any], where: str) -> str:
    account = value["account"]
    checked = _checksummed(account) if isinstance(account, str) else None
    if checked is None:
        raise ValidationError(f"{where}.account: {account!r} is not a 20-byte hex address")
    return checked


def _times_and_quantities(value: dict[str, Any], where: str) -> tuple[int, int, dict[str, int]]:
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
    return start, end, dict(quantities)


def _record(value: Any, i: int) -> dict[str, Any]:
    """One activity record of the first format, checked field by field."""
    where = f"records[{i}]"
    if not isinstance(value, dict) or value.keys() != RECORD_FIELDS:
        raise ValidationError(f"{where} must have exactly the fields {sorted(RECORD_FIELDS)}")
    methodology, version = _methodology_of(value, where)
    start, end, quantities = _times_and_quantities(value, where)
    return {
        "id": ref(value["id"], f"{where}.id"),
        "account": _account_of(value, where),
        "methodology": methodology,
        "version": version,
        "start": start,
        "end": end,
        "quantities": quantities,
        "evidenceHash": hex32(value["evidenceHash"], f"{where}.evidenceHash"),
    }


def _committed(value: Any, i: int) -> dict[str, Any]:
    """One committed activity record, checked field by field; on the hot path of ingestion."""
    where = f"records[{i}]"
    if not isinstance(value, dict) or value.keys() != COMMITTED_FIELDS:
        raise ValidationError(f"{where} must have exactly the fields {sorted(COMMITTED_FIELDS)}")
    methodology, version = _methodology_of(value, where)
    region = value["region"]
    if not isinstance(region, str) or not matches(REGION_PATTERN, region):
        raise ValidationError(f"{where}.region must be a 6-digit GB/T 2260 code")
    return {
        "account": _account_of(value, where),
        "methodology": methodology,
        "version": version,
        "region": region,
        "commitment": hex32(value["commitment"], f"{where}.commitment"),
    }


def normalise_detail(value: Any, where: str) -> dict[str, Any]:
    """The details of one activity (sent beside a batch, never logged), checked."""
    if not isinstance(value, dict) or value.keys() != DETAIL_FIELDS:
        raise ValidationError(f"{where} must have exactly the fields {sorted(DETAIL_FIELDS)}")
    start, end, quantities = _times_and_quantities(value, where)
    return {"id": ref(value["id"], f"{where}.id"), "start": start, "end": end,
            "quantities": quantities}  # fmt: skip


def detail_bytes(detail: dict[str, Any]) -> bytes:
    """The bytes an activity's commitment is taken over: RFC 8785 of its details (as
    `normalise_detail` returned them), written out directly as `records_bytes` does."""
    q = detail["quantities"]
    quantities = ",".join([f'"{name}":{q[name]}' for name in sorted(q)])
    return (
        f'{{"end":{detail["end"]},"id":"{detail["id"]}","quantities":{{{quantities}}},'
        f'"start":{detail["start"]}}}'
    ).encode("ascii")


def normalise_records(records: Any) -> list[dict[str, Any]]:
    """Records of an activity batch in canonical form (checksummed addresses, lowercase
    hashes); RFC 8785 then fixes the order of every key."""
    if not isinstance(records, list) or not 0 < len(records) <= MAX_RECORDS:
        raise ValidationError(f"records must be a list of 1-{MAX_RECORDS} activity records")
    return [_record(value, i) for i, value in enumerate(records)]


def normalise_committed(records: Any) -> list[dict[str, Any]]:
    """Committed records of an activity batch in canonical form."""
    if not isinstance(records, list) or not 0 < len(records) <= MAX_RECORDS:
        raise ValidationError(f"records must be a list of 1-{MAX_RECORDS} activity records")
    return [_committed(value, i) for i, value in enumerate(records)]


def normalise_claim_ids(claims: Any) -> list[str]:
    if not isinstance(claims, list) or not 0 < len(claims) <= MAX_ATTESTED:
        raise ValidationError(f"claims must be a list of 1-{MAX_ATTESTED} claim ids")
    for claim in claims:
        if not isinstance(claim, str) or not matches(CLAIM_ID_PATTERN, claim):
            raise ValidationError(f"{claim!r} is not a claim id (like C42-7)")
    if any(a >= b for a, b in zip(claims, claims[1:], strict=False)):
        raise ValidationError("claims must be sorted ascending, without repeats")
    return claims


def activity_batch(
    platform: str,
    batch_id: str,
    activities: list[dict[str, Any]],
    *,
    not_claimed_elsewhere: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A SubmitActivities request's fields for `activities` (each: id, account, methodology,
    version, region, start, end, quantities), and the details to send beside it.

    Every activity is committed to with a fresh 32-byte salt from the operating system; the
    request logs the commitments, the details (with their salts) go beside it, unlogged.
    """
    if not isinstance(activities, list):
        raise ValidationError("activities must be a list")
    records, details = [], []
    for i, activity in enumerate(activities):
        if not isinstance(activity, dict) or not activity.keys() >= DETAIL_FIELDS:
            raise ValidationError(f"activities[{i}] needs {sorted(DETAIL_FIELDS)}")
        detail = normalise_detail({k: activity[k] for k in DETAIL_FIELDS}, f"activities[{i}]")
        salt = new_salt()
        records.append(
            {k: activity.get(k) for k in ("account", "methodology", "version", "region")}
            | {"commitment": commitment(salt, detail_bytes(detail))}
        )
        details.append({**detail, "salt": "0x" + salt.hex()})
    normal = normalise_committed(records)
    fields = {
        "platform": platform,
        "batchId": batch_id,
        "records": normal,
        "recordCount": len(normal),
        "recordsHash": records_digest(normal),
        "notClaimedElsewhere": not_claimed_elsewhere,
    }
    return fields, details


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
