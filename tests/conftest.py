from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
