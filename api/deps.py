"""Dependencies of the routes (FastAPI `Annotated` style).

Dependencies here are `async`: they run on the event loop, not in a worker thread, so a
sync route that calls `service.reader()` gets the Reader of the thread it runs in. (So the
caller's identity is checked here without the database; `api.access` looks up roles and
households in the route's thread.)
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.service import RegistryService


async def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


ServiceDep = Annotated[RegistryService, Depends(get_service)]


def _operator_key_matches(service: RegistryService, given: str | None) -> bool:
    expected = service.settings.operator_api_key
    return (
        expected is not None
        and given is not None
        and hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
    )


async def require_operator_key(
    service: ServiceDep,
    x_operator_key: Annotated[
        str | None,
        Header(description="The operator API key; operator-only requests need it."),
    ] = None,
) -> None:
    """Operator-only requests carry the operator's EIP-712 signature AND this key."""
    if not _operator_key_matches(service, x_operator_key):
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


# -- who is reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who sent a read: the account of a valid session token (`account`), and whether the
    request carried the operator API key (`operator_key`); both may be absent."""

    account: str | None
    operator_key: bool

    @property
    def anonymous(self) -> bool:
        return self.account is None and not self.operator_key


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="session",
    description="A session token of POST /v1/sessions (sign in with an EIP-712 SignIn).",
)


async def get_caller(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_operator_key: Annotated[
        str | None,
        Header(description="The operator API key: the operator reads everything with it."),
    ] = None,
) -> Caller:
    """The caller of a read; a token or operator key that is given must be valid (401)."""
    if x_operator_key is not None and not _operator_key_matches(service, x_operator_key):
        raise ApiError("operator_key_required", "the X-Operator-Key header is not valid")
    account = None
    if credentials is not None:
        account = service.sessions.check(credentials.credentials).account
    return Caller(account, x_operator_key is not None)


async def require_caller(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """The caller of a personal read: anonymous callers are refused (401)."""
    if caller.anonymous:
        raise ApiError(
            "session_required",
            "this read returns personal data: sign in (POST /v1/sessions) and send"
            " Authorization: Bearer <token>",
        )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
SignedInDep = Annotated[Caller, Depends(require_caller)]
