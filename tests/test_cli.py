"""The CLI: every command documented, a lifecycle through it, errors as one clear line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from carbon_registry.cli import cli
from registry.eip712 import contract_address_of
from registry.storage import beside
from registry.storage.base import HOME_ENV
from registry.units import format_grams, parse_grams


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += all_commands(command, prefix + name + " ")
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(cli))
def test_every_command_and_option_has_help(name: str, command: click.Command) -> None:
    assert command.help and command.help.strip(), f"{name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help text"


def test_the_readme_lists_every_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## CLI", 1)[1].split("\n## ", 1)[0]
    rows = [line.replace("\\|", "/") for line in table.splitlines() if line.startswith("| `")]
    assert all(row.count("|") == 3 for row in rows), "a row of the CLI table is broken"
    cells = [row.split("|")[1] for row in rows]
    documented = {name for cell in cells for name in re.findall(r"`([a-z-]+(?: [a-z-]+)?)", cell)}
    missing = [name for name in cli.commands if name not in {d.split()[0] for d in documented}]
    assert missing == [], f"README's CLI table lacks {missing}"


def run(runner: CliRunner, db: Path | str, *args: str, ok: bool = True) -> str:
    result = runner.invoke(cli, ["--db", str(db), *args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
    return result.output


def test_household_goes_beside_the_request_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--household` is the private field: the log holds its commitment, the registry the link;
    a non-household is refused as one line, nothing written."""
    from registry.storage import Store

    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    runner = CliRunner()
    db = tmp_path / "r.db"
    run(runner, db, "init", "--log-id", "test.local/cli-household")
    wang, mei, acme = (
        runner.invoke(cli, ["keygen", str(tmp_path / f"{n}.key")]).output.strip()
        for n in ("wang", "mei", "acme")
    )
    run(runner, db, "accounts", "open", wang, "--kind", "household")
    run(runner, db, "accounts", "open", acme, "--kind", "company", "--name", "Acme")
    refused = run(runner, db, "accounts", "open", mei, "--kind", "person", "--household", acme,
                  ok=False)  # fmt: skip
    assert "is not a household account" in refused and refused.count("\n") == 1
    run(runner, db, "accounts", "open", mei, "--kind", "person", "--household", wang.lower())
    store = Store(db, read_only=True)
    try:
        assert store.account(mei)["household"] == wang  # type: ignore[index]
        *_, (_, _, _, body) = store.event_rows()
        request = json.loads(body)["payload"]["request"]
        assert "household" not in request and request["householdCommitment"] != "0x" + "00" * 32
        assert wang[2:].lower().encode() not in bytes(body).lower()
        assert store.event_count() == 4  # genesis and three accounts: the refusal wrote none
    finally:
        store.close()


@pytest.mark.both_backends
def test_lifecycle_through_the_cli(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    monkeypatch.setenv(HOME_ENV, str(tmp_path))  # where a registry on PostgreSQL keeps its keys
    runner = CliRunner()
    db = store_url
    run(runner, db, "init", "--log-id", "test.local/cli")
    assert beside(db, ".operator-key.json").exists()
    wang = runner.invoke(cli, ["keygen", str(tmp_path / "wang.key")]).output.strip()
    acme = runner.invoke(cli, ["keygen", str(tmp_path / "acme.key")]).output.strip()
    run(runner, db, "accounts", "open", wang, "--kind", "household", "--personal-name", "Wang")
    run(runner, db, "accounts", "open", acme, "--kind", "company")
    run(
        runner,
        db,
        "classes",
        "register",
        "--methodology",
        "SZ_TRANSIT",
        "--version",
        "1.0",
        "--vintage",
        "2026",
        "--region",
        "440300",
    )
    klass = "SZ_TRANSIT-1.0-2026-440300"
    run(
        runner, db, "issue", "--to", wang, "--class", klass, "--amount", "2.5kg", "--claim-id", "c1"
    )
    run(
        runner,
        db,
        "transfer",
        "--key-file",
        str(tmp_path / "wang.key"),
        "--to",
        acme,
        "--class",
        klass,
        "--amount",
        "1kg",
    )
    out = run(
        runner,
        db,
        "transfer",
        "--key-file",
        str(tmp_path / "wang.key"),
        "--to",
        acme,
        "--class",
        klass,
        "--amount",
        "2kg",
        ok=False,
    )
    assert "Error [insufficient_balance]" in out
    receipt = json.loads(
        run(
            runner,
            db,
            "retire",
            "--key-file",
            str(tmp_path / "acme.key"),
            "--class",
            klass,
            "--amount",
            "400",
            "--beneficiary-name",
            "Acme",
            "--reason",
            "offset",
            "--jurisdiction",
            "CN-GD",
            "--json",
        )
    )
    cert = json.loads(run(runner, db, "certificate", receipt["effects"]["certificate_id"]))
    assert cert["serials"] == "CN-CIR-SZ_TRANSIT-1.0-2026-1-2101-2500"
    balances = json.loads(run(runner, db, "balance", wang, "--json"))
    assert balances[0]["active"] == 1_500
    assert "CN-CIR-SZ_TRANSIT-1.0-2026-1-1-1500" in run(runner, db, "holdings", wang)
    assert "retired 400" in run(runner, db, "batches")
    assert len(run(runner, db, "events").splitlines()) == 7  # genesis + 6 operations
    assert "state equals the log" in run(runner, db, "replay")
    out = run(
        runner,
        db,
        "issue",
        "--to",
        wang,
        "--class",
        klass,
        "--amount",
        "0.5g",
        "--claim-id",
        "c2",
        ok=False,
    )
    assert "whole number of grams" in out


def test_commands_on_a_missing_registry_say_so(tmp_path: Path) -> None:
    out = run(CliRunner(), tmp_path / "none.db", "accounts", "list", ok=False)
    assert "run `carbon-registry init` first" in out


def test_init_refuses_an_existing_file(tmp_path: Path) -> None:
    runner = CliRunner()
    run(runner, tmp_path / "r.db", "init")
    assert "already exists" in run(runner, tmp_path / "r.db", "init", ok=False)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_init_refuses_a_database_that_holds_a_registry(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    runner = CliRunner()
    run(runner, store_url, "init")
    assert "already holds a registry" in run(runner, store_url, "init", ok=False)


def test_contract_address_matches_the_known_hardhat_first_deployment() -> None:
    # Hardhat's account #0 deploying its first contract gets this well-known address.
    deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert contract_address_of(deployer, 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize(
    ("text", "grams"),
    [("1500", 1500), ("2.5kg", 2500), ("0.75t", 750_000), ("12 g", 12), ("1_000", 1000)],
)
def test_parse_grams(text: str, grams: int) -> None:
    assert parse_grams(text) == grams


def test_format_grams() -> None:
    assert format_grams(999) == "999 g"
    assert format_grams(2_500_000) == "2,500,000 g (2.5 t)"


@pytest.mark.parametrize("nonce", [0, 1, 127, 128, 255, 256, 70_000])
def test_contract_address_equals_rlp_reference(nonce: int) -> None:
    import rlp
    from eth_utils import keccak, to_checksum_address

    deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    expected = to_checksum_address(keccak(rlp.encode([bytes.fromhex(deployer[2:]), nonce]))[12:])
    assert contract_address_of(deployer, nonce) == expected


def test_embedded_chain_id_is_eth_testers() -> None:
    from anchoring.chain import Chain
    from carbon_registry.cli.app import EMBEDDED_CHAIN_ID

    assert Chain.create_embedded().chain_id == EMBEDDED_CHAIN_ID


def test_the_readme_lists_every_setting() -> None:
    from api.settings import Settings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in Settings.model_fields
        if f"CARBON_REGISTRY_{name.upper()}" not in readme and f"`_{name.upper()}`" not in readme
    ]
    assert missing == [], f"README's settings table lacks {missing}"


def test_replay_shows_progress_on_a_terminal_and_none_in_a_pipe(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.ledger_world import World

    world = World.create(tmp_path / "r.db")
    world.issue("alice", 100_000)
    for _ in range(2_100):  # a few thousand events: the bar advances every 1,000
        world.transfer("alice", "bob", 1)
    world.store.close()
    command = [str(Path(sys.executable).parent / "carbon-registry"), "--db",
               str(tmp_path / "r.db"), "replay", "--skip-signatures"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_REGISTRY")}
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert piped.returncode == 0 and "state equals the log" in piped.stdout
    assert piped.stderr == ""  # nothing but the verdict in a pipe
    leader, follower = pty.openpty()
    on_terminal = subprocess.Popen(command, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert on_terminal.wait(timeout=300) == 0
    text = output.decode(errors="replace")
    assert "events/s" in text and "ETA" in text, text  # the progress line: rate and ETA
    assert "state equals the log" in text
