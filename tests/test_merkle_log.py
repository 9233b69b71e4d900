"""MerkleLog: the same roots and proofs as RFC 9162 and pymerkle, persistence, atomicity."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from anchoring.merkle import (
    EMPTY_ROOT,
    HashLengthError,
    IndexOutOfRangeError,
    MerkleLog,
    SizeError,
    StoreError,
    leaf_hash,
    leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests import merkle_reference as reference

LARGE = 100_000


def leaves(start: int, stop: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(start, stop)]


def new_log(size: int = 0, *, batch: int | None = None) -> MerkleLog:
    log = MerkleLog(sqlite3.connect(":memory:"))
    step = batch or max(size, 1)
    for start in range(0, size, step):
        log.append(leaf_hashes(leaves(start, min(start + step, size))))
    return log


@pytest.fixture(scope="module")
def large_trees() -> tuple[MerkleLog, InmemoryTree]:
    data = leaves(0, LARGE)
    tree = InmemoryTree(algorithm="sha256")
    tree.append_entries(data)
    return new_log(LARGE, batch=30_011), tree


def test_empty_log() -> None:
    log = new_log()
    assert log.size == 0
    assert log.root() == log.root(0) == EMPTY_ROOT
    assert log.consistency_proof(0, 0) == []
    assert log.append([]) == 0


def test_matches_the_rfc_for_every_size_up_to_64() -> None:
    data = leaves(0, 64)
    log = new_log(64, batch=7)
    for size in range(65):
        assert log.root(size) == reference.mth(data[:size])
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert proof == reference.path(index, data[:size])
            verify_inclusion(index, size, log.leaf_hash(index), proof, log.root(size))
        for size1 in range(size + 1):
            proof = log.consistency_proof(size1, size)
            assert proof == (reference.proof(size1, data[:size]) if size1 else [])
            if size1:  # RFC 9162 verifies consistency from a non-empty tree only
                verify_consistency(size1, size, log.root(size1), log.root(size), proof)


def test_matches_pymerkle_for_every_size_up_to_300() -> None:
    data = leaves(0, 300)
    tree = InmemoryTree(algorithm="sha256")
    tree.append_entries(data)
    log = new_log(300, batch=37)
    for size in range(1, 301):
        assert log.root(size) == tree.get_root(size)
        for index in range(size):
            # pymerkle counts leaves from 1 and starts its path with the leaf hash itself.
            pymerkle_path = tree.prove_inclusion(index + 1, size).path
            assert [log.leaf_hash(index), *log.inclusion_proof(index, size)] == pymerkle_path


def test_matches_pymerkle_on_a_sample_up_to_1e5(
    large_trees: tuple[MerkleLog, InmemoryTree],
) -> None:
    log, tree = large_trees
    rng = random.Random(9162)
    edges = [n + d for k in range(1, 17) for n in [1 << k] for d in (-1, 0, 1)]
    sizes = sorted({LARGE, *edges, *(rng.randrange(301, LARGE) for _ in range(40))})
    for size in sizes:
        root = log.root(size)
        assert root == tree.get_root(size)
        for index in {0, size - 1, rng.randrange(size), rng.randrange(size)}:
            proof = log.inclusion_proof(index, size)
            assert [log.leaf_hash(index), *proof] == tree.prove_inclusion(index + 1, size).path
        # pymerkle's consistency proofs have another layout; its roots check ours.
        size1 = rng.randrange(1, size + 1)
        proof = log.consistency_proof(size1, size)
        verify_consistency(size1, size, tree.get_root(size1), root, proof)


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=8))
def test_batching_does_not_change_the_tree(batches: list[int]) -> None:
    whole = new_log(sum(batches))
    log = MerkleLog(sqlite3.connect(":memory:"), cache_tiles=1)
    size = 0
    for batch in batches:
        assert log.append(leaf_hashes(leaves(size, size + batch))) == size + batch
        size += batch
        assert log.root() == whole.root(size)
    rng = random.Random(size)
    for _ in range(20):
        size2 = rng.randrange(1, size + 1)
        size1, index = rng.randrange(size2 + 1), rng.randrange(size2)
        assert log.root(size2) == whole.root(size2)
        assert log.inclusion_proof(index, size2) == whole.inclusion_proof(index, size2)
        assert log.consistency_proof(size1, size2) == whole.consistency_proof(size1, size2)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_proofs_of_a_large_log_verify(
    large_trees: tuple[MerkleLog, InmemoryTree], data: st.DataObject
) -> None:
    log, _ = large_trees
    size2 = data.draw(st.integers(min_value=1, max_value=LARGE))
    size1 = data.draw(st.integers(min_value=1, max_value=size2))
    index = data.draw(st.integers(min_value=0, max_value=size2 - 1))
    root2 = log.root(size2)
    verify_inclusion(index, size2, log.leaf_hash(index), log.inclusion_proof(index, size2), root2)
    verify_consistency(size1, size2, log.root(size1), root2, log.consistency_proof(size1, size2))


def test_reopened_log_sees_the_stored_tree(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    conn = sqlite3.connect(path)
    log = MerkleLog(conn)
    for start in range(0, 1000, 333):
        log.append(leaf_hashes(leaves(start, min(start + 333, 1000))))
    roots = [log.root(size) for size in range(1001)]
    proof = log.inclusion_proof(500, 777)
    conn.close()

    conn = sqlite3.connect(path)
    reopened = MerkleLog(conn)
    assert reopened.size == 1000
    assert [reopened.root(size) for size in range(1001)] == roots
    assert reopened.inclusion_proof(500, 777) == proof
    reopened.append(leaf_hashes(leaves(1000, 1500)))
    assert reopened.root() == new_log(1500).root()


def test_other_connections_see_appends_and_may_append(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    writer = MerkleLog(sqlite3.connect(path))
    writer.append(leaf_hashes(leaves(0, 300)))
    reader = MerkleLog(sqlite3.connect(path))
    assert reader.root() == writer.root()  # caches the partial last tiles
    writer.append(leaf_hashes(leaves(300, 301)))
    assert reader.inclusion_proof(300, 301) == writer.inclusion_proof(300, 301)
    assert reader.leaf_hash(300) == leaf_hash(b"leaf-300")
    assert reader.size == 301
    assert reader.root() == writer.root() == new_log(301).root()
    reader.append(leaf_hashes(leaves(301, 600)))
    writer.append(leaf_hashes(leaves(600, 700)))
    assert reader.root() == writer.root() == new_log(700).root()


def test_crash_before_commit_keeps_the_previous_tree(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = MerkleLog(sqlite3.connect(path))
    log.append(leaf_hashes(leaves(0, 1000)))
    root = log.root()
    # The child dies at COMMIT, after its tiles went to the database file (a tiny page cache
    # makes SQLite spill them there): a power cut in the middle of an append.
    child = textwrap.dedent(
        f"""
        import os, sqlite3
        from anchoring.merkle import MerkleLog, leaf_hashes

        class Crashing(sqlite3.Connection):
            def execute(self, sql, *args):
                if sql == "COMMIT":
                    os._exit(3)
                return super().execute(sql, *args)

        conn = sqlite3.connect({str(path)!r}, factory=Crashing)
        conn.execute("PRAGMA cache_size = 4")
        MerkleLog(conn).append(leaf_hashes(f"leaf-{{i}}".encode() for i in range(1000, 5000)))
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()
    assert (tmp_path / "log.db-journal").stat().st_size > 0  # hot journal: undo pending

    recovered = MerkleLog(sqlite3.connect(path))
    assert recovered.size == 1000
    assert recovered.root() == root
    recovered.append(leaf_hashes(leaves(1000, 5000)))
    assert recovered.root() == new_log(5000).root()


def test_failed_append_changes_nothing() -> None:
    conn = sqlite3.connect(":memory:")
    log = MerkleLog(conn)
    log.append(leaf_hashes(leaves(0, 300)))
    root = log.root()
    conn.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE ON merkle_state "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        log.append(leaf_hashes(leaves(300, 900)))
    assert not conn.in_transaction
    assert log.size == 300
    assert log.root() == root
    conn.execute("DROP TRIGGER refuse")
    log.append(leaf_hashes(leaves(300, 900)))
    assert log.root() == new_log(900).root()


def test_append_checks_every_hash_first() -> None:
    log = new_log(10)
    good = leaf_hashes(leaves(10, 20))
    for bad in ([*good, b"\x00" * 31], [good[0][:31], good[1] + b"\x00", *good[2:]]):
        with pytest.raises(HashLengthError, match="must be 32 bytes"):
            log.append(bad)
        assert log.size == 10
    assert log.append(iter(good)) == 20


def test_append_refuses_a_transaction_it_does_not_own() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (seq INTEGER)")
    log = MerkleLog(conn)
    conn.execute("INSERT INTO events VALUES (1)")  # opens a transaction
    with pytest.raises(StoreError, match="inside a transaction"):
        log.append([leaf_hash(b"event 1")])
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert log.size == 0


def test_touches_only_its_own_tables() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"event {i}") for i in range(5)])
    conn.commit()
    before = conn.execute("SELECT * FROM events").fetchall()
    log = MerkleLog(conn)
    log.append(leaf_hashes(leaves(0, 600)))
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"events", "merkle_state", "merkle_tiles"}
    assert conn.execute("SELECT * FROM events").fetchall() == before


def test_sizes_and_indices_out_of_range() -> None:
    log = new_log(10)
    for call in (
        lambda: log.root(11),
        lambda: log.root(-1),
        lambda: log.inclusion_proof(0, 11),
        lambda: log.consistency_proof(3, 11),
        lambda: log.consistency_proof(5, 4),
        lambda: log.consistency_proof(-1, 4),
    ):
        with pytest.raises(SizeError):
            call()
    for call in (
        lambda: log.leaf_hash(10),
        lambda: log.leaf_hash(-1),
        lambda: log.inclusion_proof(10, 10),
        lambda: log.inclusion_proof(0, 0),
        lambda: log.inclusion_proof(-1, 5),
    ):
        with pytest.raises(IndexOutOfRangeError):
            call()


@pytest.fixture
def stored_log(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "log.db")
    MerkleLog(conn).append(leaf_hashes(leaves(0, 600)))
    yield conn
    conn.close()


def test_missing_tiles_are_reported(stored_log: sqlite3.Connection) -> None:
    stored_log.execute("DELETE FROM merkle_tiles WHERE level = 0 AND tile = 1")
    stored_log.commit()
    log = MerkleLog(stored_log)
    assert log.inclusion_proof(0, 256) == new_log(256).inclusion_proof(0, 256)
    with pytest.raises(StoreError, match="tile 1 of level 0"):
        log.inclusion_proof(300, 600)


def test_missing_state_is_reported(stored_log: sqlite3.Connection) -> None:
    stored_log.execute("DELETE FROM merkle_state")
    stored_log.commit()
    with pytest.raises(StoreError, match="merkle_state"):
        MerkleLog(stored_log).root()


@settings(max_examples=40, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
    upper_level=st.integers(min_value=0, max_value=4),
    upper_cache_bytes=st.sampled_from([0, 2_000, 1 << 20]),
)
def test_memory_caches_follow_appends_and_partial_tiles(
    tmp_path_factory: pytest.TempPathFactory,
    batches: list[int],
    upper_level: int,
    upper_cache_bytes: int,
) -> None:
    """A reader whose caches hold partial tiles and upper levels gives, after the writer's
    appends, and after its own, the proofs of each tree size and nothing from a later one."""
    path = tmp_path_factory.mktemp("caches") / "log.db"

    def small_cache_log() -> MerkleLog:
        return MerkleLog(
            sqlite3.connect(path),
            cache_tiles=2,
            upper_level=upper_level,
            upper_cache_bytes=upper_cache_bytes,
        )

    writer, reader = small_cache_log(), small_cache_log()
    whole = new_log(sum(batches) + 7)
    rng = random.Random(sum(batches))
    size = 0
    for batch in batches:
        writer.append(leaf_hashes(leaves(size, size + batch)))
        size += batch
        # Sizes near the new end read partial tiles, older ones tiles completed since.
        for size2 in {size, rng.randrange(1, size + 1), max(1, size - 1)}:
            index, size1 = rng.randrange(size2), rng.randrange(size2 + 1)
            assert reader.root(size2) == whole.root(size2)
            assert reader.inclusion_proof(index, size2) == whole.inclusion_proof(index, size2)
            assert reader.consistency_proof(size1, size2) == whole.consistency_proof(size1, size2)
    assert reader.append(leaf_hashes(leaves(size, size + 7))) == size + 7
    assert writer.root() == reader.root() == whole.root()
    for index in range(0, size + 7, 97):
        assert writer.inclusion_proof(index, size + 7) == whole.inclusion_proof(index, size + 7)
        if index < size + 3:
            assert reader.inclusion_proof(index, size + 3) == whole.inclusion_proof(index, size + 3)


@pytest.mark.parametrize("upper_level", [0, 4])
def test_a_log_keeping_the_whole_tree_proves_without_reading(
    tmp_path: Path, upper_level: int
) -> None:
    """Once `keep_whole_tree` has read the tree (whatever level the log was opened with
    and whatever its tile cache held), every inclusion and consistency proof of the tree is
    made from memory: no statement reaches SQLite."""
    path = tmp_path / "log.db"
    size = 5_000
    MerkleLog(sqlite3.connect(path)).append(leaf_hashes(leaves(0, size)))
    conn = sqlite3.connect(path)
    log = MerkleLog(conn, upper_level=upper_level)
    log.inclusion_proof(size // 3, size)  # fills the tile cache of the lower levels, if any
    log.keep_whole_tree()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    whole = new_log(size)
    rng = random.Random(7)
    for _ in range(200):
        size2 = rng.randrange(1, size + 1)
        index, size1 = rng.randrange(size2), rng.randrange(1, size2 + 1)
        assert log.inclusion_proof(index, size2) == whole.inclusion_proof(index, size2)
        assert log.consistency_proof(size1, size2) == whole.consistency_proof(size1, size2)
    assert statements == []
