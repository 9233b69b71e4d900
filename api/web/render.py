"""Jinja2 rendering of the web pages: one environment, the language and labels of the
request, and the switch link (which keeps the choice in a cookie)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.web import i18n
from registry.units import format_grams

TEMPLATES = Path(__file__).resolve().parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["grams"] = format_grams
environment.filters["thousands"] = lambda n: f"{int(n):,}"


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = i18n.language(request)
    other = "en" if lang == "zh-CN" else "zh-CN"
    query = dict(request.query_params) | {"lang": other}
    switch = request.url.path + "?" + urlencode(query)
    html = environment.get_template(template).render(
        lang=lang, t=i18n.labels(lang), switch_url=switch, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response
