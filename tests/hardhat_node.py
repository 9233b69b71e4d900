"""Start and stop a real `npx hardhat node` on 127.0.0.1 for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from socketserver import BaseRequestHandler, ThreadingTCPServer

import requests

from anchoring.chain import Chain

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def hardhat_node() -> Iterator[str]:
    """Yield the URL of a fresh Hardhat node; the node is killed afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            "node",
            str(ROOT / "node_modules" / ".bin" / "hardhat"),
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped whole at the end
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.post(
                    url,
                    json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                    timeout=1,
                )
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("hardhat node did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def rpc(url: str, method: str, *params: object) -> object:
    answer = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["result"]


def fund(url: str, address: str) -> None:
    """Send 100 ether from the node's first unlocked account."""
    sender = rpc(url, "eth_accounts")[0]  # type: ignore[index]
    rpc(url, "eth_sendTransaction", {"from": sender, "to": address, "value": hex(10**20)})


class FlakyProxy:
    """A TCP proxy to the node that can be switched off: connections are then reset."""

    def __init__(self, target_port: int) -> None:
        self.up = True
        self.open: set[socket.socket] = set()
        proxy = self

        class Pipe(BaseRequestHandler):
            def handle(self) -> None:
                if not proxy.up:
                    return  # close at once: the client sees a dropped connection
                with socket.create_connection(("127.0.0.1", target_port)) as upstream:
                    proxy.open.update((self.request, upstream))
                    pumps = [
                        threading.Thread(target=_pump, args=(a, b), daemon=True)
                        for a, b in ((self.request, upstream), (upstream, self.request))
                    ]
                    for pump in pumps:
                        pump.start()
                    for pump in pumps:
                        pump.join()
                    proxy.open.difference_update((self.request, upstream))

        ThreadingTCPServer.allow_reuse_address = True
        self.server = ThreadingTCPServer(("127.0.0.1", 0), Pipe)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def go_down(self) -> None:
        """Refuse new connections and cut the kept-alive ones."""
        self.up = False
        for sock in list(self.open):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.open.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def connect(url: str) -> Chain:
    return Chain.connect(url, timeout_s=5)
