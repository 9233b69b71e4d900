"""The node file (`anchoring.merkle.nodefile`): a log larger than its tile cache proves from it,
and it never serves a wrong node through a crash, a rollback, a restored database, a file of
another log or a deleted file."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from anchoring.merkle import MerkleLog, leaf_hashes
from anchoring.merkle import nodefile as nodefile_module
from anchoring.merkle.nodefile import NodeFile, node_file_path

# cache_tiles=4: the log outgrows its tile cache, and keeps node files, past 511 leaves.
# Readers keep levels 8 and up whole, so that both files (levels 0-3 and 4-7) serve them.
CACHE_TILES = 4


def leaves(start: int, stop: int, tag: str = "leaf") -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(start, stop)]


def reference(data: list[bytes]) -> MerkleLog:
    log = MerkleLog(sqlite3.connect(":memory:"))
    log.append(leaf_hashes(data))
    return log


def small_cache_log(path: Path) -> MerkleLog:
    return MerkleLog(sqlite3.connect(path), cache_tiles=CACHE_TILES, upper_level=8)


def started_log(path: Path, total: int, appended: int) -> tuple[MerkleLog, list[bytes]]:
    """A small-cache log in `path` holding the first `appended` of `total` test leaves: the
    log, and the data of all `total`."""
    writer = small_cache_log(path)
    data = leaves(0, total)
    writer.append(leaf_hashes(data[:appended]))
    return writer, data


def nodes_path(path: Path, base: int = 0) -> Path:
    found = node_file_path(str(path), base)
    assert found is not None
    return found


def claimed_size(path: Path, base: int = 0) -> int:
    """The tree size the node file's header claims."""
    return int.from_bytes(nodes_path(path, base).read_bytes()[64:72], "little")


def named_leaf(path: Path, base: int = 0) -> bytes:
    """The leaf 0 hash the node file's header names."""
    return nodes_path(path, base).read_bytes()[32:64]


def leaf_offset(index: int) -> int:
    """Where leaf `index` sits in the node file."""
    return 4096 + (index >> 8) * 480 * 32 + (index & 255) * 32


def scribble(path: Path, begin: int, end: int) -> None:
    """Overwrite bytes [begin, end) of the node file with garbage, in place."""
    with open(nodes_path(path), "r+b") as file:
        file.seek(begin)
        file.write(b"\xee" * (end - begin))


def traced_reader(path: Path) -> tuple[MerkleLog, list[str]]:
    """A reader keeping levels 8 and up, and the statements its connection runs from now on."""
    conn = sqlite3.connect(path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    return MerkleLog(conn, cache_tiles=CACHE_TILES, upper_level=8), statements


def append_dying_before_publish(
    writer: MerkleLog, data: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Append as a process that dies between COMMIT and `publish`: no file claims it."""
    with monkeypatch.context() as patch:
        patch.setattr(NodeFile, "publish", lambda self, new_size: self.abandon())
        writer.append(leaf_hashes(data))


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
    writer, data = started_log(path, 5_000, 300)
    assert not nodes_path(path).exists()  # the tile cache still holds the log
    for start in range(300, 5_000, 613):
        writer.append(leaf_hashes(data[start : start + 613]))
    assert claimed_size(path) == 5_000
    assert writer.node_file_differences() == []
    expected = reference(data)

    def misses_of_a_new_reader() -> list[str]:
        reader, statements = traced_reader(path)
        assert_proofs(reader, expected, 5_000)
        assert_proofs(reader, expected, 4_321)
        return tile_cache_misses(statements)

    assert misses_of_a_new_reader() == []  # levels 0-3 and 4-7 from the two files
    for base in (0, 4):
        nodes_path(path, base).unlink()
    assert misses_of_a_new_reader() != []  # without the files, the lower levels read SQLite


def test_a_crash_after_commit_leaves_the_file_lagging_and_the_next_append_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    writer, data = started_log(path, 3_000, 1_000)
    append_dying_before_publish(writer, data[1_000:2_000], monkeypatch)  # never claimed
    assert claimed_size(path) == 1_000
    # What the lost append wrote is unclaimed: garbage there is never served...
    scribble(path, leaf_offset(1_000), leaf_offset(1_000) + 24 * 32)  # leaves 1,000-1,023
    scribble(path, leaf_offset(1_024), leaf_offset(2_048))  # spans 4-7, every level
    expected = reference(data[:2_000])
    for size in (1_001, 1_100, 2_000):
        assert_proofs(small_cache_log(path), expected, size, step=7)
    # ...and the next append copies it again from the tiles.
    writer.append(leaf_hashes(data[2_000:]))
    assert claimed_size(path) == 3_000
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 3_000)


def test_nodes_are_synced_before_they_are_claimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's two claims in an append, after `catch_up` (new files here) and after
    `publish`, come after an fsync of that file that follows every write to it before them."""
    path = tmp_path / "log.db"
    writer = small_cache_log(path)
    writer.append(leaf_hashes(leaves(0, 1_000)))
    for base in (0, 4):
        nodes_path(path, base).unlink()
    calls: list[tuple[str, int]] = []
    fsync, pwrite = nodefile_module.os.fsync, nodefile_module.os.pwrite

    def recorded_fsync(fd: int) -> None:
        calls.append(("fsync", fd))
        fsync(fd)

    def recorded_pwrite(fd: int, data: bytes, offset: int) -> int:
        calls.append(("claim" if offset == 64 else "write", fd))
        return pwrite(fd, data, offset)

    monkeypatch.setattr(nodefile_module.os, "fsync", recorded_fsync)
    monkeypatch.setattr(nodefile_module.os, "pwrite", recorded_pwrite)
    writer.append(leaf_hashes(leaves(1_000, 1_300)))
    claims = [k for k, (call, _) in enumerate(calls) if call == "claim"]
    assert len(claims) == 4 and claimed_size(path, 0) == claimed_size(path, 4) == 1_300
    for claim in claims:
        fd = calls[claim][1]
        last_write = max(k for k in range(claim) if calls[k] == ("write", fd))
        assert ("fsync", fd) in calls[last_write:claim], calls


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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
    # The first append after the restore lowers the claim before it overwrites anything:
    # even if it then dies before `publish`, the file claims no node of the lost history.
    append_dying_before_publish(restored, data[1_500:2_000], monkeypatch)
    assert claimed_size(path) == 1_500
    restored.append(leaf_hashes(data[2_000:]))
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
    assert named_leaf(path) == leaf_hashes(data[:1])[0]
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 2_500)


def test_a_running_reader_follows_a_deleted_and_rebuilt_node_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As audit advises for a bad file: delete it; the writer rebuilds it, and running
    readers switch to the new file (within a second; here at once)."""
    monkeypatch.setattr(nodefile_module, "_RECHECK_SECONDS", 0.0)
    path = tmp_path / "log.db"
    writer, data = started_log(path, 4_000, 2_000)
    scribble(path, leaf_offset(701), leaf_offset(702))  # a bad copy of leaf 701
    reader, statements = traced_reader(path)
    expected = reference(data)
    assert reader.inclusion_proof(700, 2_000) != expected.inclusion_proof(700, 2_000)
    nodes_path(path).unlink()
    writer.append(leaf_hashes(data[2_000:]))  # a fresh file, built from the tiles
    assert claimed_size(path) == 4_000
    statements.clear()
    assert reader.inclusion_proof(700, 2_000) == expected.inclusion_proof(700, 2_000)
    assert_proofs(reader, expected, 4_000)
    assert_proofs(reader, expected, 2_000)
    assert tile_cache_misses(statements) == []


def test_a_reader_maps_the_file_again_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nodefile_module, "_GROWTH", 4096)  # the file grows block by block
    path = tmp_path / "log.db"
    writer, data = started_log(path, 3_000, 600)
    reader, statements = traced_reader(path)
    assert_proofs(reader, reference(data[:600]), 600)
    statements.clear()
    for size in range(1_000, 3_001, 400):
        writer.append(leaf_hashes(data[size - 400 if size > 1_000 else 600 : size]))
        assert_proofs(reader, reference(data[:size]), size)
    assert tile_cache_misses(statements) == []


def test_a_node_file_that_cannot_be_written_is_dropped_and_the_log_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.db"
    writer, data = started_log(path, 3_000, 1_000)
    monkeypatch.setattr(nodefile_module, "_RECHECK_SECONDS", 3600.0)  # no look at the path
    reader, statements = traced_reader(path)
    assert_proofs(reader, reference(data[:1_000]), 1_000)  # the file mapped
    with monkeypatch.context() as patch:
        patch.setattr(NodeFile, "_write_tile", staticmethod(full_disk))
        assert writer.append(leaf_hashes(data[1_000:2_000])) == 2_000
    assert not nodes_path(path).exists()
    statements.clear()
    # The dropped file claims nothing, even to a reader that still maps it.
    assert_proofs(reader, reference(data[:1_000]), 1_000)
    assert tile_cache_misses(statements) != []
    assert_proofs(small_cache_log(path), reference(data[:2_000]), 2_000)
    writer.append(leaf_hashes(data[2_000:2_500]))  # no new file for a minute
    assert not nodes_path(path).exists()
    later = time.monotonic() + 61
    monkeypatch.setattr(nodefile_module, "time", SimpleNamespace(monotonic=lambda: later))
    writer.append(leaf_hashes(data[2_500:]))  # then a new one, caught up from the tiles
    assert claimed_size(path) == 3_000
    assert writer.node_file_differences() == []
    assert_proofs(small_cache_log(path), reference(data), 3_000)


def full_disk(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


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
    upper = nodes_path(path, 4)
    body = bytearray(upper.read_bytes())
    level_5 = 4096 + 256 * 32 + 3 * 32  # span 0 of levels 4-7, its level-5 node 3
    body[level_5] ^= 1
    upper.write_bytes(bytes(body))
    assert writer.node_file_differences() == [(0, 2), (5, 0)]
