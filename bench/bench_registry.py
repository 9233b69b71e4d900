"""The registry a bench starts from: a new file, a fresh operator key, a local domain."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.ledger import Registry  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.storage import Store  # noqa: E402

CHAIN_ID = 31337


def new_registry(path: Path, name: str, synchronous: str = "FULL") -> tuple[Registry, Signer]:
    """A new registry at `path`, its log id `bench.local/<name>`, and its operator."""
    operator = Signer.generate()
    registry = Registry.create(
        Store(path, synchronous=synchronous),
        chain_id=CHAIN_ID,
        verifying_contract="0x" + "11" * 20,
        operator=operator.address,
        log_id=f"bench.local/{name}",
    )
    return registry, operator
