"""A persistent RFC 9162 Merkle log in SQLite.

Storage. The log keeps the hash of every complete subtree: at level h, the subtree at index
i covers leaves [i * 2**h, (i + 1) * 2**h) and exists once the log has that many leaves.
Level h is a run of hashes; it is cut into rows of `TILE_WIDTH` consecutive hashes
("tiles", one BLOB each) in table `merkle_tiles`; the last tile of a level is partial and
grows with appends. Tiles at levels 0, 8, 16, ... are exactly C2SP tlog-tiles (tile level
L is tree level 8L), so the log can later be served as static tiles. `merkle_state` holds
the tree size. The log touches only these two tables, through `registry.storage.merkle`,
and, for a log in an SQLite file, copies of levels 0 to 7 beside it (`nodefile`).

Costs. Appending n leaves hashes about n nodes and writes about 2n * 32 bytes, in one
transaction. The root of any size up to the current one, an inclusion proof and a
consistency proof read O(log n) stored hashes (ephemeral nodes on the right border are
rebuilt from the complete subtrees under them, O(log n) each).

Memory. Two caches, both only ever holding hashes that are stored and committed (a stored
hash never changes, so a cached one is never stale; a cached partial tile is only too
short, and is read again when a node past its end is wanted):
- the upper levels, from `upper_level` up, are kept whole, tile by tile, read on first use
  and extended by appends. Levels from h up hold fewer than size / 2**(h-1) hashes, and
  `upper_cache_bytes` (64 MiB) bounds them: as the log grows, the lowest kept level is
  dropped, once per doubling: the whole tree is kept up to 2**20 leaves (64 MiB, read in
  about 0.1 s by the first proof), levels 1 up to 2**21, levels h up to 2**(20 + h)
  (levels 4 up hold 40 MB at 10^7 leaves; levels 7 up 50 MB at 10^8). A proof's node on a
  kept level is a slice of a kept tile, found without a check;
- the lower levels' tiles, first in first out, at most `cache_tiles` of 8 KiB (128 MiB).
  Once a log has more leaf tiles than a quarter of that, tiles of levels 1 to 3 would not
  stay cached: their nodes are rebuilt from the leaf tile under them (at most 7 hashes).
So an inclusion proof is memory lookups plus, for the tiles the cache misses, one SQLite
statement: at 10^7 leaves it reads the leaf tile alone, at 10^8 also levels 4 to 6. A third,
small cache keeps the ephemeral nodes of the sizes proofs were asked for (4,096 at most).
Once the leaf tiles outnumber a quarter of the tile cache (about 10^6 leaves), the writer
also keeps levels 0 to 3 and 4 to 7 in two node files (`nodefile`), which readers map into
memory: a proof then reads no SQLite at all, and a reader whose kept levels start at 8 (the
API's thread-pool readers) holds 2.5 MB at 10^7 leaves rather than 40.

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

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise

from anchoring.merkle.errors import StoreError
from anchoring.merkle.nodefile import NODE_FILE_BASES, NodeFile, node_file_path
from carbon_verifier.merkle import proof
from carbon_verifier.merkle.errors import HashLengthError, IndexOutOfRangeError, SizeError
from carbon_verifier.merkle.hasher import HASH_SIZE, parent_hashes
from registry.storage.connection import Connection
from registry.storage.merkle import TileRow, TileTable, TileTableError

TILE_WIDTH = 256
"""Hashes per stored tile row, as in C2SP tlog-tiles."""

_TILE_BITS = TILE_WIDTH.bit_length() - 1
_TILE_MASK = TILE_WIDTH - 1
_LEVELS = 64
"""RFC 9162 tree sizes are below 2**64, so levels are below 64."""
_REHASHED_LEVELS = 3
"""Levels rebuilt from the leaf tile when tiles of their own would not stay cached."""
_EPHEMERAL_NODES = 4_096
"""Bound of the cache of ephemeral nodes (a proof's right border: a few per tree size)."""

_TileRow = TileRow


def _missing_hashes(level: int, tile_index: int) -> StoreError:
    return StoreError(
        f"tile {tile_index} of level {level} lacks hashes that the tree size promises: "
        "the Merkle log tables were changed by something other than MerkleLog"
    )


class MerkleLog:
    """An append-only Merkle log over leaf hashes, stored through `conn`.

    `conn` must not be inside a transaction when the log writes (at creation of its tables
    and in `append`): the log commits its own writes. The levels from `upper_level` up are
    kept whole in memory while they fit in `upper_cache_bytes`; `cache_tiles` bounds the
    tiles of the lower levels kept in memory (8 KiB each); see the module docstring. All
    told the log holds at most about upper_cache_bytes + 8 KiB * cache_tiles (192 MiB).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        cache_tiles: int = 16_384,
        upper_level: int = 0,
        upper_cache_bytes: int = 64 << 20,
    ) -> None:
        if cache_tiles < 1:
            raise ValueError(f"cache_tiles must be at least 1, got {cache_tiles}")
        if not 0 <= upper_level < _LEVELS:
            raise ValueError(f"upper_level must be between 0 and {_LEVELS - 1}, got {upper_level}")
        self._table = TileTable(conn)
        # A file database's log keeps levels 0-7 in node files too (`nodefile`).
        database = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
        self._node_files = [
            NodeFile(path, base)
            for base in NODE_FILE_BASES
            if (path := node_file_path(database, base)) is not None
        ]
        self._cache_tiles = cache_tiles
        self._upper_level = upper_level
        self._upper_cache_bytes = upper_cache_bytes
        # _whole[level], from _upper_level up: the level's tiles 0, 1, ... as far as they
        # have been read or appended. Every complete subtree of the first _whole_size leaves
        # is in them, so a proof within that size takes its nodes without a check.
        self._whole: list[list[bytes]] = [[] for _ in range(_LEVELS)]
        self._whole_size = 0
        # _levels[level], below _upper_level: tile index -> the cached tiles, the oldest first
        # in _cached (one dict per level: no tuple key to build for a lookup).
        self._levels: list[dict[int, bytes]] = [{} for _ in range(_LEVELS)]
        self._cached: deque[tuple[int, int]] = deque()
        # Ephemeral nodes (begin, end) -> MTH of leaves [begin, end): the right border of
        # the sizes that proofs were asked for, rebuilt once rather than for every proof.
        self._ephemeral: dict[tuple[int, int], bytes] = {}
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
        self._bound_upper_levels()
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
        node_files = self._node_files_for_append(len(hashes))
        try:
            with self._transaction():
                old_size = self.size
                rows = self._grown_tiles(old_size, hashes)
                new_size = old_size + len(hashes)
                self._table.write(rows, new_size)
                leaf0 = self._node(0, 0) if old_size else hashes[0]
                tiles = self._table.tiles_of_level
                node_files = [f for f in node_files if f.prepare(old_size, leaf0, rows, tiles)]
        except BaseException as exc:
            for node_file in node_files:
                node_file.abandon()
            if isinstance(exc, OSError):  # a node file that could not even be dropped
                raise StoreError(f"cannot write a Merkle node file: {exc}") from exc
            raise
        for node_file in node_files:
            node_file.publish(new_size)
        # Only now, committed, may the rows serve reads.
        self._known_size = new_size
        for level, tile_index, tile in rows:
            if level < self._upper_level:
                self._remember(level, tile_index, tile)
                continue
            kept = self._whole[level]
            if tile_index < len(kept):
                kept[tile_index] = tile
            elif tile_index == len(kept):
                kept.append(tile)
            # Else another connection appended since the level was read: it is read again
            # when a node past its end is wanted.
        if self._whole_size == old_size:  # the rows hold every node the new leaves made
            self._whole_size = new_size
        self._bound_upper_levels()
        return new_size

    def keep_whole_tree(self) -> None:
        """Keep whole every level the memory bound allows (all of them up to 2**20 leaves),
        whatever `upper_level` the log was opened with, and read them now, as the first proof
        would (about 0.1 s at 2**20 leaves): a server calls it before answering, so that no
        request waits for it."""
        if self._upper_level > 0:
            for level in range(self._upper_level):
                self._levels[level] = {}
            self._cached.clear()
            self._upper_level = 0
            self._whole_size = 0  # the levels just kept are empty
            self._bound_upper_levels()
        self._keep_whole(self.size)

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
        size = self._checked_size(size)
        if not 0 <= index < size:
            raise IndexOutOfRangeError(index, size)
        return self._subtree_path(0, index, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """Proof that the tree of `size1` leaves is a prefix of the tree of `size2` leaves,
        as RFC 9162 PROOF. Requires 0 <= size1 <= size2 <= the log size."""
        size2 = self._checked_size(size2)
        if proof.consistency_proof_length(size1, size2) == 0:  # checks the sizes
            return []
        # As proof.consistency_proof: the inclusion path of the first tree's last complete
        # subtree, after that subtree unless it is the whole first tree.
        level = (size1 & -size1).bit_length() - 1
        index = (size1 - 1) >> level
        path = self._subtree_path(level, index, size2)
        return path if index == 0 else [self._node(level, index), *path]

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self._known_size and not 0 <= size <= self.size:
            raise SizeError(
                f"tree size {size} is not between 0 and the log size {self._known_size}"
            )
        return size

    def _subtree_path(self, level: int, index: int, size: int) -> list[bytes]:
        """proof's path of complete subtree (level, index) in the tree of `size` leaves, its
        stored hashes fetched together (as transparency-dev/merkle's proof.Nodes then
        Rehash). Requires (index + 1) * 2**level <= size.

        The path climbs one level a node, so its nodes below the kept levels come first:
        those are looked up in the tile cache (misses read in one statement), the rest are
        slices of the kept tiles."""
        inner = (index ^ ((size - 1) >> level)).bit_length()
        upper = self._upper_level
        if size > self._whole_size and not self._keep_whole(size):
            upper = _LEVELS  # a kept level lacks a tile: the lookups below name it
        if level >= upper:
            return self._kept_path(level, index, size, inner)
        nodes = [
            (height, (index >> (height - level)) ^ 1)
            for height in range(level, min(level + inner, upper))
        ]
        # Only the topmost inner sibling can end past the tree: then it is ephemeral.
        ephemeral = len(nodes) == inner > 0 and (nodes[-1][1] + 1) << nodes[-1][0] > size
        if ephemeral:
            height, sibling = nodes.pop()
        border, border_height = index >> inner, level + inner
        while border and border_height < upper:
            if border & 1:
                nodes.append((border_height, border ^ 1))
            border >>= 1
            border_height += 1
        path = self._nodes(nodes)
        if ephemeral:
            # Inner nodes come before border nodes: the ephemeral one goes between them.
            path.insert(inner - 1, self._ephemeral_node(sibling << height, size))
        if upper < _LEVELS:
            path += self._kept_path(
                upper, index >> (upper - level), size, max(0, level + inner - upper)
            )
        return path

    def _kept_path(self, level: int, index: int, size: int, inner: int) -> list[bytes]:
        """_subtree_path when every level it crosses is kept whole up to `size`: the same
        nodes in the same order, each a slice of a kept tile."""
        path: list[bytes] = []
        append, whole = path.append, self._whole
        # Locals, not module globals: this loop is most of a proof's time.
        tile_mask, tile_bits, hash_size = _TILE_MASK, _TILE_BITS, HASH_SIZE
        top = level + inner - 1  # the topmost inner sibling, the only one that may end past size
        if inner:
            for tiles in whole[level:top]:
                sibling = index ^ 1
                begin = (sibling & tile_mask) * hash_size
                append(tiles[sibling >> tile_bits][begin : begin + hash_size])
                index >>= 1
            sibling = index ^ 1
            if (sibling + 1) << top > size:
                append(self._ephemeral_node(sibling << top, size))
            else:
                begin = (sibling & tile_mask) * hash_size
                append(whole[top][sibling >> tile_bits][begin : begin + hash_size])
            index >>= 1
        height = top + 1  # above the inner levels: the left siblings of the right border
        while index:
            if index & 1:
                sibling = index ^ 1
                begin = (sibling & tile_mask) * hash_size
                append(whole[height][sibling >> tile_bits][begin : begin + hash_size])
            index >>= 1
            height += 1
        return path

    def _keep_whole(self, size: int) -> bool:
        """Read what the kept levels lack of the tree of `size` leaves (at most the log's
        size); True when they then hold all of its complete subtrees."""
        for level in range(self._upper_level, size.bit_length()):
            last = (size >> level) - 1  # the level's last complete subtree
            if not self._kept_holds(level, last):
                self._read_upper_level(level)
                if not self._kept_holds(level, last):
                    return False  # a tile is missing: the general path names it
        self._whole_size = size
        return True

    def _kept_holds(self, level: int, index: int) -> bool:
        kept = self._whole[level]
        tile_index = index >> _TILE_BITS
        return tile_index < len(kept) and len(kept[tile_index]) > (index & _TILE_MASK) * HASH_SIZE

    def _ephemeral_node(self, begin: int, end: int) -> bytes:
        cached = self._ephemeral.get((begin, end))
        if cached is None:
            if len(self._ephemeral) >= _EPHEMERAL_NODES:
                self._ephemeral.clear()
            cached = self._ephemeral[begin, end] = proof.range_root(begin, end, self._node)
        return cached

    def _nodes(self, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of these complete subtrees (level, index); the lower levels' tiles that
        the cache misses are read in one statement."""
        hashes: list[bytes] = []
        misses: list[int] = []
        levels, upper_level = self._levels, self._upper_level
        # Locals, not module globals: this loop runs for every node of every proof.
        append, tile_mask, tile_bits, hash_size = hashes.append, _TILE_MASK, _TILE_BITS, HASH_SIZE
        for level, index in nodes:
            begin = (index & tile_mask) * hash_size
            if level >= upper_level:
                append(self._node(level, index))
                continue
            tile = levels[level].get(index >> tile_bits)
            # A tile holds whole hashes: one that reaches past `begin` holds the node.
            if tile is not None and len(tile) > begin:
                append(tile[begin : begin + hash_size])
            else:
                misses.append(len(hashes))
                append(b"")
        if misses:
            self._read_misses(nodes, misses, hashes)
        return hashes

    def _read_misses(
        self, nodes: Sequence[tuple[int, int]], misses: list[int], hashes: list[bytes]
    ) -> None:
        """Fill hashes[i] for the nodes[i] that the caches miss, reading their tiles in one
        statement. In a log whose leaf tiles outnumber a quarter of the tile cache, the
        tiles of levels 1 to _REHASHED_LEVELS would not stay cached either: such a node is
        rebuilt from the leaf tile under it (at most 2**_REHASHED_LEVELS - 1 hashes)
        rather than read from a tile of its own, so a proof reads one tile below the levels
        kept whole, not four."""
        for node_file in self._node_files:
            misses = node_file.serve(nodes, misses, hashes, lambda: self._node(0, 0))
            if not misses:
                return
        rehash = self._too_large_for_cache(self._known_size)
        runs = []  # per miss: its source tile and the node's run of hashes in it
        needed: dict[tuple[int, int], int] = {}
        for i in misses:
            level, index = nodes[i]
            # A node of level h rebuilt from leaves covers 2**h of them.
            width = 1 << level if rehash and level <= _REHASHED_LEVELS else 1
            first = index * width
            key = (level if width == 1 else 0, first >> _TILE_BITS)
            begin = (first & _TILE_MASK) * HASH_SIZE
            end = begin + width * HASH_SIZE
            runs.append((key, begin, end))
            needed[key] = max(end, needed.get(key, 0))
        tiles = {}
        for key, end in needed.items():
            tile = self._levels[key[0]].get(key[1])
            if tile is not None and len(tile) >= end:
                tiles[key] = tile
        if len(tiles) < len(needed):
            tiles |= self._table.tiles(needed.keys() - tiles.keys())
        for i, (key, begin, end) in zip(misses, runs, strict=True):
            tile = tiles.get(key)
            if tile is None or len(tile) < end:
                raise _missing_hashes(*key)
            self._remember(*key, tile)
            run = tile[begin:end]
            while len(run) > HASH_SIZE:
                run = parent_hashes(run)
            hashes[i] = run

    def _node_files_for_append(self, appended: int) -> list[NodeFile]:
        """The node files an append of `appended` leaves keeps, brought up to the committed
        size (outside the append's transaction: stored tiles never change): none while the
        log is not in a file, or its tile cache still holds it and it has no node file."""
        if not self._node_files:
            return []
        size = self.size
        large = self._too_large_for_cache(size + appended)
        tiles = self._table.tiles_of_level
        kept = []
        for node_file in self._node_files:
            if node_file.resting() or not large and not node_file.exists():
                continue
            try:
                if size and not node_file.catch_up(size, self._node(0, 0), tiles):
                    continue
            except OSError as exc:
                raise StoreError(f"cannot write {node_file.path}: {exc}") from exc
            kept.append(node_file)
        return kept

    def _too_large_for_cache(self, size: int) -> bool:
        """Whether the log's leaf tiles outnumber a quarter of the tile cache, so that the
        tiles of levels 1 to _REHASHED_LEVELS would not stay cached either."""
        return size >> _TILE_BITS > self._cache_tiles // 4

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
        end = ((index & _TILE_MASK) + 1) * HASH_SIZE
        return self._tile(level, index >> _TILE_BITS, end // HASH_SIZE)[end - HASH_SIZE : end]

    def _tile(self, level: int, tile_index: int, count: int) -> bytes:
        """Tile (level, tile_index) holding at least `count` hashes, from memory or the
        database."""
        if count == 0:
            return b""
        if level >= self._upper_level:
            last = (tile_index << _TILE_BITS) + count - 1
            if not self._kept_holds(level, last):
                self._read_upper_level(level)
                if not self._kept_holds(level, last):
                    raise _missing_hashes(level, tile_index)
            return self._whole[level][tile_index]
        tile = self._levels[level].get(tile_index)
        if tile is not None and len(tile) >= count * HASH_SIZE:
            return tile
        stored = self._table.tile(level, tile_index)
        if stored is None or len(stored) < count * HASH_SIZE:
            raise _missing_hashes(level, tile_index)
        self._remember(level, tile_index, stored)
        return stored

    def _read_upper_level(self, level: int) -> None:
        """Read what the kept tiles of `level` lack: its last kept tile, which may have
        grown, and every tile after it."""
        kept = self._whole[level]
        for tile_index, tile in list(self._table.tiles_of_level(level, start=len(kept) - 1)):
            if tile_index < len(kept):
                kept[tile_index] = tile
            elif tile_index == len(kept):
                kept.append(tile)
            else:
                break  # a tile is missing: the caller reports the hashes it lacks

    def _bound_upper_levels(self) -> None:
        # Levels from h up hold fewer than size / 2**(h-1) hashes: when that passes the
        # bound, the lowest kept level goes to the tile cache.
        while (self._known_size << 1 >> self._upper_level) * HASH_SIZE > self._upper_cache_bytes:
            if self._upper_level == _LEVELS - 1:
                break
            self._whole[self._upper_level] = []
            self._upper_level += 1

    def _remember(self, level: int, tile_index: int, tile: bytes) -> None:
        # First in, first out: no bookkeeping on hits, and a miss costs one indexed read.
        tiles = self._levels[level]
        if tile_index not in tiles:
            if len(self._cached) >= self._cache_tiles:
                oldest_level, oldest_tile = self._cached.popleft()
                del self._levels[oldest_level][oldest_tile]
            self._cached.append((level, tile_index))
        tiles[tile_index] = tile

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._table.transaction():
                yield
        except TileTableError as exc:
            raise StoreError(str(exc)) from exc

    def node_file_differences(self) -> list[tuple[int, int]]:
        """(level, tile) of the stored tiles that the node files, as far as they claim to
        hold them, hold otherwise (audit); empty without node files."""
        if not self.size:
            return []
        differences: list[tuple[int, int]] = []
        for node_file in self._node_files:
            try:
                differences += node_file.differences(self._node(0, 0), self._table.tiles_of_level)
            except OSError as exc:
                raise StoreError(f"cannot read {node_file.path}: {exc}") from exc
        return differences

    @property
    def table(self) -> TileTable:
        """The stored tiles (audit compares them with the leaves)."""
        return self._table
