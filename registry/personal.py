"""The personal data vault: what the registry knows about people, encrypted and erasable.

Activity details, people's names and beneficiaries' names enter the log and the chain only
as commitments (`registry.commitments`). The data behind them is kept here, encrypted with
AES-256-GCM under a data key of its own per person (the subject: their account address).
Each data key is stored wrapped by the registry's master key, which lives outside the
database (CARBON_REGISTRY_DATA_KEY, or the file `DB.data-key`, owner-only; on PostgreSQL
`registry.data-key` in the folder CARBON_REGISTRY_HOME). Erasing a person
deletes their data key and their pieces (crypto-shredding): a copy of the database taken
before cannot decrypt them without the master key, and with the key gone nothing can decrypt
them at all. Commitment salts are random 32-byte values that are erased with the data, so a
commitment left in the log cannot be inverted by guessing (2^256 salts to try).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.commitments import SALT_BYTES, commitment
from registry.errors import ValidationError
from registry.storage.base import beside
from registry.storage.personal import PersonalTables, SealedPiece

DATA_KEY_ENV = "CARBON_REGISTRY_DATA_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
CACHED_KEYS = 100_000  # unwrapped data keys kept in memory (tens of MB at most)
SEALED_FORMAT = b"\x01"  # what a sealed piece's plaintext starts with (JSON's is "{")

EVIDENCE = "evidence"  # raw evidence of the first release's batches
ACTIVITY = "activity"  # the details of a committed activity record, by its commitment
BENEFICIARY_NAME = "beneficiary_name"  # the kinds of the other pieces: their field names
PERSONAL_NAME = "personal_name"
PSEUDONYM = "pseudonym"  # a community member's leaderboard name
HOUSEHOLD = "household"  # the household a person belongs to: its address's 20 bytes


class ReusedSaltError(ValidationError):
    code = "salt_reused"
    title = "A commitment salt was used before: every commitment needs a fresh salt"


def data_key_path(db: str | Path) -> Path:
    return beside(db, ".data-key", DATA_KEY_ENV)


def existing_master_key(db: str | Path) -> bytes | None:
    """The master key if there is one (for readers: they never create it)."""
    if os.environ.get(DATA_KEY_ENV):
        return master_key(db)
    try:
        found = data_key_path(db).exists()
    except ValidationError:  # a registry on PostgreSQL without its folder: no key file
        return None
    return master_key(db) if found else None


def master_key(db: str | Path) -> bytes:
    """The master key: CARBON_REGISTRY_DATA_KEY (64 hex digits), else the key file beside
    the database, created (owner-only) on first use."""
    configured = os.environ.get(DATA_KEY_ENV)
    if configured:
        key = bytes.fromhex(configured.removeprefix("0x"))
        if len(key) != KEY_BYTES:
            raise ValidationError(f"{DATA_KEY_ENV} must be {KEY_BYTES} bytes of hex")
        return key
    path = data_key_path(db)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def salt_fingerprint(salt: bytes) -> bytes:
    """What the registry remembers of a used salt: enough to refuse it again (128 bits of
    SHA-256), nothing more."""
    return hashlib.sha256(b"salt|" + salt).digest()[:16]


class Piece(NamedTuple):
    """A piece of personal data and the salt its commitment in the log uses."""

    subject: str
    kind: str
    ref: str
    salt: bytes
    data: bytes
    seq: int | None

    @property
    def commitment(self) -> str:
        return commitment(self.salt, self.data)


class Vault:
    """Personal data of one registry, sealed under per-subject keys."""

    def __init__(self, tables: PersonalTables, master: bytes) -> None:
        self.tables = tables
        self._master = AESGCM(master)
        self._activity_secret = hashlib.sha256(b"activity-key|" + master).digest()
        # Data keys unwrapped before, by their wrapped bytes: ingestion seals under the same
        # people batch after batch. The table stays the truth (a key erased, or created in a
        # transaction that rolled back, is not found there and so not used). Emptied by an
        # erasure here and whenever another connection commits (it may have erased one), so
        # that an erased key does not outlive its row in this process's memory.
        self._ciphers: dict[bytes, AESGCM] = {}
        self._ciphers_version = -1

    def _subject_ciphers(self, subjects: Iterable[str], create: bool) -> dict[str, AESGCM]:
        """The data keys of `subjects` (one query), made for those without one if `create`."""
        wanted = list(dict.fromkeys(subjects))
        wrapped = self.tables.wrapped_keys(wanted)
        missing = [s for s in wanted if s not in wrapped]
        if create and missing:
            made = []
            for subject in missing:
                nonce = secrets.token_bytes(NONCE_BYTES)
                sealed = nonce + self._master.encrypt(
                    nonce, secrets.token_bytes(KEY_BYTES), subject.encode()
                )
                made.append((subject, sealed))
            self.tables.insert_keys(made, time.time())
            wrapped.update(self.tables.wrapped_keys(missing))  # the first one stored stays
        version = self.tables.data_version()
        if version != self._ciphers_version or len(self._ciphers) > CACHED_KEYS:
            self._ciphers.clear()
            self._ciphers_version = version
        ciphers = {}
        for subject, sealed in wrapped.items():
            cipher = self._ciphers.get(sealed)
            if cipher is None:
                try:
                    key = self._master.decrypt(
                        sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], subject.encode()
                    )
                except InvalidTag as exc:
                    raise ValidationError(
                        f"the data key of {subject} does not open with the master key"
                    ) from exc
                cipher = self._ciphers[sealed] = AESGCM(key)
            ciphers[subject] = cipher
        return ciphers

    def seal(self, piece: Piece) -> None:
        """Encrypt and store a piece (inside the caller's transaction)."""
        self.seal_many([piece], piece.seq)

    def seal_many(self, pieces: Sequence[Piece], seq: int | None) -> None:
        """Encrypt and store pieces of the event `seq`, each under its subject's key. The
        plaintext is a format byte (1), the 32-byte salt, then the data."""
        ciphers = self._subject_ciphers([p.subject for p in pieces], create=True)
        nonces = secrets.token_bytes(NONCE_BYTES * len(pieces))
        sealed = []
        for i, (subject, kind, ref, salt, data, _) in enumerate(pieces):
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            plain = SEALED_FORMAT + salt + data
            ciphertext = ciphers[subject].encrypt(nonce, plain, f"{subject}|{kind}|{ref}".encode())
            sealed.append(SealedPiece(subject, kind, ref, nonce, ciphertext, seq))
        self.tables.put_many(sealed)

    def activity_key(self, platform: str, activity_id: str) -> bytes:
        """What the registry keeps of a platform's activity id to refuse it a second time:
        a keyed hash (BLAKE2b, 128 bits), which no one without the master key can test
        guesses against."""
        return hashlib.blake2b(f"{platform}|{activity_id}".encode(), key=self._activity_secret,
                               digest_size=16).digest()  # fmt: skip

    def decision_inputs(
        self, platform: str, details: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any] | None]:
        """Activity details as ingestion decides on them, with the keyed hash of the id (what
        the private index keeps; the id itself is checked against first-release claims)."""
        return [
            {"activity_key": self.activity_key(platform, d["id"]), "id": d["id"],
             "start": d["start"], "end": d["end"], "quantities": d["quantities"]}
            for d in details
        ]  # fmt: skip

    def batch_inputs(
        self, seq: int, platform: str, records: list[dict[str, Any]]
    ) -> list[dict[str, Any] | None]:
        """The decision inputs of the committed batch logged as event `seq`, from the sealed
        details (read in one query); None for a record whose details are not kept."""
        sealed = [s for s in self.tables.of_event(seq) if s.kind == ACTIVITY]
        by_ref = {p.ref: p for p in self.open_many(sealed) if p is not None}
        inputs: list[dict[str, Any] | None] = []
        for record in records:
            piece = by_ref.get(record["commitment"])
            if piece is None:
                inputs.append(None)
                continue
            inputs.extend(self.decision_inputs(platform, [json.loads(piece.data)]))
        return inputs

    def open(self, sealed: SealedPiece) -> Piece | None:
        """The piece inside; None when its subject was erased. Raises ValidationError for a
        piece that does not open (changed on disk, or sealed under another key)."""
        return self.open_many([sealed])[0]

    def open_many(self, pieces: Sequence[SealedPiece]) -> list[Piece | None]:
        """`open` of every piece, their subjects' keys read once."""
        ciphers = self._subject_ciphers([s.subject for s in pieces], create=False)
        return [self._opened(sealed, ciphers.get(sealed.subject)) for sealed in pieces]

    @staticmethod
    def _opened(sealed: SealedPiece, cipher: AESGCM | None) -> Piece | None:
        if cipher is None:
            return None  # erased
        aad = f"{sealed.subject}|{sealed.kind}|{sealed.ref}".encode()
        try:
            plain = cipher.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag as exc:
            raise ValidationError(f"the sealed {sealed.kind} {sealed.ref} does not open") from exc
        if plain.startswith(SEALED_FORMAT):
            salt, data = plain[1 : 1 + SALT_BYTES], plain[1 + SALT_BYTES :]
        else:  # sealed by the previous release: JSON of the hex salt and data
            old: dict[str, Any] = json.loads(plain)
            salt, data = bytes.fromhex(old["salt"]), bytes.fromhex(old["data"])
        return Piece(sealed.subject, sealed.kind, sealed.ref, salt, data, sealed.seq)

    def get(self, kind: str, ref: str, seq: int) -> Piece | None:
        """The piece `ref` of `kind` sealed with the event `seq`, if not erased."""
        sealed = self.tables.get(kind, ref, seq)
        return None if sealed is None else self.open(sealed)

    def of_subject(self, subject: str) -> list[Piece]:
        return [p for p in self.open_many(self.tables.of_subject(subject)) if p is not None]

    def erase(self, subject: str) -> int:
        """Destroy the subject's key, pieces and private activity rows; returns how many
        pieces went."""
        self._ciphers.clear()
        return self.tables.erase(subject, time.time())

    def claim_salts(self, salts: list[bytes]) -> None:
        """Refuse salts that are short or were used before; remember these ones. Call it
        inside a write transaction: on a refusal some may be remembered, and must roll back
        with the rest."""
        if any(len(salt) != SALT_BYTES for salt in salts):
            raise ValidationError(f"a commitment salt must be {SALT_BYTES} random bytes")
        if not self.tables.remember_salts([salt_fingerprint(salt) for salt in salts]):
            raise ReusedSaltError("a commitment salt was used before; use a fresh one")
