"""The MRV commands: a platform batch file through attestation, issuance and reversal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_registry.cli import cli
from tests.test_mrv_ingestion import T0


def run(runner: CliRunner, db: Path, *args: str, ok: bool = True) -> str:
    result = runner.invoke(cli, ["--db", str(db), *args])
    assert result.exit_code == (0 if ok else 1), result.output
    return result.output


def test_mrv_lifecycle_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    monkeypatch.delenv("CARBON_REGISTRY_KEY", raising=False)
    runner = CliRunner()
    db = tmp_path / "r.db"
    run(runner, db, "init", "--log-id", "test.local/mrv-cli")
    keys = {}
    for name in ("metro", "audit", "wang", "pool"):
        keys[name] = runner.invoke(cli, ["keygen", str(tmp_path / f"{name}.key")]).output.strip()
    run(runner, db, "accounts", "open", keys["metro"], "--kind", "platform")
    run(runner, db, "accounts", "grant", keys["metro"], "platform")
    run(runner, db, "accounts", "open", keys["audit"], "--kind", "verifier")
    run(runner, db, "accounts", "grant", keys["audit"], "verifier")
    run(runner, db, "accounts", "open", keys["wang"], "--kind", "household")
    run(runner, db, "accounts", "open", keys["pool"], "--kind", "company", "--name", "Buffer pool")

    activities = []
    for i, metres in enumerate((10_000, 22_000, 100)):
        start = T0 + (8 + i) * 3600
        activities.append(
            {
                "id": f"trip-{i}",
                "account": keys["wang"],
                "methodology": "SZ_TRANSIT",
                "version": "1.0",
                "region": "440304",
                "start": start,
                "end": start + 1_800,
                "quantities": {"metro_m": metres, "bus_m": 0},
            }
        )
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"batchId": "day-1", "activities": activities}))
    metro_key = str(tmp_path / "metro.key")
    out = run(runner, db, "platform", "submit", "--key-file", metro_key, str(batch))
    assert "2 claims (1,418 g), 1 rejected" in out  # 443 + 975 g, after 5% leakage
    assert "rejected [not_eligible]" in out
    # the same file again commits anew (fresh salts): its batch id is taken
    again = run(runner, db, "platform", "submit", "--key-file", metro_key, str(batch), ok=False)
    assert "batch_conflict" in again
    assert "[not_eligible]" in run(runner, db, "claims", "rejected")
    listed = json.loads(run(runner, db, "claims", "list", "--status", "pending", "--json"))
    assert [c["grams"] for c in listed] == [443, 975]
    assert "trip-0" not in json.dumps(listed)  # the activity id stays off the log

    audit_key = str(tmp_path / "audit.key")
    out = run(runner, db, "verifier", "attest", "--key-file", audit_key, "--all-pending")
    assert "ClaimsAttested" in out
    out = run(runner, db, "issue-run", "--buffer-pool", keys["pool"], "--run-id", "march")
    assert "1,347 g issued, 71 g to the buffer pool" in out
    claim = listed[0]["claim_id"]
    out = run(
        runner, db, "reverse-claim", claim, "--reason", "audit", "--evidence-hash", "0x" + "ab" * 32
    )
    assert "holder_grams: 443" in out
    summary = json.loads(run(runner, db, "claims", "summary", "--json"))
    assert summary["claims"]["reversed"] == {"claims": 1, "grams": 443}
    assert summary["rejected"] == {"not_eligible": 1}

    assert "erased 3 piece(s)" in run(runner, db, "erase", keys["wang"])  # its 3 activities
    replayed = run(runner, db, "replay")
    assert "state equals the log (1 committed batch(es) taken as logged" in replayed

    assert "SZ_TRANSIT" in run(runner, db, "methodologies", "list")
    shown = json.loads(run(runner, db, "methodologies", "show", "BJ_METRO"))
    assert shown["factors"]["car"]["mg_per_unit"] == "2990/11"
    assert len(shown["hash"]) == 64
    assert "unknown_methodology" in run(runner, db, "methodologies", "show", "NOPE", ok=False)


def test_a_malformed_batch_file_is_one_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "r.db"
    run(runner, db, "init")
    runner.invoke(cli, ["keygen", str(tmp_path / "p.key")])
    (tmp_path / "bad.json").write_text('{"records": []}')
    out = run(
        runner,
        db,
        "platform",
        "submit",
        "--key-file",
        str(tmp_path / "p.key"),
        str(tmp_path / "bad.json"),
        ok=False,
    )
    assert "Error [invalid_request]" in out and "not a batch file" in out


def test_erasing_evidence_after_anchoring_leaves_audit_and_replay_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    runner = CliRunner()
    db = tmp_path / "r.db"
    run(runner, db, "simulate", "--households", "4", "--days", "2", "--seed", "2")
    assert "anchored 1 checkpoint" in run(runner, db, "anchor", "--once")
    claims = json.loads(run(runner, db, "claims", "list", "--limit", "1000", "--json"))
    accounts = json.loads(run(runner, db, "accounts", "list", "--json"))
    members = {a["address"] for a in accounts if a["household"] is not None}
    person = next(c["account"] for c in claims if c["account"] in members)  # a member's claim
    assert re.search(r"erased [1-9][0-9]* piece\(s\)", run(runner, db, "erase", person))
    assert "clean" in run(runner, db, "audit")
    assert "state equals the log" in run(runner, db, "replay")
