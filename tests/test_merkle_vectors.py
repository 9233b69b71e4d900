"""The committed Merkle vectors (tests/vectors/merkle) are current, right and rejected when
tampered with: they are what the contract tests check the Solidity verifier against."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from anchoring.merkle import (
    IndexOutOfRangeError,
    MerkleError,
    ProofLengthError,
    RootMismatchError,
    SizeError,
    verify_consistency,
    verify_inclusion,
)
from tests import merkle_reference as reference

VECTORS = Path(__file__).parent / "vectors"
MERKLE_VECTORS = VECTORS / "merkle"

# The errors each mutation may raise: the one that names what was changed.
EXPECTED_ERRORS: dict[str, tuple[type[MerkleError], ...]] = {
    "inclusion_proof_hash_flipped": (RootMismatchError,),
    "inclusion_index_changed": (IndexOutOfRangeError, ProofLengthError, RootMismatchError),
    "inclusion_size_changed": (IndexOutOfRangeError, ProofLengthError, RootMismatchError),
    "inclusion_leaf_changed": (RootMismatchError,),
    "inclusion_root_changed": (RootMismatchError,),
    "inclusion_proof_too_long": (ProofLengthError,),
    "inclusion_proof_too_short": (ProofLengthError,),
    "consistency_proof_hash_flipped": (RootMismatchError,),
    "consistency_size1_changed": (SizeError, ProofLengthError, RootMismatchError),
    "consistency_size2_changed": (SizeError, ProofLengthError, RootMismatchError),
    "consistency_root1_changed": (RootMismatchError,),
    "consistency_root2_changed": (RootMismatchError,),
    "consistency_proof_too_long": (ProofLengthError,),
    "consistency_proof_too_short": (ProofLengthError,),
    "consistency_from_empty_tree": (SizeError,),
}


def _generator() -> ModuleType:
    path = VECTORS / "generate_merkle_vectors.py"
    spec = importlib.util.spec_from_file_location("generate_merkle_vectors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MERKLE_VECTORS / relative).read_text(encoding="utf-8"))
    return data


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _leaves(size: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(size)]


def _verify(case: dict[str, Any]) -> None:
    proof = [_b(value) for value in case["proof"]]
    if "leaf_hash" in case:
        verify_inclusion(
            case["index"], case["tree_size"], _b(case["leaf_hash"]), proof, _b(case["root"])
        )
    else:
        verify_consistency(
            case["size1"], case["size2"], _b(case["root1"]), _b(case["root2"]), proof
        )


def test_committed_vectors_equal_a_fresh_generation() -> None:
    generated = _generator().generate()
    committed = {
        path.relative_to(MERKLE_VECTORS).as_posix() for path in MERKLE_VECTORS.rglob("*.json")
    }
    assert committed == set(generated)
    assert set(generated) >= {f"tamper/{mutation}.json" for mutation in EXPECTED_ERRORS}
    for relative, text in generated.items():
        on_disk = (MERKLE_VECTORS / relative).read_text(encoding="utf-8")
        assert on_disk == text, (
            f"{relative} is stale: run .venv/bin/python tests/vectors/generate_merkle_vectors.py"
        )


def test_inclusion_vectors_follow_the_rfc() -> None:
    cases = _load("inclusion.json")["cases"]
    pairs = {(case["index"], case["tree_size"]) for case in cases}
    assert {(i, n) for n in range(1, 65) for i in range(n)} <= pairs
    leaves = _leaves(max(case["tree_size"] for case in cases))
    for case in cases:
        size, index = case["tree_size"], case["index"]
        assert case["valid"] is True
        assert _b(case["leaf_hash"]) == reference.mth(leaves[index : index + 1])
        assert _b(case["root"]) == reference.mth(leaves[:size])
        assert [_b(value) for value in case["proof"]] == reference.path(index, leaves[:size])
        _verify(case)


def test_consistency_vectors_follow_the_rfc() -> None:
    cases = _load("consistency.json")["cases"]
    pairs = {(case["size1"], case["size2"]) for case in cases}
    assert pairs == {(m, n) for n in range(1, 65) for m in range(1, n + 1)}
    leaves = _leaves(64)
    for case in cases:
        size1, size2 = case["size1"], case["size2"]
        assert case["valid"] is True
        assert _b(case["root1"]) == reference.mth(leaves[:size1])
        assert _b(case["root2"]) == reference.mth(leaves[:size2])
        assert [_b(value) for value in case["proof"]] == reference.proof(size1, leaves[:size2])
        _verify(case)


@pytest.mark.parametrize("mutation", sorted(EXPECTED_ERRORS))
def test_every_tampered_case_is_rejected(mutation: str) -> None:
    vectors = _load(f"tamper/{mutation}.json")
    assert vectors["mutation"] == mutation
    assert vectors["cases"]
    for case in vectors["cases"]:
        assert case["valid"] is False
        with pytest.raises(EXPECTED_ERRORS[mutation]):
            _verify(case)
        assert not _reference_accepts(case), case


def _reference_accepts(case: dict[str, Any]) -> bool:
    """The RFC-literal verifiers, for the claims the RFC defines."""
    proof = [_b(value) for value in case["proof"]]
    if case["kind"] == "inclusion":
        return reference.inclusion_holds(
            case["index"], case["tree_size"], _b(case["leaf_hash"]), proof, _b(case["root"])
        )
    size1, size2 = case["size1"], case["size2"]
    if not 0 < size1 < size2:
        return size1 == size2 and not proof and case["root1"] == case["root2"]
    return reference.consistency_holds(size1, size2, _b(case["root1"]), _b(case["root2"]), proof)
