"""Serve the embedded chain over HTTP JSON-RPC on loopback.

The embedded chain lives inside one process. So that the standalone verifier (and anyone
else) can check bundles against it exactly as against a real node, the process that hosts
it exposes it at `http://127.0.0.1:PORT`. Requests go through web3's own request and result
formatting for eth-tester; integers in results are sent back as JSON-RPC hex quantities.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_tester.exceptions import TransactionFailed
from hexbytes import HexBytes
from web3.types import RPCEndpoint

from anchoring.chain import Chain, revert_data
from carbon_verifier.jsonsafe import MalformedJsonError, loads

MAX_BODY = 1 << 20


def _to_json_rpc(value: Any) -> Any:
    """web3's Python values -> JSON-RPC wire values (hex quantities and data)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _to_json_rpc(v) for k, v in dict(value).items()}
    if isinstance(value, list | tuple):
        return [_to_json_rpc(v) for v in value]
    return value


ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


def _revert_error(text: str) -> dict[str, Any]:
    """Error code 3 with the revert data, so clients decode the contract's custom error.
    eth-tester gives either the raw data or, for `Error(string)`, the decoded reason."""
    data = revert_data(text)
    if data is None:  # Error(string): encode it back as nodes return it
        data = ERROR_STRING_SELECTOR + abi_encode(["string"], [text])
    return {"code": 3, "message": "execution reverted", "data": "0x" + data.hex()}


def embedded_transport(chain: Chain) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A JSON-RPC request object -> its response object, answered by the embedded chain
    through web3's own formatting (the HTTP server and in-process verifiers use it)."""
    if not chain.embedded:
        raise ValueError("only the embedded chain needs serving")
    manager = chain.w3.manager
    caller = chain.w3.eth.accounts[0]

    def answer(call: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": call.get("id")}
        method, params = call.get("method"), call.get("params", [])
        if not isinstance(method, str) or not isinstance(params, list):
            response["error"] = {"code": -32600, "message": "method must be text, params a list"}
            return response
        if method in ("eth_call", "eth_estimateGas") and params and isinstance(params[0], dict):
            # eth-tester insists on a sender even for read-only calls; nodes do not.
            params = [{"from": caller, **params[0]}, *params[1:]]
        try:
            with chain.lock:
                result = manager.request_blocking(RPCEndpoint(method), params)
            response["result"] = _to_json_rpc(result)
        except TransactionFailed as exc:  # as geth and Hardhat answer a revert
            response["error"] = _revert_error(str(exc))
        except Exception as exc:  # a JSON-RPC error, never a dropped connection
            response["error"] = {"code": -32000, "message": str(exc)}
        return response

    return answer


class EmbeddedRpcServer:
    """JSON-RPC over the embedded chain; calls share the chain's lock with the worker."""

    def __init__(self, chain: Chain, host: str = "127.0.0.1", port: int = 0) -> None:
        if not chain.embedded:
            raise ValueError("only the embedded chain needs serving")
        answer = embedded_transport(chain)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                header = self.headers.get("Content-Length", "0")
                if not header.isascii() or not header.isdigit() or len(header) > 9:
                    self.send_error(400, "Content-Length must be a number of bytes")
                    return
                if int(header) > MAX_BODY:
                    self.send_error(413)
                    return
                try:
                    request = loads(self.rfile.read(int(header)), what="the JSON-RPC request")
                except MalformedJsonError as exc:
                    self.send_error(400, str(exc))
                    return
                if not isinstance(request, dict | list) or (
                    isinstance(request, list) and not all(isinstance(c, dict) for c in request)
                ):
                    self.send_error(400, "a JSON-RPC request is an object or a list of objects")
                    return
                if isinstance(request, list):
                    body = json.dumps([answer(call) for call in request])
                else:
                    body = json.dumps(answer(request))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body.encode())

            def do_OPTIONS(self) -> None:  # noqa: N802 - a browser's CORS preflight
                # Verification pages of any origin read the public chain, as public nodes allow.
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Access-Control-Max-Age", "86400")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedRpcServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
