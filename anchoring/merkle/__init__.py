"""RFC 9162 Merkle log (SHA-256) kept in the registry's database.

`store` is the persistent log (`MerkleLog`, its tiles in `registry.storage.merkle`); the
hashing, proof assembly and proof checking it uses are the light verifier's
(`carbon_verifier.merkle`), so the registry and every verifier share one implementation.
"""

from anchoring.merkle.errors import StoreError
from anchoring.merkle.store import MerkleLog
from carbon_verifier.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashLengthError,
    IndexOutOfRangeError,
    MerkleError,
    ProofLengthError,
    RootMismatchError,
    SizeError,
    leaf_hash,
    leaf_hashes,
    node_hash,
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
