"""Gas of `RegistryAnchor.anchor` with real consistency proofs at 10^3, 10^6 and 10^9 leaves.

A tree of 10^9 leaves cannot be built here, but a tree whose leaves are all equal can be
described exactly: every complete subtree at level k has the same hash h_k, and RFC 9162 roots
and proofs of any size are made of complete subtrees only. The contract cannot tell the
difference: it checks a genuine consistency proof between two genuine roots.

Each figure is the whole transaction's gas (21,000 base + calldata + execution) of the second
anchor of a fresh contract, the first anchor having stored the previous size. The pattern is
that of a registry cutting one checkpoint per 1,000 events; the worst-case proof at 10^9 (the
longest consistency proof below 2^30) is reported beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anchoring.chain import Chain  # noqa: E402
from anchoring.merkle import leaf_hash, node_hash  # noqa: E402
from carbon_verifier.merkle import proof as merkle_proof  # noqa: E402
from registry.signing import Signer  # noqa: E402

LEVELS = [leaf_hash(b"uniform leaf")]
for _ in range(64):
    LEVELS.append(node_hash(LEVELS[-1], LEVELS[-1]))


def uniform_node(level: int, index: int) -> bytes:
    return LEVELS[level]


def anchor_gas(chain: Chain, operator: Signer, size1: int, size2: int) -> tuple[int, int]:
    """(gas, proof length) of anchoring size2 on a contract already anchored at size1."""
    key = bytes.fromhex(operator.private_key_hex[2:])
    chain.deploy_anchor(key, operator.address, operator.address)
    for size, proof in (
        (size1, []),
        (size2, merkle_proof.consistency_proof(size1, size2, uniform_node)),
    ):
        root = merkle_proof.tree_root(size, uniform_node)
        raw, tx_hash = chain.anchor_transaction(
            key, chain.nonce(operator.address), size, root, b"\x01" * 32, proof
        )
        chain.broadcast(raw)
        receipt = chain.wait_receipt(tx_hash)
        assert receipt["status"] == 1, (size1, size2)
    return int(receipt["gasUsed"]), len(proof)


def anchor_gas_figures() -> dict[str, object]:
    chain = Chain.create_embedded()
    operator = Signer.generate()
    chain.fund(operator.address)
    cases = {
        "1000": (900, 1_000),
        "1000000": (999_000, 1_000_000),
        "1000000000": (999_999_000, 1_000_000_000),
    }
    gas = {}
    lengths = {}
    for label, (size1, size2) in cases.items():
        gas[label], lengths[label] = anchor_gas(chain, operator, size1, size2)
    worst, worst_length = anchor_gas(chain, operator, 536_870_911, 1_000_000_000)
    return {
        "anchor_gas": gas,
        "anchor_proof_hashes": lengths,
        "anchor_gas_worst_case_1e9": worst,
        "anchor_proof_hashes_worst_case_1e9": worst_length,
        "gas_per_event_1000": round(gas["1000000"] / 1_000, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(anchor_gas_figures()))
