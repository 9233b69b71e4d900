"""RFC 9162 Merkle log (SHA-256): hashing, a persistent log in SQLite, proofs and verification.

Modules, one concern each: `hasher` (leaf and node hashes), `proof` (roots and proofs from
complete subtrees), `verify` (proof checking, no storage needed), `store` (the SQLite log),
`errors` (typed errors).
"""

from anchoring.merkle.errors import (
    HashLengthError,
    IndexOutOfRangeError,
    MerkleError,
    ProofLengthError,
    RootMismatchError,
    SizeError,
    StoreError,
)
from anchoring.merkle.hasher import EMPTY_ROOT, HASH_SIZE, leaf_hash, leaf_hashes, node_hash
from anchoring.merkle.store import MerkleLog
from anchoring.merkle.verify import (
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
    "MerkleLog",
    "ProofLengthError",
    "RootMismatchError",
    "SizeError",
    "StoreError",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]
