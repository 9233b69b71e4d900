"""Keys and signed requests for the parties of the registry (owners, operator, platforms).

Keys never live in the repository: they come from the environment, from a key file the
user points at, or are generated (`generate`) for the embedded chain and the demo.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any

from coincurve import PrivateKey

from carbon_verifier.jsonsafe import loads
from registry.eip712 import Domain, StructType, address_of_public_key, sign_digest
from registry.errors import ValidationError
from registry.messages import MAX_SAFE_INTEGER, message_of
from registry.messages.declaration import Default

DEFAULT_TTL_S = 3600
PASSPHRASE_ENV = "CARBON_REGISTRY_KEY_PASSPHRASE"


def new_nonce() -> int:
    """A random nonce within the JSON-safe integer range."""
    return secrets.randbelow(MAX_SAFE_INTEGER)


class Signer:
    """A secp256k1 key that signs EIP-712 requests for one registry domain."""

    def __init__(self, private_key: bytes | str) -> None:
        if isinstance(private_key, str):
            text = private_key[2:] if private_key.startswith("0x") else private_key
            try:
                private_key = bytes.fromhex(text)
            except ValueError as exc:
                raise ValidationError("private key is not hex") from exc
        if len(private_key) != 32:
            raise ValidationError("private key must be 32 bytes")
        self._key = private_key
        self.address = address_of_public_key(PrivateKey(private_key).public_key)

    @classmethod
    def generate(cls) -> Signer:
        return cls(PrivateKey().secret)

    @property
    def private_key_hex(self) -> str:
        return "0x" + self._key.hex()

    def sign_struct(self, domain: Domain, struct: StructType, message: dict[str, Any]) -> str:
        """Sign `message` as the struct `struct` (as published, e.g. by GET /v1/eip712)."""
        return sign_digest(self._key, domain.digest(struct, message))

    def sign(self, domain: Domain, kind: str, message: dict[str, Any]) -> str:
        declared = message_of(kind)
        return sign_digest(self._key, domain.digest(declared.struct, declared.normalise(message)))

    def request(
        self,
        domain: Domain,
        kind: str,
        /,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        nonce: int | None = None,
        **fields: Any,
    ) -> tuple[str, dict[str, Any], str]:
        """A signed request `(kind, message, signature)` with a fresh nonce and an expiry; a
        field left out takes its declared fixed default (a zero commitment, say)."""
        message = {
            f.name: f.default
            for f in message_of(kind).fields
            if f.name not in fields and not isinstance(f.default, Default)
        }
        message.update(fields)
        message["nonce"] = new_nonce() if nonce is None else nonce
        message["expiry"] = int(time.time()) + ttl_s
        return kind, message, self.sign(domain, kind, message)

    def save(self, path: Path, passphrase: str | None = None) -> None:
        """Write the key as JSON readable by its owner only: with a passphrase, in the Web3
        Secret Storage format (scrypt + AES-128-CTR, what wallets and eth-account read)."""
        if passphrase:
            from eth_account import Account

            content: dict[str, Any] = Account.encrypt(self._key, passphrase)
        else:
            content = {"address": self.address, "private_key": self.private_key_hex}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
            handle.write("\n")

    @staticmethod
    def is_keystore(path: Path) -> bool:
        try:
            return "crypto" in json.loads(Path(path).read_text())
        except (OSError, ValueError, TypeError):
            return False

    @classmethod
    def load(cls, path: Path, passphrase: str | None = None) -> Signer:
        """A key file: plain JSON, or an encrypted keystore unlocked by `passphrase` (else
        CARBON_REGISTRY_KEY_PASSPHRASE)."""
        try:
            data = loads(Path(path).read_bytes(), what=str(path))
            if "crypto" in data:
                data = {"private_key": cls._unlock(data, path, passphrase)}
            signer = cls(data["private_key"])
        except (OSError, ValueError, KeyError) as exc:
            raise ValidationError(f"cannot read key file {path}: {exc}") from exc
        if data.get("address") and data["address"].lower().removeprefix("0x") != (
            signer.address.lower().removeprefix("0x")
        ):
            raise ValidationError(f"key file {path} names {data['address']} but holds another key")
        return signer

    @staticmethod
    def _unlock(keystore: dict[str, Any], path: Path, passphrase: str | None) -> str:
        from eth_account import Account

        secret = passphrase or os.environ.get(PASSPHRASE_ENV)
        if not secret:
            raise ValidationError(f"key file {path} is encrypted: set {PASSPHRASE_ENV}")
        try:
            return "0x" + bytes(Account.decrypt(keystore, secret)).hex()
        except ValueError as exc:
            raise ValidationError(f"key file {path}: wrong passphrase ({exc})") from exc
