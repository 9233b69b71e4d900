"""An Ethereum JSON-RPC client on the standard library, and the anchoring contract's reads.

Only what verification needs: the chain id, the head, blocks, receipts, code, and `eth_call`
to the anchoring contract (`rootAt`, `latest`, `hasRole`), with the ABI encoded by hand.
Answers are read with bounded size and nesting (an RPC is not trusted either). A transport
other than HTTP can be given: a function from a JSON-RPC request object to its response
object (the tests replay recorded chain answers that way).
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carbon_verifier.crypto import keccak
from carbon_verifier.errors import CodedError
from carbon_verifier.jsonsafe import MalformedJsonError, loads

MAX_RESPONSE_BYTES = 32 * 1024 * 1024

Transport = Callable[[dict[str, Any]], dict[str, Any]]


class RpcError(CodedError):
    """The RPC could not be reached, or answered with an error."""

    code = "chain_unavailable"
    status = 503
    title = "The chain's RPC cannot be reached"


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


ANCHORER_ROLE = keccak(b"ANCHORER_ROLE")
ANCHORED_TOPIC = "0x" + keccak(b"Anchored(uint256,bytes32,bytes32)").hex()
_ROOT_AT = selector("rootAt(uint256)")
_LATEST = selector("latest()")
_HAS_ROLE = selector("hasRole(bytes32,address)")


def http_transport(url: str, timeout_s: float = 15.0) -> Transport:
    """POST each request to `url`; the answer is read with bounded size and nesting."""

    def send(request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        http = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(http, timeout=timeout_s) as response:  # noqa: S310
                data = response.read(MAX_RESPONSE_BYTES + 1)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            raise RpcError(f"{url} unreachable: {exc}") from exc
        if len(data) > MAX_RESPONSE_BYTES:
            raise RpcError(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
        try:
            answer = loads(data, what=f"the answer of {url}")
        except MalformedJsonError as exc:
            raise RpcError(str(exc)) from exc
        if not isinstance(answer, dict):
            raise RpcError(f"{url} answered something other than a JSON-RPC response")
        return answer

    return send


@dataclass(frozen=True)
class Receipt:
    status: int
    block_number: int
    block_hash: bytes
    logs: list[dict[str, Any]]


class Rpc:
    """JSON-RPC calls over a transport (HTTP by default)."""

    def __init__(self, url_or_transport: str | Transport) -> None:
        if isinstance(url_or_transport, str):
            self.description = url_or_transport
            self.transport = http_transport(url_or_transport)
        else:
            self.description = "the chain"
            self.transport = url_or_transport
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any]) -> Any:
        answer = self.transport(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        )
        if "error" in answer:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise RpcError(f"{method}: {message}")
        if "result" not in answer:
            raise RpcError(f"{method}: the answer holds no result")
        return answer["result"]

    # -- chain --------------------------------------------------------------------------

    def chain_id(self) -> int:
        return _quantity(self.call("eth_chainId", []), "eth_chainId")

    def head(self) -> int:
        return _quantity(self.call("eth_blockNumber", []), "eth_blockNumber")

    def block_hash(self, number: int) -> bytes | None:
        block = self.call("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict):
            return None
        return _data(block.get("hash"), "block hash")

    def code(self, address: str) -> bytes:
        return _data(self.call("eth_getCode", [address, "latest"]), "eth_getCode")

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        raw = self.call("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("logs"), list):
            raise RpcError("eth_getTransactionReceipt: not a receipt")
        return Receipt(
            _quantity(raw.get("status"), "receipt status"),
            _quantity(raw.get("blockNumber"), "receipt blockNumber"),
            _data(raw.get("blockHash"), "receipt blockHash"),
            [log for log in raw["logs"] if isinstance(log, dict)],
        )

    def eth_call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        return _data(
            self.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag]), "eth_call"
        )

    def logs(
        self, address: str, topic: bytes, from_block: int, to_block: int
    ) -> list[dict[str, Any]]:
        """The logs `address` emitted with first topic `topic` in [from_block, to_block]:
        topics, data, transaction hash and log index, in chain order."""
        answer = self.call(
            "eth_getLogs",
            [{"address": [address], "topics": ["0x" + topic.hex()],
              "fromBlock": hex(from_block), "toBlock": hex(to_block)}],
        )  # fmt: skip
        if not isinstance(answer, list):
            raise RpcError("eth_getLogs did not answer a list")
        found = []
        for log in answer:
            if not isinstance(log, dict) or not isinstance(log.get("topics"), list):
                raise RpcError("eth_getLogs answered a malformed log")
            found.append({
                "topics": [_data(t, "log topic") for t in log["topics"]],
                "data": _data(log.get("data"), "log data"),
                "tx_hash": _data(log.get("transactionHash"), "log transaction"),
                "log_index": _quantity(log.get("logIndex"), "log index"),
                "block": _quantity(log.get("blockNumber"), "log block"),
            })  # fmt: skip
        return sorted(found, key=lambda log: (log["block"], log["log_index"]))

    # -- the anchoring contract ------------------------------------------------------------

    def root_at(self, contract: str, tree_size: int) -> bytes:
        out = self.eth_call(contract, _ROOT_AT + tree_size.to_bytes(32, "big"))
        return _word(out, 0)

    def latest(self, contract: str, block: int | str = "latest") -> tuple[int, bytes]:
        out = self.eth_call(contract, _LATEST, block)
        return int.from_bytes(_word(out, 0), "big"), _word(out, 1)

    def is_anchorer(self, contract: str, account: str, block: int | str = "latest") -> bool:
        data = _HAS_ROLE + ANCHORER_ROLE + bytes(12) + bytes.fromhex(account[2:])
        return int.from_bytes(_word(self.eth_call(contract, data, block), 0), "big") == 1

    @staticmethod
    def anchored_logs(receipt: Receipt, contract: str) -> list[tuple[int, bytes, bytes]]:
        """`(treeSize, root, checkpointHash)` of the Anchored events `contract` logged."""
        found = []
        for log in receipt.logs:
            topics = log.get("topics")
            if (
                str(log.get("address", "")).lower() != contract.lower()
                or not isinstance(topics, list)
                or len(topics) != 2
                or str(topics[0]).lower() != ANCHORED_TOPIC
            ):
                continue
            data = _data(log.get("data"), "log data")
            if len(data) != 64:
                continue
            size = int.from_bytes(_data(topics[1], "log topic"), "big")
            found.append((size, data[:32], data[32:]))
        return found


_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})")
_DATA = re.compile(r"0x([0-9a-fA-F]{2})*")


def _quantity(value: Any, what: str) -> int:
    """A JSON-RPC quantity exactly: 0x and hex digits, no leading zeros, spaces or `_`."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise RpcError(f"{what}: expected a hex quantity, got {value!r:.60}")
    return int(value[2:], 16)


def _data(value: Any, what: str) -> bytes:
    """JSON-RPC data exactly: 0x and pairs of hex digits."""
    if not isinstance(value, str) or not _DATA.fullmatch(value):
        raise RpcError(f"{what}: expected 0x hex data, got {value!r:.60}")
    return bytes.fromhex(value[2:])


def _word(data: bytes, index: int) -> bytes:
    word = data[32 * index : 32 * (index + 1)]
    if len(word) != 32:
        raise RpcError(f"the contract answered {len(data)} bytes where a word {index} was due")
    return word
