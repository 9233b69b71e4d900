"""The log in public as C2SP tlog-tiles: the signed checkpoint note and the hash tiles.

`GET /log/checkpoint` is the latest anchored checkpoint as a signed note
(`carbon_verifier.tiles`); `GET /log/tile/<L>/<N>[.p/<W>]` a tile of hashes. Tiles never
change once served (a partial tile of width W neither), so they are cacheable for a year;
a mirror copies them as static files and `carbon-registry monitor` follows them. Only
hashes are served: no entry bundles (events), so nothing personal leaves through here.
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
    "/tile/{level}/{index:path}",
    response_class=Response,
    summary="A tile of 256 hashes (or W of a partial tile: .p/W) at tile level L, index N",
    responses={200: {"content": {"application/octet-stream": {"example": "<32 x W bytes>"}}}},
)
def tile(service: ServiceDep, level: int, index: str) -> Response:
    path, _, partial = index.partition(".p/")
    try:
        number = parse_tile_index(path.split("/"))
    except LogFormatError as exc:
        raise ApiError("not_found", str(exc)) from exc
    width = TILE_WIDTH
    if partial:
        if not partial.isdigit() or not 0 < int(partial) < TILE_WIDTH or partial[0] == "0":
            raise ApiError("not_found", f"no partial tile of width {partial!r}")
        width = int(partial)
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
