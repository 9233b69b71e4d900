"""A persistent RFC 9162 Merkle log in SQLite.

Storage. The log keeps the hash of every complete subtree: at level h, the subtree at index
i covers leaves [i * 2**h, (i + 1) * 2**h) and exists once the log has that many leaves.
Level h is a run of hashes; it is cut into rows of `TILE_WIDTH` consecutive hashes
("tiles", one BLOB each) in table `merkle_tiles`; the last tile of a level is partial and
grows with appends. Tiles at levels 0, 8, 16, ... are exactly C2SP tlog-tiles (tile level
L is tree level 8L), so the log can later be served as static tiles. `merkle_state` holds
the tree size. The log touches only these two tables, through `registry.storage.merkle`.

Costs. Appending n leaves hashes about n nodes and writes about 2n * 32 bytes, in one
transaction. The root of any size up to the current one, an inclusion proof and a
consistency proof read O(log n) stored hashes (ephemeral nodes on the right border are
rebuilt from the complete subtrees under them, O(log n) each); tiles are cached in memory
once read.

Concurrency. The design has one writer, the anchoring worker. Stored hashes never change
once written and an append commits its tiles and the new size in one transaction, so
readers on other connections (the API) always see a whole tree; appends re-read the size
inside their BEGIN IMMEDIATE transaction, so even a second writer would not corrupt the
tree. A `MerkleLog`, like its sqlite3 connection, is for one thread.

Crash safety. An append is one SQLite transaction: after a crash the log has either all of
it or none of it. How durable a committed append is follows the connection's journal mode
and `synchronous` setting, which belong to whoever opens the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise

from anchoring.merkle.errors import StoreError
from carbon_verifier.merkle import proof
from carbon_verifier.merkle.errors import HashLengthError, IndexOutOfRangeError, SizeError
from carbon_verifier.merkle.hasher import HASH_SIZE, parent_hashes
from registry.storage.merkle import TileRow, TileTable, TileTableError

TILE_WIDTH = 256
"""Hashes per stored tile row, as in C2SP tlog-tiles."""

_TILE_BYTES = TILE_WIDTH * HASH_SIZE

_TileRow = TileRow


class MerkleLog:
    """An append-only Merkle log over leaf hashes, stored through `conn`.

    `conn` must not be inside a transaction when the log writes (at creation of its tables
    and in `append`): the log commits its own writes. `cache_tiles` bounds the tiles kept in
    memory (8 KiB each; the default holds a log of about two million leaves entirely).
    """

    def __init__(self, conn: sqlite3.Connection, *, cache_tiles: int = 16_384) -> None:
        if cache_tiles < 1:
            raise ValueError(f"cache_tiles must be at least 1, got {cache_tiles}")
        self._table = TileTable(conn)
        self._cache_tiles = cache_tiles
        self._tiles: dict[tuple[int, int], bytes] = {}
        # The log only grows, so a size once read bounds every later one from below: a
        # request within it needs no read of merkle_state.
        self._known_size = 0

    @property
    def size(self) -> int:
        """Number of leaves in the log, as last committed by any connection."""
        try:
            self._known_size = self._table.size()
        except TileTableError as exc:
            raise StoreError(str(exc)) from exc
        return self._known_size

    def append(self, leaf_hashes: Iterable[bytes]) -> int:
        """Append the leaves with these hashes, in order, and return the new tree size.

        Every hash must have HASH_SIZE bytes (else HashLengthError, and nothing is appended).
        All of the batch is committed in one transaction, or none of it.
        """
        hashes = leaf_hashes if isinstance(leaf_hashes, Sequence) else list(leaf_hashes)
        if set(map(len, hashes)) - {HASH_SIZE}:
            position, bad = next((i, h) for i, h in enumerate(hashes) if len(h) != HASH_SIZE)
            raise HashLengthError(f"leaf hash {position} of the batch", len(bad), HASH_SIZE)
        if not hashes:
            return self.size
        with self._transaction():
            old_size = self.size
            rows = self._grown_tiles(old_size, hashes)
            new_size = old_size + len(hashes)
            self._table.write(rows, new_size)
        for level, tile, blob in rows:
            self._remember(level, tile, blob)
        return new_size

    def leaf_hash(self, index: int) -> bytes:
        """Hash of leaf `index`. Requires 0 <= index < size."""
        if not 0 <= index < self._known_size and not 0 <= index < self.size:
            raise IndexOutOfRangeError(index, self._known_size)
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree of the first `size` leaves (default: all). Requires
        0 <= size <= the log size."""
        return proof.tree_root(self._checked_size(size), self._node)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Proof that leaf `index` is in the tree of `size` leaves, as RFC 9162 PATH.
        Requires 0 <= index < size <= the log size."""
        return proof.inclusion_proof(index, self._checked_size(size), self._node)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """Proof that the tree of `size1` leaves is a prefix of the tree of `size2` leaves,
        as RFC 9162 PROOF. Requires 0 <= size1 <= size2 <= the log size."""
        return proof.consistency_proof(size1, self._checked_size(size2), self._node)

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self._known_size and not 0 <= size <= self.size:
            raise SizeError(
                f"tree size {size} is not between 0 and the log size {self._known_size}"
            )
        return size

    def _grown_tiles(self, old_size: int, hashes: Sequence[bytes]) -> list[_TileRow]:
        """Tile rows to write when leaves with these hashes are appended to the tree of
        `old_size` leaves: level by level, the tiles that gain new complete subtrees.

        The work goes tile by tile: a pair of siblings never straddles two tiles, and small
        buffers are much cheaper than whole levels (no fresh memory to map per level).
        """
        rows: list[_TileRow] = []
        kept = old_size % TILE_WIDTH
        bounds = [0, *range(TILE_WIDTH - kept, len(hashes), TILE_WIDTH), len(hashes)]
        # parts[i]: the fresh hashes of the i-th tile touched at this level, the first part
        # starting at position `start` (after the hashes its tile already holds).
        parts = [b"".join(hashes[lo:hi]) for lo, hi in pairwise(bounds)]
        level, start = 0, old_size
        while parts:
            first_tile, kept = divmod(start, TILE_WIDTH)
            tiles = [self._tile(level, first_tile, kept)[: kept * HASH_SIZE] + parts[0]]
            tiles += parts[1:]
            rows += [(level, first_tile + i, tile) for i, tile in enumerate(tiles)]
            # A fresh hash at an odd position completes the pair its stored left sibling
            # began, so pairing starts at the even position at or before `start`.
            parents = [parent_hashes(tiles[0][(kept - start % 2) * HASH_SIZE :])]
            parents += [parent_hashes(tile) for tile in tiles[1:]]
            # Tiles 2t and 2t + 1 of this level feed tile t of the next one.
            parts = []
            for i, half in enumerate(parents):
                if (first_tile + i) % 2 == 0 or i == 0:
                    parts.append(half)
                else:
                    parts[-1] += half
            if not parts[-1]:
                parts.pop()
            level, start = level + 1, start // 2
        return rows

    def _node(self, level: int, index: int) -> bytes:
        """Hash of complete subtree (level, index); the caller knows it exists."""
        end = (index % TILE_WIDTH + 1) * HASH_SIZE
        tile = self._tiles.get((level, index // TILE_WIDTH))
        if tile is None or len(tile) < end:
            tile = self._tile(level, index // TILE_WIDTH, end // HASH_SIZE)
        return tile[end - HASH_SIZE : end]

    def _tile(self, level: int, tile_index: int, count: int) -> bytes:
        """Tile (level, tile_index) holding at least `count` hashes, from the cache or the
        database."""
        if count == 0:
            return b""
        tile = self._tiles.get((level, tile_index))
        if tile is not None and len(tile) >= count * HASH_SIZE:
            return tile
        stored = self._table.tile(level, tile_index)
        if stored is None or len(stored) < count * HASH_SIZE:
            raise StoreError(
                f"tile {tile_index} of level {level} lacks hashes that the tree size promises: "
                "the Merkle log tables were changed by something other than MerkleLog"
            )
        tile = stored
        self._remember(level, tile_index, tile)
        return tile

    def _remember(self, level: int, tile_index: int, tile: bytes) -> None:
        # First in, first out: no bookkeeping on hits, and a miss costs one indexed read.
        tiles = self._tiles
        key = (level, tile_index)
        if key not in tiles and len(tiles) >= self._cache_tiles:
            del tiles[next(iter(tiles))]
        tiles[key] = tile

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._table.transaction():
                yield
        except TileTableError as exc:
            raise StoreError(str(exc)) from exc

    @property
    def table(self) -> TileTable:
        """The stored tiles (audit compares them with the leaves)."""
        return self._table
