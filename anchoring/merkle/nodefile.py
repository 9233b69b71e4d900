"""The Merkle log's four lowest levels in a flat file beside the database, mapped into memory.

Why. Past about 10^6 leaves a proof's nodes on levels 0 to 3 are no longer in memory (see
`store`), and reading them costs one SQLite statement a proof, 12-14 µs: more than the rest
of the proof. In this file they sit at fixed offsets, so a node is a slice of a memory map.

What. A copy, never a source of truth: the tiles in SQLite are, and audit compares the two.
`<database>-merkle-nodes` holds a 4 KiB header, then one block per 256 leaves ("span"): the
span's 256 leaf hashes, then its 128 level-1, 64 level-2 and 32 level-3 hashes. The header
holds a magic string, the hash of leaf 0, which names the log (a file left at the same path
by another registry is never read), and `valid`, the tree size up to which the file holds
every complete subtree of levels 0 to 3.

Writing: the log's writer, in `MerkleLog.append`. Inside the append's transaction (its write
lock held), before COMMIT, `prepare` brings the file to the committed size: if the database
went back (restored from a backup, or a commit lost with the power), it lowers `valid` to that
size and syncs the header before anything past it is overwritten, so that a power loss cannot
leave the header claiming nodes of the lost history; and it copies from the tiles what the
file lacks below that size. Then it writes the new tiles' nodes. After COMMIT, `publish`
syncs the file to disk and only then raises `valid` to the new size. So `valid` never claims
a node that is not durably in the file, a crash at any point leaves a file that is right up to
its `valid` (the next append catches up), and an append that rolls back leaves only bytes
nothing claims. The file never shrinks, since readers map it and a map of a cut file faults;
it grows by `_GROWTH` at a time, so that readers seldom map it again. A file of another log
is replaced by a rename.

Reading: a node (level, index) comes from the file when (index + 1) * 2**level <= valid,
else from SQLite as before. A reader whose file cannot serve a node looks again, at most
once a second, for a newer or recreated file.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from anchoring.merkle.errors import StoreError
from carbon_verifier.merkle.hasher import HASH_SIZE

NODE_FILE_LEVELS = 4
"""Levels 0 to 3: a span's block holds them all."""

_SPAN_BITS = 8
_MAGIC = b"carbon-registry merkle nodes v1\n"
_NAME = slice(0, 64)  # the magic string, then the hash of leaf 0
_VALID = slice(64, 72)  # little-endian
_HEADER_BYTES = 4096
_LEVEL_OFFSETS = (0, 256 * HASH_SIZE, 384 * HASH_SIZE, 448 * HASH_SIZE)
"""Where each level's hashes begin in a span's block."""
_BLOCK_BYTES = 480 * HASH_SIZE
_GROWTH = 16 << 20
_REOPEN_SECONDS = 1.0

TileSource = Callable[[int, int], Iterable[tuple[int, bytes]]]
"""(level, first tile) -> the stored tiles of that level from that one on, in order."""


def node_file_path(database_file: str) -> Path | None:
    """The node file of the SQLite database at `database_file`; None for one in memory."""
    return Path(f"{database_file}-merkle-nodes") if database_file else None


class NodeFile:
    """The node file at `path`: read through a memory map, written by the log's writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._inode = 0
        self._next_open = 0.0
        self._fd: int | None = None  # the writer's, from `prepare` to `publish` or `abandon`

    # -- reading ----------------------------------------------------------------------------

    def covered(self, needed: int, leaf0: Callable[[], bytes]) -> int:
        """The tree size up to which the file serves nodes (0: it serves none). When that is
        below `needed`, a newer or recreated file is looked for, at most once a second;
        `leaf0` gives the log's leaf 0, which a file must name to be read."""
        mapped = self._map
        valid = 0 if mapped is None else int.from_bytes(mapped[_VALID], "little")
        if valid >= needed or time.monotonic() < self._next_open:
            return valid
        self._next_open = time.monotonic() + _REOPEN_SECONDS
        self.close()
        name = _MAGIC + leaf0()
        if self._map_file(lambda header: header == name):
            assert self._map is not None
            return int.from_bytes(self._map[_VALID], "little")
        return 0

    def serve(
        self,
        nodes: Sequence[tuple[int, int]],
        misses: list[int],
        hashes: list[bytes],
        leaf0: Callable[[], bytes],
    ) -> list[int]:
        """Fill hashes[i] for the misses nodes[i] (level, index) of levels below
        NODE_FILE_LEVELS that the file covers; return the misses left (SQLite's)."""
        needed = 0
        for i in misses:
            level, index = nodes[i]
            if level < NODE_FILE_LEVELS and (index + 1) << level > needed:
                needed = (index + 1) << level
        if not needed:
            return misses
        covered = self.covered(needed, leaf0)
        left = []
        for i in misses:
            level, index = nodes[i]
            if level >= NODE_FILE_LEVELS or (index + 1) << level > covered:
                left.append(i)
                continue
            span_bits = _SPAN_BITS - level
            begin = (
                _HEADER_BYTES
                + (index >> span_bits) * _BLOCK_BYTES
                + _LEVEL_OFFSETS[level]
                + (index & ((1 << span_bits) - 1)) * HASH_SIZE
            )
            mapped = self._map
            if mapped is not None and begin + HASH_SIZE > len(mapped):
                mapped = self._mapped_again()  # the file grew since it was mapped
                if mapped is not None and begin + HASH_SIZE > len(mapped):
                    raise StoreError(f"{self.path} is shorter than its header claims")
            if mapped is None:  # replaced since `covered`
                left.append(i)
            else:
                hashes[i] = mapped[begin : begin + HASH_SIZE]
        return left

    def close(self) -> None:
        """Drop the reader's map (the writer holds no descriptor between appends)."""
        if self._map is not None:
            self._map.close()
            self._map = None

    def _mapped_again(self) -> mmap.mmap | None:
        """The file mapped again to its new length, unless it is no longer the same file."""
        inode = self._inode
        self.close()
        return self._map if self._map_file(lambda header: True, inode) else None

    def _map_file(self, accept: Callable[[bytes], bool], inode: int = 0) -> bool:
        """Map the file at `path` if its header passes `accept` (and, given `inode`, it is
        still that file)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            status = os.fstat(fd)
            if status.st_size < _HEADER_BYTES or inode and status.st_ino != inode:
                return False
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)  # holds its own descriptor
        finally:
            os.close(fd)
        if not accept(mapped[_NAME]):
            mapped.close()
            return False
        self._map, self._inode = mapped, status.st_ino
        return True

    # -- writing ----------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def prepare(
        self, old_size: int, leaf0: bytes, rows: Iterable[tuple[int, int, bytes]], tiles: TileSource
    ) -> None:
        """Inside an append's transaction: make the file right up to `old_size`, the committed
        size, then write the nodes of the new tile `rows` (level, tile, hashes)."""
        fd = self._fd = self._writable(leaf0)
        valid = int.from_bytes(os.pread(fd, 8, _VALID.start), "little")
        if valid > old_size:  # the database went back: nodes past it may be of another history
            os.pwrite(fd, old_size.to_bytes(8, "little"), _VALID.start)
            os.fsync(fd)
        rows = [row for row in rows if row[0] < NODE_FILE_LEVELS]
        if rows:
            end = _HEADER_BYTES + max((tile + 1) << level for level, tile, _ in rows) * _BLOCK_BYTES
            if os.fstat(fd).st_size < end:
                os.ftruncate(fd, -(-end // _GROWTH) * _GROWTH)
        for level in range(NODE_FILE_LEVELS) if valid < old_size else ():
            for tile_index, hashes in tiles(level, (valid >> level) >> _SPAN_BITS):
                self._write_tile(fd, level, tile_index, hashes)
        for level, tile_index, hashes in rows:
            self._write_tile(fd, level, tile_index, hashes)

    def publish(self, new_size: int) -> None:
        """After COMMIT: sync the nodes `prepare` wrote, then claim them."""
        fd, self._fd = self._fd, None
        assert fd is not None
        try:
            os.fsync(fd)
            os.pwrite(fd, new_size.to_bytes(8, "little"), _VALID.start)
        finally:
            os.close(fd)

    def abandon(self) -> None:
        """The append failed: what `prepare` wrote stays unclaimed."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def differences(self, leaf0: bytes, tiles: TileSource) -> Iterator[tuple[int, int]]:
        """(level, tile) of every stored tile whose nodes the file holds otherwise, up to its
        `valid` (audit); none for a file that is absent or names another log's leaf 0."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            header = os.pread(fd, _VALID.stop, 0)
            if header[_NAME] != _MAGIC + leaf0:
                return
            valid = int.from_bytes(header[_VALID], "little")
            for level in range(NODE_FILE_LEVELS):
                count = valid >> level  # the complete subtrees the file claims at this level
                for tile_index, hashes in tiles(level, 0):
                    first = tile_index << _SPAN_BITS
                    if first >= count:
                        break
                    wanted = hashes[: (count - first) * HASH_SIZE]
                    if self._read_tile(fd, level, tile_index, len(wanted)) != wanted:
                        yield level, tile_index
        finally:
            os.close(fd)

    def _writable(self, leaf0: bytes) -> int:
        """A descriptor on the file at `path` naming `leaf0`; a missing or foreign file is
        replaced by a fresh one (valid 0)."""
        name = _MAGIC + leaf0
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            pass
        else:
            if os.pread(fd, len(name), 0) == name:
                return fd
            os.close(fd)
        # Renamed into place: a reader never sees a half-written header.
        fresh = self.path.with_name(self.path.name + ".new")
        fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.pwrite(fd, name.ljust(_HEADER_BYTES, b"\0"), 0)
            os.fsync(fd)
            os.replace(fresh, self.path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _read_tile(fd: int, level: int, tile_index: int, length: int) -> bytes:
        """`length` bytes of a tile's hashes, gathered from the blocks of its spans."""
        chunk = HASH_SIZE << (_SPAN_BITS - level)  # a span's share of the level
        first_span = tile_index << level
        return b"".join(
            os.pread(
                fd,
                min(chunk, length - begin),
                _HEADER_BYTES + (first_span + part) * _BLOCK_BYTES + _LEVEL_OFFSETS[level],
            )
            for part, begin in enumerate(range(0, length, chunk))
        )

    @staticmethod
    def _write_tile(fd: int, level: int, tile_index: int, hashes: bytes) -> None:
        """Write a stored tile's hashes into the blocks of the spans it covers."""
        chunk = HASH_SIZE << (_SPAN_BITS - level)
        first_span = tile_index << level
        for part, begin in enumerate(range(0, len(hashes), chunk)):
            os.pwrite(
                fd,
                hashes[begin : begin + chunk],
                _HEADER_BYTES + (first_span + part) * _BLOCK_BYTES + _LEVEL_OFFSETS[level],
            )
