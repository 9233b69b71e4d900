"""Slow reference of RFC 9162 section 2.1, transcribed from the text, for cross-checks only.

MTH, PATH and PROOF follow sections 2.1.1, 2.1.3.1 and 2.1.4.1 recursively over the leaf
inputs; the two verifiers follow the step lists of sections 2.1.3.2 and 2.1.4.2 literally,
including the tests of `sn` that anchoring.merkle.verify replaces by a length check.
Nothing here is shared with anchoring.merkle, not even the hash functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256


def _hash(data: bytes) -> bytes:
    return sha256(data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n; requires n > 1."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(inputs: Sequence[bytes]) -> bytes:
    """MTH(D[n]), section 2.1.1."""
    n = len(inputs)
    if n == 0:
        return _hash(b"")
    if n == 1:
        return _hash(b"\x00" + inputs[0])
    k = _split(n)
    return _hash(b"\x01" + mth(inputs[:k]) + mth(inputs[k:]))


def path(m: int, inputs: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), section 2.1.3.1; requires 0 <= m < n."""
    n = len(inputs)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return path(m, inputs[:k]) + [mth(inputs[k:])]
    return path(m - k, inputs[k:]) + [mth(inputs[:k])]


def proof(m: int, inputs: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), section 2.1.4.1; requires 0 < m <= n."""
    return _subproof(m, inputs, True)


def _subproof(m: int, inputs: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(inputs)
    if m == n:
        return [] if b else [mth(inputs)]
    k = _split(n)
    if m <= k:
        return _subproof(m, inputs[:k], b) + [mth(inputs[k:])]
    return _subproof(m - k, inputs[k:], False) + [mth(inputs[:k])]


def inclusion_holds(
    leaf_index: int, tree_size: int, leaf_hash: bytes, inclusion_path: Sequence[bytes], root: bytes
) -> bool:
    """Section 2.1.3.2, step by step."""
    if leaf_index >= tree_size:  # 1
        return False
    fn, sn = leaf_index, tree_size - 1  # 2
    r = leaf_hash  # 3
    for p in inclusion_path:  # 4
        if sn == 0:  # 4a
            return False
        if fn & 1 or fn == sn:  # 4b
            r = _hash(b"\x01" + p + r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash(b"\x01" + r + p)
        fn >>= 1  # 4c
        sn >>= 1
    return sn == 0 and r == root  # 5


def consistency_holds(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> bool:
    """Section 2.1.4.2, step by step; the RFC defines it for 0 < first < second."""
    path_ = list(consistency_path)
    if not path_:  # 1
        return False
    if first & (first - 1) == 0:  # 2
        path_.insert(0, first_hash)
    fn, sn = first - 1, second - 1  # 3
    if fn & 1:  # 4
        while fn & 1:
            fn >>= 1
            sn >>= 1
    fr = sr = path_[0]  # 5
    for c in path_[1:]:  # 6
        if sn == 0:  # 6a
            return False
        if fn & 1 or fn == sn:  # 6b
            fr = _hash(b"\x01" + c + fr)
            sr = _hash(b"\x01" + c + sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _hash(b"\x01" + sr + c)
        fn >>= 1  # 6c
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0  # 7
