"""The persistent embedded chain (anchoring/persistent_evm.py): reopen, crash safety, refusals."""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from anchoring.chain import Chain, load_artifact
from anchoring.persistent_evm import (
    ChainFileError,
    ChainFileLockedError,
    NotAChainFileError,
    PersistentEVM,
    open_persistent_web3,
)

ROOT = Path(__file__).resolve().parents[1]
ROOT_HASH = bytes(range(32))
CHECKPOINT_HASH = bytes(range(32, 64))


def deploy_anchor(w3: Web3, admin: str, anchorer: str) -> Any:
    artifact = load_artifact("RegistryAnchor")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(admin, anchorer).transact({"from": admin})
    )
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def create_address(sender: str, nonce: int) -> str:
    return Web3.to_checksum_address(
        Web3.keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:]
    )


def chain_view(w3: Web3, contract: Any, extra_accounts: list[str]) -> dict[str, Any]:
    """Everything observable that must survive a restart."""
    accounts = list(w3.eth.accounts) + extra_accounts + [contract.address]
    head = w3.eth.block_number
    blocks = [w3.eth.get_block(n, full_transactions=True) for n in range(head + 1)]
    receipts = [
        w3.eth.get_transaction_receipt(tx["hash"])
        for block in blocks
        for tx in block["transactions"]
    ]
    return {
        "chain_id": w3.eth.chain_id,
        "head": head,
        "blocks": blocks,
        "receipts": receipts,
        "balances": {a: w3.eth.get_balance(a) for a in accounts},
        "nonces": {a: w3.eth.get_transaction_count(a) for a in accounts},
        "code": w3.eth.get_code(contract.address),
        "slot0": w3.eth.get_storage_at(contract.address, 0),
        "latest": contract.functions.latest().call(),
        "root_at_1": contract.functions.rootAt(1).call(),
    }


def test_new_file_has_the_genesis_of_ethereum_tester_provider(tmp_path: Path) -> None:
    reference = Web3(EthereumTesterProvider())
    with PersistentEVM(tmp_path / "registry.db.chain") as evm:
        w3 = evm.w3
        assert w3.eth.chain_id == reference.eth.chain_id == 131277322940537
        assert w3.eth.accounts == reference.eth.accounts
        assert w3.eth.block_number == 0
        ours, theirs = w3.eth.get_block(0), reference.eth.get_block(0)
        # Everything but the creation time (and so the hash) is identical.
        for field in ("stateRoot", "gasLimit", "baseFeePerGas", "mixHash", "nonce", "extraData"):
            assert ours[field] == theirs[field], field
        for account in reference.eth.accounts:
            assert w3.eth.get_balance(account) == reference.eth.get_balance(account) > 0


def test_reopen_restores_the_whole_chain_and_continues_on_its_head(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.chain"
    outsider = Account.create()

    w3, close = open_persistent_web3(path)
    admin, anchorer, other = w3.eth.accounts[:3]
    contract = deploy_anchor(w3, admin, anchorer)
    assert contract.address == create_address(admin, 0)
    contract.functions.anchor(1, ROOT_HASH, CHECKPOINT_HASH, []).transact({"from": anchorer})
    w3.eth.send_transaction({"from": admin, "to": outsider.address, "value": 10**18})
    # A locally signed raw transaction, as the anchoring worker sends them.
    raw = outsider.sign_transaction(
        {
            "to": other,
            "value": 1234,
            "nonce": 0,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "chainId": w3.eth.chain_id,
        }
    ).raw_transaction
    w3.eth.send_raw_transaction(raw)
    before = chain_view(w3, contract, [outsider.address])
    assert tuple(before["latest"]) == (1, ROOT_HASH)
    assert before["nonces"][outsider.address] == 1
    close()

    with PersistentEVM(path) as evm:
        w3 = evm.w3
        contract = w3.eth.contract(address=contract.address, abi=contract.abi)
        after = chain_view(w3, contract, [outsider.address])
        assert after == before

        # New transactions continue from the stored head, with the stored nonces.
        old_head = before["blocks"][-1]
        role = contract.functions.ANCHORER_ROLE().call()
        started = int(time.time())
        tx_hash = contract.functions.grantRole(role, other).transact({"from": admin})
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        block = w3.eth.get_block(receipt["blockNumber"])
        assert block["number"] == old_head["number"] + 1
        assert block["parentHash"] == old_head["hash"]
        assert block["timestamp"] > old_head["timestamp"]
        assert block["timestamp"] >= started  # wall-clock time, not the time of the last block
        assert contract.functions.hasRole(role, other).call()
        second = deploy_anchor(w3, admin, anchorer)
        assert second.address == create_address(admin, before["nonces"][admin] + 1)
        head = w3.eth.get_block("latest")

    with PersistentEVM(path) as evm:
        assert evm.w3.eth.get_block("latest") == head
        assert evm.w3.eth.get_code(second.address) == before["code"]


def test_the_project_chain_client_runs_on_it(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.chain"
    operator = Account.create()
    with PersistentEVM(path) as evm:
        chain = Chain(evm.w3, embedded=True, description="persistent")
        chain.fund(operator.address)
        address = chain.deploy_anchor(operator.key, operator.address, operator.address)
        raw, tx_hash = chain.anchor_transaction(
            operator.key, chain.nonce(operator.address), 1, ROOT_HASH, CHECKPOINT_HASH, []
        )
        chain.broadcast(raw)
        assert chain.wait_receipt(tx_hash)["status"] == 1
        chain.mine(2)
        head = chain.head()
    with PersistentEVM(path) as evm:
        chain = Chain(evm.w3, embedded=True, description="persistent")
        chain.bind(address)
        assert chain.head() == head
        assert chain.latest() == (1, ROOT_HASH)
        assert chain.receipt(tx_hash) is not None
        assert chain.nonce(operator.address) == 2


CHILD = """
import sys
from pathlib import Path
from anchoring.persistent_evm import PersistentEVM

w3 = PersistentEVM(Path(sys.argv[1])).w3
accounts = w3.eth.accounts
i = 0
while True:
    w3.eth.send_transaction({"from": accounts[0], "to": accounts[1 + i % 5], "value": i + 1})
    block = w3.eth.get_block("latest")
    print(block["number"], block["hash"].hex(), flush=True)
    i += 1
"""


def _lines(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def test_sigkill_at_random_moments_never_loses_or_breaks_a_block(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.chain"
    rng = random.Random()
    known: dict[int, bytes] = {}  # every block some process reported as mined
    last = -1  # highest reported block number

    def record(line: str) -> None:
        nonlocal last
        if line.endswith("\n"):  # a line cut by the kill was not reported
            number, block_hash = line.split()
            known[int(number)] = bytes.fromhex(block_hash)
            last = max(last, int(number))

    for _round in range(5):
        with (tmp_path / "child.err").open("w") as err:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(path)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
        reader.start()
        try:
            for _ in range(rng.randint(1, 12)):
                line = lines.get(timeout=120)
                assert line is not None, (tmp_path / "child.err").read_text()
                record(line)
            # Land the kill at a random point of the next send: executing, mining or committing.
            time.sleep(rng.uniform(0, 0.02))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
            reader.join(timeout=60)
            assert child.stdout is not None
            child.stdout.close()
        while (line := lines.get_nowait()) is not None:
            record(line)
        assert last in known

        with PersistentEVM(path) as evm:
            w3 = evm.w3
            head = w3.eth.get_block("latest")
            # The head is the last reported block, or one mined and committed just before the
            # kill but not yet reported; never anything else.
            if head["number"] == last + 1:
                assert head["parentHash"] == known[last]
            else:
                assert (head["number"], head["hash"]) == (last, known[last])
            for number, block_hash in known.items():
                assert w3.eth.get_block(number)["hash"] == block_hash
            # And the chain keeps working.
            accounts = w3.eth.accounts
            w3.eth.send_transaction({"from": accounts[0], "to": accounts[6], "value": 1})
            block = w3.eth.get_block("latest")
            assert block["number"] == head["number"] + 1
            assert block["parentHash"] == head["hash"]
            known[block["number"]] = bytes(block["hash"])
            last = block["number"]


def test_a_file_that_is_not_a_chain_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not a database\n" * 10)
    with pytest.raises(NotAChainFileError, match="not an SQLite file"):
        PersistentEVM(text)
    assert text.read_text() == "this is not a database\n" * 10

    other = tmp_path / "registry.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE credits (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAChainFileError, match="not a chain database"):
        PersistentEVM(other)
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # left untouched
    conn.close()


def test_a_chain_file_open_elsewhere_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.db.chain"
    with PersistentEVM(path) as evm:
        evm.w3.eth.send_transaction(
            {"from": evm.w3.eth.accounts[0], "to": evm.w3.eth.accounts[1], "value": 1}
        )
        with pytest.raises(ChainFileLockedError):
            PersistentEVM(path, lock_timeout_s=0.1)
    with PersistentEVM(path) as evm:
        assert evm.w3.eth.block_number == 1
    with pytest.raises(ChainFileError, match="closed"):
        evm.w3.eth.get_block("latest")


def test_a_file_left_by_a_crash_during_creation_is_initialised(tmp_path: Path) -> None:
    # Creation is one SQLite transaction; before it commits, the file has no tables.
    path = tmp_path / "registry.db.chain"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    with PersistentEVM(path) as evm:
        assert evm.w3.eth.block_number == 0
        assert evm.w3.eth.get_balance(evm.w3.eth.accounts[0]) > 0


def test_block_growth_of_the_file_stays_small(tmp_path: Path) -> None:
    """About 2.5-5.5 KB per block with one contract call (see the module's report); the bound
    only catches a regression such as rewriting whole tries per block."""
    with PersistentEVM(tmp_path / "registry.db.chain") as evm:
        w3 = evm.w3
        admin, anchorer = w3.eth.accounts[:2]
        contract = deploy_anchor(w3, admin, anchorer)
        role = contract.functions.ANCHORER_ROLE().call()
        conn = evm.store.conn

        def payload() -> int:
            return int(
                conn.execute("SELECT sum(length(key) + length(value)) FROM kv").fetchone()[0]
            )

        start, blocks = payload(), 20
        for i in range(blocks):
            grantee = Web3.to_checksum_address(f"0x{i + 0x1000:040x}")
            contract.functions.grantRole(role, grantee).transact({"from": admin})
        assert (payload() - start) / blocks < 16_384
