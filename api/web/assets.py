"""Static files of the web pages: the site's own (api/web/static) and the vendored npm
packages the pages load (ECharts, Swagger UI), served from node_modules so that nothing
comes from a CDN; and /docs, the Swagger UI page over those local files.

Vendored files are a fixed list (no path from the request reaches the file system).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from api.errors import ApiError

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

VENDORED = {
    "echarts.min.js": NODE_MODULES / "echarts" / "dist" / "echarts.min.js",
    "swagger-ui-bundle.js": NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "swagger-ui.css": NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css",
}
OWN = {
    "site.css": "text/css",
    "me.js": "text/javascript",
    "wallet.js": "text/javascript",
    "merchants.js": "text/javascript",
    "merchant.js": "text/javascript",
    "community.js": "text/javascript",
}
MEDIA = {".js": "text/javascript", ".css": "text/css"}
CACHE = {"Cache-Control": "public, max-age=3600"}


@router.get("/static/{name}")
def own_asset(name: str) -> FileResponse:
    if name not in OWN:
        raise ApiError("not_found", f"no static file {name}")
    return FileResponse(STATIC / name, media_type=OWN[name], headers=CACHE)


@router.get("/vendor/{name}")
def vendored_asset(name: str) -> FileResponse:
    path = VENDORED.get(name)
    if path is None:
        raise ApiError("not_found", f"no vendored file {name}")
    if not path.is_file():
        raise ApiError("not_found", f"{path} is missing: run npm ci (make setup does)")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers=CACHE)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} · docs",
        swagger_js_url="/vendor/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
