"""Chain clients: the embedded in-process EVM (default) or any EVM JSON-RPC endpoint.

`Chain` wraps a web3 connection and the `RegistryAnchor` contract. Transactions are signed
locally with the operator's key and their hash is known before broadcasting, which is what
lets the anchoring worker record a transaction before sending it and survive a crash in
between. RPC failures surface as `ChainUnavailableError` so callers can back off and retry.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from requests.exceptions import RequestException
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.exceptions import TransactionNotFound, Web3Exception

from anchoring.persistent_evm import PersistentEVM
from registry.errors import CodedError
from registry.storage import beside

# web3 imports py_ecc, which raises the recursion limit to 100,000: deep enough for a nested
# document to overflow the C stack inside a parser and kill the process. py-evm's own limit
# (1,024 EVM call frames) is safe: a RecursionError stays an exception.
EVM_RECURSION_LIMIT = 1024 * 12
sys.setrecursionlimit(EVM_RECURSION_LIMIT)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EMBEDDED_RPC_PORT = 8546  # Hardhat and geth listen on 8545 by default


def embedded_chain_file(db: str | Path) -> Path:
    """Where the embedded chain of the registry at `db` keeps its state: beside it."""
    return beside(db, ".chain", "CARBON_REGISTRY_CHAIN, a JSON-RPC URL")


EMBEDDED_FUNDING_WEI = 10**21
T = TypeVar("T")


# eth-tester reports revert data as Python's repr of bytes: b'...', or b"..." when the bytes
# hold a single quote.
_BYTES_LITERAL = re.compile(r"b'(?:[^'\\]|\\.)*'" + r'|b"(?:[^"\\]|\\.)*"')


def _revert_selector(exc: Exception) -> str:
    data = revert_data(" ".join(str(a) for a in (getattr(exc, "data", None), *exc.args)))
    return f" (error 0x{data[:4].hex()}): {exc}" if data else f": {exc}"


def revert_data(text: str) -> bytes | None:
    """The revert data in an embedded-chain error message, if it carries any."""
    literal = _BYTES_LITERAL.search(text)
    return None if literal is None else bytes(ast.literal_eval(literal.group(0)))


class ChainError(CodedError):
    """The chain refused or failed an operation."""

    code = "chain_error"
    status = 502
    title = "The chain refused or failed the operation"


class ChainConfigError(ChainError):
    """The chain does not fit the registry (another contract, another chain): no retry helps."""

    code = "chain_config"
    status = 500
    title = "The chain does not fit this registry"


class ChainIntegrityError(ChainError):
    """What the chain shows contradicts the log (a rewritten history, a lock minted twice,
    tokens the log does not back): no retry helps, so the worker stops and says why."""

    code = "chain_integrity"
    status = 500
    title = "The chain and the log disagree"


class ChainUnavailableError(ChainError):
    """The RPC endpoint could not be reached or answered with an error; try again later."""

    code = "chain_unavailable"
    status = 503
    title = "The chain's RPC cannot be reached"


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """ABI and bytecode compiled by Hardhat and committed under anchoring/artifacts/."""
    return cast(dict[str, Any], json.loads((ARTIFACTS / f"{name}.json").read_text()))


@dataclass(frozen=True)
class AnchorRecord:
    """Where an `Anchored` event of one tree size was found on chain."""

    tree_size: int
    root: bytes
    checkpoint_hash: bytes
    tx_hash: bytes
    block_number: int
    block_hash: bytes


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Chain:
    """One EVM chain, optionally bound to a deployed RegistryAnchor contract."""

    def __init__(self, w3: Web3, *, embedded: bool = False, description: str = "") -> None:
        self.w3 = w3
        self.embedded = embedded
        self.description = description
        self._anchor: Any = None
        self.anchor_address: str | None = None
        self._close: Callable[[], None] = lambda: None
        self._backup: Callable[[Path], None] | None = None
        # eth-tester is not thread-safe; the worker and the RPC server share the embedded chain.
        self.lock = threading.RLock()

    @classmethod
    def create_embedded(cls, path: Path | None = None) -> Chain:
        """The in-process chain (py-evm): persistent in the file at `path` (blocks, receipts,
        state survive restarts and SIGKILL, see `persistent_evm`), or in memory only."""
        if path is None:
            w3 = Web3(EthereumTesterProvider())
            return cls(w3, embedded=True, description="embedded py-evm chain (in memory)")
        evm = PersistentEVM(path)
        chain = cls(evm.w3, embedded=True, description=f"embedded chain in {path}")
        chain._close = evm.close
        chain._backup = evm.backup_to
        return chain

    def backup_to(self, dest: Path) -> None:
        """Copy the persistent embedded chain to a new file `dest`, between two blocks."""
        if self._backup is None:
            raise ChainError(f"{self.description} has no file to back up")
        with self.lock:
            self._backup(dest)

    def close(self) -> None:
        """Release the chain: the embedded chain's file, a JSON-RPC connection's sockets."""
        with self.lock:
            self._close()

    @classmethod
    def connect(cls, url: str, timeout_s: float = 10.0) -> Chain:
        # One HTTP session for every thread (web3 would open one per thread, never closed);
        # the chain's lock already serialises the calls.
        session = requests.Session()
        provider = HTTPProvider(url, request_kwargs={"timeout": timeout_s}, session=session)
        chain = cls(Web3(provider), description=url)
        chain._close = session.close
        return chain

    # -- plumbing ---------------------------------------------------------------------------

    def call(self, what: str, func: Callable[[], T]) -> T:
        """Run one RPC interaction; connection failures become ChainUnavailableError."""
        try:
            with self.lock:
                return func()
        except (OSError, RequestException) as exc:
            raise ChainUnavailableError(f"{what}: {self.description} unreachable: {exc}") from exc

    @property
    def chain_id(self) -> int:
        return self.call("chain id", lambda: int(self.w3.eth.chain_id))

    def head(self) -> int:
        return self.call("block number", lambda: int(self.w3.eth.block_number))

    def block_hash(self, number: int) -> bytes | None:
        header = self.block_header(number)
        return None if header is None else header[0]

    def block_header(self, number: int) -> tuple[bytes, int] | None:
        """(hash, timestamp) of block `number`, or None when there is no such block."""

        def get() -> tuple[bytes, int] | None:
            try:
                block = self.w3.eth.get_block(number)
            except Web3Exception:
                return None
            return bytes(block["hash"]), int(block["timestamp"])

        return self.call("block", get)

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        def get() -> dict[str, Any] | None:
            try:
                return dict(self.w3.eth.get_transaction_receipt(_hex(tx_hash)))  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self.call("receipt", get)

    def nonce(self, address: str) -> int:
        return self.call(
            "nonce",
            lambda: int(self.w3.eth.get_transaction_count(address, "pending")),  # type: ignore[arg-type]
        )

    def mine(self, blocks: int = 1) -> None:
        """Produce empty blocks (embedded chain and Hardhat node only)."""
        for _ in range(blocks):
            if self.embedded:
                self.call("mine", lambda: self.w3.provider.ethereum_tester.mine_blocks(1))  # type: ignore[attr-defined]
            else:
                self.call("evm_mine", lambda: self.w3.provider.make_request("evm_mine", []))  # type: ignore[arg-type]

    def balance(self, address: str) -> int:
        return self.call(
            "balance",
            lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))),
        )

    def fund(self, address: str, wei: int = EMBEDDED_FUNDING_WEI) -> None:
        """Give an address ether from the embedded chain's pre-funded test account."""
        if not self.embedded:
            raise ChainError("only the embedded chain can fund accounts")
        self.w3.eth.send_transaction(
            {"from": self.w3.eth.accounts[0], "to": address, "value": wei}  # type: ignore[typeddict-item]
        )

    # -- transactions -----------------------------------------------------------------------

    def _fees(self) -> dict[str, int]:
        block = self.call("latest block", lambda: self.w3.eth.get_block("latest"))
        base = int(block.get("baseFeePerGas", 0) or 0)
        priority = 1_000_000_000
        return {"maxFeePerGas": 2 * base + priority, "maxPriorityFeePerGas": priority}

    def sign_transaction(self, key: bytes, tx: dict[str, Any]) -> tuple[bytes, bytes]:
        """Fill gas and fees, sign; returns (raw transaction, transaction hash)."""
        sender = Account.from_key(key).address
        tx = {**tx, "from": sender, "chainId": self.chain_id, **self._fees()}
        if "gas" not in tx:
            estimate = self.call("estimate gas", lambda: self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
            tx["gas"] = int(estimate * 1.25) + 10_000
        tx.pop("from")
        signed = Account.sign_transaction(tx, key)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def broadcast(self, raw: bytes) -> None:
        """Send a signed transaction; one the node already knows is not an error."""

        def send() -> None:
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Exception as exc:
                text = str(exc).lower()
                if "already known" in text or "known transaction" in text:
                    return
                if isinstance(exc, (OSError, RequestException)):
                    raise
                raise ChainError(f"transaction refused: {exc}") from exc

        self.call("send transaction", send)

    def wait_receipt(self, tx_hash: bytes, timeout_s: float = 30.0) -> dict[str, Any]:
        receipt = self.call(
            "wait for receipt",
            lambda: self.w3.eth.wait_for_transaction_receipt(_hex(tx_hash), timeout=timeout_s),  # type: ignore[arg-type]
        )
        return dict(receipt)

    # -- the anchoring contract -------------------------------------------------------------

    def deploy(self, name: str, key: bytes, *args: Any) -> str:
        """Deploy contract `name` of anchoring/artifacts/ from `key`'s account, with
        constructor arguments `args`; returns its address."""
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        sender = Account.from_key(key).address
        raw, tx_hash = self.sign_transaction(key, {"data": data, "nonce": self.nonce(sender)})
        self.broadcast(raw)
        receipt = self.wait_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ChainError(f"{name} deployment reverted")
        return str(receipt["contractAddress"])

    def deploy_anchor(self, key: bytes, admin: str, anchorer: str) -> str:
        """Deploy RegistryAnchor from `key`'s account; returns and binds its address."""
        address = self.deploy("RegistryAnchor", key, admin, anchorer)
        self.bind(address)
        return address

    def bind(self, address: str) -> None:
        artifact = load_artifact("RegistryAnchor")
        self.anchor_address = Web3.to_checksum_address(address)
        self._anchor = self.w3.eth.contract(address=self.anchor_address, abi=artifact["abi"])

    @property
    def anchor_contract(self) -> Any:
        if self._anchor is None:
            raise ChainError("no anchoring contract bound")
        return self._anchor

    def has_code(self, address: str) -> bool:
        return bool(
            self.call("code", lambda: self.w3.eth.get_code(Web3.to_checksum_address(address)))
        )

    def anchor_transaction(
        self,
        key: bytes,
        nonce: int,
        tree_size: int,
        root: bytes,
        checkpoint_hash: bytes,
        proof: Sequence[bytes],
    ) -> tuple[bytes, bytes]:
        """A signed `anchor(...)` call; returns (raw transaction, transaction hash)."""
        sender = Account.from_key(key).address
        function = self.anchor_contract.functions.anchor(
            tree_size, root, checkpoint_hash, list(proof)
        )
        tx = self.build_transaction(
            function, {"from": sender, "nonce": nonce, "gas": 200_000 + 5_000 * len(proof)}
        )
        return self.sign_transaction(key, tx)

    def transact(
        self,
        key: bytes,
        function: Any,
        gas: int = 300_000,
        explain: Callable[[Exception], str] | None = None,
    ) -> dict[str, Any]:
        """Simulate, sign, send and wait for one contract call; returns the receipt. The
        simulation comes first, so a revert raises ChainError before any gas is spent, saying
        why with `explain(exc)` (a contract that knows its custom errors names them)."""
        sender = Account.from_key(key).address
        try:
            self.call("simulate", lambda: function.call({"from": sender}))
        except ChainUnavailableError:
            raise
        except Exception as exc:  # web3 and eth-tester report reverts in different types
            raise ChainError(f"reverted{(explain or _revert_selector)(exc)}") from exc
        tx = self.build_transaction(function, {"from": sender, "nonce": self.nonce(sender),
                                               "gas": gas})  # fmt: skip
        raw, tx_hash = self.sign_transaction(key, tx)
        self.broadcast(raw)
        receipt = self.wait_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ChainError(f"transaction 0x{tx_hash.hex()} reverted")
        return receipt

    def build_transaction(self, function: Any, fields: dict[str, Any]) -> dict[str, Any]:
        """A contract call as a transaction; web3 asks the node for the fee and chain id."""
        return dict(self.call("build transaction", lambda: function.build_transaction(fields)))

    def root_at(self, tree_size: int) -> bytes:
        return bytes(
            self.call("rootAt", lambda: self.anchor_contract.functions.rootAt(tree_size).call())
        )

    def latest(self) -> tuple[int, bytes]:
        size, root = self.call("latest", lambda: self.anchor_contract.functions.latest().call())
        return int(size), bytes(root)

    def has_role(self, role: str, account: str) -> bool:
        contract = self.anchor_contract
        role_id = self.call(role, lambda: getattr(contract.functions, role)().call())
        return bool(
            self.call("hasRole", lambda: contract.functions.hasRole(role_id, account).call())
        )

    def find_anchor(self, tree_size: int) -> AnchorRecord | None:
        """The `Anchored` event of `tree_size`, if the chain has one."""
        event = self.anchor_contract.events.Anchored
        logs = self.call(
            "get logs",
            lambda: event.get_logs(from_block=0, argument_filters={"treeSize": tree_size}),
        )
        if not logs:
            return None
        log = logs[-1]
        return AnchorRecord(
            tree_size,
            bytes(log["args"]["root"]),
            bytes(log["args"]["checkpointHash"]),
            bytes(log["transactionHash"]),
            int(log["blockNumber"]),
            bytes(log["blockHash"]),
        )

    def anchors(self) -> list[AnchorRecord]:
        """Every `Anchored` event of the bound contract, oldest first."""
        event = self.anchor_contract.events.Anchored
        logs = self.call("get logs", lambda: event.get_logs(from_block=0))
        return [
            AnchorRecord(
                int(log["args"]["treeSize"]),
                bytes(log["args"]["root"]),
                bytes(log["args"]["checkpointHash"]),
                bytes(log["transactionHash"]),
                int(log["blockNumber"]),
                bytes(log["blockHash"]),
            )
            for log in logs
        ]

    def anchored_in(self, receipt: dict[str, Any]) -> list[AnchorRecord]:
        """The `Anchored` events a transaction receipt carries."""
        records = []
        for log in self.anchor_contract.events.Anchored().process_receipt(receipt):
            records.append(
                AnchorRecord(
                    int(log["args"]["treeSize"]),
                    bytes(log["args"]["root"]),
                    bytes(log["args"]["checkpointHash"]),
                    bytes(log["transactionHash"]),
                    int(log["blockNumber"]),
                    bytes(log["blockHash"]),
                )
            )
        return records
