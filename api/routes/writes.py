"""Every signed write of the API, one route per request declaration (`registry.messages`).

`POST <route>` takes `{"message": {...}, "signature": "0x..."}` signed in the domain of
`GET /v1`; its body model, OpenAPI example and summary come from the declaration, so a new
request type needs no route code. A route with a path parameter (`/v1/accounts/{account}/
roles`) refuses a message that names another resource than the URL (422 path_mismatch).
Reads of the same resources live in their own modules.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from api import examples as ex
from api.deps import IdempotencyKey, OperatorOnly, ServiceDep
from api.errors import ApiError
from api.requests import REQUEST_MODELS, example_message
from api.routes import problem_responses
from api.schemas import Receipt
from api.service import RegistryService
from registry.eip712 import DOMAIN_TYPE
from registry.errors import CodedError
from registry.messages import MESSAGES, Message
from registry.messages.declaration import Default

router = APIRouter(responses=problem_responses())

_PATH_PARAMETER = re.compile(r"{(\w+)}")


def _tag(route: str) -> str:
    return route.split("/")[2]


def _description(message: Message) -> str:
    signer = (
        f"the key of `{message.signer}`"
        if message.signed_by_field
        else f"a key holding the {message.role} role"
    )
    operator = " It also needs the `X-Operator-Key` header." if message.operator_key else ""
    typed = {
        "types": {
            "EIP712Domain": DOMAIN_TYPE.eip712_types(),
            message.name: message.typed_data_types(),
        },
        "primaryType": message.name,
        "domain": {
            "name": "CarbonRegistry",
            "version": "1",
            "chainId": 131277322940537,
            "verifyingContract": ex.CONTRACT,
        },  # fmt: skip
        "message": {  # described defaults (the signer's address...) shown by an example
            f.name: f.kind.example if isinstance(f.default, Default) else f.default
            for f in message.all_fields
        },
    }
    return (
        f"{message.doc}\n\nSign the EIP-712 type `{message.name}` with {signer}, in the domain"
        f" and with the field order that [`GET /v1/eip712`](/v1/eip712) publishes"
        f" (`requests.{message.name}`). Send an `Idempotency-Key` to retry safely.{operator}"
        " A wrong signature is refused with `wrong_signer`, naming the `expected` and the"
        " `recovered` signer.\n\nThe `eth_signTypedData_v4` document a wallet signs, for the"
        f" example body:\n\n```json\n{json.dumps(typed, indent=1)}\n```"
    )


def _endpoint(message: Message) -> Any:
    names = _PATH_PARAMETER.findall(message.route)

    async def endpoint(
        request: Request,
        service: RegistryService,
        body: Any,
        idempotency_key: str | None = None,
        **path: str,
    ) -> JSONResponse:
        for name, value in path.items():
            named = str(body.message.model_dump(by_alias=True)[name])
            if named.lower() != value.lower():
                raise ApiError(
                    "path_mismatch", f"the message's {name} is {named}, the URL names {value}"
                )
        return await service.write(request.url.path, message.name, body, idempotency_key)

    example = ex.signed(example_message(message))
    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("service", inspect.Parameter.KEYWORD_ONLY, annotation=ServiceDep),
        inspect.Parameter(
            "body",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[REQUEST_MODELS[message.name], Body(openapi_examples=example)],
        ),
        inspect.Parameter(
            "idempotency_key",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=IdempotencyKey,
            default=None,
        ),
        *(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Path(max_length=80, description=f"The {name}.")],
            )
            for name in names
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = re.sub(r"(?<!^)(?=[A-Z])", "_", message.name).lower()
    return endpoint


# OpenAPI links: from a receipt to its event and its proof bundle (clients and schemathesis'
# stateful phase follow them).
RECEIPT_LINKS = {
    "GetEvent": {
        "operationId": "get_event",
        "parameters": {"seq": "$response.body#/seq"},
        "description": "The event this request appended to the log.",
    },
    "GetProof": {
        "operationId": "get_proof",
        "parameters": {"seq": "$response.body#/seq"},
        "description": "Its proof bundle (pending until anchored).",
    },
}


for _message in MESSAGES.values():
    if not _message.route:
        continue  # recorded from the chain by the operator, not sent by clients
    router.add_api_route(
        _message.route,
        _endpoint(_message),
        methods=["POST"],
        response_model=Receipt,
        status_code=201,
        tags=[_tag(_message.route)],
        summary=f"{_message.doc} [{_message.name}]",
        description=_description(_message),
        dependencies=[OperatorOnly] if _message.operator_key else [],
        responses={
            201: {
                **ex.ok({**ex.RECEIPT, "event_type": _message.event}, 201)[201],
                "links": RECEIPT_LINKS,
            }
        },
    )


class SignedWriteFastPath:
    """ASGI middleware: a signed write to a route above without path parameters or operator
    key (`POST /v1/transfers`...), with a JSON body its request model accepts, goes straight
    to `RegistryService.write` and gets the answer its route gives, without FastAPI's routing
    and dependency solving, which cost the server more CPU a transfer than the ledger's own
    work (issue 16: about 0.4 ms against 0.2-0.3). Anything else (other requests, bodies the model refuses,
    refusals before the writer) goes on to the app with the body replayed, whose route
    answers it. It sits inside the rate limit and the body guard."""

    def __init__(self, app: ASGIApp, service: RegistryService) -> None:
        self.app = app
        self.service = service
        self.kinds = {
            m.route: m.name
            for m in MESSAGES.values()
            if m.route and not _PATH_PARAMETER.search(m.route) and not m.operator_key
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            kind = self.kinds.get(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        content_type: bytes | None = None
        idempotency_key: bytes | None = None
        for name, value in scope["headers"]:  # the first of each, as FastAPI reads them
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"idempotency-key" and idempotency_key is None:
                idempotency_key = value
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        response = None
        if content_type in (None, b"application/json"):
            response = await self._write(scope["path"], kind, body, idempotency_key)
        if response is not None:
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> AsgiMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _write(
        self, path: str, kind: str, body: bytes, idempotency_key: bytes | None
    ) -> JSONResponse | None:
        """The route's answer, or None where the route should answer (nothing queued)."""
        try:
            request = REQUEST_MODELS[kind].model_validate(json.loads(body))
        except ValueError:  # not JSON, or refused by the model: the route's 422 says where
            return None
        key = None if idempotency_key is None else idempotency_key.decode("latin-1")
        try:
            return await self.service.write(path, kind, request, key)
        except (ApiError, CodedError):  # refused before the writer took it: the route says so
            return None
