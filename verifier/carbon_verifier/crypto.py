"""Keccak-256, EIP-55 addresses, EIP-712 typed-data hashing and signer recovery.

`eth_account.messages.encode_typed_data` is the reference (tests compare both); this module
precomputes each type hash and the domain separator and recovers the signer with
`coincurve` directly, which is what makes thousands of signed transfers a second possible.
It needs only `safe-pysha3` and `coincurve`: the light verifier and the registry share it.

Signatures are 65 bytes r || s || v with v 27 or 28 (0 or 1 accepted when reading) and
low s (EIP-2): the high-s twin of a valid signature is refused, so every signature has one
accepted form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sha3  # safe-pysha3: a C Keccak-256, six times faster than eth_hash's pycryptodome
from coincurve import PublicKey

from carbon_verifier.errors import CodedError


class SignatureError(CodedError, ValueError):
    """The signature is malformed or does not recover to a key."""

    code = "bad_signature"
    status = 401
    title = "The signature is malformed or does not recover"


def keccak(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not NIST SHA3-256)."""
    return sha3.keccak_256(data).digest()  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 16)
def checksum_address(lower_hex: str) -> str:
    """EIP-55 form of a 40-digit lowercase hex address (without 0x); cached: addresses repeat."""
    digest = keccak(lower_hex.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch
        for i, ch in enumerate(lower_hex)
    )


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2

_ATOMIC = {"address", "string", "bytes32", "uint256", "uint64", "uint16", "bool"}


@dataclass(frozen=True)
class StructType:
    """An EIP-712 struct of atomic fields only (no nested structs, no arrays)."""

    name: str
    fields: tuple[tuple[str, str], ...]
    type_hash: bytes = field(init=False)

    def __post_init__(self) -> None:
        for _, sol_type in self.fields:
            if sol_type not in _ATOMIC:
                raise ValueError(f"unsupported EIP-712 field type {sol_type}")
        encoded = f"{self.name}({','.join(f'{t} {n}' for n, t in self.fields)})"
        object.__setattr__(self, "type_hash", keccak(encoded.encode()))

    def eip712_types(self) -> list[dict[str, str]]:
        return [{"name": n, "type": t} for n, t in self.fields]

    def hash_struct(self, message: dict[str, Any]) -> bytes:
        parts = [self.type_hash]
        for name, sol_type in self.fields:
            parts.append(_encode_value(sol_type, message[name]))
        return keccak(b"".join(parts))


def _encode_value(sol_type: str, value: Any) -> bytes:
    if sol_type == "string":
        return keccak(str(value).encode("utf-8"))
    if sol_type == "address":
        return bytes(12) + bytes.fromhex(str(value)[2:])
    if sol_type == "bytes32":
        raw = bytes.fromhex(str(value)[2:])
        if len(raw) != 32:
            raise ValueError("bytes32 value must be 32 bytes")
        return raw
    if sol_type == "bool":
        return int(bool(value)).to_bytes(32, "big")
    return int(value).to_bytes(32, "big")


DOMAIN_TYPE = StructType(
    "EIP712Domain",
    (
        ("name", "string"),
        ("version", "string"),
        ("chainId", "uint256"),
        ("verifyingContract", "address"),
    ),
)

DOMAIN_NAME = "CarbonRegistry"
DOMAIN_VERSION = "1"


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain that names one registry on one chain."""

    chain_id: int
    verifying_contract: str
    separator: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "separator", DOMAIN_TYPE.hash_struct(self.as_dict()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    def digest(self, struct: StructType, message: dict[str, Any]) -> bytes:
        return keccak(b"\x19\x01" + self.separator + struct.hash_struct(message))

    def full_message(self, struct: StructType, message: dict[str, Any]) -> dict[str, Any]:
        """The typed-data JSON that wallets (eth_account, MetaMask) sign."""
        return {
            "types": {
                "EIP712Domain": DOMAIN_TYPE.eip712_types(),
                struct.name: struct.eip712_types(),
            },
            "primaryType": struct.name,
            "domain": self.as_dict(),
            "message": message,
        }


def address_of_public_key(public_key: PublicKey) -> str:
    return checksum_address(keccak(public_key.format(compressed=False)[1:])[12:].hex())


def parse_signature(signature: str) -> bytes:
    """65-byte r||s||v (v in 27, 28, 0, 1), low-s only (EIP-2), as coincurve's r||s||recid."""
    text = signature[2:] if signature.startswith("0x") else signature
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise SignatureError("signature is not hex") from exc
    if len(raw) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(raw)}")
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= _HALF_N):
        raise SignatureError("signature r or s out of range (high-s signatures are refused)")
    v = raw[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"signature v must be 27 or 28, got {raw[64]}")
    return raw[:64] + bytes([v])


def normalise_signature(signature: str) -> str:
    """The one written form of a valid signature: 0x, lowercase r || s || v with v 27 or 28."""
    compact = parse_signature(signature)
    return "0x" + compact[:64].hex() + f"{compact[64] + 27:02x}"


def recover_signer(digest: bytes, signature: str) -> str:
    """Address whose key made `signature` over the 32-byte `digest`."""
    compact = parse_signature(signature)
    try:
        public_key = PublicKey.from_signature_and_message(compact, digest, hasher=None)
    except Exception as exc:  # coincurve raises a bare Exception on unrecoverable input
        raise SignatureError("signature does not recover to a public key") from exc
    return address_of_public_key(public_key)
