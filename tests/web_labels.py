"""What a reader sees of a web page, and the label keys it must not see there untranslated."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from api.web import i18n


class VisibleText(HTMLParser):
    """The text a reader sees: no script, no attributes, and no code (identifiers such as
    methodology ids and event types are protocol names, shown as they are)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.hidden += tag in ("script", "style", "code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style", "code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return words(" ".join(parser.parts))


# Keys a page could show raw: the catalogue's snake_case ones (never prose), the rating's
# field names and the refusal reasons.
RAW_KEYS = (
    {k for k in i18n.LABELS if "_" in k}
    | {k.removeprefix(i18n.RATING_PREFIX) for k in i18n.LABELS if k.startswith(i18n.RATING_PREFIX)}
    | set(i18n.REFUSALS)
)


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]+", text))
