"""The signed requests of the registry: one EIP-712 struct per operation.

A request is a plain dict keyed by the EIP-712 field names. `normalise` checks every field
and returns the canonical form (checksummed addresses, ints in range, bounded text), so
that the same request always yields the same digest and the same event bytes.
"""

from __future__ import annotations

import re
from typing import Any

from registry.canonical import MAX_SAFE_INTEGER
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

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_TEXT = 500
MAX_AMOUNT = MAX_SAFE_INTEGER  # 9.0e15 g = 9 Gt: far above any real batch

ACCOUNT_KINDS = ("person", "household", "company", "platform", "verifier", "exchange", "operator")
ROLES = ("operator", "platform", "verifier", "exchange")

_ID_PART = re.compile(r"^[A-Z0-9_]{1,40}$")
_VERSION = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$")
_REGION = re.compile(r"^[0-9]{6}$|^CN$")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


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
    if required and not value.strip():
        raise ValidationError(f"{field} must not be empty")
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{field} is longer than {MAX_TEXT} characters")
    if any(ord(ch) < 0x20 for ch in value):
        raise ValidationError(f"{field} contains control characters")
    return value


def hex32(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValidationError(f"{field} must be 0x followed by 64 hex digits")
    return value.lower()


def asset_class_id(methodology: str, version: str, vintage: int, region: str) -> str:
    """`<methodology>-<version>-<vintage>-<region>`, e.g. `SZ_TRANSIT-1.0-2026-440300`."""
    return f"{methodology}-{version}-{vintage}-{region}"


def _tail(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "nonce": uint(message.get("nonce"), "nonce"),
        "expiry": uint(message.get("expiry"), "expiry", 2**64 - 1),
    }


def _only(message: Any, struct: StructType) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise ValidationError(f"{struct.name} request must be an object")
    expected = {name for name, _ in struct.fields}
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
    else:  # pragma: no cover - every struct above is listed
        raise ValidationError(f"unknown request type {struct.name}")
    out.update(_tail(m))
    return out
