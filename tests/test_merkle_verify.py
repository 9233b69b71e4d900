"""The verifier: a typed error for each way a proof can be wrong, and the same decisions as
the step-by-step RFC 9162 algorithms for any proof, however mangled."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.merkle import (
    EMPTY_ROOT,
    HashLengthError,
    IndexOutOfRangeError,
    MerkleError,
    MerkleLog,
    ProofLengthError,
    RootMismatchError,
    SizeError,
    leaf_hashes,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from tests import merkle_reference as reference

SIZE = 300
LOG = MerkleLog(sqlite3.connect(":memory:"))
LOG.append(leaf_hashes(f"leaf-{i}".encode() for i in range(SIZE)))
OTHER_HASH = bytes(range(32))


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_inclusion_errors_name_what_is_wrong() -> None:
    index, size = 37, 100
    leaf, root = LOG.leaf_hash(index), LOG.root(size)
    proof = LOG.inclusion_proof(index, size)
    verify_inclusion(index, size, leaf, proof, root)

    with pytest.raises(RootMismatchError) as mismatch:
        verify_inclusion(index, size, leaf, [proof[0], flipped(proof[1]), *proof[2:]], root)
    assert mismatch.value.expected == root
    assert mismatch.value.calculated not in (root, b"")
    assert mismatch.value.tree_size == size
    assert f"expected 0x{root.hex()}" in str(mismatch.value)
    for changed_leaf, changed_root in ((flipped(leaf), root), (leaf, flipped(root))):
        with pytest.raises(RootMismatchError):
            verify_inclusion(index, size, changed_leaf, proof, changed_root)

    for wrong_length in (proof[:-1], [*proof, root]):
        with pytest.raises(ProofLengthError) as length:
            verify_inclusion(index, size, leaf, wrong_length, root)
        assert (length.value.expected, length.value.actual) == (len(proof), len(wrong_length))

    for bad_index, bad_size in ((size, size), (-1, size), (0, 0)):
        with pytest.raises(IndexOutOfRangeError) as out_of_range:
            verify_inclusion(bad_index, bad_size, leaf, proof, root)
        assert (out_of_range.value.index, out_of_range.value.size) == (bad_index, bad_size)

    with pytest.raises(HashLengthError, match="leaf hash must be 32 bytes, got 31"):
        verify_inclusion(index, size, leaf[:31], proof, root)
    with pytest.raises(HashLengthError, match="root must be 32 bytes, got 33"):
        verify_inclusion(index, size, leaf, proof, root + b"\x00")
    with pytest.raises(HashLengthError, match="proof hash 2 must be 32 bytes"):
        verify_inclusion(index, size, leaf, [*proof[:2], b"", *proof[3:]], root)


def test_consistency_errors_name_what_is_wrong() -> None:
    size1, size2 = 37, 100
    root1, root2 = LOG.root(size1), LOG.root(size2)
    proof = LOG.consistency_proof(size1, size2)
    verify_consistency(size1, size2, root1, root2, proof)

    with pytest.raises(RootMismatchError) as first:
        verify_consistency(size1, size2, flipped(root1), root2, proof)
    assert (first.value.expected, first.value.tree_size) == (flipped(root1), size1)
    with pytest.raises(RootMismatchError) as second:
        verify_consistency(size1, size2, root1, flipped(root2), proof)
    assert (second.value.expected, second.value.calculated) == (flipped(root2), root2)
    assert second.value.tree_size == size2
    with pytest.raises(RootMismatchError):
        verify_consistency(size1, size2, root1, root2, [*proof[:-1], flipped(proof[-1])])

    for wrong_length in (proof[1:], [*proof, root2], []):
        with pytest.raises(ProofLengthError):
            verify_consistency(size1, size2, root1, root2, wrong_length)
    with pytest.raises(ProofLengthError, match="proof has 1 hashes where 0 are expected"):
        verify_consistency(size2, size2, root2, root2, [root2])
    with pytest.raises(RootMismatchError):
        verify_consistency(size2, size2, root1, root2, [])

    for bad1, bad2 in ((size2, size1), (-1, size2)):
        with pytest.raises(SizeError):
            verify_consistency(bad1, bad2, root1, root2, proof)
    with pytest.raises(SizeError, match="determines no root"):
        root_from_consistency_proof(0, size2, EMPTY_ROOT, [])
    with pytest.raises(HashLengthError, match="first root"):
        verify_consistency(size1, size2, root1[:16], root2, proof)
    with pytest.raises(HashLengthError, match="second root"):
        verify_consistency(size1, size2, root1, b"", proof)


def test_no_consistency_proof_from_the_empty_tree_is_accepted() -> None:
    """RFC 9162 defines consistency proofs for 0 < size1; the contract refuses the rest."""
    for size2, root2 in ((SIZE, LOG.root()), (0, EMPTY_ROOT)):
        with pytest.raises(SizeError, match="no consistency proof from the empty tree"):
            verify_consistency(0, size2, EMPTY_ROOT, root2, [])


Edit = tuple[str, int, bytes]
edits = st.lists(
    st.tuples(
        st.sampled_from(["drop", "insert", "replace", "duplicate"]),
        st.integers(min_value=0, max_value=40),
        st.sampled_from([OTHER_HASH, EMPTY_ROOT, LOG.root(), LOG.leaf_hash(0)]),
    ),
    max_size=3,
)


def edited(proof: list[bytes], changes: list[Edit]) -> list[bytes]:
    proof = list(proof)
    for change, position, value in changes:
        at = position % (len(proof) + 1)
        if change == "insert":
            proof.insert(at, value)
        elif proof and change == "drop":
            del proof[at % len(proof)]
        elif proof and change == "replace":
            proof[at % len(proof)] = value
        elif proof and change == "duplicate":
            proof.insert(at, proof[at % len(proof)])
    return proof


def accepts(check: object, *args: object) -> bool:
    assert callable(check)
    try:
        check(*args)
    except MerkleError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=SIZE),
    data=st.data(),
    changes=edits,
    size_shift=st.integers(min_value=-3, max_value=3),
    index_shift=st.integers(min_value=-3, max_value=3),
)
def test_inclusion_decisions_agree_with_the_rfc(
    size: int, data: st.DataObject, changes: list[Edit], size_shift: int, index_shift: int
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    leaf, root = LOG.leaf_hash(index), LOG.root(size)
    proof = edited(LOG.inclusion_proof(index, size), changes)
    claimed_index, claimed_size = max(index + index_shift, 0), max(size + size_shift, 1)
    ours = accepts(verify_inclusion, claimed_index, claimed_size, leaf, proof, root)
    rfc = reference.inclusion_holds(claimed_index, claimed_size, leaf, proof, root)
    assert ours == rfc
    if ours:
        assert root_from_inclusion_proof(claimed_index, claimed_size, leaf, proof) == root


@settings(max_examples=300, deadline=None)
@given(
    size2=st.integers(min_value=2, max_value=SIZE),
    data=st.data(),
    changes=edits,
    shift1=st.integers(min_value=-3, max_value=3),
    shift2=st.integers(min_value=-3, max_value=3),
)
def test_consistency_decisions_agree_with_the_rfc(
    size2: int, data: st.DataObject, changes: list[Edit], shift1: int, shift2: int
) -> None:
    size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1))
    root1, root2 = LOG.root(size1), LOG.root(size2)
    proof = edited(LOG.consistency_proof(size1, size2), changes)
    claimed1 = min(max(size1 + shift1, 1), SIZE - 1)
    claimed2 = max(size2 + shift2, claimed1 + 1)  # the RFC algorithm is for 0 < size1 < size2
    ours = accepts(verify_consistency, claimed1, claimed2, root1, root2, proof)
    rfc = reference.consistency_holds(claimed1, claimed2, root1, root2, proof)
    assert ours == rfc
