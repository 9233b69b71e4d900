"""Merkle log benchmark: prints one JSON object of figures.

    .venv/bin/python bench/merkle.py

Leaf i is the bytes of f"leaf-{i}" for 10^6 leaves. Figures, measured in one run:

- raw_sha256_1e6_s: hashlib.sha256(data).digest() over the 10^6 leaf data (the yardstick);
- leaf_hashing_1e6_s: the 10^6 leaf hashes SHA-256(0x00 || data) (`leaf_hashes`), the input
  of MerkleLog.append;
- append_1e6_s: MerkleLog.append of those 10^6 leaf hashes into a new SQLite file, committed,
  then root(): the log's own work; ratio_vs_raw = append_1e6_s / raw_sha256_1e6_s, and
  ratio_vs_raw_with_leaf_hashing also counts the leaf hashing;
- pymerkle_1e6_s: pymerkle 7 InmemoryTree(algorithm="sha256").append_entries(data) then
  get_root(), and pymerkle_sqlite_1e6_s the same with its SqliteTree; the speedups compare
  them with leaf hashing + append + root, the same work from leaf data to root;
  pymerkle_sqlite_inclusion_proofs_per_s_1e6 is the other side of SqliteTree's bargain: it
  stores no interior nodes (it caches some in memory), so its proofs recompute them
  (PYMERKLE_PROOFS random proofs, right after the build);
- inclusion_proofs_per_s_1e6 and consistency_proofs_per_s_1e6: proofs at random indices and
  sizes of the 10^6-leaf log, from a MerkleLog newly opened on the file (caches start cold);
- single_leaf_appends_per_s: appends of one leaf, one transaction each, to that log;
- inclusion_proofs_per_s_1e7: inclusion proofs at random indices of a 10^7-leaf log (leaf i
  again f"leaf-{i}", appended 10^6 at a time; it is built once per run and takes a few
  hundred MB of disk), from a newly opened MerkleLog: its levels 4 and up are read into
  memory by the first proof, and levels 0 to 3, too many for the tile cache, come from the
  node file the appends kept beside the database (`anchoring/merkle/nodefile.py`).

The headline speedup is `speedup_vs_pymerkle_sqlite`, against the persistent SqliteTree, like
for like; `speedup_vs_pymerkle` is against the InmemoryTree, which stores nothing.

Timings of the raw hashing, leaf hashing and append are the best of REPEATS interleaved
runs, so that a noisy neighbour on a shared machine inflates all of them alike. The SQLite
file uses the library defaults (rollback journal, synchronous FULL).
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from anchor_gas import anchor_gas_figures  # bench/ is the script directory
from pymerkle import InmemoryTree, SqliteTree

from anchoring.merkle import MerkleLog, leaf_hashes

LEAVES = 1_000_000
REPEATS = 3
PROOFS = 20_000
SINGLE_APPENDS = 1_000
PYMERKLE_PROOFS = 200
LARGE_LEAVES = 10_000_000

T = TypeVar("T")


def _seconds(action: Callable[[], object]) -> float:
    return _timed(action)[0]


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _raw_sha256(data: list[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    return [sha256(item).digest() for item in data]


def _append_and_root(path: Path, hashes: list[bytes]) -> float:
    """Seconds to append `hashes` to a new log in `path` and read its root."""
    conn = sqlite3.connect(path)
    log = MerkleLog(conn)
    seconds = _seconds(lambda: (log.append(hashes), log.root()))
    conn.close()
    return seconds


def _pymerkle_figures(data: list[bytes], directory: Path) -> tuple[float, float, float]:
    """Seconds to build InmemoryTree and SqliteTree and get their roots, and the rate of
    SqliteTree inclusion proofs."""

    def in_memory() -> None:
        tree = InmemoryTree(algorithm="sha256")
        tree.append_entries(data)
        tree.get_root()

    in_memory_s = _seconds(in_memory)
    with SqliteTree(str(directory / "pymerkle.db"), algorithm="sha256") as tree:
        in_sqlite_s = _seconds(lambda: (tree.append_entries(data), tree.get_root()))
        size = tree.get_size()
        rng = random.Random(9162)
        indices = [rng.randrange(1, size + 1) for _ in range(PYMERKLE_PROOFS)]
        proofs_s = _seconds(lambda: [tree.prove_inclusion(index, size) for index in indices])
    return in_memory_s, in_sqlite_s, PYMERKLE_PROOFS / proofs_s


def _inclusion_proofs_per_s(log: MerkleLog, size: int, rng: random.Random) -> float:
    indices = [rng.randrange(size) for _ in range(PROOFS)]
    return PROOFS / _seconds(lambda: [log.inclusion_proof(index, size) for index in indices])


def _large_log_proof_rate(path: Path) -> float:
    """Inclusion proofs a second at LARGE_LEAVES leaves, from a newly opened log."""
    conn = sqlite3.connect(path)
    log = MerkleLog(conn)
    for start in range(0, LARGE_LEAVES, LEAVES):
        log.append(leaf_hashes(f"leaf-{i}".encode() for i in range(start, start + LEAVES)))
    conn.close()
    conn = sqlite3.connect(path)
    rate = _inclusion_proofs_per_s(MerkleLog(conn), LARGE_LEAVES, random.Random(9162))
    conn.close()
    return rate


def _proof_rates(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(path)
    log = MerkleLog(conn)
    size = log.size
    rng = random.Random(9162)
    inclusion_rate = _inclusion_proofs_per_s(log, size, rng)
    firsts = [rng.randrange(1, size) for _ in range(PROOFS)]
    consistency = _seconds(lambda: [log.consistency_proof(first, size) for first in firsts])
    extra = [hashlib.sha256(b"extra %d" % i).digest() for i in range(SINGLE_APPENDS)]
    appends = _seconds(lambda: [log.append([leaf]) for leaf in extra])
    conn.close()
    return {
        "inclusion_proofs_per_s_1e6": round(inclusion_rate),
        "consistency_proofs_per_s_1e6": round(PROOFS / consistency),
        "single_leaf_appends_per_s": round(SINGLE_APPENDS / appends),
    }


def merkle_figures() -> dict[str, object]:
    """The Merkle log figures described in the module docstring."""
    data = [f"leaf-{i}".encode() for i in range(LEAVES)]
    raw, leaf, append = [], [], []
    with tempfile.TemporaryDirectory(prefix="merkle-bench-") as tmp:
        directory = Path(tmp)
        for run in range(REPEATS):
            raw.append(_seconds(lambda: _raw_sha256(data)))
            seconds, hashes = _timed(lambda: leaf_hashes(data))
            leaf.append(seconds)
            append.append(_append_and_root(directory / f"log-{run}.db", hashes))
        proof_rates = _proof_rates(directory / f"log-{REPEATS - 1}.db")
        pymerkle_s, pymerkle_sqlite_s, pymerkle_proof_rate = _pymerkle_figures(data, directory)
        large_rate = _large_log_proof_rate(directory / "log-1e7.db")
    raw_s, leaf_s, append_s = min(raw), min(leaf), min(append)
    return {
        "append_1e6_s": round(append_s, 3),
        "leaf_hashing_1e6_s": round(leaf_s, 3),
        "raw_sha256_1e6_s": round(raw_s, 3),
        "ratio_vs_raw": round(append_s / raw_s, 2),
        "ratio_vs_raw_with_leaf_hashing": round((leaf_s + append_s) / raw_s, 2),
        "pymerkle_sqlite_1e6_s": round(pymerkle_sqlite_s, 3),
        "speedup_vs_pymerkle_sqlite": round(pymerkle_sqlite_s / (leaf_s + append_s), 1),
        "pymerkle_1e6_s": round(pymerkle_s, 3),
        "speedup_vs_pymerkle": round(pymerkle_s / (leaf_s + append_s), 1),
        **proof_rates,
        "inclusion_proofs_per_s_1e7": round(large_rate),
        "pymerkle_sqlite_inclusion_proofs_per_s_1e6": round(pymerkle_proof_rate),
    }


def main() -> None:
    figures: dict[str, object] = {}
    figures.update(merkle_figures())
    figures.update(anchor_gas_figures())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
