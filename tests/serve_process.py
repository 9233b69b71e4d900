"""`carbon-registry serve` as a child process on fixed ports, to kill and restart in tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.client import RegistryClient
from registry.personal import DATA_KEY_ENV
from registry.signing import Signer
from registry.storage.base import HOME_ENV
from registry.storage.postgres import is_url

CLI = str(Path(sys.executable).parent / "carbon-registry")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`carbon-registry ARGS` with no CARBON_REGISTRY_* variable from the environment but
    those of `env`."""
    done = subprocess.run(
        [CLI, *args], env=clean_env(**(env or {})), capture_output=True, text=True, timeout=300
    )
    if check and done.returncode != 0:
        raise AssertionError(f"carbon-registry {' '.join(args)}: {done.stdout}{done.stderr}")
    return done


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_REGISTRY")}
    return env | extra


@dataclass
class Served:
    """One registry served again and again on the same API and chain ports."""

    db: Path | str  # a file, or a postgresql:// URL (its files then in CARBON_REGISTRY_HOME)
    anchor_max_age_s: float = 0.3
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)  # CARBON_REGISTRY_* settings
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        if is_url(str(self.db)):  # what the `store_url` fixture set for such a registry
            for name in (HOME_ENV, DATA_KEY_ENV):
                if name in os.environ:
                    self.env.setdefault(name, os.environ[name])

    def beside(self, name: str) -> Path:
        """A file the registry keeps beside its database (`registry.storage.beside`)."""
        if is_url(str(self.db)):
            return Path(self.env[HOME_ENV]) / f"registry.{name}"
        return Path(f"{self.db}.{name}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def operator(self) -> Signer:
        if "CARBON_REGISTRY_OPERATOR_KEY" in self.env:
            return Signer(self.env["CARBON_REGISTRY_OPERATOR_KEY"])
        return Signer.load(self.beside("operator-key.json"))

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`carbon-registry --db DB ARGS`."""
        return run_cli("--db", str(self.db), *args, check=check, env=self.env)

    def client(self) -> RegistryClient:
        key = self.beside("operator-api-key").read_text().strip()
        return RegistryClient(self.base, operator_api_key=key)

    def start(self, timeout_s: float = 180) -> float:
        """Start serving; returns the seconds until the API answers with every loop running
        (the anchoring worker attached)."""
        assert self.process is None
        self.starts += 1
        log = open(self.beside(f"serve-{self.starts}.log"), "wb")  # noqa: SIM115 - the child's
        began = time.monotonic()
        self.process = subprocess.Popen(
            [CLI, "--db", str(self.db), "serve", "--port", str(self.port),
             "--rpc-port", str(self.rpc_port), "--anchor-max-age", str(self.anchor_max_age_s)],
            env=clean_env(**self.env), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()  # the child holds its own descriptor
        deadline = began + timeout_s
        while True:
            try:
                health = httpx.get(f"{self.base}/v1/health", timeout=5).json()
                if health.get("ready"):
                    return time.monotonic() - began
            except (httpx.HTTPError, ValueError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{self.log(self.starts)}")
            time.sleep(0.05)

    def log(self, start: int | None = None) -> str:
        return self.beside(f"serve-{start or self.starts}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)
        self.process = None

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.process = None

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None:
            self.kill()


CLASS = "SZ_TRANSIT-1.0-2026-440300"


def setup_parties(
    api: RegistryClient,
    operator: Signer,
    people: list[Signer],
    grams: int = 1_000_000,
    issued_to: list[Signer] | None = None,
) -> None:
    """Household accounts for `people`, the SZ_TRANSIT 2026 class, and `grams` issued to
    each of `issued_to` (default: everyone)."""
    for person in people:
        api.open_account(operator, person.address, "household")
    api.register_asset_class(operator, "SZ_TRANSIT", "1.0", 2026, "440300")
    for i, person in enumerate(people if issued_to is None else issued_to):
        api.issue(operator, person.address, CLASS, grams, f"claim-{i}")
