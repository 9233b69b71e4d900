"""Personal data, off the log: encrypted pieces and the per-person keys that open them.

`personal_keys` holds each subject's data key, wrapped by the registry's master key;
`personal_data` holds the pieces (raw evidence, a beneficiary's name...) encrypted with
it. Neither is registry state: the log holds only commitments, so erasing a subject
deletes both tables' rows and changes no event, no proof and nothing replay rebuilds.
The connection runs with `secure_delete`, so erased rows are overwritten on disk.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from registry.storage.base import chunks, marks
from registry.storage.connection import Connection


class SealedPiece(NamedTuple):
    subject: str
    kind: str
    ref: str
    nonce: bytes
    ciphertext: bytes
    seq: int | None


class PersonalTables:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        conn.execute("PRAGMA secure_delete = ON")

    def data_version(self) -> int:
        """SQLite's count of commits by other connections (one may have erased a key)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def wrapped_key(self, subject: str) -> bytes | None:
        row = self.conn.execute(
            "SELECT wrapped FROM personal_keys WHERE subject = ?", (subject,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def wrapped_keys(self, subjects: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(subjects))
        for chunk in chunks(unique):
            rows = self.conn.execute(
                f"SELECT subject, wrapped FROM personal_keys WHERE subject IN ({marks(chunk)})",
                chunk,
            )
            found.update((subject, bytes(wrapped)) for subject, wrapped in rows)
        return found

    def insert_keys(self, rows: list[tuple[str, bytes]], now: float) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO personal_keys(subject, wrapped, created_at) VALUES (?, ?, ?)",
            [(subject, wrapped, now) for subject, wrapped in rows],
        )

    def put_many(self, pieces: list[SealedPiece]) -> None:
        """Store pieces (each event seals a (kind, ref) once)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO personal_data(subject, kind, ref, nonce, ciphertext, seq)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            pieces,
        )

    def get(self, kind: str, ref: str, seq: int) -> SealedPiece | None:
        row = self.conn.execute(
            "SELECT subject, kind, ref, nonce, ciphertext, seq FROM personal_data"
            " WHERE seq = ? AND kind = ? AND ref = ?",
            (seq, kind, ref),
        ).fetchone()
        return None if row is None else SealedPiece(row[0], row[1], row[2], bytes(row[3]),
                                                    bytes(row[4]), row[5])  # fmt: skip

    def of_event(self, seq: int) -> list[SealedPiece]:
        rows = self.conn.execute(
            "SELECT subject, kind, ref, nonce, ciphertext, seq FROM personal_data WHERE seq = ?",
            (seq,),
        )
        return [SealedPiece(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def of_subject(self, subject: str) -> list[SealedPiece]:
        rows = self.conn.execute(
            "SELECT subject, kind, ref, nonce, ciphertext, seq FROM personal_data"
            " WHERE subject = ? ORDER BY kind, ref",
            (subject,),
        )
        return [SealedPiece(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def all(self) -> list[SealedPiece]:
        rows = self.conn.execute(
            "SELECT subject, kind, ref, nonce, ciphertext, seq FROM personal_data"
            " ORDER BY subject, kind, ref"
        )
        return [SealedPiece(r[0], r[1], r[2], bytes(r[3]), bytes(r[4]), r[5]) for r in rows]

    def erase(self, subject: str, now: float) -> int:
        """Delete the subject's key, pieces, private activity rows (and legacy plaintext
        evidence), and note that they were erased; returns how many pieces went."""
        pieces = self.conn.execute("DELETE FROM personal_data WHERE subject = ?", (subject,))
        legacy = self.conn.execute("DELETE FROM evidence WHERE account = ?", (subject,))
        self.conn.execute("DELETE FROM personal_keys WHERE subject = ?", (subject,))
        self.conn.execute("DELETE FROM private_activities WHERE subject = ?", (subject,))
        self.conn.execute(
            "INSERT OR IGNORE INTO erased_subjects(subject, erased_at, log_size)"
            " VALUES (?, ?, (SELECT COUNT(*) FROM events))",
            (subject, now),
        )
        return int(pieces.rowcount) + int(legacy.rowcount)

    def salt_seen(self, fingerprint: bytes) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM commitment_salts WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return row is not None

    def remember_salts(self, fingerprints: list[bytes]) -> bool:
        """Remember these salt fingerprints; False (and the caller's transaction to roll
        back) if any was remembered before. One statement: the primary key finds reuse."""
        try:
            self.conn.executemany(
                "INSERT INTO commitment_salts(fingerprint) VALUES (?)", [(f,) for f in fingerprints]
            )
        except sqlite3.IntegrityError:
            return False
        return True
