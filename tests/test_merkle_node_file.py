"""The node file (`anchoring.merkle.nodefile`): a log larger than its tile cache proves from it,
and it never serves a wrong node through a crash, a rollback, a restored database, a file of
another log or a deleted file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from anchoring.merkle import MerkleLog, leaf_hashes
from anchoring.merkle import nodefile as nodefile_module
from anchoring.merkle.nodefile import NodeFile, node_file_path

# cache_tiles=4: the log outgrows its tile cache, and keeps a node file, past 511 leaves.
CACHE_TILES = 4


def leaves(start: int, stop: int, tag: str = "leaf") -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(start, stop)]


def reference(data: list[bytes]) -> MerkleLog:
    log = MerkleLog(sqlite3.connect(":memory:"))
    log.append(leaf_hashes(data))
    return log


def small_cache_log(path: Path) -> MerkleLog:
    return MerkleLog(sqlite3.connect(path), cache_tiles=CACHE_TILES, upper_level=4)


def nodes_path(path: Path) -> Path:
    found = node_file_path(str(path))
    assert found is not None
    return found


def claimed_size(path: Path) -> int:
    """The tree size the node file's header claims."""
    return int.from_bytes(nodes_path(path).read_bytes()[64:72], "little")


def assert_proofs(log: MerkleLog, expected: MerkleLog, size: int, step: int = 37) -> None:
    root = expected.root(size)
    assert log.root(size) == root
    for index in range(0, size, step):
        assert log.inclusion_proof(index, size) == expected.inclusion_proof(index, size), index
    for size1 in range(1, size, step * 5):
        assert log.consistency_proof(size1, size) == expected.consistency_proof(size1, size)


def tile_cache_misses(statements: list[str]) -> list[str]:
    # `TileTable.tiles`, the statement of the lower levels' tile-cache misses.
    return [s for s in statements if s.startswith("SELECT level, tile, hashes FROM merkle_tiles")]


def test_a_log_larger_than_its_tile_cache_proves_from_the_node_file(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    data = leaves(0, 5_000)
    writer.append(leaf_hashes(data[:300]))
    assert not nodes_path(path).exists()  # the tile cache still holds the log
    for start in range(300, 5_000, 613):
        writer.append(leaf_hashes(data[start : start + 613]))
    assert claimed_size(path) == 5_000
    assert writer.node_file_differences() == []
    expected = reference(data)

    def misses_of_a_new_reader() -> list[str]:
        conn = sqlite3.connect(path)
        reader = MerkleLog(conn, cache_tiles=CACHE_TILES, upper_level=4)
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        assert_proofs(reader, expected, 5_000)
        assert_proofs(reader, expected, 4_321)
        conn.close()
        return tile_cache_misses(statements)

    assert misses_of_a_new_reader() == []
    nodes_path(path).unlink()
    assert misses_of_a_new_reader() != []  # without the file, the lower levels read SQLite


def test_a_crash_after_commit_leaves_the_file_lagging_and_the_next_append_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    data = leaves(0, 3_000)
    writer.append(leaf_hashes(data[:1_000]))
    # The process dies between COMMIT and `publish`: the file never claims the append.
    with monkeypatch.context() as patch:
        patch.setattr(NodeFile, "publish", lambda self, new_size: self.abandon())
        writer.append(leaf_hashes(data[1_000:2_000]))
    assert claimed_size(path) == 1_000
    assert_proofs(small_cache_log(path), reference(data[:2_000]), 2_000)
    writer.append(leaf_hashes(data[2_000:]))
    assert claimed_size(path) == 3_000
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 3_000)


def test_a_rolled_back_append_leaves_what_it_wrote_unclaimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    kept = leaves(0, 1_000)
    writer.append(leaf_hashes(kept))
    prepare = NodeFile.prepare

    def prepare_then_fail(self: NodeFile, *args: object, **kwargs: object) -> None:
        prepare(self, *args, **kwargs)  # type: ignore[arg-type]
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(NodeFile, "prepare", prepare_then_fail)
        with pytest.raises(sqlite3.OperationalError):
            writer.append(leaf_hashes(leaves(1_000, 2_000, tag="rolled-back")))
    assert writer.size == 1_000 and claimed_size(path) == 1_000
    data = kept + leaves(1_000, 2_000, tag="kept")
    writer.append(leaf_hashes(data[1_000:]))
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 2_000)


def test_a_database_restored_from_a_backup_is_never_served_the_lost_history(
    tmp_path: Path,
) -> None:
    path, backup = tmp_path / "log.db", tmp_path / "backup.db"
    writer = small_cache_log(path)
    first = leaves(0, 1_500)
    writer.append(leaf_hashes(first))
    source, conn = sqlite3.connect(path), sqlite3.connect(backup)
    source.backup(conn)
    source.close()
    conn.close()
    writer.append(leaf_hashes(leaves(1_500, 4_000, tag="lost")))
    assert claimed_size(path) == 4_000
    shutil.copy(backup, path)  # the database goes back to 1,500 leaves; the file stays ahead
    restored = small_cache_log(path)
    assert_proofs(restored, reference(first), 1_500)
    data = first + leaves(1_500, 3_000, tag="after-restore")
    restored.append(leaf_hashes(data[1_500:]))
    assert claimed_size(path) == 3_000
    assert restored.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 3_000)


def test_a_node_file_of_another_log_is_never_read_and_is_replaced(tmp_path: Path) -> None:
    path, other = tmp_path / "log.db", tmp_path / "other.db"
    small_cache_log(path).append(leaf_hashes(leaves(0, 2_000, tag="foreign")))
    data = leaves(0, 2_500)
    small_cache_log(other).append(leaf_hashes(data[:2_000]))
    shutil.copy(other, path)  # another registry takes the path; the old node file stays
    assert claimed_size(path) == 2_000
    assert_proofs(small_cache_log(path), reference(data[:2_000]), 2_000)
    writer = small_cache_log(path)
    assert writer.node_file_differences() == []  # audit does not read a foreign file either
    writer.append(leaf_hashes(data[2_000:]))
    assert claimed_size(path) == 2_500  # now this log's
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 2_500)


def test_a_reader_outlives_its_node_file_and_finds_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nodefile_module, "_REOPEN_SECONDS", 0.0)
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    data = leaves(0, 4_000)
    writer.append(leaf_hashes(data[:2_000]))
    conn = sqlite3.connect(path)
    reader = MerkleLog(conn, cache_tiles=CACHE_TILES, upper_level=4)
    assert_proofs(reader, reference(data[:2_000]), 2_000)
    nodes_path(path).unlink()  # an operator deletes it, as audit advises for a bad one
    writer.append(leaf_hashes(data[2_000:]))  # a fresh file, built from the tiles
    assert claimed_size(path) == 4_000
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert_proofs(reader, reference(data), 4_000)
    assert tile_cache_misses(statements) == []  # the nodes past the old file's end too


def test_audit_names_a_node_file_that_differs_from_the_tiles(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    writer.append(leaf_hashes(leaves(0, 2_000)))
    assert writer.node_file_differences() == []
    file = nodes_path(path)
    body = bytearray(file.read_bytes())
    leaf_700 = 4096 + 2 * 480 * 32 + (700 - 512) * 32  # span 2, leaf 188 of it
    body[leaf_700] ^= 1
    file.write_bytes(bytes(body))
    assert writer.node_file_differences() == [(0, 2)]
