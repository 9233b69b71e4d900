"""Field kinds of signed requests: what a value may be, how it is checked and written.

A `Kind` is declared once and serves every layer: its EIP-712 type (the struct), its check
(the ledger's validation, which returns the one canonical form), its JSON Schema (the API's
request models and the published typed data) and its CLI parser. Checks raise
ValidationError naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from registry.canonical import MAX_SAFE_INTEGER
from registry.eip712 import checksum_address
from registry.errors import ValidationError

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_TEXT = 500
MAX_AMOUNT = MAX_SAFE_INTEGER  # 9.0e15 g = 9 Gt: far above any real batch

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HEX32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
REF_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
METHODOLOGY_PATTERN = r"^[A-Z0-9_]{1,40}$"
VERSION_PATTERN = r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$"
REGION_PATTERN = r"^[0-9]{6}$|^CN$"
CLAIM_ID_PATTERN = r"^C[0-9]{1,16}-[0-9]{1,5}$"
# What the token contract accepts in a lock: it rebuilds the lock event from these characters.
TOKEN_ASSET_CLASS_PATTERN = r"^[A-Z0-9_.-]{1,80}$"
# <chain id>:<transaction hash>:<log index>, one on-chain event.
CHAIN_EVENT_PATTERN = r"^[0-9]{1,20}:0x[0-9a-f]{64}:[0-9]{1,6}$"

_ADDRESS = re.compile(ADDRESS_PATTERN)
_HEX32 = re.compile(HEX32_PATTERN)
_REF = re.compile(REF_PATTERN)
# Refused in text: C0 and C1 controls and DEL, and the invisible bidirectional controls
# (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, U+200E/U+200F marks,
# U+061C) that make a name display as something other than what was signed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Text that is only these shows nothing: whitespace, zero-width and other format characters.
_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]*")


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


def uint(value: Any, field: str, upper: int = MAX_SAFE_INTEGER, lower: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lower <= value <= upper:
        raise ValidationError(f"{field} must be an integer in {lower}..{upper}, got {value!r}")
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


def salt_bytes(value: Any, field: str) -> bytes:
    """A commitment salt sent as 0x and 64 hex digits: 32 bytes."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValidationError(f"{field} must be 32 random bytes: 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])


def ref(value: Any, field: str) -> str:
    """An identifier chosen by a client: 1-64 of A-Z a-z 0-9 . _ : - (no personal data)."""
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise ValidationError(f"{field} must be 1-64 of A-Z, a-z, 0-9, '.', '_', ':', '-'")
    return value


@lru_cache(maxsize=1 << 16)
def matches(pattern: str, value: str) -> bool:
    """Names (methodology ids, versions, quantity names) repeat: check each one once."""
    return re.fullmatch(pattern, value) is not None


def _pattern_check(pattern: str, what: str) -> Callable[[Any, str], str]:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or not matches(pattern, value):
            raise ValidationError(f"{field} must be {what}, got {value!r}")
        return value

    return check


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false")
    return value


@dataclass(frozen=True)
class Kind:
    """What one field of a signed request may hold.

    `sol_type` is its EIP-712 type; `check` validates a value and returns its canonical form;
    `schema` is its JSON Schema (API models, published types); `cli` names the parser the
    command line uses for it (`grams` accepts 2.5kg, `int`, `text`, `bool`).
    """

    sol_type: str
    check: Callable[[Any, str], Any]
    schema: dict[str, Any]
    example: Any
    cli: str = "text"
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def choice(values: tuple[str, ...], doc: str = "") -> Kind:
    def check(value: Any, field: str) -> str:
        if value not in values:
            raise ValidationError(f"{field} must be one of {', '.join(values)}")
        return str(value)

    return Kind("string", check, {"type": "string", "enum": list(values)}, values[0], "text", doc)


def uint_kind(sol_type: str, upper: int, lower: int = 0, doc: str = "", example: int = 0) -> Kind:
    schema = {"type": "integer", "minimum": lower, "maximum": upper}
    return Kind(
        sol_type,
        lambda value, field: uint(value, field, upper, lower),
        schema,
        example,
        "int",
        doc,
    )


ADDRESS = Kind(
    "address",
    address,
    {"type": "string", "pattern": ADDRESS_PATTERN},
    "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",
    "text",
    "0x-prefixed 20-byte hex address (any case; written EIP-55)",
)
GRAMS = Kind(
    "uint256",
    amount,
    {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
    5_000,
    "grams",
    "integer grams of CO2e",
)
TEXT = Kind(
    "string",
    text,
    {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
    "offset 2026 commuting",
    "text",
    "1-500 characters, no control or bidirectional-override characters",
)
OPTIONAL_TEXT = Kind(
    "string",
    lambda value, field: text(value, field, required=False),
    {"type": "string", "maxLength": MAX_TEXT},
    "",
    "text",
    "0-500 characters, no control or bidirectional-override characters",
)
HEX32 = Kind(
    "bytes32", hex32, {"type": "string", "pattern": HEX32_PATTERN}, "0x" + "ab" * 32, "text"
)
REF = Kind("string", ref, {"type": "string", "pattern": REF_PATTERN}, "batch-2026-11-30", "text")
BOOL = Kind("bool", _bool, {"type": "boolean"}, True, "bool")
NONCE = uint_kind("uint256", MAX_SAFE_INTEGER, doc="unique per signer", example=7)
# uint64 in the EIP-712 struct, but every integer of an event must be JSON-safe.
EXPIRY = uint_kind("uint64", MAX_SAFE_INTEGER, doc="Unix seconds", example=1_795_000_000)


def pattern_kind(pattern: str, what: str, example: str, sol_type: str = "string") -> Kind:
    return Kind(
        sol_type,
        _pattern_check(pattern, what),
        {"type": "string", "pattern": pattern},
        example,
        "text",
        what,
    )
