"""The signed requests of the registry: one declaration per request type (`catalog`),
the field kinds they are made of (`fields`), and the attached lists (`records`).

A request is a plain dict keyed by the EIP-712 field names; `normalise(kind, request)`
checks every field and returns its canonical form.
"""

from __future__ import annotations

from typing import Any

from registry.canonical import MAX_SAFE_INTEGER
from registry.errors import ValidationError
from registry.messages.catalog import (
    ACCOUNT_KINDS,
    ATTEST_CLAIMS,
    CANCEL,
    COMMUNITY_KIND,
    GRANT_ROLE,
    ISSUE,
    JOIN_COMMUNITY,
    LEAVE_COMMUNITY,
    LOCK,
    MAX_BUFFER_BASIS_POINTS,
    MERCHANT_KIND,
    MESSAGES,
    OPEN_ACCOUNT,
    OPEN_ACCOUNT_IN_CLEAR,
    OPEN_ACCOUNT_WITH_HOUSEHOLD,
    PERSONAL_KINDS,
    PUBLISH_OFFER,
    RECORD_CHAIN_RETIREMENT,
    RECORD_MINT,
    RECORD_RETURN,
    REDEEM_MODES,
    REDEEM_OFFER,
    REGISTER_ASSET_CLASS,
    RELEASE_LOCK,
    RETIRE,
    REVERSE_CLAIM,
    REVOKE_ROLE,
    ROLES,
    RUN_ISSUANCE,
    RUN_ISSUANCE_POOLED,
    SUBMIT_ACTIVITIES,
    SUBMIT_ACTIVITIES_IN_CLEAR,
    TRANSFER,
    WITHDRAW_OFFER,
)
from registry.messages.declaration import REQUIRED, Field, Message
from registry.messages.fields import (
    MAX_AMOUNT,
    MAX_TEXT,
    ZERO_ADDRESS,
    address,
    amount,
    hex32,
    printable,
    ref,
    salt_bytes,
    text,
    uint,
)
from registry.messages.records import (
    MAX_ATTESTED,
    MAX_QUANTITIES,
    MAX_RECORDS,
    MAX_TIME,
    RECORD_FIELDS,
    activity_batch,
    asset_class_id,
    attestation,
    detail_bytes,
    digest_of,
    normalise_claim_ids,
    normalise_committed,
    normalise_detail,
    normalise_records,
    records_bytes,
    records_digest,
)

__all__ = [
    "ACCOUNT_KINDS",
    "ATTEST_CLAIMS",
    "CANCEL",
    "COMMUNITY_KIND",
    "GRANT_ROLE",
    "JOIN_COMMUNITY",
    "LEAVE_COMMUNITY",
    "MERCHANT_KIND",
    "PUBLISH_OFFER",
    "REDEEM_MODES",
    "REDEEM_OFFER",
    "WITHDRAW_OFFER",
    "REVOKE_ROLE",
    "ISSUE",
    "LOCK",
    "MAX_AMOUNT",
    "MAX_ATTESTED",
    "MAX_BUFFER_BASIS_POINTS",
    "MAX_QUANTITIES",
    "MAX_RECORDS",
    "MAX_SAFE_INTEGER",
    "MAX_TEXT",
    "MAX_TIME",
    "MESSAGES",
    "OPEN_ACCOUNT",
    "OPEN_ACCOUNT_IN_CLEAR",
    "OPEN_ACCOUNT_WITH_HOUSEHOLD",
    "PERSONAL_KINDS",
    "RECORD_CHAIN_RETIREMENT",
    "RECORD_FIELDS",
    "RECORD_MINT",
    "RECORD_RETURN",
    "REGISTER_ASSET_CLASS",
    "RELEASE_LOCK",
    "REQUIRED",
    "RETIRE",
    "REVERSE_CLAIM",
    "ROLES",
    "RUN_ISSUANCE",
    "RUN_ISSUANCE_POOLED",
    "SUBMIT_ACTIVITIES",
    "SUBMIT_ACTIVITIES_IN_CLEAR",
    "TRANSFER",
    "ZERO_ADDRESS",
    "Field",
    "Message",
    "activity_batch",
    "address",
    "amount",
    "asset_class_id",
    "attached_bytes",
    "attestation",
    "digest_of",
    "hex32",
    "message_of",
    "normalise",
    "normalise_claim_ids",
    "detail_bytes",
    "normalise_committed",
    "normalise_detail",
    "normalise_records",
    "printable",
    "records_bytes",
    "records_digest",
    "ref",
    "salt_bytes",
    "text",
    "uint",
]


def message_of(kind: str) -> Message:
    message = MESSAGES.get(kind)
    if message is None:
        raise ValidationError(f"unknown request type {kind!r}")
    return message


def normalise(kind: str | Message, request: Any) -> dict[str, Any]:
    """Validate a request of type `kind`; returns its canonical form."""
    return (kind if isinstance(kind, Message) else message_of(kind)).normalise(request)


def attached_bytes(message: Message, request: dict[str, Any]) -> bytes | None:
    """RFC 8785 bytes of the request's attached list, where they are already at hand."""
    return records_bytes(request["records"]) if message is SUBMIT_ACTIVITIES else None
