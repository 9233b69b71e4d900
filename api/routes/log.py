"""The log in public as C2SP tlog-tiles: the signed checkpoint note, the hash tiles and the
entry bundles.

`GET /log/checkpoint` is the latest anchored checkpoint as a signed note
(`carbon_verifier.tiles`); `GET /log/tile/<L>/<N>[.p/<W>]` a tile of hashes;
`GET /log/tile/entries/<N>[.p/<W>]` the events of tile N (uint32-length-prefixed, see
`carbon_verifier.tiles.entry_bundle`). Tiles never change once served (a partial tile of
width W neither), so they are cacheable for a year; a mirror copies them as static files,
`carbon-registry monitor` follows the hash tiles and an exchange's reserve check reads the
entries. Events hold commitments, not personal data (docs/DATA-PROTECTION.md); they are
the same bodies `GET /v1/events` serves.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from carbon_verifier.merkle.hasher import HASH_SIZE
from carbon_verifier.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    LogFormatError,
    checkpoint_note,
    entry_bundle,
    parse_tile_index,
)

router = APIRouter(prefix="/log", tags=["public log"], responses=problem_responses())

IMMUTABLE = "public, max-age=31536000, immutable"


@router.get(
    "/checkpoint",
    response_class=Response,
    summary="The latest anchored checkpoint as a C2SP signed note (text/plain)",
    responses={200: {"content": {"text/plain": {"example": "carbon-registry.demo/log\n64\n"
               "KcF0...=\n1774000000\n\n\u2014 carbon-registry.demo/log AbCd...\n"}}}},
)  # fmt: skip
def checkpoint(service: ServiceDep) -> Response:
    latest = service.reader().checkpoints.latest_confirmed()
    if latest is None:
        raise ApiError("unknown_checkpoint", "no checkpoint is anchored yet")
    return Response(
        checkpoint_note(latest.signed),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get(
    "/tile/entries/{index:path}",
    response_class=Response,
    summary="The events of tile N (256, or W of a partial tile: .p/W), each prefixed by its"
    " length (big-endian uint32)",
    responses={200: {"content": {"application/octet-stream": {"example": "<len || event>..."}}}},
)
def entries(service: ServiceDep, index: str) -> Response:
    number, width = _tile_address(index)
    reader = service.reader()
    first = number * TILE_WIDTH
    if reader.tree.size < first + width:
        raise ApiError("not_found", f"entry bundle {index} is not complete yet")
    bodies = [body for _, _, _, body in reader.store.event_rows(first - 1, width)]
    return Response(
        entry_bundle(bodies),
        media_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE},
    )


def _tile_address(index: str) -> tuple[int, int]:
    """`<N>[.p/<W>]` -> (N, W); ApiError not_found for anything else."""
    path, _, partial = index.partition(".p/")
    try:
        number = parse_tile_index(path.split("/"))
    except LogFormatError as exc:
        raise ApiError("not_found", str(exc)) from exc
    width = TILE_WIDTH
    if partial:
        if (
            not (partial.isascii() and partial.isdigit())
            or not 0 < int(partial) < TILE_WIDTH
            or partial[0] == "0"
        ):
            raise ApiError("not_found", f"no partial tile of width {partial!r}")
        width = int(partial)
    return number, width


@router.get(
    "/tile/{level}/{index:path}",
    response_class=Response,
    summary="A tile of 256 hashes (or W of a partial tile: .p/W) at tile level L, index N",
    responses={200: {"content": {"application/octet-stream": {"example": "<32 x W bytes>"}}}},
)
def tile(service: ServiceDep, level: int, index: str) -> Response:
    number, width = _tile_address(index)
    if not 0 <= level <= 7:
        raise ApiError("not_found", f"no tile level {level}")
    stored = service.reader().tree.table.tile(level * TILE_HEIGHT, number) or b""
    if len(stored) < width * HASH_SIZE:
        raise ApiError("not_found", f"tile {level}/{index} is not complete yet")
    return Response(
        stored[: width * HASH_SIZE],
        media_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE},
    )
