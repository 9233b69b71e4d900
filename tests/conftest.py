from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from registry.personal import DATA_KEY_ENV
from registry.storage.base import HOME_ENV
from tests import postgres_cluster
from tests.ledger_world import World

BACKENDS = ("sqlite", "postgresql")
# `make test-pg`: every test that uses `store_url` or `world` runs on both backends, not
# only those of the modules marked `both_backends` (the set `make test` runs).
ALL_ON_BOTH_ENV = "CARBON_TEST_ALL_BACKENDS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "both_backends: run each test that uses `store_url` (or `world`) on SQLite and on"
        " PostgreSQL",
    )
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): a test of a `both_backends` module that runs on SQLite only",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    chosen = marked("both_backends") or os.environ.get(ALL_ON_BOTH_ENV) == "1"
    named = any(
        "backend" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")
    )  # a test that names its backend itself
    if "backend" in metafunc.fixturenames and chosen and not named and not marked("sqlite_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)
    if "module_backend" in metafunc.fixturenames and chosen and not marked("sqlite_only"):
        metafunc.parametrize("module_backend", BACKENDS, indirect=True, scope="module")


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this test: SQLite unless marked `both_backends`."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster per test process (each xdist worker has its own)."""
    with postgres_cluster.cluster() as url:
        yield url


@pytest.fixture
def store_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Where this test's registry lives: a file, or a schema of its own on PostgreSQL (a
    registry a schema; the master key then comes from the environment, as it must there)."""
    if backend == "sqlite":
        return str(tmp_path / "registry.db")
    return _postgres_schema(request.getfixturevalue("postgres_server"), tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def module_backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of a module's shared registry (`module_store_url`)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="module")
def module_store_url(
    module_backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """Where a registry that a module's tests share lives (as `store_url`, module-wide)."""
    folder = tmp_path_factory.mktemp("module")
    if module_backend == "sqlite":
        yield str(folder / "registry.db")
        return
    server: str = request.getfixturevalue("postgres_server")
    with pytest.MonkeyPatch.context() as env:
        yield _postgres_schema(server, folder, env)


@pytest.fixture
def new_store_url(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], str]:
    """Where each of a test's many registries lives (as `store_url`, a new one a call)."""

    def new() -> str:
        folder = tmp_path_factory.mktemp("registry")
        if backend == "sqlite":
            return str(folder / "registry.db")
        server: str = request.getfixturevalue("postgres_server")
        return _postgres_schema(server, folder, monkeypatch)

    return new


def _postgres_schema(server: str, folder: Path, env: pytest.MonkeyPatch) -> str:
    """A new schema of `server` for one registry, with the master key and the folder of
    files (`CARBON_REGISTRY_HOME`) that a registry on PostgreSQL needs set in `env` (one
    master key for every registry of a test)."""
    schema = f"test_{secrets.token_hex(8)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    if not os.environ.get(DATA_KEY_ENV):
        env.setenv(DATA_KEY_ENV, secrets.token_hex(32))
    home = folder / "registry-home"  # its files (an embedded chain, keys), as `serve` needs
    home.mkdir(mode=0o700)
    env.setenv(HOME_ENV, str(home))
    return f"{server}?options=-csearch_path%3D{schema}"


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    world = World.create(store_url)
    yield world
    world.store.close()


@pytest.fixture(scope="session")
def hardhat_url() -> Iterator[str]:
    """One real `npx hardhat node` on 127.0.0.1 for the whole session."""
    from tests.hardhat_node import hardhat_node

    with hardhat_node() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (make test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()
