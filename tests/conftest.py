from __future__ import annotations

from pathlib import Path

import pytest

from tests.ledger_world import World


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World.create(tmp_path / "registry.db")
