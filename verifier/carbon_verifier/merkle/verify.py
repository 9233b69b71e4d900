"""Proof verification, RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency).

Pure functions over hashes: they need no log and no database, only what a proof bundle and
a checkpoint carry. Each `verify_*` function returns None or raises a `MerkleError`
subclass naming what failed; each `root_from_*` function returns the root a proof implies,
for a caller that compares it with a trusted root itself (as the contract does).
"""

from __future__ import annotations

from collections.abc import Sequence

from carbon_verifier.merkle.errors import (
    HashLengthError,
    IndexOutOfRangeError,
    ProofLengthError,
    RootMismatchError,
    SizeError,
)
from carbon_verifier.merkle.hasher import HASH_SIZE, node_hash
from carbon_verifier.merkle.proof import consistency_proof_length, inclusion_proof_length


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Root of the tree of `size` leaves in which `proof` places `leaf_hash` at `index`.

    Requires 0 <= index < size (else IndexOutOfRangeError), hashes of HASH_SIZE bytes (else
    HashLengthError) and exactly as many proof hashes as index and size call for (else
    ProofLengthError). The result proves nothing until compared with a trusted root.
    """
    if not 0 <= index < size:
        raise IndexOutOfRangeError(index, size)
    _check_hash("leaf hash", leaf_hash)
    _check_proof(proof, inclusion_proof_length(index, size))
    # RFC 9162 section 2.1.3.2 steps 2 to 4. With the length checked first, sn reaches 0 at
    # the last proof hash exactly, which is what the RFC's tests of sn (4a and 5) enforce.
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `proof` places `leaf_hash` at `index` in the tree of `size` leaves whose
    root is `root`.

    Requires what `root_from_inclusion_proof` requires; raises RootMismatchError when the
    proof leads to another root.
    """
    _check_hash("root", root)
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(root, calculated, size)


def root_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> bytes:
    """Root of the tree of `size2` leaves that `proof` shows to extend the tree of `size1`
    leaves whose root is `root1`.

    Requires 0 < size1 <= size2 (else SizeError: nothing can be derived from the empty tree),
    hashes of HASH_SIZE bytes (else HashLengthError) and exactly as many proof hashes as the
    sizes call for (else ProofLengthError): none when size1 == size2, and then the result is
    `root1`. Raises RootMismatchError when the proof does not lead back to `root1`.
    """
    if size1 <= 0:
        raise SizeError(f"a consistency proof from tree size {size1} determines no root")
    _check_hash("first root", root1)
    _check_proof(proof, consistency_proof_length(size1, size2))
    if size1 == size2:
        return root1
    # RFC 9162 section 2.1.4.2 steps 2 to 6; the length check stands for the tests of sn.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != root1:
        raise RootMismatchError(root1, fr, size1)
    return sr


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `size2` leaves with root `root2` extends the tree of `size1`
    leaves with root `root1`.

    Requires 0 < size1 <= size2 (else SizeError) and hashes of HASH_SIZE bytes. When
    size1 == size2 the proof must be empty and the roots equal. RFC 9162 (2.1.4) defines
    consistency proofs for 0 < size1 only, and so does the contract's verifier: a claim
    from the empty tree proves nothing and is refused, in every implementation alike.
    Otherwise as `root_from_consistency_proof`, plus RootMismatchError when the proof leads
    to another second root.
    """
    if not 0 < size1 <= size2:
        raise SizeError(
            f"tree sizes {size1} and {size2} are not 0 < size1 <= size2 (RFC 9162 defines no"
            " consistency proof from the empty tree)"
        )
    _check_hash("second root", root2)
    calculated = root_from_consistency_proof(size1, size2, root1, proof)
    if calculated != root2:
        raise RootMismatchError(root2, calculated, size2)


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise HashLengthError(what, len(value), HASH_SIZE)


def _check_proof(proof: Sequence[bytes], expected_length: int) -> None:
    if len(proof) != expected_length:
        raise ProofLengthError(expected_length, len(proof))
    for position, value in enumerate(proof):
        _check_hash(f"proof hash {position}", value)
