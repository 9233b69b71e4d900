"""Roots and proofs (RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1) from complete subtrees.

A complete subtree is identified by (level, index): it covers the leaves
[index * 2**level, (index + 1) * 2**level). Its hash never changes once the log has that
many leaves, so a store can keep every one of them; the functions here assemble the root of
any tree size, an inclusion proof and a consistency proof from O(log n) of those hashes.
The few nodes on the right border of a tree whose size is not a power of two ("ephemeral"
nodes) are recomputed from the complete subtrees under them.

The paths are the RFC's PATH and PROOF lists, leaf side first, in the iterative form of
transparency-dev/merkle's proof package.
"""

from __future__ import annotations

from collections.abc import Callable

from carbon_verifier.merkle.errors import IndexOutOfRangeError, SizeError
from carbon_verifier.merkle.hasher import EMPTY_ROOT, node_hash

NodeReader = Callable[[int, int], bytes]
"""node(level, index) -> hash of that complete subtree; called only for subtrees whose leaves
all exist in the tree being proven."""


def tree_root(size: int, node: NodeReader) -> bytes:
    """MTH of the first `size` leaves. Requires size >= 0 (0 gives `EMPTY_ROOT`)."""
    if size < 0:
        raise SizeError(f"tree size {size} is negative")
    if size == 0:
        return EMPTY_ROOT
    return range_root(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """PATH(index, D[size]): the hashes proving leaf `index` is in the tree of `size` leaves.

    Requires 0 <= index < size.
    """
    if not 0 <= index < size:
        raise IndexOutOfRangeError(index, size)
    return _subtree_path(0, index, size, node)


def consistency_proof(size1: int, size2: int, node: NodeReader) -> list[bytes]:
    """PROOF(size1, D[size2]): the hashes proving the tree of `size1` leaves is a prefix of
    the tree of `size2` leaves.

    Requires 0 <= size1 <= size2. Empty when size1 == size2, and when size1 == 0 (RFC 9162
    defines proofs for 0 < size1 < size2; the empty tree is a prefix of every tree).
    """
    _check_sizes(size1, size2)
    if size1 == 0 or size1 == size2:
        return []
    level, index = _last_full_subtree(size1)
    path = _subtree_path(level, index, size2, node)
    # For a power-of-two size1 the subtree is the whole first tree, whose root the verifier
    # already holds, so the RFC leaves it out.
    return path if index == 0 else [node(level, index), *path]


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in an inclusion proof. Requires 0 <= index < size."""
    if not 0 <= index < size:
        raise IndexOutOfRangeError(index, size)
    return _subtree_path_length(0, index, size)


def consistency_proof_length(size1: int, size2: int) -> int:
    """Number of hashes in a consistency proof. Requires 0 <= size1 <= size2."""
    _check_sizes(size1, size2)
    if size1 == 0 or size1 == size2:
        return 0
    level, index = _last_full_subtree(size1)
    return _subtree_path_length(level, index, size2) + (1 if index else 0)


def _check_sizes(size1: int, size2: int) -> None:
    if size1 < 0:
        raise SizeError(f"tree size {size1} is negative")
    if size1 > size2:
        raise SizeError(f"first tree size {size1} exceeds second tree size {size2}")


def _last_full_subtree(size: int) -> tuple[int, int]:
    """(level, index) of the largest complete subtree ending at leaf `size`; requires size > 0."""
    level = (size & -size).bit_length() - 1
    return level, (size - 1) >> level


def _subtree_path_length(level: int, index: int, size: int) -> int:
    inner = (index ^ ((size - 1) >> level)).bit_length()
    return inner + (index >> inner).bit_count()


def _subtree_path(level: int, index: int, size: int, node: NodeReader) -> list[bytes]:
    """Hashes proving that complete subtree (level, index) is in the tree of `size` leaves,
    lowest first. Requires (index + 1) * 2**level <= size."""
    path = []
    # Up to the level where the path meets the right border of the tree ("inner" levels),
    # every sibling is a complete subtree, except that the topmost one may be an ephemeral
    # node covering the end of the tree.
    inner = (index ^ ((size - 1) >> level)).bit_length()
    for height in range(level, level + inner):
        sibling = (index >> (height - level)) ^ 1
        begin = sibling << height
        if begin + (1 << height) <= size:
            path.append(node(height, sibling))
        else:
            path.append(range_root(begin, size, node))
    # Above it the path runs along the right border: a node there that is a right child has
    # a complete left sibling, and one that is a left child has no sibling at all.
    index >>= inner
    height = level + inner
    while index:
        if index & 1:
            path.append(node(height, index ^ 1))
        index >>= 1
        height += 1
    return path


def range_root(begin: int, end: int, node: NodeReader) -> bytes:
    """MTH of leaves [begin, end), an ephemeral node when it is not a complete subtree.
    Requires begin < end and begin a multiple of the largest power of two not above
    end - begin (true of a whole tree and of every ephemeral node)."""
    # MTH splits off the largest power of two below the width, so the range is a run of
    # complete subtrees of decreasing size, folded from the right.
    subtrees = []
    while begin < end:
        height = (end - begin).bit_length() - 1
        subtrees.append(node(height, begin >> height))
        begin += 1 << height
    root = subtrees.pop()
    while subtrees:
        root = node_hash(subtrees.pop(), root)
    return root
