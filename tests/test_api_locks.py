"""Locks over HTTP: a lock nobody can mint is released after its deadline, with the block the
API offers; the API checks a cited block against the chain; the reserve stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from api.client import ApiProblem, RegistryClient
from api.main import create_app
from carbon_registry.cli import cli
from carbon_registry.cli.app import EMBEDDED_CHAIN_ID
from registry.eip712 import contract_address_of
from registry.errors import LockStateError
from registry.ledger import Registry
from registry.signing import Signer
from registry.storage import Store
from tests.api_world import OPERATOR_API_KEY, loopback_server, settings_for
from tests.wallet_signing import sign_with_wallets

CLASS = "SZ_TRANSIT-1.0-2026-440300"


def test_an_unmintable_lock_is_released_over_http(store_url: str, tmp_path: Path) -> None:
    operator, alice = Signer.generate(), Signer.generate()
    db = store_url
    Registry.create(
        Store(db),
        chain_id=EMBEDDED_CHAIN_ID,
        verifying_contract=contract_address_of(operator.address, 0),
        operator=operator.address,
        log_id="locks.local/log",
    )
    app = create_app(
        settings_for(db, anchoring=True, operator_key=SecretStr(operator.private_key_hex))
    )
    with (
        loopback_server(app) as base,
        RegistryClient(base, operator_api_key=OPERATOR_API_KEY) as api,
    ):
        chain = app.state.service.anchoring.chain
        api.open_account(operator, alice.address, "household")
        api.register_asset_class(operator, "SZ_TRANSIT", "1.0", 2026, "440300")
        api.issue(operator, alice.address, CLASS, 5_000, "claim-1")
        lock = api.lock(alice, CLASS, 2_000, chain.anchor_address)  # cannot receive tokens
        other = api.lock(alice, CLASS, 1_000, chain.anchor_address)

        detail = api.lock_detail(lock.seq)
        assert detail.status == "locked" and detail.release is None
        assert detail.release_refused is not None
        assert "can be minted until" in detail.release_refused
        with pytest.raises(LockStateError, match="cannot be released now"):
            api.release_lock(alice, lock.seq)
        head = chain.head()
        block_hash, block_time = chain.block_header(head)
        forged = {"chainHeight": head, "blockHash": "0x" + "ab" * 32, "blockTime": block_time}
        with pytest.raises(ApiProblem) as refused:
            api.send(alice, "ReleaseLock", None, owner=alice.address, lockSeq=lock.seq, **forged)
        assert refused.value.code == "invalid_request" and f"block {head}" in refused.value.detail
        early = {**forged, "blockHash": "0x" + block_hash.hex()}
        with pytest.raises(ApiProblem) as refused:
            api.send(alice, "ReleaseLock", None, owner=alice.address, lockSeq=lock.seq, **early)
        assert refused.value.code == "lock_state"

        tester = chain.w3.provider.ethereum_tester
        chain.call("time travel", lambda: tester.time_travel(detail.mint_deadline + 10))
        detail = api.lock_detail(lock.seq)
        assert detail.release is not None and detail.release.block_time > detail.mint_deadline
        # The owner signs the release in an ethers wallet from the published types alone.
        body = api.signed(alice, "ReleaseLock", owner=alice.address, lockSeq=lock.seq,
                          **detail.release.model_dump(by_alias=True))  # fmt: skip
        names = [f["name"] for f in api.eip712()["types"]["ReleaseLock"]]
        request = {"primaryType": "ReleaseLock",
                   "message": {k: body["message"][k] for k in names}}  # fmt: skip
        (wallet,) = sign_with_wallets(api.eip712(), alice, [request])
        assert wallet["ethers"] == wallet["viem"] == body["signature"]
        released = api.post(f"/v1/locks/{lock.seq}/release",
                            {"message": body["message"], "signature": wallet["ethers"]})  # fmt: skip
        assert released["event_type"] == "LockReleased"
        # The command line releases the other with the chain's RPC; through the API, it is
        # then refused.
        key_file = tmp_path / "alice.key"
        alice.save(key_file)
        for how in ([], ["--api", base]):
            rpc = [] if how else ["--rpc", api.chain().rpc_url or ""]
            result = CliRunner().invoke(
                cli,
                ["--db", str(db), *how, "release-lock", str(other.seq), "--key-file",
                 str(key_file), *rpc, "--json"],
            )  # fmt: skip
            if not how:
                assert result.exit_code == 0, result.output
                assert json.loads(result.output)["event"] == "LockReleased"
            else:  # released already: refused with the registry's code
                assert result.exit_code == 1 and "Error [lock_state]" in result.output
        (balance,) = api.balances(alice.address)
        assert balance.active == 5_000 and balance.locked == 0
        detail = api.lock_detail(lock.seq)
        assert detail.status == "released" and detail.released_seq == released["seq"]
        assert "released" in (detail.release_refused or "")
        with pytest.raises(ApiProblem) as refused:
            api.send(alice, "ReleaseLock", None, owner=alice.address, lockSeq=lock.seq,
                     chainHeight=chain.head(), blockHash="0x" + "00" * 32,
                     blockTime=detail.mint_deadline + 10)  # fmt: skip
        assert refused.value.code == "lock_state"

        reserve = api.get("/v1/reserve")
        assert reserve["ok"] and reserve["problems"] == []
        assert [(c["locked_in_log"], c["total_supply"]) for c in reserve["classes"]] == [(0, 0)]
        assert [i["status"] for i in api.get("/v1/locks")["items"]] == ["released", "released"]
        with pytest.raises(ApiProblem) as missing:
            api.lock_detail(lock.seq - 1)
        assert missing.value.status == 404 and missing.value.code == "unknown_lock"
