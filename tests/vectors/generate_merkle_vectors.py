"""Generate the shared RFC 9162 Merkle vectors in tests/vectors/merkle/.

    .venv/bin/python tests/vectors/generate_merkle_vectors.py

Python generates them, the Hardhat tests of the anchoring contract consume them, and a
pytest test checks that the committed files equal a fresh generation. Hashes are
lowercase 0x-hex; leaf i holds the UTF-8 bytes of f"leaf-{i}", so its leaf hash is
SHA-256(0x00 || data).

- merkle/inclusion.json: {"description", "cases": [{"tree_size", "index", "leaf_hash",
  "root", "proof", "valid": true}]} for every (index, tree_size) with tree_size <= 64,
  plus a few larger sizes;
- merkle/consistency.json: {"description", "cases": [{"size1", "size2", "root1", "root2",
  "proof", "valid": true}]} for every 1 <= size1 <= size2 <= 64;
- merkle/tamper/<mutation>.json: {"mutation", "description", "cases": [{"kind":
  "inclusion" | "consistency", <the fields above>, "valid": false}]}, one file per mutation.

The generator checks every valid case with anchoring.merkle.verify and fails if that
verifier accepts any tampered case.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from anchoring.merkle import (
    MerkleError,
    MerkleLog,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

OUTPUT = Path(__file__).resolve().parent / "merkle"
ALL_PAIRS_UP_TO = 64
LARGER_SIZES = (100, 255, 256, 257, 1000, 1023, 1024, 1025)
# Trees whose proofs are tampered with: every shape of small tree and the edges of
# powers of two.
TAMPER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64)

Case = dict[str, Any]


def leaf_data(index: int) -> bytes:
    return f"leaf-{index}".encode()


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _flipped(value: str) -> str:
    """The hash with the lowest bit of its first byte inverted."""
    raw = _unhex(value)
    return _hex(bytes([raw[0] ^ 1]) + raw[1:])


def _sample_indices(size: int) -> list[int]:
    return sorted({index for index in (0, 1, size // 2, size - 2, size - 1) if 0 <= index < size})


class _Vectors:
    def __init__(self) -> None:
        self.log = MerkleLog(sqlite3.connect(":memory:"))
        self.log.append(leaf_hash(leaf_data(i)) for i in range(max(LARGER_SIZES)))

    def inclusion(self, index: int, size: int) -> Case:
        return {
            "tree_size": size,
            "index": index,
            "leaf_hash": _hex(self.log.leaf_hash(index)),
            "root": _hex(self.log.root(size)),
            "proof": [_hex(value) for value in self.log.inclusion_proof(index, size)],
            "valid": True,
        }

    def consistency(self, size1: int, size2: int) -> Case:
        return {
            "size1": size1,
            "size2": size2,
            "root1": _hex(self.log.root(size1)),
            "root2": _hex(self.log.root(size2)),
            "proof": [_hex(value) for value in self.log.consistency_proof(size1, size2)],
            "valid": True,
        }

    def root(self, size: int) -> str:
        return _hex(self.log.root(size))


def _inclusion_shape(index: int, size: int, length: int) -> tuple[bool, ...] | None:
    """How a verifier folds `length` proof hashes for leaf `index` of a tree of `size`
    leaves (True: the proof hash is the left child), or None if RFC 9162 section 2.1.3.2
    rejects those numbers outright. Two claims with one shape lead the same proof to the same
    root, so no verifier can tell them apart."""
    if not 0 <= index < size:
        return None
    fn, sn, sides = index, size - 1, list[bool]()
    for _ in range(length):
        if sn == 0:
            return None
        sides.append(bool(fn & 1 or fn == sn))
        if sides[-1]:
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    return tuple(sides) if sn == 0 else None


def _consistency_shape(size1: int, size2: int, length: int) -> tuple[object, ...] | None:
    """The consistency counterpart of `_inclusion_shape` (RFC 9162 section 2.1.4.2): whether
    the first root is prepended, and which proof hashes fold into both roots."""
    if not 0 < size1 <= size2:
        return None
    if size1 == size2:
        return ("equal",) if length == 0 else None
    prepended = size1 & (size1 - 1) == 0
    if length + prepended == 0:
        return None
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    both: list[bool] = []
    for _ in range(length + prepended - 1):
        if sn == 0:
            return None
        both.append(bool(fn & 1 or fn == sn))
        if both[-1]:
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    return (prepended, tuple(both)) if sn == 0 else None


def _inclusion_detectable(case: Case, index: int, size: int) -> bool:
    length = len(case["proof"])
    return _inclusion_shape(index, size, length) != _inclusion_shape(
        case["index"], case["tree_size"], length
    )


def _consistency_detectable(case: Case, size1: int, size2: int) -> bool:
    length = len(case["proof"])
    return _consistency_shape(size1, size2, length) != _consistency_shape(
        case["size1"], case["size2"], length
    )


Mutation = Callable[[_Vectors, Case], Iterator[Case]]


def _inclusion_proof_hash_flipped(vectors: _Vectors, case: Case) -> Iterator[Case]:
    for position in range(len(case["proof"])):
        proof = list(case["proof"])
        proof[position] = _flipped(proof[position])
        yield {**case, "proof": proof}


def _inclusion_index_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    for index in (case["index"] - 1, case["index"] + 1):
        if index >= 0 and _inclusion_detectable(case, index, case["tree_size"]):
            yield {**case, "index": index}


def _inclusion_size_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    size = case["tree_size"]
    for changed in (size - 1, size + 1, size // 2, size * 2):
        if changed > 0 and _inclusion_detectable(case, case["index"], changed):
            yield {**case, "tree_size": changed}


def _inclusion_leaf_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "leaf_hash": _flipped(case["leaf_hash"])}
    neighbour = case["index"] ^ 1
    if neighbour < case["tree_size"]:
        yield {**case, "leaf_hash": _hex(leaf_hash(leaf_data(neighbour)))}


def _inclusion_root_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "root": _flipped(case["root"])}
    if case["tree_size"] > 1:
        yield {**case, "root": vectors.root(case["tree_size"] - 1)}


def _inclusion_proof_too_long(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "proof": [*case["proof"], case["root"]]}
    yield {**case, "proof": [case["leaf_hash"], *case["proof"]]}


def _inclusion_proof_too_short(vectors: _Vectors, case: Case) -> Iterator[Case]:
    if case["proof"]:
        yield {**case, "proof": case["proof"][:-1]}
        yield {**case, "proof": case["proof"][1:]}


def _consistency_proof_hash_flipped(vectors: _Vectors, case: Case) -> Iterator[Case]:
    for position in range(len(case["proof"])):
        proof = list(case["proof"])
        proof[position] = _flipped(proof[position])
        yield {**case, "proof": proof}


def _consistency_size1_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    for size1 in (case["size1"] - 1, case["size1"] + 1):
        if size1 > 0 and _consistency_detectable(case, size1, case["size2"]):
            yield {**case, "size1": size1}


def _consistency_size2_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    size2 = case["size2"]
    for changed in (size2 - 1, size2 + 1, size2 * 2):
        if changed > 0 and _consistency_detectable(case, case["size1"], changed):
            yield {**case, "size2": changed}


def _consistency_root1_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "root1": _flipped(case["root1"])}
    if case["root2"] != case["root1"]:
        yield {**case, "root1": case["root2"]}


def _consistency_root2_changed(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "root2": _flipped(case["root2"])}
    if case["root2"] != case["root1"]:
        yield {**case, "root2": case["root1"]}


def _consistency_proof_too_long(vectors: _Vectors, case: Case) -> Iterator[Case]:
    yield {**case, "proof": [*case["proof"], case["root2"]]}
    yield {**case, "proof": [case["root1"], *case["proof"]]}


def _consistency_proof_too_short(vectors: _Vectors, case: Case) -> Iterator[Case]:
    if case["proof"]:
        yield {**case, "proof": case["proof"][:-1]}
        yield {**case, "proof": case["proof"][1:]}


def _consistency_from_empty_tree(vectors: _Vectors, case: Case) -> Iterator[Case]:
    # RFC 9162 defines consistency proofs for 0 < size1 only: the contract refuses the rest.
    yield {**case, "size1": 0, "root1": _hex(hashlib.sha256().digest()), "proof": []}


# mutation -> (kind, what it does, how its cases are made)
MUTATIONS: dict[str, tuple[str, str, Mutation]] = {
    "inclusion_proof_hash_flipped": (
        "inclusion",
        "one proof hash with the lowest bit of its first byte inverted, at every position",
        _inclusion_proof_hash_flipped,
    ),
    "inclusion_index_changed": (
        "inclusion",
        "leaf index - 1 and + 1 (possibly out of range)",
        _inclusion_index_changed,
    ),
    "inclusion_size_changed": (
        "inclusion",
        "tree size - 1, + 1, // 2 and * 2 (possibly below the index)",
        _inclusion_size_changed,
    ),
    "inclusion_leaf_changed": (
        "inclusion",
        "leaf hash with a bit inverted, and the leaf hash of the sibling leaf",
        _inclusion_leaf_changed,
    ),
    "inclusion_root_changed": (
        "inclusion",
        "root with a bit inverted, and the root of the tree one leaf smaller",
        _inclusion_root_changed,
    ),
    "inclusion_proof_too_long": (
        "inclusion",
        "the root appended to the proof, and the leaf hash prepended",
        _inclusion_proof_too_long,
    ),
    "inclusion_proof_too_short": (
        "inclusion",
        "the last proof hash dropped, and the first",
        _inclusion_proof_too_short,
    ),
    "consistency_proof_hash_flipped": (
        "consistency",
        "one proof hash with the lowest bit of its first byte inverted, at every position",
        _consistency_proof_hash_flipped,
    ),
    "consistency_size1_changed": (
        "consistency",
        "first size - 1 (not below 1) and + 1 (possibly above the second size)",
        _consistency_size1_changed,
    ),
    "consistency_size2_changed": (
        "consistency",
        "second size - 1 (possibly below the first size), + 1 and * 2",
        _consistency_size2_changed,
    ),
    "consistency_root1_changed": (
        "consistency",
        "first root with a bit inverted, and replaced by the second root",
        _consistency_root1_changed,
    ),
    "consistency_root2_changed": (
        "consistency",
        "second root with a bit inverted, and replaced by the first root",
        _consistency_root2_changed,
    ),
    "consistency_proof_too_long": (
        "consistency",
        "the second root appended to the proof, and the first root prepended",
        _consistency_proof_too_long,
    ),
    "consistency_proof_too_short": (
        "consistency",
        "the last proof hash dropped, and the first",
        _consistency_proof_too_short,
    ),
    "consistency_from_empty_tree": (
        "consistency",
        "the first size 0 with the empty tree's root and an empty proof (RFC 9162 defines"
        " consistency proofs for 0 < size1 only)",
        _consistency_from_empty_tree,
    ),
}

_UNDETECTABLE = (
    " Index and size changes that keep the shape of the proof are left out: they lead the"
    " same proof to the same root, so no verifier can reject them (a signed checkpoint binds"
    " the size to the root)."
)


def inclusion_cases(vectors: _Vectors) -> list[Case]:
    small = [
        vectors.inclusion(index, size)
        for size in range(1, ALL_PAIRS_UP_TO + 1)
        for index in range(size)
    ]
    larger = [
        vectors.inclusion(index, size) for size in LARGER_SIZES for index in _sample_indices(size)
    ]
    return small + larger


def consistency_cases(vectors: _Vectors) -> list[Case]:
    return [
        vectors.consistency(size1, size2)
        for size2 in range(1, ALL_PAIRS_UP_TO + 1)
        for size1 in range(1, size2 + 1)
    ]


def tampered_cases(vectors: _Vectors, mutation: str) -> list[Case]:
    kind, _, mutate = MUTATIONS[mutation]
    if kind == "inclusion":
        bases = [
            vectors.inclusion(index, size)
            for size in TAMPER_SIZES
            for index in _sample_indices(size)
        ]
    else:
        bases = [
            vectors.consistency(size1, size2)
            for size2 in TAMPER_SIZES
            for size1 in TAMPER_SIZES
            if size1 <= size2
        ]
    cases: list[Case] = []
    seen: set[str] = set()
    for base in bases:
        for mutated in mutate(vectors, base):
            case = {"kind": kind, **mutated, "valid": False}
            key = json.dumps(case, sort_keys=True)
            if key not in seen:
                seen.add(key)
                cases.append(case)
    return cases


def _accepted(case: Case) -> bool:
    """Whether anchoring.merkle.verify accepts the case."""
    proof = [_unhex(value) for value in case["proof"]]
    try:
        if "leaf_hash" in case:
            verify_inclusion(
                case["index"],
                case["tree_size"],
                _unhex(case["leaf_hash"]),
                proof,
                _unhex(case["root"]),
            )
        else:
            verify_consistency(
                case["size1"], case["size2"], _unhex(case["root1"]), _unhex(case["root2"]), proof
            )
    except MerkleError:
        return False
    return True


def _render(head: dict[str, str], cases: list[Case]) -> str:
    """JSON with one case per line, so that a change shows as a readable diff."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    body = ",\n".join(f"    {json.dumps(case)}" for case in cases)
    return "{\n" + "\n".join(lines) + '\n  "cases": [\n' + body + "\n  ]\n}\n"


def generate() -> dict[str, str]:
    """Relative path (under tests/vectors/merkle) -> text of every vector file."""
    vectors = _Vectors()
    files: dict[str, str] = {}
    origin = "Generated by tests/vectors/generate_merkle_vectors.py; leaf i = UTF-8 of"
    origin += " f'leaf-{i}', leaf_hash = SHA-256(0x00 || data)."
    valid = {
        "inclusion.json": inclusion_cases(vectors),
        "consistency.json": consistency_cases(vectors),
    }
    for name, cases in valid.items():
        rejected = [case for case in cases if not _accepted(case)]
        assert not rejected, f"the verifier rejects valid cases of {name}: {rejected[:3]}"
    files["inclusion.json"] = _render(
        {
            "description": "RFC 9162 inclusion proofs (PATH, leaf side first): every"
            f" (index, tree_size) with tree_size <= {ALL_PAIRS_UP_TO}, and tree sizes"
            f" {', '.join(map(str, LARGER_SIZES))} at indices 0, 1, size // 2, size - 2,"
            f" size - 1. {origin}"
        },
        valid["inclusion.json"],
    )
    files["consistency.json"] = _render(
        {
            "description": "RFC 9162 consistency proofs (PROOF): every 1 <= size1 <= size2 <="
            f" {ALL_PAIRS_UP_TO}; size1 == size2 has an empty proof and equal roots. {origin}"
        },
        valid["consistency.json"],
    )
    for mutation, (kind, change, _) in MUTATIONS.items():
        cases = tampered_cases(vectors, mutation)
        accepted = [case for case in cases if _accepted(case)]
        assert cases, f"no cases for {mutation}"
        assert not accepted, f"the verifier accepts tampered {mutation} cases: {accepted[:3]}"
        sizes = ", ".join(map(str, TAMPER_SIZES))
        if kind == "inclusion":
            bases = f"Inclusion proofs in trees of sizes {sizes}, at indices 0, 1, size // 2,"
            bases += " size - 2, size - 1"
        else:
            bases = f"Consistency proofs between all sizes size1 <= size2 among {sizes}"
        description = f"{bases}, each changed by: {change}. Every case must be rejected."
        if mutation.endswith(("index_changed", "size_changed", "size1_changed", "size2_changed")):
            description += _UNDETECTABLE
        files[f"tamper/{mutation}.json"] = _render(
            {"mutation": mutation, "description": f"{description} {origin}"}, cases
        )
    return files


def main() -> None:
    for relative, text in generate().items():
        path = OUTPUT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(OUTPUT.parent.parent.parent)}")


if __name__ == "__main__":
    main()
