"""Key rotation: the operator's roles move to a new key mid-stream; bundles from both sides
verify; the old key's checkpoints after the rotation are refused by the contract and by the
verifier, and its operator requests by the registry. Keys can be encrypted keystores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anchoring.bundle import build_bundle
from anchoring.chain import Chain, ChainError
from anchoring.checkpoint import Checkpoint, sign_checkpoint
from anchoring.worker import AnchorPolicy, AnchorWorker
from bridge.rotation import rotate_operator
from registry import errors
from registry.signing import Signer
from tests.anchoring_world import anchored_world, verify
from tests.bridge_world import Bridge


def failed(checks: list) -> list[str]:  # type: ignore[type-arg]
    return [c.name for c in checks if not c.ok]


def test_rotation_mid_stream(tmp_path: Path) -> None:
    world, chain = anchored_world(tmp_path / "r.db")
    world.issue("alice", 10_000)
    bridge = Bridge.start(world, chain)
    before = world.transfer("alice", "bob", 10)
    bridge.worker.run_once()
    old_bundle = bridge.bundle(before.seq)
    old, new = world.operator, Signer.generate()

    done = rotate_operator(world.registry, chain, bridge.token.address, old, new)
    assert len(done.done) == 4
    assert world.store.has_role(new.address, "operator")
    assert not world.store.has_role(old.address, "operator")

    after = world.transfer("alice", "bob", 20)
    store = world.store
    rotated = AnchorWorker(store, store.conn, log_id=world.registry.log_id,
                           domain=world.registry.domain,
                           operator_key=bytes.fromhex(new.private_key_hex[2:]),
                           operator=new.address, chain=chain, policy=AnchorPolicy())  # fmt: skip
    rotated.attach()
    rotated.run_once()
    new_bundle = rotated_bundle = build_bundle(store, rotated.tree, rotated.checkpoints, after.seq)
    assert new_bundle["checkpoint"]["signer"] == new.address
    assert failed(verify(old_bundle, chain)) == []  # the old key held the role then
    assert failed(verify(rotated_bundle, chain)) == []

    # The old key signs a checkpoint of the same tree after the rotation: refused.
    cp = rotated.checkpoints.latest_confirmed()
    assert cp is not None
    forged = sign_checkpoint(cp.signed.checkpoint, bytes.fromhex(old.private_key_hex[2:]),
                             world.registry.domain, old.address)  # fmt: skip
    stale = dict(new_bundle, checkpoint=forged.to_json())
    assert "signer role" in failed(verify(stale, chain))
    bigger = Checkpoint(world.registry.log_id, rotated.tree.size, rotated.tree.root(), 1)
    with pytest.raises(ChainError, match="e2517d3f|AccessControlUnauthorizedAccount"):
        chain.transact(
            bytes.fromhex(old.private_key_hex[2:]),
            chain.anchor_contract.functions.anchor(
                bigger.tree_size + 1, b"\x01" * 32, b"\x02" * 32, []
            ),
        )
    with pytest.raises(errors.NotAuthorisedError):
        world.registry.execute(*old.request(world.registry.domain, "Issue", to=world.addr("bob"),
                                            assetClass=world_class(), amount=1, claimId="x"))  # fmt: skip


def world_class() -> str:
    from tests.ledger_world import CLASS

    return CLASS


def test_an_encrypted_key_file_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer.generate()
    path = tmp_path / "operator.json"
    signer.save(path, "correct horse")
    assert "crypto" in path.read_text() and signer.private_key_hex[2:] not in path.read_text()
    monkeypatch.delenv("CARBON_REGISTRY_KEY_PASSPHRASE", raising=False)
    with pytest.raises(errors.ValidationError, match="is encrypted"):
        Signer.load(path)
    with pytest.raises(errors.ValidationError, match="wrong passphrase"):
        Signer.load(path, "battery staple")
    monkeypatch.setenv("CARBON_REGISTRY_KEY_PASSPHRASE", "correct horse")
    assert Signer.load(path).address == signer.address


def test_rotate_key_on_the_command_line(tmp_path: Path) -> None:
    from tests.serve_process import run_cli

    db = str(tmp_path / "registry.db")
    run_cli("--db", db, "init")
    run_cli("--db", db, "anchor", "--once")
    first = run_cli("--db", db, "proof", "0", "-o", str(tmp_path / "before.json"))
    assert first.returncode == 0
    new_key = tmp_path / "new.key"
    run_cli("keygen", str(new_key))
    rotated = run_cli("--db", db, "rotate-key", str(new_key))
    assert "no longer holds the operator role" in rotated.stdout, rotated.stdout
    assert Path(db + ".operator-key.json").read_bytes() == new_key.read_bytes()
    opened = run_cli("--db", db, "accounts", "open", Signer.generate().address, "--kind",
                     "company")  # fmt: skip  # signed by the new operator key
    assert opened.returncode == 0
    run_cli("--db", db, "anchor", "--once")
    after = tmp_path / "after.json"
    run_cli("--db", db, "proof", "2", "-o", str(after))  # the account opened after rotation
    chain = Chain.create_embedded(Path(db + ".chain"))
    try:
        old_bundle = json.loads((tmp_path / "before.json").read_text())
        new_bundle = json.loads(after.read_text())
        assert old_bundle["checkpoint"]["signer"] != new_bundle["checkpoint"]["signer"]
        assert failed(verify(old_bundle, chain)) == []
        assert failed(verify(new_bundle, chain)) == []
    finally:
        chain.close()
