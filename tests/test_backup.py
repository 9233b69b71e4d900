"""Backups that are verified, and a restore drill: back up under write load, lose the
original, restore, and find every acknowledged write up to the backup with bundles that
still verify against the restored chain."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

from registry.signing import Signer
from tests.serve_process import CLASS, Served, run_cli, setup_parties


def test_restore_drill(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    with Served(db) as served:
        served.start()
        alice, bob = Signer.generate(), Signer.generate()
        with served.client() as api:
            setup_parties(api, served.operator, [alice, bob], issued_to=[alice])
            first = api.transfer(alice, bob.address, CLASS, 10)
            early_bundle = api.wait_for_anchor(first.seq, timeout_s=120)
        acknowledged: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with served.client() as writer:
                while not stop.is_set():
                    acknowledged.append(writer.transfer(alice, bob.address, CLASS, 1).seq)

        thread = threading.Thread(target=load)
        thread.start()
        try:
            refused = served.cli("backup", str(tmp_path / "direct"), check=False)
            assert refused.returncode == 1 and "--api" in refused.stderr  # serve holds the chain
            made = served.cli("backup", "drill", "--api", served.base)
        finally:
            stop.set()
            thread.join(timeout=120)
        assert "verified" in made.stdout
        folder = Path(str(db) + ".backups") / "drill"
        manifest = json.loads((folder / "manifest.json").read_text())
        backed_up = [seq for seq in acknowledged if seq <= manifest["last_seq"]]
        assert acknowledged and backed_up, (acknowledged, manifest)
        served.kill()

        for lost in db.parent.glob("registry.db*"):  # the disk failed: database and chain
            if lost.is_file() and not lost.name.endswith(("operator-key.json", "data-key")):
                lost.unlink()
        tampered = tmp_path / "tampered"
        shutil.copytree(folder, tampered)
        edit = sqlite3.connect(tampered / "registry.db")  # one logged amount changed
        edit.execute(
            "UPDATE events SET body = replace(body, '\"amount\":1,', '\"amount\":9,')"
            " WHERE seq = ?",
            (backed_up[0],),
        )
        edit.commit()
        edit.close()
        bad = run_cli("--db", str(db), "restore", str(tampered), check=False)
        assert bad.returncode == 1 and "Error [backup_failed]" in bad.stderr, bad.stderr
        assert not db.exists()

        run_cli("--db", str(db), "restore", str(folder))
        served.start()
        with served.client() as api:
            for seq in backed_up:  # every acknowledged write up to the backup point
                assert api.get(f"/v1/events/{seq}")["type"] == "CreditsTransferred"
            path = tmp_path / "early.json"
            path.write_text(json.dumps(early_bundle))
            verified = run_cli("verify", str(path), "--rpc", served.rpc_url, check=False)
            assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout
            after = api.transfer(bob, alice.address, CLASS, 1)
            api.wait_for_anchor(after.seq, timeout_s=120)
        audited = served.cli("audit", "--rpc", served.rpc_url, check=False)
        assert audited.returncode == 0, audited.stdout + audited.stderr
