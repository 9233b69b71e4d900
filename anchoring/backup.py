"""Online backup and verified restore of a registry: its database (events, state, Merkle log,
checkpoints, the sealed personal data) and its persistent embedded chain.

Order matters. The chain is copied first, between two blocks; the database after it, with
SQLite's online backup (a consistent snapshot while writes go on). The database copy is
therefore never older than the chain copy, so no event the chain anchored is missing from
it. It may name anchors in blocks mined after the chain was copied: those checkpoints are
set back to `sent` in the copy (their signed transaction kept), and a restored worker
sends the same transaction again. Then the copy is verified as a whole (`replay`, and
`audit` against the copied chain) before it is called good; `restore` verifies it again.

Keys are not copied: the operator's key and the data key (`DB.data-key`) belong in a
separate, protected place (without the data key the sealed personal data cannot be read).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from anchoring.audit import audit
from anchoring.chain import Chain, embedded_chain_file
from registry.errors import ValidationError
from registry.ledger import Registry
from registry.replay import replay
from registry.storage import Store

DB_NAME = "registry.db"
MANIFEST = "manifest.json"


class BackupError(ValidationError):
    code = "backup_failed"
    status = 422
    title = "The backup does not verify"


@dataclass(frozen=True)
class Manifest:
    """What a verified copy holds: the last event, the Merkle log and the chain's head."""

    created: float
    events: int
    last_seq: int
    tree_size: int
    chain_head: int | None
    files: dict[str, str]  # name -> SHA-256

    def save(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")


def backup(
    db: Path, dest: Path, chain: Chain | None, progress: Callable[[int], None] | None = None
) -> Manifest:
    """Copy the registry at `db` (and `chain`, its embedded chain when it has one) into the
    new folder `dest`, verify the copy, and write its manifest. BackupError if it does not
    verify (the folder is then removed). `progress(1)` after each of the three steps: the
    chain copied, the database copied, the copy verified."""
    step = progress or (lambda done: None)
    dest.mkdir(parents=True)
    try:
        if chain is not None and chain.embedded:
            chain.backup_to(embedded_chain_file(dest / DB_NAME))
        step(1)
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30.0)
        target = sqlite3.connect(dest / DB_NAME)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        step(1)
        dest.chmod(0o700)  # a copy holds what the original holds: as private
        for copied in dest.iterdir():
            copied.chmod(0o600)
        copied_chain = embedded_chain_file(dest / DB_NAME)
        if copied_chain.exists():
            _send_again_what_the_chain_copy_lacks(dest / DB_NAME, copied_chain)
        manifest = _verify_apart(dest)
        step(1)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    manifest.save(dest)
    return manifest


def _send_again_what_the_chain_copy_lacks(db: Path, chain_file: Path) -> None:
    chain = Chain.create_embedded(chain_file)
    try:
        head = chain.head()
        conn = sqlite3.connect(db)
        with conn:
            rows = conn.execute(
                "SELECT tree_size, block_number, block_hash FROM anchor_checkpoints"
                " WHERE block_number IS NOT NULL"
            ).fetchall()
            for size, number, block_hash in rows:
                if number > head or chain.block_hash(number) != bytes(block_hash):
                    conn.execute(
                        "UPDATE anchor_checkpoints SET status = 'sent', block_number = NULL,"
                        " block_hash = NULL, confirmed_at = NULL WHERE tree_size = ?",
                        (size,),
                    )
        conn.close()
    finally:
        chain.close()


def _verify_apart(folder: Path) -> Manifest:
    """`verify` in a process of its own: replaying the log is CPU work that would otherwise
    hold the interpreter lock the service's writer needs while the backup runs."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(verify, folder).result()


def verify(folder: Path) -> Manifest:
    """Replay and audit the copy in `folder` (against its chain copy when there is one);
    BackupError naming the first problems if it does not verify."""
    db = folder / DB_NAME
    if not db.is_file():
        raise BackupError(f"{folder} holds no {DB_NAME}")
    store = Store(db, read_only=True)
    chain_file = embedded_chain_file(db)
    chain = Chain.create_embedded(chain_file) if chain_file.exists() else None
    try:
        replayed = replay(store, verify_signatures=True)
        if not replayed.clean:
            raise BackupError(f"replay of the copy: {'; '.join(replayed.problems[:3])}")
        registry = Registry(store)
        if chain is not None:
            chain.bind(registry.domain.verifying_contract)
        audited = audit(store, registry.log_id, registry.domain, chain)
        if not audited.clean:
            raise BackupError(f"audit of the copy: {'; '.join(audited.problems[:3])}")
        files = {
            p.name: _sha256(p)
            for p in sorted(folder.iterdir())
            if p.is_file() and p.name != MANIFEST and not p.name.endswith(("-wal", "-shm"))
        }
        return Manifest(
            created=time.time(),
            events=replayed.events,
            last_seq=replayed.events - 1,
            tree_size=int(store.conn.execute("SELECT tree_size FROM merkle_state").fetchone()[0]),
            chain_head=None if chain is None else chain.head(),
            files=files,
        )
    finally:
        store.close()
        if chain is not None:
            chain.close()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:  # streamed: a copy may be larger than memory
        return hashlib.file_digest(handle, "sha256").hexdigest()


def restore(folder: Path, db: Path) -> Manifest:
    """Verify the copy in `folder`, then put it at `db` (and its chain beside). Refuses a
    copy that does not verify, and a `db` that exists (move it away first)."""
    for target in (db, embedded_chain_file(db)):
        if target.exists():
            raise BackupError(f"{target} exists: move it away before restoring over it")
    manifest = verify(folder)
    pairs = [(folder / DB_NAME, db)]
    chain_copy = embedded_chain_file(folder / DB_NAME)
    if chain_copy.exists():
        pairs.append((chain_copy, embedded_chain_file(db)))
    for source, target in pairs:  # each file whole or not at all
        partial = target.with_name(target.name + ".restoring")
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    return manifest
