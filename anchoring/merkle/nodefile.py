"""The Merkle log's four lowest levels in a flat file beside the database, mapped into memory.

Why. Past about 10^6 leaves a proof's nodes on levels 0 to 3 are no longer in memory (see
`store`), and reading them costs one SQLite statement a proof, 12-14 µs: more than the rest
of the proof. In this file they sit at fixed offsets, so a node is a slice of a memory map.
A second file does the same for levels 4 to 7, so that a reader needs to keep only levels 8
and up in memory (the API's thread-pool readers: 2.5 MB each at 10^7 leaves, not 40).

What. A copy, never a source of truth: the tiles in SQLite are, and audit compares the two.
The file of levels B to B+3 (B = 0: `<database>-merkle-nodes`, B = 4: `...-merkle-nodes-4`)
holds a 4 KiB header, then one block per 256 nodes of level B ("span"): those 256 hashes,
then the span's 128, 64 and 32 hashes of the three levels above. The header holds a magic
string naming the levels, the hash of leaf 0, which names the log (a file left at the same
path by another registry is never read), and `valid`, the tree size (in leaves) up to which
the file holds every complete subtree of its levels.

Writing: the log's writer, in `MerkleLog.append`. Before the append's transaction, `catch_up`
copies from the tiles what the file lacks below the committed size (all of it for a new
file): stored tiles never change, so this needs no lock. Inside the transaction, before
COMMIT, `prepare` handles what changed since: if the database went back (restored from a
backup, or a commit lost with the power), it lowers `valid` to the committed size and syncs
the header before anything past it is overwritten, so that a power loss cannot leave the
header claiming nodes of the lost history; then it writes the new tiles' nodes. After COMMIT,
`publish` syncs the file to disk and only then raises `valid` to the new size. So `valid`
never claims a node that is not durably in the file, a crash at any point leaves a file that
is right up to its `valid` (the next append catches up), and an append that rolls back leaves
only bytes nothing claims. A file the writer cannot write is dropped (its `valid` zeroed,
then unlinked) and the append goes on: the file is only a copy; appends then go without one
for a minute before building a new one. The file never shrinks,
since readers map it and a map of a cut file faults (delete a bad file, never truncate it);
it grows by `_GROWTH` at a time, so that readers seldom map it again.

Reading: a node (level, index) comes from the file when (index + 1) * 2**level <= valid,
else from SQLite as before. `valid` is read from the map at every use, so a reader follows
the writer; at most once a second it also checks that the path still holds the file it
mapped, and follows a deleted, replaced or new file.
"""

from __future__ import annotations

import logging
import mmap
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from carbon_verifier.merkle.hasher import HASH_SIZE

log = logging.getLogger("carbon_registry.merkle")

NODE_FILE_LEVELS = 4
"""Levels a file holds: a span's block holds them all."""
NODE_FILE_BASES = (0, 4)
"""The lowest level of each node file: levels 0-3 and 4-7."""

_SPAN_BITS = 8
_NAME = slice(0, 64)  # the magic string, then the hash of leaf 0
_VALID = slice(64, 72)  # little-endian
_HEADER_BYTES = 4096
_LEVEL_OFFSETS = (0, 256 * HASH_SIZE, 384 * HASH_SIZE, 448 * HASH_SIZE)
"""Where each level's hashes begin in a span's block."""
_BLOCK_BYTES = 480 * HASH_SIZE
_GROWTH = 16 << 20
_RECHECK_SECONDS = 1.0
_RETRY_SECONDS = 60.0
"""After a file was dropped, appends go without one this long (a rebuild reads every tile)."""

TileSource = Callable[[int, int], Iterable[tuple[int, bytes]]]
"""(level, first tile) -> the stored tiles of that level from that one on, in order."""
TileRows = Iterable[tuple[int, int, bytes]]
"""Tiles as (level, tile, hashes)."""


def node_file_path(database_file: str, base: int = 0) -> Path | None:
    """The node file of levels `base` to `base` + 3 of the SQLite database at
    `database_file`; None for one in memory."""
    if not database_file:
        return None
    return Path(f"{database_file}-merkle-nodes" + (f"-{base}" if base else ""))


def _magic(base: int) -> bytes:
    """32 bytes naming the format and the levels."""
    return f"carbon-registry merkle L{base:02d}-{base + 3:02d}".encode().ljust(31) + b"\n"


class NodeFile:
    """The node file of levels `base` to `base` + 3 at `path`: read through a memory map,
    written by the log's writer."""

    def __init__(self, path: Path, base: int = 0) -> None:
        self.path = path
        self.base = base
        self._magic = _magic(base)
        self._map: mmap.mmap | None = None
        self._mapped_file = (0, 0)  # (st_dev, st_ino) of the mapped file
        self._next_check = 0.0
        self._fd: int | None = None  # the writer's, from `prepare` to `publish` or `abandon`
        self._retry_at = 0.0

    # -- reading ----------------------------------------------------------------------------

    def serve(
        self,
        nodes: Sequence[tuple[int, int]],
        misses: list[int],
        hashes: list[bytes],
        leaf0: Callable[[], bytes],
    ) -> list[int]:
        """Fill hashes[i] for the misses nodes[i] (level, index) of the file's levels
        that it covers; return the misses left (SQLite's). `leaf0`
        gives the log's leaf 0, which a file must name to be read."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + _RECHECK_SECONDS
            self._follow_path(leaf0)
        mapped = self._map
        if mapped is None:
            return misses
        valid = int.from_bytes(mapped[_VALID], "little")
        base = self.base
        left = []
        for i in misses:
            level, index = nodes[i]
            if not 0 <= level - base < NODE_FILE_LEVELS or (index + 1) << level > valid:
                left.append(i)
                continue
            span_bits = _SPAN_BITS - level + base
            begin = (
                _HEADER_BYTES
                + (index >> span_bits) * _BLOCK_BYTES
                + _LEVEL_OFFSETS[level - base]
                + (index & ((1 << span_bits) - 1)) * HASH_SIZE
            )
            if begin + HASH_SIZE > len(mapped):  # the file grew since it was mapped
                mapped = self._mapped_again()
                # It may be another file of this log now, which claims less.
                valid = 0 if mapped is None else int.from_bytes(mapped[_VALID], "little")
                if (
                    mapped is None
                    or (index + 1) << level > valid
                    or begin + HASH_SIZE > len(mapped)
                ):
                    left += [j for j in misses if j >= i]
                    return left
            hashes[i] = mapped[begin : begin + HASH_SIZE]
        return left

    def close(self) -> None:
        """Drop the reader's map (the writer holds no descriptor between appends)."""
        if self._map is not None:
            self._map.close()
            self._map = None

    def _follow_path(self, leaf0: Callable[[], bytes]) -> None:
        """Map the file the path now holds, if it is not the one mapped (or none is)."""
        try:
            status = os.stat(self.path)
        except OSError:
            self.close()
            return
        if self._map is None or (status.st_dev, status.st_ino) != self._mapped_file:
            self.close()
            self._map_file(self._magic + leaf0())

    def _mapped_again(self) -> mmap.mmap | None:
        """The file at the path, of the same log, mapped again to its new length; None (and
        nothing mapped) if the path no longer holds one."""
        assert self._map is not None
        name = self._map[_NAME]
        self.close()
        self._map_file(name)
        if self._map is None:
            log.warning(
                "%s changed while mapped; proofs read SQLite until it is found again", self.path
            )
        return self._map

    def _map_file(self, name: bytes) -> None:
        """Map the file at `path` if its header names `name`."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            status = os.fstat(fd)
            identity = (status.st_dev, status.st_ino)
            if status.st_size < _HEADER_BYTES:
                return
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)  # holds its own descriptor
        except OSError:
            return
        finally:
            os.close(fd)
        if mapped[_NAME] != name:
            mapped.close()
            return
        self._map, self._mapped_file = mapped, identity

    # -- writing ----------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def resting(self) -> bool:
        """Whether the writer dropped the file lately and waits before building a new one."""
        return time.monotonic() < self._retry_at

    def catch_up(self, size: int, leaf0: bytes, tiles: TileSource) -> bool:
        """Before an append's transaction: copy into the file what it lacks of the tree of
        `size` leaves, committed (all of it for a new or foreign file), and claim it. False
        if the file could not be written and was dropped."""
        try:
            fd = self._writable(leaf0)
        except OSError as exc:
            return self._dropped(None, exc)
        try:
            valid = int.from_bytes(os.pread(fd, 8, _VALID.start), "little")
            if valid < size:
                self._copy_tiles(fd, valid, tiles)
                os.fsync(fd)
                os.pwrite(fd, size.to_bytes(8, "little"), _VALID.start)
        except OSError as exc:
            return self._dropped(fd, exc)
        os.close(fd)
        return True

    def prepare(self, old_size: int, leaf0: bytes, rows: TileRows, tiles: TileSource) -> bool:
        """Inside an append's transaction: make the file right up to `old_size`, the committed
        size, then write the nodes of the new tile `rows`. False if the file could not be
        written and was dropped; else `publish` or `abandon` follows."""
        try:
            fd = self._fd = self._writable(leaf0)
        except OSError as exc:
            return self._dropped(None, exc)
        try:
            valid = int.from_bytes(os.pread(fd, 8, _VALID.start), "little")
            if valid > old_size:  # the database went back: nodes past it may be of another history
                os.pwrite(fd, old_size.to_bytes(8, "little"), _VALID.start)
                os.fsync(fd)
            rows = [row for row in rows if 0 <= row[0] - self.base < NODE_FILE_LEVELS]
            if rows:
                spans = max((tile + 1) << (level - self.base) for level, tile, _ in rows)
                end = _HEADER_BYTES + spans * _BLOCK_BYTES
                if os.fstat(fd).st_size < end:
                    os.ftruncate(fd, -(-end // _GROWTH) * _GROWTH)
            if valid < old_size:  # another writer appended since `catch_up`
                self._copy_tiles(fd, valid, tiles)
            for level, tile_index, hashes in rows:
                self._write_tile(fd, level - self.base, tile_index, hashes)
        except OSError as exc:
            self._fd = None
            return self._dropped(fd, exc)
        return True

    def publish(self, new_size: int) -> None:
        """After COMMIT: sync the nodes `prepare` wrote, then claim them. A failure only
        leaves the file lagging (logged): the next append catches up."""
        fd, self._fd = self._fd, None
        assert fd is not None
        try:
            os.fsync(fd)
            os.pwrite(fd, new_size.to_bytes(8, "little"), _VALID.start)
        except OSError as exc:
            log.warning("cannot publish %s up to %d leaves: %s", self.path, new_size, exc)
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
            if header[_NAME] != self._magic + leaf0:
                return
            valid = int.from_bytes(header[_VALID], "little")
            for level in range(self.base, self.base + NODE_FILE_LEVELS):
                count = valid >> level  # the complete subtrees the file claims at this level
                for tile_index, hashes in tiles(level, 0):
                    first = tile_index << _SPAN_BITS
                    if first >= count:
                        break
                    wanted = hashes[: (count - first) * HASH_SIZE]
                    if self._read_tile(fd, level - self.base, tile_index, len(wanted)) != wanted:
                        yield level, tile_index
        finally:
            os.close(fd)

    def _dropped(self, fd: int | None, error: OSError) -> bool:
        """Give up a file that cannot be written: zero its `valid`, which readers that map
        it see at once, then unlink it (the next append starts a new one). Raises if its
        `valid` cannot be zeroed: the file might then claim nodes it does not hold."""
        log.warning("dropping %s, which cannot be written: %s", self.path, error)
        self._retry_at = time.monotonic() + _RETRY_SECONDS
        try:
            if fd is None:
                fd = os.open(self.path, os.O_RDWR)
            os.pwrite(fd, bytes(8), _VALID.start)
        except FileNotFoundError:
            return False
        finally:
            if fd is not None:
                os.close(fd)
        try:
            self.path.unlink()
        except OSError as exc:  # harmless now that it claims nothing
            log.warning("cannot remove %s: %s", self.path, exc)
        return False

    def _writable(self, leaf0: bytes) -> int:
        """A descriptor on the file at `path` naming `leaf0`; a missing or foreign file is
        replaced by a fresh one (valid 0)."""
        name = self._magic + leaf0
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            pass
        else:
            try:
                if os.pread(fd, len(name), 0) == name:
                    return fd
            except OSError:
                os.close(fd)
                raise
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

    def _copy_tiles(self, fd: int, valid: int, tiles: TileSource) -> None:
        """Write the stored tiles of the file's levels from those holding the nodes past
        `valid`."""
        for level in range(self.base, self.base + NODE_FILE_LEVELS):
            for tile_index, hashes in tiles(level, (valid >> level) >> _SPAN_BITS):
                self._write_tile(fd, level - self.base, tile_index, hashes)

    @staticmethod
    def _read_tile(fd: int, level: int, tile_index: int, length: int) -> bytes:
        """`length` bytes of a tile's hashes (`level` counted from the file's base),
        gathered from the blocks of its spans."""
        return b"".join(
            os.pread(fd, end - begin, offset)
            for offset, begin, end in _span_shares(level, tile_index, length)
        )

    @staticmethod
    def _write_tile(fd: int, level: int, tile_index: int, hashes: bytes) -> None:
        """Write a stored tile's hashes (`level` counted from the file's base) into the
        blocks of the spans it covers."""
        for offset, begin, end in _span_shares(level, tile_index, len(hashes)):
            os.pwrite(fd, hashes[begin:end], offset)


def _span_shares(level: int, tile_index: int, length: int) -> Iterator[tuple[int, int, int]]:
    """Where the first `length` bytes of a tile of `level` (counted from the file's base)
    lie: (file offset, begin, end in the tile) for each span's share of it."""
    share = HASH_SIZE << (_SPAN_BITS - level)
    first_span = tile_index << level
    for part, begin in enumerate(range(0, length, share)):
        offset = _HEADER_BYTES + (first_span + part) * _BLOCK_BYTES + _LEVEL_OFFSETS[level]
        yield offset, begin, min(begin + share, length)
