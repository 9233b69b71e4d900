"""RFC 9162 Merkle trees with SHA-256, as in transparency-dev/merkle: hashing (`hasher`),
roots and proofs from complete subtrees (`proof`), proof checking (`verify`), typed errors
(`errors`). Pure functions: no storage, no network."""

from carbon_verifier.merkle.errors import (
    HashLengthError,
    IndexOutOfRangeError,
    MerkleError,
    ProofLengthError,
    RootMismatchError,
    SizeError,
)
from carbon_verifier.merkle.hasher import (
    EMPTY_ROOT,
    HASH_SIZE,
    leaf_hash,
    leaf_hashes,
    node_hash,
    parent_hashes,
)
from carbon_verifier.merkle.verify import (
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashLengthError",
    "IndexOutOfRangeError",
    "MerkleError",
    "ProofLengthError",
    "RootMismatchError",
    "SizeError",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "parent_hashes",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]
