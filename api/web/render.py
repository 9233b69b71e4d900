"""Jinja2 rendering of the web pages: one environment, the language and labels of the
request, and the switch link (which keeps the choice in a cookie)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.web import i18n
from registry.units import format_grams

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The pages run only this server's scripts (no inline script, no other origin), which also
# guards the session token /me keeps in sessionStorage; ECharts sets style attributes.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'self'"
)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,  # a label missing from i18n fails to render, never shows blank
)
environment.filters["grams"] = format_grams
environment.filters["thousands"] = lambda n: f"{int(n):,}"


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = i18n.language(request)
    other = "en" if lang == "zh-CN" else "zh-CN"
    query = dict(request.query_params) | {"lang": other}
    switch = request.url.path + "?" + urlencode(query)
    html = environment.get_template(template).render(
        lang=lang,
        t=i18n.labels(lang),
        captions=i18n.event_captions(lang),
        switch_url=switch,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": CSP})
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response
