"""The simulator: the whole pipeline on generated data, deterministic for a seed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_registry.cli import cli
from registry.errors import ValidationError
from registry.ledger import Registry
from registry.mrv.simulator import SimulationConfig, simulate
from registry.replay import replay
from registry.signing import Signer
from registry.storage import Store
from tests.ledger_world import CHAIN_ID, CONTRACT, check_invariants


def fresh(path: Path) -> tuple[Registry, Signer]:
    operator = Signer.generate()
    registry = Registry.create(
        Store(path),
        chain_id=CHAIN_ID,
        verifying_contract=CONTRACT,
        operator=operator.address,
        log_id="test.local/sim",
    )
    return registry, operator


def test_the_same_seed_gives_the_same_report(tmp_path: Path) -> None:
    config = SimulationConfig(households=8, days=3, seed=5)
    reports = []
    for name in ("a.db", "b.db"):
        registry, operator = fresh(tmp_path / name)
        reports.append(simulate(registry, operator, config).as_dict())
    assert reports[0] == reports[1]
    other_registry, other_operator = fresh(tmp_path / "c.db")
    other = simulate(other_registry, other_operator, SimulationConfig(8, 3, seed=6))
    assert other.as_dict() != reports[0]


def test_a_simulation_exercises_every_stage_and_replays_clean(tmp_path: Path) -> None:
    registry, operator = fresh(tmp_path / "r.db")
    report = simulate(registry, operator, SimulationConfig(households=12, days=4, seed=3))
    assert report.resent_batches == 1
    assert report.rejected["double_counted"] > 0  # the map app repeats transit trips
    assert report.rejected["duplicate_record"] > 0  # the metro app resends records
    assert report.rejected["unknown_account"] == 4  # one stranger a day
    assert report.accepted == report.approved + report.verifier_rejected
    assert report.issued_grams + report.buffer_grams == report.approved_grams
    assert report.reversal is not None
    reversal = report.reversal
    assert reversal["holder_grams"] + reversal["pool_grams"] == reversal["grams"]
    assert sum(c["issued"] for c in report.classes.values()) == report.issued_grams
    text = "\n".join(report.lines())
    assert "Records rejected" in text and "buffer pool" in text
    # The people's side: offers redeemed both ways, a community with a pooled retirement.
    store = registry.store
    assert report.merchants == len(store.offers()) == 3
    assert report.redemptions["transfer"] > 0 and report.redemptions["retire"] > 0
    redemptions = [r for o in store.offers() for r in store.redemptions(o["merchant"])]
    assert sum(r["grams"] for r in redemptions) == report.redeemed_grams
    assert all(r["certificate_id"] for r in redemptions if r["mode"] == "retire")
    [community] = store.communities()
    assert community["members"] == report.community_members == 6
    assert community["retired_grams"] == report.pooled_grams > 0
    board = registry.community_leaderboard(community["address"])
    assert len(board) == report.leaderboard == 3
    assert [e["rank"] for e in board] == [1, 2, 3]
    assert "Merchants: 3 offers" in text and "pooled retirement" in text
    check_invariants(registry.store)
    assert replay(registry.store).clean
    with pytest.raises(ValidationError, match="already holds the simulation"):
        simulate(registry, operator, SimulationConfig(households=12, days=4, seed=3))


def test_a_period_ending_in_the_future_is_refused(tmp_path: Path) -> None:
    registry, operator = fresh(tmp_path / "r.db")
    with pytest.raises(ValidationError, match="end after now"):
        simulate(registry, operator, SimulationConfig(2, 3, 1, start=date(2999, 1, 1)))


def test_simulate_command_creates_the_registry_and_prints_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    db = tmp_path / "demo.db"
    args = ["--db", str(db), "simulate", "--households", "5", "--days", "2", "--seed", "9"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo.db.operator-key.json").exists()
    for words in (
        "Claims accepted",
        "Records rejected",
        "Verifier:",
        "Issuance:",
        "Events written",
    ):
        assert words in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1
    assert "already holds the simulation of seed 9" in again.output
    assert "state equals the log" in CliRunner().invoke(cli, ["--db", str(db), "replay"]).output
