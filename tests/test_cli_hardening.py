"""Every command, on every kind of bad database, prints one line `Error [code]: ...` and no
traceback; read commands work in a directory they cannot write.

Databases: missing, empty, truncated and random bytes. The read-only directory holds a
valid registry: read commands succeed there, write commands fail with one line.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_registry.cli import cli
from registry.signing import Signer
from tests.ledger_world import World

ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HASH = "0x" + "ab" * 32
CLASS = "SZ_TRANSIT-1.0-2026-440300"
OPERATOR_KEY = Signer.generate().private_key_hex
OWNER_KEY = Signer.generate().private_key_hex
DEAD_RPC = "http://127.0.0.1:9"

READS: list[list[str]] = [
    ["accounts", "list"],
    ["classes", "list"],
    ["balance", ADDRESS],
    ["holdings", ADDRESS],
    ["batches"],
    ["certificate", "CERT-0000000001"],
    ["events"],
    ["replay"],
    ["checkpoints"],
    ["proof", "1"],
    ["consistency-proof", "1", "2"],
    ["audit"],
    ["claims", "list"],
    ["claims", "rejected"],
    ["claims", "summary"],
]
WRITES: list[list[str]] = [
    ["accounts", "open", ADDRESS, "--kind", "company"],
    ["accounts", "grant", ADDRESS, "platform"],
    ["classes", "register", "--methodology", "SZ_TRANSIT", "--version", "1.0",
     "--vintage", "2026", "--region", "440300"],
    ["issue", "--to", ADDRESS, "--class", CLASS, "--amount", "1kg", "--claim-id", "c1"],
    ["transfer", "--to", ADDRESS, "--class", CLASS, "--amount", "10"],
    ["retire", "--class", CLASS, "--amount", "10", "--beneficiary-name", "A", "--reason", "r",
     "--jurisdiction", "CN-GD"],
    ["lock", "--class", CLASS, "--amount", "10", "--recipient", ADDRESS],
    ["cancel", "--holder", ADDRESS, "--class", CLASS, "--amount", "10", "--reason", "r",
     "--evidence-hash", HASH],
    ["verifier", "attest", "--all-pending"],
    ["issue-run", "--buffer-pool", ADDRESS],
    ["reverse-claim", "C1-0", "--reason", "r", "--evidence-hash", HASH],
    ["erase", ADDRESS],
    ["migrate"],
    ["verify-reserve", "--rpc", DEAD_RPC],
    ["anchor", "--once", "--chain", DEAD_RPC],
    ["serve", "--chain", DEAD_RPC, "--port", "0"],
    ["simulate", "--households", "1", "--days", "1"],
    ["release-lock", "5", "--rpc", DEAD_RPC],
    ["init"],
]  # fmt: skip


def _env() -> dict[str, str]:
    return {
        "CARBON_REGISTRY_OPERATOR_KEY": OPERATOR_KEY,
        "CARBON_REGISTRY_KEY": OWNER_KEY,
        "CARBON_REGISTRY_OPERATOR_API_KEY": "test",
    }


def run(db: Path, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=_env())
    return result.exit_code, result.output


def assert_one_clean_line(code: int, output: str, args: list[str]) -> None:
    assert code == 1, (args, output)
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error [")]
    assert len(errors) == 1, (args, output)
    assert "Traceback" not in output, (args, output)
    assert "Error [internal_error]" not in output, (args, output)


def make_bad(kind: str, folder: Path, registry: Path) -> Path:
    db = folder / f"{kind}.db"
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "truncated":
        data = registry.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    elif kind == "random":
        db.write_bytes(random.Random(7).randbytes(64 * 1024))
    return db


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "good.db"
    world = World.create(path)
    world.issue("alice", 10_000)
    world.transfer("alice", "bob", 1_000)
    world.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    world.store.close()
    return path


# `serve`, `init` and `simulate` on a missing database create the registry (tested
# elsewhere), so they are run against the three kinds of bad file only.
CREATE = ("serve", "init", "simulate")
CASES = [
    (kind, args)
    for kind in ("missing", "empty", "truncated", "random")
    for args in READS + WRITES
    if not (kind == "missing" and args[0] in CREATE)
]


@pytest.mark.parametrize(("kind", "args"), CASES, ids=[f"{k}-{' '.join(a[:2])}" for k, a in CASES])
def test_every_command_on_a_bad_database_prints_one_error_line(
    kind: str, args: list[str], registry: Path, tmp_path: Path
) -> None:
    db = make_bad(kind, tmp_path, registry)
    before = db.read_bytes() if db.exists() else None
    code, output = run(db, args)
    assert_one_clean_line(code, output, args)
    assert (db.read_bytes() if db.exists() else None) == before, "a bad file was changed"


@pytest.fixture
def read_only_copy(registry: Path) -> Iterator[tuple[Path, list[str]]]:
    """A copy of the registry in a directory this process cannot write, and the command
    prefix that runs the CLI there (as nobody when the tests run as root, who may write
    anywhere)."""
    folder = Path(tempfile.mkdtemp(prefix="cr-readonly-"))
    db = folder / "registry.db"
    shutil.copy(registry, db)
    prefix = [sys.executable, "-m", "carbon_registry"]
    opened: list[tuple[Path, int]] = []
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
        os.chown(db, 65534, 65534)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *prefix]
        # nobody must reach the checkout and its .venv: a clone in a `mktemp -d` folder (mode
        # 0700) is not searchable by others. Let others pass through, for this test only.
        for parent in (Path.cwd(), *Path.cwd().parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
                opened.append((parent, mode))
    folder.chmod(0o555)
    try:
        yield db, prefix
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
        for parent, mode in opened:
            parent.chmod(stat.S_IMODE(mode))


def run_as(prefix: list[str], db: Path, args: list[str]) -> tuple[int, str]:
    env = {**os.environ, **_env(), "HOME": "/tmp", "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run(
        [*prefix, "--db", str(db), *args], env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    "args", [["balance", ADDRESS], ["replay"], ["audit"], ["events"], ["proof", "3"]]
)
def test_read_commands_work_in_a_read_only_directory(
    read_only_copy: tuple[Path, list[str]], args: list[str]
) -> None:
    db, prefix = read_only_copy
    code, output = run_as(prefix, db, args)
    assert code == 0, output
    assert sorted(p.name for p in db.parent.iterdir()) == ["registry.db"]


def test_a_write_in_a_read_only_directory_fails_with_one_line(
    read_only_copy: tuple[Path, list[str]],
) -> None:
    db, prefix = read_only_copy
    code, output = run_as(prefix, db, ["accounts", "open", ADDRESS, "--kind", "company"])
    assert_one_clean_line(code, output, ["accounts", "open"])


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["init"], "invalid_request"),  # into a missing directory
        (["proof", "1000000000000000000000000000000"], None),  # click refuses: usage error
        (["proof", "1", "-o", "/missing/dir/x.json"], "not_found"),
        (["verify", "{deep}", "--rpc", DEAD_RPC], "malformed_json"),
        (["token", "mint", "{deep}", "--rpc", DEAD_RPC], "malformed_json"),
        (["platform", "submit", "{deep}"], "malformed_json"),
        (
            ["--api", DEAD_RPC, "lock", "--class", CLASS, "--amount", "1", "--recipient", ADDRESS],
            "invalid_request",
        ),
    ],  # fmt: skip
)
def test_reported_cli_tracebacks_are_one_line_errors(
    args: list[str], code_name: str | None, registry: Path, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 60_000 + "]" * 60_000)
    args = [a.replace("{deep}", str(deep)) for a in args]
    db = tmp_path / "nowhere" / "r.db" if args == ["init"] else registry
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=_env())
    if code_name is None:
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        return
    assert_one_clean_line(result.exit_code, result.output, args)
    assert f"Error [{code_name}]" in result.output, result.output


def test_verifying_an_empty_bundle_names_the_missing_field(tmp_path: Path) -> None:
    empty = tmp_path / "bundle.json"
    empty.write_text("{}")
    for command in ("verify", "verify-consistency"):
        result = CliRunner().invoke(cli, [command, str(empty), "--rpc", DEAD_RPC], env=_env())
        assert result.exit_code == 1
        assert result.output.splitlines()[0] == "[FAIL] format: version: is missing [version]"
        assert "Traceback" not in result.output


def test_a_full_disk_is_one_line(registry: Path, tmp_path: Path) -> None:
    """A file-size limit stands for a full disk: writes fail with EFBIG instead of ENOSPC."""
    db = tmp_path / "r.db"
    shutil.copy(registry, db)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        size = db.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    done = subprocess.run(
        [sys.executable, "-m", "carbon_registry", "--db", str(db), "simulate",
         "--households", "50", "--days", "3"],
        env={**os.environ, **_env()}, capture_output=True, text=True, timeout=300,
        preexec_fn=limit,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("Error [")
