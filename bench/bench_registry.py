"""The registry a bench starts from: a new file, a fresh operator key, a local domain."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.commitments import NO_COMMITMENT  # noqa: E402
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


def open_accounts(
    operator: Signer, registry: Registry, addresses: Iterable[str], kind: str
) -> list[tuple[str, dict[str, Any], str]]:
    """Signed OpenAccount requests of the current form for `addresses` (no name, no
    household), to run with the bench's other setup requests."""
    return [
        operator.request(registry.domain, "OpenAccount", account=address, kind=kind, name="",
                         householdCommitment=NO_COMMITMENT)
        for address in addresses
    ]  # fmt: skip
