"""A registry file made by the first release upgrades to this schema and stays exact.

tests/fixtures/round1-registry.sqlite was written by the first release (simulated MRV, a
transfer, a retirement naming its beneficiary, a lock, two anchored checkpoints). It must
be refused until migrated, then migrate in place, replay and audit clean, and keep its
first-release events (a Retire that named its beneficiary) verifiable.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_registry.cli import cli
from registry.errors import SchemaVersionError
from registry.storage import Store, schema

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "round1-registry.sqlite"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    copy = tmp_path / "registry.db"
    shutil.copy(FIXTURE, copy)
    copy.chmod(0o644)  # as the first release created it
    return copy


def run(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    return result.exit_code, result.output


def test_a_first_release_registry_is_refused_until_migrated(old: Path) -> None:
    with pytest.raises(SchemaVersionError, match="carbon-registry migrate"):
        Store(old)
    code, output = run(old, "balance", "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    assert code == 1 and "Error [schema_version]" in output


def test_migrate_then_replay_and_audit_are_clean(old: Path) -> None:
    code, output = run(old, "migrate")
    assert code == 0, output
    assert f"schema version 0 -> {schema.LATEST}" in output
    assert stat.S_IMODE(old.stat().st_mode) == 0o600  # tightened
    code, output = run(old, "replay")
    assert code == 0 and "state equals the log" in output, output
    code, output = run(old, "audit")
    assert code == 0 and "clean" in output, output
    code, output = run(old, "migrate")
    assert code == 0 and "nothing to do" in output
    store = Store(old, read_only=True)
    [retirement] = store.conn.execute(
        "SELECT beneficiary_name, beneficiary_commitment FROM retirements"
    ).fetchall()
    assert retirement == ("Acme", None)  # logged by the first release with the name
    assert store.range_rule == 1  # its genesis names no range rule: it keeps the first
    store.close()


def test_a_registry_of_the_previous_release_keeps_its_sealed_data(tmp_path: Path) -> None:
    """Schema 3 sealed pieces as JSON of hex salt and data, keyed by (kind, ref), and kept
    256-bit salt fingerprints: after migration 4 a sealed name still opens, by its event,
    and its salt is still refused as reused."""
    import hashlib
    import json
    import secrets
    import sqlite3

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from registry.personal import ReusedSaltError, Vault, salt_fingerprint
    from registry.storage.personal import PersonalTables

    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[:3]:
        step.apply(conn)
    conn.execute("PRAGMA user_version = 3")
    master, key, salt = (secrets.token_bytes(32) for _ in range(3))
    subject, ref = "0x" + "ab" * 20, "0x" + "cd" * 32
    nonce = secrets.token_bytes(12)
    wrapped = nonce + AESGCM(master).encrypt(nonce, key, subject.encode())
    conn.execute("INSERT INTO personal_keys VALUES (?, ?, 0)", (subject, wrapped))
    plain = json.dumps({"salt": salt.hex(), "data": "王 (a beneficiary)".encode().hex()})
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(
        nonce, plain.encode(), f"{subject}|beneficiary_name|{ref}".encode()
    )
    conn.execute(
        "INSERT INTO personal_data(subject, kind, ref, nonce, ciphertext, seq)"
        " VALUES (?, 'beneficiary_name', ?, ?, ?, 7)",
        (subject, ref, nonce, sealed),
    )
    conn.execute(
        "INSERT INTO commitment_salts VALUES (?)", (hashlib.sha256(b"salt|" + salt).digest(),)
    )
    conn.close()

    schema.migrate(sqlite3.connect(path, isolation_level=None))
    store = Store(path)
    vault = Vault(PersonalTables(store.conn), master)
    piece = vault.get("beneficiary_name", ref, 7)
    assert piece is not None and (piece.salt, piece.data) == (salt, "王 (a beneficiary)".encode())
    assert store.conn.execute("SELECT fingerprint FROM commitment_salts").fetchone()[0] == (
        salt_fingerprint(salt)
    )
    with pytest.raises(ReusedSaltError):
        vault.claim_salts([salt])
    store.close()


def test_a_registry_of_schema_4_gains_the_offer_and_community_tables(tmp_path: Path) -> None:
    """Migration 5 adds offers, redemptions and community memberships, empty, and the file
    then opens at the latest schema."""
    import sqlite3

    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[:4]:
        step.apply(conn)
    conn.execute("PRAGMA user_version = 4")
    applied = schema.migrate(conn)
    assert [step.version for step in applied] == list(range(5, schema.LATEST + 1))
    for table in ("offers", "redemptions", "community_members"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
    conn.close()
    store = Store(path)
    assert store.offers(active_only=False) == [] and store.communities() == []
    store.close()


def test_migration_6_forgets_the_links_of_members_erased_before(tmp_path: Path) -> None:
    """A member erased under schema 5 kept their household link in `accounts` and their
    claims: migration 6 forgets it there and notes only that the household lost a member,
    and the registry then replays clean (the link was logged in clear by that release)."""
    import sqlite3

    from registry import messages as m
    from registry.replay import replay
    from registry.signing import Signer
    from tests.test_household_link import legacy_open
    from tests.test_mrv_ingestion import T0, MrvWorld

    mrv = MrvWorld.create(tmp_path / "v5.db")
    household, member = mrv.addr("wang"), Signer.generate()
    mrv.world.people["old"] = member
    legacy_open(mrv.world, m.OPEN_ACCOUNT_WITH_HOUSEHOLD, member.address, household)
    mrv.submit("metro", [mrv.record("old", T0 + 7 * 3600)])
    size = mrv.store.next_seq()
    mrv.registry.erase(member.address)
    mrv.store.close()
    # what schema 5 left behind: the link kept, no erased_members
    conn = sqlite3.connect(tmp_path / "v5.db", isolation_level=None)
    conn.execute("UPDATE accounts SET household = ? WHERE address = ?", (household, member.address))
    conn.execute("UPDATE claims SET beneficiary = ? WHERE account = ?", (household, member.address))
    conn.execute("DROP TABLE erased_members")
    conn.execute("PRAGMA user_version = 5")
    assert [step.version for step in schema.migrate(conn)] == list(range(6, schema.LATEST + 1))
    assert conn.execute("SELECT * FROM erased_members").fetchall() == [(household, size)]
    assert conn.execute(
        "SELECT household FROM accounts WHERE address = ?", (member.address,)
    ).fetchone() == (None,)
    assert conn.execute(
        "SELECT DISTINCT beneficiary FROM claims WHERE account = ?", (member.address,)
    ).fetchall() == [(member.address,)]
    conn.close()
    store = Store(tmp_path / "v5.db")
    try:
        report = replay(store)
        assert report.clean, report.problems
    finally:
        store.close()


def test_migration_9_gives_the_active_holdings_index_their_last_serial(tmp_path: Path) -> None:
    """Range rule 2 looks for an owner's first holding that covers an amount: the index of
    active holdings now holds `last`, so the search reads no table row it passes over."""
    import sqlite3

    conn = sqlite3.connect(tmp_path / "v8.db", isolation_level=None)
    for step in schema.MIGRATIONS[:8]:
        step.apply(conn)
    conn.execute("PRAGMA user_version = 8")
    assert [step.version for step in schema.migrate(conn)] == [9]
    indexes = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert "holdings_active_ranges" in indexes and "holdings_active" not in indexes
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM holdings WHERE owner = ? AND asset_class = ?"
        " AND status = 'active' AND last - first >= ? ORDER BY batch_no, first LIMIT 1",
        ("0x" + "11" * 20, "SZ_TRANSIT-1.0-2026-440300", 9),
    ).fetchall()
    assert "USING INDEX holdings_active_ranges" in plan[0][3]
    conn.close()
