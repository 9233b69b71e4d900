"""The signed requests of the registry: one EIP-712 struct per operation.

A request is a plain dict keyed by the EIP-712 field names. `normalise` checks every field
and returns the canonical form (checksummed addresses, ints in range, bounded text), so
that the same request always yields the same digest and the same event bytes.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from registry.canonical import MAX_SAFE_INTEGER, canonical_bytes
from registry.eip712 import StructType, checksum_address
from registry.errors import ValidationError

_TAIL = (("nonce", "uint256"), ("expiry", "uint64"))

OPEN_ACCOUNT = StructType(
    "OpenAccount",
    (("account", "address"), ("kind", "string"), ("name", "string"), ("household", "address"))
    + _TAIL,
)
GRANT_ROLE = StructType("GrantRole", (("account", "address"), ("role", "string")) + _TAIL)
REGISTER_ASSET_CLASS = StructType(
    "RegisterAssetClass",
    (
        ("methodology", "string"),
        ("methodologyVersion", "string"),
        ("vintage", "uint16"),
        ("region", "string"),
    )
    + _TAIL,
)
ISSUE = StructType(
    "Issue",
    (("to", "address"), ("assetClass", "string"), ("amount", "uint256"), ("claimId", "string"))
    + _TAIL,
)
TRANSFER = StructType(
    "Transfer",
    (
        ("from", "address"),
        ("to", "address"),
        ("assetClass", "string"),
        ("batchNo", "uint256"),
        ("amount", "uint256"),
    )
    + _TAIL,
)
RETIRE = StructType(
    "Retire",
    (
        ("owner", "address"),
        ("assetClass", "string"),
        ("batchNo", "uint256"),
        ("amount", "uint256"),
        ("beneficiaryName", "string"),
        ("beneficiary", "address"),
        ("reason", "string"),
        ("jurisdiction", "string"),
    )
    + _TAIL,
)
CANCEL = StructType(
    "Cancel",
    (
        ("holder", "address"),
        ("assetClass", "string"),
        ("batchNo", "uint256"),
        ("amount", "uint256"),
        ("reason", "string"),
        ("evidenceHash", "bytes32"),
    )
    + _TAIL,
)

# The MRV pipeline's requests sign a batch, not each item: the struct holds the count and
# the SHA-256 of the items' RFC 8785 bytes (so it stays atomic-typed, like every struct
# here), and the items travel beside it in the request under the name given in ATTACHED.
SUBMIT_ACTIVITIES = StructType(
    "SubmitActivities",
    (
        ("platform", "address"),
        ("batchId", "string"),
        ("recordCount", "uint256"),
        ("recordsHash", "bytes32"),
    )
    + _TAIL,
)
ATTEST_CLAIMS = StructType(
    "AttestClaims",
    (
        ("verifier", "address"),
        ("attestationId", "string"),
        ("approve", "bool"),
        ("reason", "string"),
        ("claimCount", "uint256"),
        ("claimsHash", "bytes32"),
    )
    + _TAIL,
)
RUN_ISSUANCE = StructType(
    "RunIssuance",
    (("runId", "string"), ("bufferPool", "address"), ("bufferBasisPoints", "uint16")) + _TAIL,
)
REVERSE_CLAIM = StructType(
    "ReverseClaim",
    (("claimId", "string"), ("reason", "string"), ("evidenceHash", "bytes32")) + _TAIL,
)
LOCK = StructType(
    "Lock",
    (
        ("owner", "address"),
        ("assetClass", "string"),
        ("batchNo", "uint256"),
        ("amount", "uint256"),
        ("recipient", "address"),
    )
    + _TAIL,
)
RECORD_RETURN = StructType(
    "RecordReturn",
    (
        ("chainEvent", "string"),
        ("holder", "address"),
        ("account", "address"),
        ("assetClass", "string"),
        ("amount", "uint256"),
    )
    + _TAIL,
)
RECORD_CHAIN_RETIREMENT = StructType(
    "RecordChainRetirement",
    (
        ("chainEvent", "string"),
        ("holder", "address"),
        ("assetClass", "string"),
        ("amount", "uint256"),
        ("beneficiaryName", "string"),
        ("reason", "string"),
    )
    + _TAIL,
)
ATTACHED = {SUBMIT_ACTIVITIES.name: "records", ATTEST_CLAIMS.name: "claims"}

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_TEXT = 500
MAX_AMOUNT = MAX_SAFE_INTEGER  # 9.0e15 g = 9 Gt: far above any real batch

ACCOUNT_KINDS = ("person", "household", "company", "platform", "verifier", "exchange", "operator")
ROLES = ("operator", "platform", "verifier", "exchange")

_ID_PART = re.compile(r"^[A-Z0-9_]{1,40}$")
_VERSION = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$")
_REGION = re.compile(r"^[0-9]{6}$|^CN$")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
# Refused in text: C0 and C1 controls and DEL, and the invisible bidirectional controls
# (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, U+200E/U+200F marks,
# U+061C) that make a name display as something other than what was signed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Text that is only these shows nothing: whitespace, zero-width and other format characters.
_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]*")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_REF = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUANTITY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CLAIM_ID = re.compile(r"^C[0-9]{1,16}-[0-9]{1,5}$")
# What the token contract accepts in a lock: it rebuilds the lock event from these characters.
TOKEN_ASSET_CLASS = re.compile(r"^[A-Z0-9_.-]{1,80}$")
# <chain id>:<transaction hash>:<log index>, one on-chain event.
CHAIN_EVENT = re.compile(r"^[0-9]{1,20}:0x[0-9a-f]{64}:[0-9]{1,6}$")

MAX_RECORDS = 5_000  # per activity batch: bounds one event's size (about 1.5 MB)
MAX_ATTESTED = 10_000  # claims per attestation, for the same reason
MAX_QUANTITIES = 16
MAX_TIME = 2**40  # Unix seconds, far beyond any activity
MAX_BUFFER_BASIS_POINTS = 5_000  # a buffer above half of every issuance is a typo
RECORD_FIELDS = frozenset(
    ("id", "account", "methodology", "version", "start", "end", "quantities", "evidenceHash")
)


def address(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValidationError(f"{field}: {value!r} is not a 0x-prefixed 20-byte hex address")
    return checksum_address(value[2:].lower())


def amount(value: Any, field: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number of grams, got {value!r}")
    if not 0 < value <= MAX_AMOUNT:
        raise ValidationError(f"{field} must be between 1 and {MAX_AMOUNT} g, got {value}")
    return value


def uint(value: Any, field: str, upper: int = MAX_SAFE_INTEGER) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= upper:
        raise ValidationError(f"{field} must be an integer in 0..{upper}, got {value!r}")
    return value


def text(value: Any, field: str, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{field} is longer than {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise ValidationError(f"{field} contains control or bidirectional-override characters")
    if _SURROGATE.search(value):
        raise ValidationError(f"{field} contains an unpaired surrogate (not valid Unicode)")
    if value and _INVISIBLE.fullmatch(value):
        raise ValidationError(f"{field} holds only invisible characters")
    if required and not value:
        raise ValidationError(f"{field} must not be empty")
    return value


def printable(value: str, placeholder: str = "-") -> str:
    """`value` made acceptable to `text`: refused characters become U+FFFD, at most MAX_TEXT
    characters, `placeholder` for nothing visible. For text the registry records but nobody
    signed for it (strings of on-chain events): refusing it would stop the recording."""
    cleaned = _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", value))[:MAX_TEXT]
    return placeholder if _INVISIBLE.fullmatch(cleaned) else cleaned


def hex32(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValidationError(f"{field} must be 0x followed by 64 hex digits")
    return value.lower()


def ref(value: Any, field: str) -> str:
    """An identifier chosen by a client: 1-64 of A-Z a-z 0-9 . _ : - (no personal data)."""
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise ValidationError(f"{field} must be 1-64 of A-Z, a-z, 0-9, '.', '_', ':', '-'")
    return value


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


def attached_bytes(struct: StructType, request: dict[str, Any]) -> bytes | None:
    """RFC 8785 bytes of the request's attached list, where they are already at hand."""
    return records_bytes(request["records"]) if struct is SUBMIT_ACTIVITIES else None


@lru_cache(maxsize=1 << 16)
def _valid_name(pattern: re.Pattern[str], value: str) -> bool:
    """Names (methodology ids, versions, quantity names) repeat: check each one once."""
    return pattern.fullmatch(value) is not None


@lru_cache(maxsize=1 << 16)
def _checksummed(value: str) -> str | None:
    return checksum_address(value[2:].lower()) if _ADDRESS.fullmatch(value) else None


def _is_uint(value: Any, upper: int) -> bool:
    return type(value) is int and 0 <= value <= upper


def _record(value: Any, i: int) -> dict[str, Any]:
    """One activity record, checked field by field; on the hot path of ingestion."""
    where = f"records[{i}]"
    if not isinstance(value, dict) or value.keys() != RECORD_FIELDS:
        raise ValidationError(f"{where} must have exactly the fields {sorted(RECORD_FIELDS)}")
    methodology, version = value["methodology"], value["version"]
    if not isinstance(methodology, str) or not _valid_name(_ID_PART, methodology):
        raise ValidationError(f"{where}.methodology must be 1-40 of A-Z, 0-9, _")
    if not isinstance(version, str) or not _valid_name(_VERSION, version):
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
        if not isinstance(name, str) or not _valid_name(_QUANTITY, name):
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
        if not isinstance(claim, str) or not CLAIM_ID.fullmatch(claim):
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


def _tail(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "nonce": uint(message.get("nonce"), "nonce"),
        # uint64 in the EIP-712 struct, but every integer of an event must be JSON-safe.
        "expiry": uint(message.get("expiry"), "expiry"),
    }


def _only(message: Any, struct: StructType) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise ValidationError(f"{struct.name} request must be an object")
    expected = {name for name, _ in struct.fields}
    if struct.name in ATTACHED:
        expected.add(ATTACHED[struct.name])
    extra = set(message) - expected
    missing = expected - set(message)
    if extra or missing:
        raise ValidationError(
            f"{struct.name} request fields: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return message


def normalise(struct: StructType, message: Any) -> dict[str, Any]:
    """Validate a request of type `struct`; returns its canonical form."""
    m = _only(message, struct)
    if struct is OPEN_ACCOUNT:
        kind = m["kind"]
        if kind not in ACCOUNT_KINDS:
            raise ValidationError(f"kind must be one of {', '.join(ACCOUNT_KINDS)}")
        out = {
            "account": address(m["account"], "account"),
            "kind": kind,
            "name": text(m["name"], "name", required=False),
            "household": address(m["household"], "household"),
        }
    elif struct is GRANT_ROLE:
        if m["role"] not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}")
        out = {"account": address(m["account"], "account"), "role": m["role"]}
    elif struct is REGISTER_ASSET_CLASS:
        if not isinstance(m["methodology"], str) or not _ID_PART.fullmatch(m["methodology"]):
            raise ValidationError("methodology must be 1-40 of A-Z, 0-9, _")
        if not isinstance(m["methodologyVersion"], str) or not _VERSION.fullmatch(
            m["methodologyVersion"]
        ):
            raise ValidationError("methodologyVersion must look like 1, 1.0 or 1.0.2")
        if not isinstance(m["region"], str) or not _REGION.fullmatch(m["region"]):
            raise ValidationError("region must be a 6-digit GB/T 2260 division code or CN")
        out = {
            "methodology": m["methodology"],
            "methodologyVersion": m["methodologyVersion"],
            "vintage": uint(m["vintage"], "vintage", 9999),
            "region": m["region"],
        }
        if out["vintage"] < 2000:
            raise ValidationError("vintage must be a year from 2000")
    elif struct is ISSUE:
        out = {
            "to": address(m["to"], "to"),
            "assetClass": text(m["assetClass"], "assetClass"),
            "amount": amount(m["amount"]),
            "claimId": text(m["claimId"], "claimId"),
        }
    elif struct is TRANSFER:
        out = {
            "from": address(m["from"], "from"),
            "to": address(m["to"], "to"),
            "assetClass": text(m["assetClass"], "assetClass"),
            "batchNo": uint(m["batchNo"], "batchNo"),
            "amount": amount(m["amount"]),
        }
        if out["from"] == out["to"]:
            raise ValidationError("a transfer needs two different accounts")
    elif struct is RETIRE:
        out = {
            "owner": address(m["owner"], "owner"),
            "assetClass": text(m["assetClass"], "assetClass"),
            "batchNo": uint(m["batchNo"], "batchNo"),
            "amount": amount(m["amount"]),
            "beneficiaryName": text(m["beneficiaryName"], "beneficiaryName"),
            "beneficiary": address(m["beneficiary"], "beneficiary"),
            "reason": text(m["reason"], "reason"),
            "jurisdiction": text(m["jurisdiction"], "jurisdiction"),
        }
    elif struct is CANCEL:
        out = {
            "holder": address(m["holder"], "holder"),
            "assetClass": text(m["assetClass"], "assetClass"),
            "batchNo": uint(m["batchNo"], "batchNo"),
            "amount": amount(m["amount"]),
            "reason": text(m["reason"], "reason"),
            "evidenceHash": hex32(m["evidenceHash"], "evidenceHash"),
        }
    elif struct is SUBMIT_ACTIVITIES:
        records = normalise_records(m["records"])
        out = {
            "platform": address(m["platform"], "platform"),
            "batchId": ref(m["batchId"], "batchId"),
            "recordCount": uint(m["recordCount"], "recordCount", MAX_RECORDS),
            "recordsHash": hex32(m["recordsHash"], "recordsHash"),
            "records": records,
        }
        if out["recordCount"] != len(records):
            raise ValidationError(
                f"recordCount is {out['recordCount']}, records hold {len(records)}"
            )
        if records_digest(records) != out["recordsHash"]:
            raise ValidationError("recordsHash is not the SHA-256 of the records' RFC 8785 bytes")
    elif struct is ATTEST_CLAIMS:
        if not isinstance(m["approve"], bool):
            raise ValidationError("approve must be true or false")
        claims = normalise_claim_ids(m["claims"])
        out = {
            "verifier": address(m["verifier"], "verifier"),
            "attestationId": ref(m["attestationId"], "attestationId"),
            "approve": m["approve"],
            "reason": text(m["reason"], "reason", required=not m["approve"]),
            "claimCount": uint(m["claimCount"], "claimCount", MAX_ATTESTED),
            "claimsHash": hex32(m["claimsHash"], "claimsHash"),
            "claims": claims,
        }
        if out["claimCount"] != len(claims):
            raise ValidationError(f"claimCount is {out['claimCount']}, claims hold {len(claims)}")
        if digest_of(claims) != out["claimsHash"]:
            raise ValidationError("claimsHash is not the SHA-256 of the claims' RFC 8785 bytes")
    elif struct is RUN_ISSUANCE:
        out = {
            "runId": ref(m["runId"], "runId"),
            "bufferPool": address(m["bufferPool"], "bufferPool"),
            "bufferBasisPoints": uint(
                m["bufferBasisPoints"], "bufferBasisPoints", MAX_BUFFER_BASIS_POINTS
            ),
        }
    elif struct is REVERSE_CLAIM:
        if not isinstance(m["claimId"], str) or not CLAIM_ID.fullmatch(m["claimId"]):
            raise ValidationError(f"{m['claimId']!r} is not a claim id (like C42-7)")
        out = {
            "claimId": m["claimId"],
            "reason": text(m["reason"], "reason"),
            "evidenceHash": hex32(m["evidenceHash"], "evidenceHash"),
        }
    elif struct is LOCK:
        if not isinstance(m["assetClass"], str) or not TOKEN_ASSET_CLASS.fullmatch(m["assetClass"]):
            raise ValidationError("assetClass of a lock must be 1-80 of A-Z, 0-9, _ . -")
        out = {
            "owner": address(m["owner"], "owner"),
            "assetClass": m["assetClass"],
            "batchNo": uint(m["batchNo"], "batchNo"),
            "amount": amount(m["amount"]),
            "recipient": address(m["recipient"], "recipient"),
        }
        if out["recipient"] == ZERO_ADDRESS:
            raise ValidationError("recipient must not be the zero address")
    elif struct in (RECORD_RETURN, RECORD_CHAIN_RETIREMENT):
        if not isinstance(m["chainEvent"], str) or not CHAIN_EVENT.fullmatch(m["chainEvent"]):
            raise ValidationError("chainEvent must be <chain id>:0x<tx hash>:<log index>")
        out = {
            "chainEvent": m["chainEvent"],
            "holder": address(m["holder"], "holder"),
            "assetClass": text(m["assetClass"], "assetClass"),
            "amount": amount(m["amount"]),
        }
        if struct is RECORD_RETURN:
            out["account"] = address(m["account"], "account")
        else:
            out["beneficiaryName"] = text(m["beneficiaryName"], "beneficiaryName", required=False)
            out["reason"] = text(m["reason"], "reason", required=False)
    else:  # pragma: no cover - every struct above is listed
        raise ValidationError(f"unknown request type {struct.name}")
    out.update(_tail(m))
    return out
