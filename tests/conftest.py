from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ledger_world import World


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World.create(tmp_path / "registry.db")


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
