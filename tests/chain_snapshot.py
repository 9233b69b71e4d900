"""A recorded chain: what the light verifiers ask a chain, answered from a JSON snapshot.

The shared bundle vectors must verify the same way in Python, in Node and in a browser,
without a node running. The snapshot holds the facts of the chain the bundles were anchored
on (chain id, head, block hashes, the anchor transactions' receipts, the contract's roots
and its anchorers) and `transport` answers the JSON-RPC calls the verifiers make from it,
like a node would: unknown blocks and transactions are null, unknown roots zero, accounts
that never held the role get false. The live path is covered against real nodes (Hardhat
and the embedded chain's RPC server) by the end-to-end tests.
"""

from __future__ import annotations

from typing import Any

from carbon_verifier.rpc import ANCHORER_ROLE, selector

_ROOT_AT = selector("rootAt(uint256)").hex()
_LATEST = selector("latest()").hex()
_HAS_ROLE = selector("hasRole(bytes32,address)").hex()
_ZERO = "0x" + "00" * 32


def record(rpc_call: Any, contract: str, tx_hashes: list[str], anchorer: str) -> dict[str, Any]:
    """A snapshot of the chain behind `rpc_call(method, params)`, for one anchoring contract."""
    head = int(rpc_call("eth_blockNumber", []), 16)
    blocks = {
        str(n): rpc_call("eth_getBlockByNumber", [hex(n), False])["hash"] for n in range(head + 1)
    }
    receipts = {tx: rpc_call("eth_getTransactionReceipt", [tx]) for tx in tx_hashes}
    roots: dict[str, str] = {}
    for receipt in receipts.values():
        for log in receipt["logs"]:
            if log["address"].lower() == contract.lower() and len(log["topics"]) == 2:
                roots[str(int(log["topics"][1], 16))] = "0x" + log["data"][2:66]
    first_block = min(int(r["blockNumber"], 16) for r in receipts.values())
    return {
        "chain_id": int(rpc_call("eth_chainId", []), 16),
        "head": head,
        "blocks": blocks,
        "code": {contract.lower(): rpc_call("eth_getCode", [contract, "latest"])},
        "receipts": receipts,
        "contract": contract,
        "roots": roots,
        "anchorers": [{"account": anchorer, "from_block": first_block - 1}],
    }


def transport(snapshot: dict[str, Any]) -> Any:
    """A JSON-RPC transport (request object -> response object) over `snapshot`."""

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request["params"]
        return {"jsonrpc": "2.0", "id": request["id"], "result": _result(snapshot, method, params)}

    return answer


def _block_of(tag: str, snapshot: dict[str, Any]) -> int:
    return int(snapshot["head"]) if tag == "latest" else int(tag, 16)


def _result(snapshot: dict[str, Any], method: str, params: list[Any]) -> Any:
    if method == "eth_chainId":
        return hex(snapshot["chain_id"])
    if method == "eth_blockNumber":
        return hex(snapshot["head"])
    if method == "eth_getBlockByNumber":
        block_hash = snapshot["blocks"].get(str(int(params[0], 16)))
        return None if block_hash is None else {"hash": block_hash}
    if method == "eth_getCode":
        return snapshot["code"].get(params[0].lower(), "0x")
    if method == "eth_getTransactionReceipt":
        return snapshot["receipts"].get(params[0])
    if method == "eth_call":
        return _call(snapshot, params[0]["to"], params[0]["data"][2:], params[1])
    raise ValueError(f"the recorded chain does not answer {method}")


def _call(snapshot: dict[str, Any], to: str, data: str, tag: str) -> str:
    if to.lower() != snapshot["contract"].lower():
        return "0x"
    function, args = data[:8], data[8:]
    if function == _ROOT_AT:
        return snapshot["roots"].get(str(int(args[:64], 16)), _ZERO)
    if function == _LATEST:
        size = max((int(s) for s in snapshot["roots"]), default=0)
        return "0x" + f"{size:064x}" + snapshot["roots"].get(str(size), _ZERO)[2:]
    if function == _HAS_ROLE:
        role, account = args[:64], "0x" + args[64 + 24 : 128]
        block = _block_of(tag, snapshot)
        held = role == ANCHORER_ROLE.hex() and any(
            a["account"].lower() == account.lower() and a["from_block"] <= block
            for a in snapshot["anchorers"]
        )
        return "0x" + f"{int(held):064x}"
    return "0x"
