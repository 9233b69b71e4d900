"""Dependencies of the routes (FastAPI `Annotated` style).

Dependencies here are `async`: they run on the event loop, not in a worker thread, so a
sync route that calls `service.reader()` gets the Reader of the thread it runs in.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from api.errors import ApiError
from api.service import RegistryService


async def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


ServiceDep = Annotated[RegistryService, Depends(get_service)]


async def require_operator_key(
    service: ServiceDep,
    x_operator_key: Annotated[
        str | None,
        Header(description="The operator API key; operator-only requests need it."),
    ] = None,
) -> None:
    """Operator-only requests carry the operator's EIP-712 signature AND this key."""
    expected = service.settings.operator_api_key
    if (
        expected is None
        or x_operator_key is None
        or not hmac.compare_digest(x_operator_key.encode(), expected.get_secret_value().encode())
    ):
        raise ApiError("operator_key_required", "a valid X-Operator-Key header is required")


OperatorOnly = Depends(require_operator_key)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe key: the same key and body get the first response back, "
        "with no second effect; the same key with another body is refused (422).",
    ),
]

After = Annotated[
    int,
    Query(ge=-1, le=2**53 - 1, description="Cursor: items after this one (-1: from the start)."),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items.")]
