"""Token metadata that marketplaces read: ERC-1155 metadata per token id, ERC-7572
contract metadata, and an SVG image per asset class.

The token contract's `uri(id)` is `<public url>/v1/tokens/{id}`: wallets substitute `{id}`
with the token id as 64 lowercase hex digits, as ERC-1155 says. A token id is
`uint256(keccak256(asset class id))`, so the route finds the class among the registry's.
One token is one gram of CO2e (`decimals` 0): the figures below are grams.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api import examples as ex
from api.deps import ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from api.service import RegistryService
from registry.bridge import token_id

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses=problem_responses())

TokenHex = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", examples=["0" * 63 + "1"])]
UNIT = "1 token = 1 gram of CO2e reduced (1 tCO2e = 1,000,000 tokens)"


def _class_of(service: RegistryService, token_hex: str) -> dict[str, Any]:
    wanted = int(token_hex, 16)
    for row in service.reader().store.asset_classes():
        if token_id(row["id"]) == wanted:
            return row
    raise ApiError("not_found", f"no asset class has token id 0x{token_hex}")


@router.get(
    "/contract",
    summary="Contract-level metadata (ERC-7572 contractURI): name, description, image, link",
    responses=ex.ok({"name": "Carbon Registry credits", "symbol": "CRC", "image": "https://..."}),
)
def contract_metadata(service: ServiceDep) -> dict[str, Any]:
    base = service.settings.public_url.rstrip("/")
    return {
        "name": "Carbon Registry credits",
        "symbol": "CRC",
        "description": "Verified household carbon reductions (碳普惠) of the Carbon Registry,"
        f" one token per gram of CO2e, minted only with a proof of inclusion in the registry's"
        f" anchored log. Registry log: {service.log_id}.",
        "image": f"{base}/v1/tokens/contract/image.svg",
        "external_link": f"{base}/verify",
    }


SVG_RESPONSE: dict[int | str, Any] = {
    200: {"content": {"image/svg+xml": {"example": "<svg xmlns=...>...</svg>"}}}
}


@router.get(
    "/contract/image.svg",
    response_class=Response,
    summary="The contract's image (SVG)",
    responses=SVG_RESPONSE,
)
def contract_image() -> Response:
    return _svg("Carbon Registry", "碳普惠 · household reductions", "1 token = 1 g CO2e", "")


@router.get(
    "/{token_hex}",
    summary="ERC-1155 metadata of a token id (64 lowercase hex digits): class, unit, supply",
    responses=ex.ok({"name": ex.CLASS, "decimals": 0, "properties": {"asset_class": ex.CLASS}}),
)
def token_metadata(service: ServiceDep, token_hex: TokenHex) -> dict[str, Any]:
    row = _class_of(service, token_hex)
    store = service.reader().store
    supply = store.class_supply().get(row["id"], {})
    base = service.settings.public_url.rstrip("/")
    methodology = f"{base}/v1/methodologies/{row['methodology']}/{row['methodology_version']}"
    return {
        "name": f"{row['methodology']} {row['vintage']} ({row['region']})",
        "description": f"Carbon reductions of asset class {row['id']}: methodology"
        f" {row['methodology']} version {row['methodology_version']}, vintage {row['vintage']},"
        f" region {row['region']}. {UNIT}. Each token was minted with the proof that its"
        " grams are locked in the registry's anchored log.",
        "image": f"{base}/v1/tokens/{token_hex}/image.svg",
        "decimals": 0,
        "external_url": f"{base}/v1/asset-classes/{row['id']}",
        "properties": {
            "asset_class": row["id"],
            "methodology": row["methodology"],
            "methodology_version": row["methodology_version"],
            "methodology_url": methodology,
            "vintage": row["vintage"],
            "region": row["region"],
            "unit": UNIT,
            "token_id": str(int(token_hex, 16)),
            "supply_grams": {
                key: int(supply.get(key, 0))
                for key in ("issued", "active", "retired", "cancelled", "locked", "buffer")
            },
            "reserve": f"{base}/v1/reserve",
            "serial_ranges": f"{base}/v1/batches?asset_class={row['id']}",
            "registry_log": service.log_id,
        },
    }


@router.get(
    "/{token_hex}/image.svg",
    response_class=Response,
    summary="The asset class's image (SVG)",
    responses=SVG_RESPONSE,
)
def token_image(service: ServiceDep, token_hex: TokenHex) -> Response:
    row = _class_of(service, token_hex)
    return _svg(
        row["methodology"],
        f"vintage {row['vintage']} · region {row['region']}",
        f"methodology version {row['methodology_version']}",
        "1 token = 1 g CO2e",
    )


def _svg(title: str, line1: str, line2: str, line3: str) -> Response:
    e = html.escape
    body = f"""<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
<rect width="512" height="512" rx="48" fill="#1b5e20"/>
<circle cx="256" cy="170" r="90" fill="#a5d6a7"/>
<path d="M256 95 C200 150 200 220 256 250 C312 220 312 150 256 95 Z" fill="#2e7d32"/>
<text x="256" y="320" font-family="sans-serif" font-size="36" fill="#fff" text-anchor="middle">{e(title)}</text>
<text x="256" y="370" font-family="sans-serif" font-size="22" fill="#e8f5e9" text-anchor="middle">{e(line1)}</text>
<text x="256" y="405" font-family="sans-serif" font-size="20" fill="#e8f5e9" text-anchor="middle">{e(line2)}</text>
<text x="256" y="440" font-family="sans-serif" font-size="20" fill="#c8e6c9" text-anchor="middle">{e(line3)}</text>
</svg>
"""  # noqa: E501
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})
