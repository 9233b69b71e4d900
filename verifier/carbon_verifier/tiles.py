"""The log in public: C2SP tlog-tiles paths, the signed checkpoint note, roots from tiles.

A tile at level L, index N holds up to 256 consecutive hashes of tree level 8L (level 0:
leaf hashes); it is full with 256, else partial with W and served as `tile/L/N.p/W`. N is
written in groups of three digits, all but the last prefixed with `x`
(`tile/0/x001/234`). Anyone holding the tiles of a tree of size n can compute the root of
every size up to n, so a mirror or a monitor needs nothing else. The entry bundles
(`tile/entries/N[.p/W]`) hold the events themselves, for whoever needs their contents (an
exchange checking the reserve): their leaf hashes must give the anchored root.

The checkpoint note (docs/spec.md, "Public log") is the C2SP checkpoint body (origin, size,
base64 root) plus one extension line, the checkpoint's timestamp, then a blank line and a
signature line `— <origin> <base64(key hash (4 bytes) || 65-byte signature)>`. The
signature is the operator's EIP-712 signature over `Checkpoint(logId, treeSize, rootHash,
timestamp)` in the registry's domain, so the same key and digest as in bundles and on
chain; key hash = SHA-256("carbon-registry/eip712-ecdsa\\n" || origin || "\\n" || the
signer's 20 address bytes)[:4].
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from carbon_verifier.checkpoint import Checkpoint, SignedCheckpoint
from carbon_verifier.crypto import Domain, recover_signer
from carbon_verifier.errors import CodedError
from carbon_verifier.merkle.hasher import EMPTY_ROOT, HASH_SIZE, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
KEY_HASH_CONTEXT = b"carbon-registry/eip712-ecdsa\n"

Fetch = Callable[[str], bytes]  # path below the log's URL -> body; raises on failure


class LogFormatError(CodedError, ValueError):
    """A checkpoint note or a tile is not in the public log's format."""

    code = "log_format"
    status = 422
    title = "The public log served something that is not a checkpoint or a tile"


class LogUnavailableError(CodedError):
    """The public log could not be fetched."""

    code = "log_unavailable"
    status = 503
    title = "The public log cannot be reached"


def http_fetch(base_url: str, timeout_s: float = 30.0) -> Fetch:
    """A Fetch over HTTP(S) below `base_url` (e.g. https://registry.example/log)."""
    base = base_url.rstrip("/")

    def fetch(path: str) -> bytes:
        try:
            with urllib.request.urlopen(f"{base}/{path}", timeout=timeout_s) as answer:  # noqa: S310
                return bytes(answer.read(64 * 1024 * 1024))
        except (urllib.error.URLError, OSError) as exc:
            raise LogUnavailableError(f"{base}/{path}: {exc}") from exc

    return fetch


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """`tile/entries/<N>[.p/<W>]`: the entry bundle of leaves [256 N, 256 N + W)."""
    return tile_path(0, index, width).replace("tile/0/", "tile/entries/", 1)


def entry_bundle(entries: list[bytes]) -> bytes:
    """An entry bundle: each entry prefixed by its length, a big-endian uint32 (C2SP
    tlog-tiles prefixes a uint16; an event may be longer than 64 KiB)."""
    return b"".join(len(e).to_bytes(4, "big") + e for e in entries)


def parse_entry_bundle(data: bytes, width: int) -> list[bytes]:
    """The `width` entries of an entry bundle; LogFormatError for anything else."""
    entries, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            raise LogFormatError("an entry bundle ends inside a length prefix")
        length = int.from_bytes(data[at : at + 4], "big")
        if at + 4 + length > len(data):
            raise LogFormatError("an entry bundle ends inside an entry")
        entries.append(data[at + 4 : at + 4 + length])
        at += 4 + length
    if len(entries) != width:
        raise LogFormatError(f"an entry bundle holds {len(entries)} entries, not {width}")
    return entries


def read_entries(fetch: Fetch, size: int) -> list[bytes]:
    """The first `size` entries of the log, from its entry bundles."""
    entries: list[bytes] = []
    for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        entries += parse_entry_bundle(fetch(entries_path(index, width)), width)
    return entries


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]` with N in x-prefixed groups of three digits."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = f"tile/{level}/" + "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def parse_tile_index(parts: list[str]) -> int:
    """N from its path groups (`["x001", "234"]` -> 1234); LogFormatError when malformed."""
    if not parts or any(len(p) != 4 or p[0] != "x" or not _digits(p[1:]) for p in parts[:-1]):
        raise LogFormatError(f"not a tile index: {'/'.join(parts)}")
    if len(parts[-1]) != 3 or not _digits(parts[-1]):
        raise LogFormatError(f"not a tile index: {'/'.join(parts)}")
    return int("".join(p.lstrip("x") for p in parts))


def key_hash(origin: str, signer: str) -> bytes:
    return hashlib.sha256(
        KEY_HASH_CONTEXT + origin.encode() + b"\n" + bytes.fromhex(signer[2:])
    ).digest()[:4]


def checkpoint_note(signed: SignedCheckpoint) -> str:
    """The signed note of a checkpoint, as served at `<log>/checkpoint`."""
    cp = signed.checkpoint
    body = f"{cp.text()}{cp.timestamp}\n"
    blob = key_hash(cp.log_id, signed.signer) + bytes.fromhex(signed.signature[2:])
    return f"{body}\n\u2014 {cp.log_id} {base64.b64encode(blob).decode('ascii')}\n"


def parse_note(note: str, domain: Domain) -> SignedCheckpoint:
    """The signed checkpoint of a note; LogFormatError unless it is well formed and its
    signature recovers to the key its key hash names."""
    body, sep, signatures = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) != 4:
        raise LogFormatError("a checkpoint note has origin, size, root, timestamp, signature")
    origin, size, root_b64, timestamp = lines
    if not _digits(size) or not _digits(timestamp) or (size != "0" and size[0] == "0"):
        raise LogFormatError("the note's size and timestamp must be decimal integers")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except ValueError as exc:
        raise LogFormatError("the note's root is not base64") from exc
    if len(root) != HASH_SIZE:
        raise LogFormatError("the note's root is not 32 bytes")
    checkpoint = Checkpoint(origin, int(size), root, int(timestamp))
    for line in signatures.splitlines():
        name, _, blob_b64 = line.removeprefix("\u2014 ").partition(" ")
        if not line.startswith("\u2014 ") or name != origin:
            continue
        try:
            blob = base64.b64decode(blob_b64, validate=True)
        except ValueError:
            continue
        if len(blob) != 4 + 65:
            continue
        signature = "0x" + blob[4:].hex()
        try:
            signer = recover_signer(checkpoint.digest(domain), signature)
        except ValueError:
            continue
        if key_hash(origin, signer) == blob[:4]:
            return SignedCheckpoint(checkpoint, signer, signature)
    raise LogFormatError(f"no valid signature of {origin} on the checkpoint note")


@dataclass
class TileReader:
    """Hashes of the tree from its tiles, fetched once each (for one tree size)."""

    fetch: Fetch
    size: int

    def __post_init__(self) -> None:
        self._tiles: dict[tuple[int, int], bytes] = {}

    def _tile(self, level: int, index: int) -> bytes:
        """Tile (level, index) as far as a tree of `size` leaves completes it."""
        key = (level, index)
        if key not in self._tiles:
            nodes = self.size >> (TILE_HEIGHT * level)  # complete nodes at tree level 8L
            width = min(TILE_WIDTH, nodes - index * TILE_WIDTH)
            if width <= 0:
                raise LogFormatError(f"tile {level}/{index} is beyond tree size {self.size}")
            data = self.fetch(tile_path(level, index, width))
            if len(data) != width * HASH_SIZE:
                raise LogFormatError(f"tile {tile_path(level, index, width)} has {len(data)} bytes")
            self._tiles[key] = data
        return self._tiles[key]

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves at `index`."""
        if level % TILE_HEIGHT == 0:
            tile = self._tile(level // TILE_HEIGHT, index // TILE_WIDTH)
            at = (index % TILE_WIDTH) * HASH_SIZE
            return tile[at : at + HASH_SIZE]
        return node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))

    def root(self, size: int) -> bytes:
        """RFC 9162 root of the first `size` leaves (size <= the reader's size)."""
        if not 0 <= size <= self.size:
            raise LogFormatError(f"tree size {size} is beyond the tiles' {self.size}")
        if size == 0:
            return EMPTY_ROOT
        subtrees, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):  # largest complete subtrees first
            if size & (1 << level):
                subtrees.append(self.node(level, start >> level))
                start += 1 << level
        root = subtrees[-1]
        for left in reversed(subtrees[:-1]):
            root = node_hash(left, root)
        return root
