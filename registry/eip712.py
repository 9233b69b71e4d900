"""EIP-712 for the registry: the shared hashing and recovery of `carbon_verifier.crypto`,
with refusals as registry errors, plus what only the registry does (signing, contract
addresses)."""

from __future__ import annotations

from coincurve import PrivateKey

from carbon_verifier import crypto
from carbon_verifier.crypto import (
    DOMAIN_NAME,
    DOMAIN_TYPE,
    DOMAIN_VERSION,
    SECP256K1_N,
    Domain,
    StructType,
    address_of_public_key,
    checksum_address,
    keccak,
)
from registry.errors import SignatureError

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_TYPE",
    "DOMAIN_VERSION",
    "SECP256K1_N",
    "Domain",
    "StructType",
    "address_of_public_key",
    "checksum_address",
    "contract_address_of",
    "keccak",
    "normalise_signature",
    "parse_signature",
    "recover_signer",
    "sign_digest",
]


def parse_signature(signature: str) -> bytes:
    """`crypto.parse_signature`, refusing with the registry's SignatureError."""
    try:
        return crypto.parse_signature(signature)
    except crypto.SignatureError as exc:
        raise SignatureError(str(exc)) from exc


def normalise_signature(signature: str) -> str:
    try:
        return crypto.normalise_signature(signature)
    except crypto.SignatureError as exc:
        raise SignatureError(str(exc)) from exc


def recover_signer(digest: bytes, signature: str) -> str:
    try:
        return crypto.recover_signer(digest, signature)
    except crypto.SignatureError as exc:
        raise SignatureError(str(exc)) from exc


def contract_address_of(deployer: str, nonce: int) -> str:
    """Address of the contract `deployer` creates with its transaction number `nonce`.

    keccak256(rlp([deployer, nonce]))[12:], with the two-item RLP list written out.
    """
    if nonce == 0:
        nonce_rlp = b"\x80"
    elif nonce < 0x80:
        nonce_rlp = bytes([nonce])
    else:
        raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        nonce_rlp = bytes([0x80 + len(raw)]) + raw
    items = b"\x94" + bytes.fromhex(deployer[2:]) + nonce_rlp
    encoded = bytes([0xC0 + len(items)]) + items
    return checksum_address(keccak(encoded)[12:].hex())


def sign_digest(private_key: bytes, digest: bytes) -> str:
    """Sign a 32-byte digest; returns 0x r||s||v with v in (27, 28)."""
    raw = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return "0x" + (raw[:64] + bytes([raw[64] + 27])).hex()
