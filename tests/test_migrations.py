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
    store.close()
