"""The /v1 routers, one module per resource."""

from __future__ import annotations

from typing import Any

from api.schemas import Problem

_PROBLEM_STATUSES = {
    400: "Malformed body or header",
    401: "Bad or expired signature, or a missing operator key",
    403: "Signed by a key that may not do this",
    404: "No such resource",
    409: "The registry's state does not allow the request",
    413: "Body too large",
    422: "A field is invalid",
    503: "Service starting or stopping",
}


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """The problem responses every route documents (application/problem+json)."""
    return {
        status: {
            "model": Problem,
            "description": description,
            "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                }
            },
        }
        for status, description in _PROBLEM_STATUSES.items()
    }


def next_after(items: list[Any], limit: int, cursor: int) -> int | None:
    """The cursor of the next page, or None when this page is the last."""
    return cursor if len(items) == limit else None
