"""Typed errors of the Merkle log and its proofs.

Every error says what was wrong in words a person can act on; hashes appear as 0x-hex.
Catch `MerkleError` to handle them all.
"""

from __future__ import annotations

from carbon_verifier.errors import CodedError


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class MerkleError(CodedError):
    """Base class: a proof was rejected, or the log refused a request and changed nothing."""

    code = "merkle_error"
    status = 422
    title = "A Merkle proof or tree size was refused"


class HashLengthError(MerkleError):
    """A value given as a hash (leaf hash, root, proof entry) has the wrong number of bytes."""

    def __init__(self, what: str, length: int, expected: int) -> None:
        super().__init__(f"{what} must be {expected} bytes, got {length}")
        self.what = what
        self.length = length
        self.expected = expected


class SizeError(MerkleError):
    """A tree size is impossible for the request: negative, decreasing, or beyond the log."""


class IndexOutOfRangeError(MerkleError):
    """A leaf index is not below the tree size it is meant to belong to."""

    def __init__(self, index: int, size: int) -> None:
        super().__init__(f"leaf index {index} is out of range for tree size {size}")
        self.index = index
        self.size = size


class ProofLengthError(MerkleError):
    """A proof does not have the number of hashes its sizes (and index) call for."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"proof has {actual} hashes where {expected} are expected")
        self.expected = expected
        self.actual = actual


class RootMismatchError(MerkleError):
    """The root computed from a proof differs from the root it was checked against."""

    def __init__(self, expected: bytes, calculated: bytes, tree_size: int) -> None:
        super().__init__(
            f"root mismatch for tree size {tree_size}: expected {_hex(expected)}, "
            f"calculated {_hex(calculated)}"
        )
        self.expected = expected
        self.calculated = calculated
        self.tree_size = tree_size
