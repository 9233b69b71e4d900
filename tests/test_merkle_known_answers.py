"""Known-answer tests: RFC 6962 / RFC 9162 vectors of the Certificate Transparency projects.

Sources (copied by hand, hex as published):
- github.com/transparency-dev/merkle, rfc6962/rfc6962_test.go (TestRFC6962Hasher): the
  empty root, the empty leaf, leaf "L123456", node ("N123", "N456");
- github.com/transparency-dev/merkle, testonly/constants.go (LeafInputs, NodeHashes,
  RootHashes): the classic 8-leaf test tree of certificate-transparency;
- github.com/transparency-dev/merkle, proof/verify_test.go (inclusionProofs,
  consistencyProofs; leaf numbers there count from 1) and its corruptInclusionProof /
  corruptConsistencyProof probes, which every verifier must reject.
"""

from __future__ import annotations

import sqlite3

import pytest

from anchoring.merkle import (
    EMPTY_ROOT,
    MerkleError,
    MerkleLog,
    leaf_hash,
    node_hash,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# NODE_HASHES[level][index]: every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [
        h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ],
]

# ROOT_HASHES[size] for sizes 0..8.
ROOT_HASHES = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf index from 0, tree size, proof); verify_test.go numbers leaves from 1.
INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (size1, size2, proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture
def test_tree() -> MerkleLog:
    log = MerkleLog(sqlite3.connect(":memory:"))
    log.append(leaf_hash(data) for data in LEAF_INPUTS)
    return log


def test_hasher_known_answers() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_node_hashes_of_the_test_tree() -> None:
    level = [leaf_hash(data) for data in LEAF_INPUTS]
    for expected in NODE_HASHES:
        assert level == expected
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]


def test_roots_of_every_size(test_tree: MerkleLog) -> None:
    assert [test_tree.root(size) for size in range(9)] == ROOT_HASHES


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proofs(test_tree: MerkleLog, index: int, size: int, proof: list[bytes]) -> None:
    assert test_tree.inclusion_proof(index, size) == proof
    leaf = leaf_hash(LEAF_INPUTS[index])
    assert root_from_inclusion_proof(index, size, leaf, proof) == ROOT_HASHES[size]
    verify_inclusion(index, size, leaf, proof, ROOT_HASHES[size])
    for description, probe in _corrupt_inclusion(index, size, leaf, proof, ROOT_HASHES[size]):
        with pytest.raises(MerkleError):
            verify_inclusion(*probe)
            pytest.fail(f"accepted a corrupted inclusion proof: {description}")


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proofs(
    test_tree: MerkleLog, size1: int, size2: int, proof: list[bytes]
) -> None:
    assert test_tree.consistency_proof(size1, size2) == proof
    root1, root2 = ROOT_HASHES[size1], ROOT_HASHES[size2]
    assert root_from_consistency_proof(size1, size2, root1, proof) == root2
    verify_consistency(size1, size2, root1, root2, proof)
    for description, probe in _corrupt_consistency(size1, size2, root1, root2, proof):
        with pytest.raises(MerkleError):
            verify_consistency(*probe)
            pytest.fail(f"accepted a corrupted consistency proof: {description}")


def _corrupt_inclusion(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> list[tuple[str, tuple[int, int, bytes, list[bytes], bytes]]]:
    """transparency-dev's corruptInclusionProof probes; `index - 1` is left out for index 0,
    where it would be negative rather than wrong."""
    probes = [
        ("index + 1", (index + 1, size, leaf, proof, root)),
        ("index ^ 2", (index ^ 2, size, leaf, proof, root)),
        ("size * 2", (index, size * 2, leaf, proof, root)),
        ("size // 2", (index, size // 2, leaf, proof, root)),
        ("wrong leaf", (index, size, b"WrongLeaf", proof, root)),
        ("empty root", (index, size, leaf, proof, EMPTY_ROOT)),
        ("random root", (index, size, leaf, proof, SOME_HASH)),
        ("trailing garbage", (index, size, leaf, [*proof, b""], root)),
        ("trailing root", (index, size, leaf, [*proof, root], root)),
        ("preceding garbage", (index, size, leaf, [b"", *proof], root)),
        ("preceding root", (index, size, leaf, [root, *proof], root)),
    ]
    if index > 0:
        probes.append(("index - 1", (index - 1, size, leaf, proof, root)))
    for position in range(len(proof)):
        flipped = [*proof]
        flipped[position] = bytes([proof[position][0] ^ 8]) + proof[position][1:]
        probes.append((f"proof[{position}] bit 3", (index, size, leaf, flipped, root)))
    if proof:
        probes.append(("removed component", (index, size, leaf, proof[:-1], root)))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", (index, size, leaf, inserted, root)))
    return probes


def _corrupt_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    """transparency-dev's corruptConsistencyProof probes, for proofs that are not empty."""
    if not proof:
        return [("wrong root2", (size1, size2, root1, SOME_HASH, proof))]
    probes = [
        ("size1 - 1", (size1 - 1, size2, root1, root2, proof)),
        ("size1 + 1", (size1 + 1, size2, root1, root2, proof)),
        ("size1 ^ 2", (size1 ^ 2, size2, root1, root2, proof)),
        ("size2 * 2", (size1, size2 * 2, root1, root2, proof)),
        ("size2 // 2", (size1, size2 // 2, root1, root2, proof)),
        ("wrong root1", (size1, size2, b"WrongRoot", root2, proof)),
        ("wrong root2", (size1, size2, root1, b"WrongRoot", proof)),
        ("swapped roots", (size1, size2, root2, root1, proof)),
        ("empty proof", (size1, size2, root1, root2, [])),
        ("trailing garbage", (size1, size2, root1, root2, [*proof, b""])),
        ("trailing root1", (size1, size2, root1, root2, [*proof, root1])),
        ("trailing root2", (size1, size2, root1, root2, [*proof, root2])),
        ("preceding garbage", (size1, size2, root1, root2, [b"", *proof])),
        ("preceding root1", (size1, size2, root1, root2, [root1, *proof])),
        ("preceding root2", (size1, size2, root1, root2, [root2, *proof])),
        ("preceding proof[0]", (size1, size2, root1, root2, [proof[0], *proof])),
        ("truncated proof", (size1, size2, root1, root2, proof[:-1])),
    ]
    for position in range(len(proof)):
        flipped = [*proof]
        flipped[position] = bytes([proof[position][0] ^ 16]) + proof[position][1:]
        probes.append((f"proof[{position}] bit 4", (size1, size2, root1, root2, flipped)))
    return probes


def test_consistency_edge_cases_of_transparency_dev() -> None:
    """TestVerifyConsistency's table, except that a proof from size 0 is refused where
    transparency-dev accepts it: RFC 9162 defines consistency proofs for 0 < size1 only,
    and the contract refuses them, so every verifier of this project does."""
    root = ROOT_HASHES[1]
    verify_consistency(1, 1, root, root, [])
    for size1, size2, root1, root2, proof in [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, []),  # from the empty tree
        (0, 1, EMPTY_ROOT, root, []),
        (0, 0, EMPTY_ROOT, root, []),  # roots differ
        (1, 1, EMPTY_ROOT, root, []),
        (1, 0, root, EMPTY_ROOT, []),  # time travel
        (2, 1, root, root, []),
        (1, 2, root, ROOT_HASHES[2], []),  # empty proof
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),  # proof not empty
        (0, 1, EMPTY_ROOT, root, [EMPTY_ROOT]),
        (1, 1, root, root, [EMPTY_ROOT]),
        (0, 1, SOME_HASH, root, []),  # not the root of the empty tree
    ]:
        with pytest.raises(MerkleError):
            verify_consistency(size1, size2, root1, root2, proof)
