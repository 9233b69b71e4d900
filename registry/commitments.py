"""Commitments: what the log and the chain hold instead of personal data.

A commitment to some data (a reading, a beneficiary's name) is `0x` SHA-256(salt || data)
with a fresh random salt of 32 bytes. Whoever holds the salt and the data can show they
match; without the salt, the data cannot be guessed from the commitment, so erasing the
salt and the data (kept off the log) leaves nothing to recover while every proof of the
log stays valid.
"""

from __future__ import annotations

import hashlib
import secrets

SALT_BYTES = 32
NO_COMMITMENT = "0x" + "00" * 32  # "nothing committed", e.g. an anonymous beneficiary


def commitment(salt: bytes, data: bytes) -> str:
    """`0x` SHA-256(salt || data)."""
    return "0x" + hashlib.sha256(salt + data).hexdigest()


def new_salt() -> bytes:
    """A fresh salt from the operating system's random source (never a seeded generator)."""
    return secrets.token_bytes(SALT_BYTES)


def address_bytes(address: str) -> bytes:
    """The 20 raw bytes of a 0x address: what a commitment to an address is made over, so
    that the same address in any letter case gives the same commitment."""
    return bytes.fromhex(address.removeprefix("0x"))


def commit_address(address: str) -> tuple[bytes, str]:
    """A fresh salt and the commitment to `address` (its 20 raw bytes) under it."""
    salt = new_salt()
    return salt, commitment(salt, address_bytes(address))


def commit_text(text: str) -> tuple[bytes, str]:
    """A fresh salt and the commitment to `text` (UTF-8) under it."""
    salt = new_salt()
    return salt, commitment(salt, text.encode("utf-8"))
