"""Examples shown in the OpenAPI document (every route has one; a test checks it).

They are illustrations with well-formed values, not live data: their signatures do not
verify against any registry.
"""

from __future__ import annotations

from typing import Any

ALICE = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
BOB = "0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2"
OPERATOR = "0x4B20993Bc481177ec7E8f571ceCaE8A9e22C02db"
PLATFORM = "0x78731D3Ca6b7E34aC0F824c42a7cC18A495cabaB"
VERIFIER = "0x617F2E2fD72FD9D5503197092aC168c91465E7f2"
POOL = "0x17F6AD8Ef982297579C203069C1DbfFE4348c372"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ZERO = "0x0000000000000000000000000000000000000000"
CLASS = "SZ_TRANSIT-1.0-2026-440300"
SIGNATURE = "0x" + "1b" * 32 + "2c" * 32 + "1b"
HASH = "0x" + "ab" * 32
TIME = "2026-11-23T08:30:00.000Z"
NONCE = 7_316_120_554_210_981
EXPIRY = 1_795_000_000


def signed(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An OpenAPI request example: a signed message."""
    value = {"message": {**message, "nonce": NONCE, "expiry": EXPIRY}, "signature": SIGNATURE}
    value.update(extra)
    return {"default": {"summary": "A signed request", "value": value}}


def ok(
    example: Any, status: int = 200, media_type: str = "application/json"
) -> dict[int | str, Any]:
    """The `responses` entry documenting a success with its example."""
    return {status: {"content": {media_type: {"example": example}}}}


def page(*items: Any, next_after: int | None = None) -> dict[str, Any]:
    return {"items": list(items), "next_after": next_after}


SUPPLY = {
    "issued": 1_250_000,
    "active": 1_100_000,
    "retired": 100_000,
    "cancelled": 10_000,
    "locked": 0,
    "buffer": 40_000,
}

RECEIPT = {
    "seq": 42,
    "event_type": "CreditsTransferred",
    "effects": {"ranges": [{"batch_no": 1, "first": 1, "last": 5000}]},
    "event_url": "/v1/events/42",
    "proof_url": "/v1/events/42/proof",
}

RETIRE_RECEIPT = {
    "seq": 43,
    "event_type": "CreditsRetired",
    "effects": {
        "certificate_id": "CERT-0000000043",
        "ranges": [{"batch_no": 1, "first": 5001, "last": 20000}],
    },
    "event_url": "/v1/events/43",
    "proof_url": "/v1/events/43/proof",
    "certificate_id": "CERT-0000000043",
    "certificate_url": "/v1/retirements/CERT-0000000043",
}

ACCOUNT: dict[str, Any] = {
    "address": ALICE,
    "kind": "household",
    "name": "Wang household",
    "household": None,
    "opened_seq": 3,
    "roles": [],
    "withheld": [],
}

BALANCE = {"asset_class": CLASS, "active": 7_500, "retired": 15_000, "cancelled": 0, "locked": 0}

HOLDING = {
    "asset_class": CLASS,
    "batch_no": 1,
    "first": 1,
    "last": 5_000,
    "amount": 5_000,
    "status": "active",
    "ref": None,
    "serials": "CN-CIR-SZ_TRANSIT-1.0-2026-1-1-5000",
}

ASSET_CLASS = {
    "id": CLASS,
    "methodology": "SZ_TRANSIT",
    "methodology_version": "1.0",
    "vintage": 2026,
    "region": "440300",
    "registered_seq": 5,
    "batches": 3,
    "supply": SUPPLY,
}

BATCH = {
    "batch_no": 1,
    "asset_class": CLASS,
    "amount": 20_000,
    "issued_to": ALICE,
    "reference": "claim-2026-11-wang",
    "issued_seq": 6,
    "buffer": False,
    "serials": "CN-CIR-SZ_TRANSIT-1.0-2026-1-1-20000",
    "supply": {
        **SUPPLY,
        "issued": 20_000,
        "active": 5_000,
        "retired": 15_000,
        "cancelled": 0,
        "buffer": 0,
    },
}

TRANSFER = {
    "seq": 42,
    "time": TIME,
    "from": ALICE,
    "to": BOB,
    "asset_class": CLASS,
    "amount": 5_000,
    "serials": ["CN-CIR-SZ_TRANSIT-1.0-2026-1-1-5000"],
}

RETIREMENT = {
    "certificate_id": "CERT-0000000043",
    "seq": 43,
    "time": TIME,
    "owner": BOB,
    "asset_class": CLASS,
    "amount": 15_000,
    "beneficiary_name": "Acme Logistics",
    "beneficiary": BOB,
    "reason": "offset 2026 Q4 delivery fleet",
    "jurisdiction": "CN-GD",
    "serials": ["CN-CIR-SZ_TRANSIT-1.0-2026-1-5001-20000"],
    "certificate_url": "/v1/retirements/CERT-0000000043",
    "html_url": "/v1/retirements/CERT-0000000043/certificate.html",
}

EVENT = {
    "seq": 42,
    "type": "CreditsTransferred",
    "time": TIME,
    "payload": {
        "request": {
            "from": ALICE,
            "to": BOB,
            "assetClass": CLASS,
            "batchNo": 0,
            "amount": 5_000,
            "nonce": NONCE,
            "expiry": EXPIRY,
        },
        "effects": {"ranges": [{"batch_no": 1, "first": 1, "last": 5_000}]},
    },
    "signatures": [{"signer": ALICE, "signature": SIGNATURE}],
}

CHECKPOINT_JSON = {
    "log_id": "carbon-registry.demo/shenzhen-pilot",
    "tree_size": 64,
    "root_hash": "ab" * 32,
    "timestamp": 1_795_000_000,
    "signer": OPERATOR,
    "signature": SIGNATURE,
}

ANCHOR = {
    "chain_id": 131277322940537,
    "contract": CONTRACT,
    "tx_hash": HASH,
    "block_number": 12,
    "block_hash": "0x" + "cd" * 32,
}

BUNDLE = {
    "version": 1,
    "event": EVENT,
    "leaf_index": 42,
    "inclusion": {"tree_size": 64, "path": ["ab" * 32, "cd" * 32]},
    "checkpoint": CHECKPOINT_JSON,
    "anchor": ANCHOR,
}

PENDING_BUNDLE = {
    "version": 1,
    "event": EVENT,
    "leaf_index": 42,
    "inclusion": None,
    "checkpoint": None,
    "anchor": None,
    "pending": {
        "status": "awaiting_checkpoint",
        "detail": "logged; the next checkpoint will include it",
        "expected_by": TIME,
    },
}

CHECKPOINT = {
    **CHECKPOINT_JSON,
    "status": "confirmed",
    "anchor": ANCHOR,
    "note": "carbon-registry.demo/shenzhen-pilot\n64\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
}

CLAIM = {
    "claim_id": "C12-0",
    "seq": 12,
    "idx": 0,
    "platform": PLATFORM,
    "activity_id": "metro_sz-00000001",
    "account": ALICE,
    "beneficiary": ALICE,
    "methodology": "SZ_TRANSIT",
    "version": "1.0",
    "methodology_hash": "ab" * 32,
    "family": "travel",
    "start_s": 1_772_411_400,
    "end_s": 1_772_413_200,
    "day": "2026-03-02",
    "asset_class": CLASS,
    "grams": 1_093,
    "evidence_hash": HASH,
    "status": "pending",
    "attested_seq": None,
    "verdict": None,
    "issued_seq": None,
    "reversed_seq": None,
}

RECORD = {
    "account": ALICE,
    "methodology": "SZ_TRANSIT",
    "version": "1.0",
    "region": "440304",
    "commitment": HASH,
}
DETAIL = {
    "salt": "0x" + "5a" * 32,
    "id": "metro_sz-00000001",
    "start": 1_772_411_400,
    "end": 1_772_413_200,
    "quantities": {"bus_m": 0, "metro_m": 12_000},
}

PROBLEM = {
    "type": "/v1/problems/insufficient_balance",
    "title": "Fewer active grams than requested",
    "status": 409,
    "detail": f"{ALICE} asked to move 1000000 g of {CLASS} but holds 7500 g active",
    "code": "insufficient_balance",
    "instance": "/v1/transfers",
}
