"""Errors as RFC 9457 problem details: the one place where error codes meet HTTP statuses.

Every refusal, whether the registry's (`registry.errors`, with their stable `code`) or the
API's own (a missing operator key, an oversized body, a reused Idempotency-Key), leaves as
`application/problem+json`:

    {"type": "/v1/problems/<code>", "title": ..., "status": ..., "detail": ...,
     "instance": <request path>, "code": <code>, ...extensions}

`STATUS` maps each code to its status; `GET /v1/problems` lists them for integrators.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import anchoring.backup  # noqa: F401 - its error classes join PROBLEMS
import anchoring.bundle  # noqa: F401
import anchoring.worker  # noqa: F401
import bridge.watcher  # noqa: F401
import carbon_verifier.monitor  # noqa: F401 - and the light verifier's (bundle, tiles)
import carbon_verifier.rating  # noqa: F401
import carbon_verifier.verify  # noqa: F401
from registry.errors import CodedError

PROBLEM_MEDIA_TYPE = "application/problem+json"


# The API's own codes: refusals that happen before a request reaches the registry.
API_PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed_body": (400, "The body is not the JSON the route expects"),
    "invalid_idempotency_key": (400, "The Idempotency-Key header is malformed"),
    "idempotency_key_reused": (422, "The Idempotency-Key was used with another request"),
    "operator_key_required": (401, "This operator-only request needs a valid X-Operator-Key"),
    "session_required": (
        401,
        "This read returns personal data: sign in (POST /v1/sessions) and send"
        " Authorization: Bearer <token>, or the operator's X-Operator-Key",
    ),
    "session_invalid": (401, "The session token is malformed or was not issued by this service"),
    "session_expired": (401, "The session token has expired: sign in again"),
    "read_forbidden": (
        403,
        "The signed-in account may not read this: only the person, their household, the"
        " platform that sent the record and the operator may",
    ),
    "sign_in_wrong_audience": (401, "The sign-in message names another registry (audience)"),
    "sign_in_validity": (422, "The sign-in message's validity is not within 1 s to 1 hour"),
    "sign_in_not_yet_valid": (401, "The sign-in message is dated in the future (issuedAt)"),
    "sign_in_expired": (401, "The sign-in message has expired"),
    "sign_in_wrong_signer": (
        401,
        "The sign-in signature does not recover to the account: another key signed it, or it"
        " was signed in another EIP-712 domain",
    ),
    "sign_in_unknown_account": (401, "No account of this registry has this address"),
    "sign_in_malformed": (422, "The EIP-4361 sign-in message is not well formed"),
    "sign_in_nonce_used": (401, "The sign-in message's nonce was used already (replay)"),
    "path_mismatch": (422, "The signed message names another resource than the URL"),
    "not_found": (404, "No such resource"),
    "unknown_attestation": (404, "No such attestation"),
    "unknown_issuance_run": (404, "No such issuance run"),
    "unknown_activity_batch": (404, "No such activity batch"),
    "unknown_webhook": (404, "No such webhook subscription"),
    "webhook_target_refused": (422, "The webhook URL is not a public http(s) address"),
    "method_not_allowed": (405, "The resource does not support this method"),
    "body_too_large": (413, "The request body is larger than the service accepts"),
    "unsupported_media_type": (415, "The body must be application/json"),
    "rate_limited": (429, "Too many requests from this client; retry after Retry-After"),
    "unavailable": (503, "The service is starting, stopping or cannot write for a moment"),
    "no_token_contract": (404, "This service runs no token contract (anchoring is off)"),
    "no_anchored_checkpoint": (409, "No checkpoint is anchored yet: a statement needs one"),
    "statement_key_unavailable": (
        503,
        "The service holds no checkpoint signing key to sign score statements with",
    ),
    "internal_error": (500, "Unexpected error"),
}


def coded_errors() -> list[type[CodedError]]:
    """Every error class with a code, of every layer the API imports."""
    found: list[type[CodedError]] = []
    todo: list[type[CodedError]] = [CodedError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c is not CodedError]


# code -> (HTTP status, title): the error classes' own, then the API's.
PROBLEMS: dict[str, tuple[int, str]] = {
    **{cls.code: (cls.status, cls.title) for cls in coded_errors()},
    **API_PROBLEMS,
}

# A reference to a missing account or class inside a signed request is a problem with the
# request (422), while the same code for a URL is a missing resource (404).
_REFERENCE_CODES = {
    "unknown_account",
    "unknown_asset_class",
    "unknown_batch",
    "unknown_claim",
    "unknown_certificate",
    "unknown_offer",
}


class ApiError(Exception):
    """A refusal of the API layer itself, with a code of PROBLEMS."""

    def __init__(self, code: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        if code not in PROBLEMS:
            raise ValueError(f"unknown problem code {code}")
        self.code = code
        self.detail = detail
        self.extensions = extensions


# When a client whose request met a database busy or out of reach may try again.
TRANSIENT_RETRY_AFTER_S = 5


def problem(
    code: str, detail: str, instance: str | None = None, *, status: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The problem-details object of `code`."""
    default_status, title = PROBLEMS.get(code, PROBLEMS["registry_error"])
    body: dict[str, Any] = {
        "type": f"/v1/problems/{code}",
        "title": title,
        "status": status or default_status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body


def _registry_extensions(exc: CodedError) -> dict[str, Any]:
    """Machine-readable facts some registry errors carry (amounts, the recovered signer)."""
    names = ("expected", "recovered", "requested", "active", "signer", "nonce", "expiry", "now")
    return {name: getattr(exc, name) for name in names if hasattr(exc, name)}


def registry_problem(exc: CodedError, instance: str | None, *, write: bool) -> dict[str, Any]:
    """The problem for a refusal of the registry; `write` when a signed request caused it."""
    status = 422 if write and exc.code in _REFERENCE_CODES else exc.status
    return problem(exc.code, str(exc), instance, status=status, **_registry_extensions(exc))


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem as a response; one that says when to come back (`retry_after_s`) carries
    it as `Retry-After` too."""
    headers = dict(headers or {})
    if "retry_after_s" in body:
        headers["Retry-After"] = str(int(body["retry_after_s"]))
    return JSONResponse(
        body, status_code=int(body["status"]), media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _validation_detail(exc: RequestValidationError) -> tuple[str, str, list[dict[str, Any]]]:
    errors = []
    for error in exc.errors():
        errors.append(
            {
                "location": ".".join(str(part) for part in error.get("loc", ())),
                "message": str(error.get("msg", "")),
            }
        )
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return "malformed_body", "the body is not valid JSON", errors
    first = errors[0] if errors else {"location": "?", "message": "invalid"}
    return "invalid_request", f"{first['location']}: {first['message']}", errors


def install_handlers(app: FastAPI) -> None:
    """Register the exception handlers that turn every error into a problem response."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(problem(exc.code, exc.detail, request.url.path, **exc.extensions))

    @app.exception_handler(CodedError)
    async def coded_error(request: Request, exc: CodedError) -> JSONResponse:
        return problem_response(registry_problem(exc, request.url.path, write=False))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, detail, errors = _validation_detail(exc)
        return problem_response(problem(code, detail, request.url.path, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "malformed_body",  # Starlette's "error parsing the body" (huge numbers, say)
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "registry_error")
        body = problem(code, str(exc.detail), request.url.path, status=exc.status_code)
        return problem_response(body, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(sqlite3.OperationalError)
    async def unavailable(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        # The database is busy, failing or out of reach for a moment (a PostgreSQL restart):
        # the next request opens a new session (`PgConnection`), so the client retries.
        body = problem(
            "unavailable",
            "the registry database is not answering for a moment; retry later",
            request.url.path,
            status=503,
            retry_after_s=TRANSIENT_RETRY_AFTER_S,
        )
        return problem_response(body)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(problem("internal_error", type(exc).__name__, request.url.path))
