"""Webhook subscriptions (operator key): signed pushes of logged events, with retries."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse

from api import examples as ex
from api.deps import IdempotencyKey, Limit, OperatorOnly, ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from api.schemas import Webhook, WebhookCreate, WebhookCreated, WebhookDelivery
from api.service import RegistryService, request_hash
from api.webhooks import TargetRefusedError, check_target
from registry.storage.service import StoredResponse
from registry.storage.service import Webhook as StoredWebhook

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    dependencies=[OperatorOnly],
    responses=problem_responses(),
)

HookId = Annotated[int, Path(ge=1, le=2**53 - 1)]
WEBHOOK = {
    "id": 1,
    "url": "https://exchange.example/hooks/registry",
    "event_types": ["CreditsRetired", "CreditsTransferred"],
    "active": True,
    "cursor": 42,
    "created_at": 1_795_000_000.0,
}


def webhook_model(hook: StoredWebhook) -> Webhook:
    return Webhook(
        id=hook.id,
        url=hook.url,
        event_types=list(hook.event_types),
        active=hook.active,
        cursor=hook.cursor,
        created_at=hook.created_at,
    )


def _hook(service: RegistryService, webhook_id: int) -> StoredWebhook:
    hook = service.reader().webhooks.get(webhook_id)
    if hook is None:
        raise ApiError("unknown_webhook", f"no webhook subscription {webhook_id}")
    return hook


@router.get(
    "",
    response_model=list[Webhook],
    summary="Webhook subscriptions",
    responses=ex.ok([WEBHOOK]),
)
def list_webhooks(service: ServiceDep) -> list[Webhook]:
    return [webhook_model(h) for h in service.reader().webhooks.all()]


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=201,
    summary="Subscribe a URL to events; the response holds its HMAC secret (shown once)",
    responses=ex.ok({**WEBHOOK, "secret": "9f" * 32}, 201),
)
def create_webhook(
    request: Request,
    service: ServiceDep,
    body: Annotated[
        WebhookCreate,
        Body(
            openapi_examples={
                "default": {
                    "summary": "Retirements and transfers",
                    "value": {
                        "url": "https://exchange.example/hooks/registry",
                        "event_types": ["CreditsRetired", "CreditsTransferred"],
                    },
                }
            }
        ),
    ],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    service.check_idempotency_key(idempotency_key)
    try:
        check_target(body.url, service.settings.webhook_networks())
    except TargetRefusedError as exc:
        raise ApiError("webhook_target_refused", str(exc)) from exc
    reader = service.reader()
    digest = request_hash("POST", request.url.path, body.model_dump())
    with reader.store.write():
        stored = reader.idempotency.get(idempotency_key) if idempotency_key else None
        if stored is None:
            cursor = reader.store.event_count() - 1 if body.from_seq is None else body.from_seq
            hook_id = reader.webhooks.create(
                body.url, secrets.token_hex(32), body.event_types, cursor, time.time()
            )
            hook = reader.webhooks.get(hook_id)
            assert hook is not None
            created = WebhookCreated(**webhook_model(hook).model_dump(), secret=hook.secret)
            stored = StoredResponse(digest, 201, created.model_dump())
            if idempotency_key:
                reader.idempotency.put(idempotency_key, stored, time.time())
            return JSONResponse(stored.body, status_code=201)
    if stored.request_hash != digest:
        raise ApiError(
            "idempotency_key_reused",
            f"Idempotency-Key {idempotency_key!r} was first used with another request body",
        )
    return JSONResponse(
        stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
    )


@router.get(
    "/{webhook_id}",
    response_model=Webhook,
    summary="One webhook subscription and its delivery cursor",
    responses=ex.ok(WEBHOOK),
)
def get_webhook(service: ServiceDep, webhook_id: HookId) -> Webhook:
    return webhook_model(_hook(service, webhook_id))


@router.delete(
    "/{webhook_id}",
    response_model=Webhook,
    summary="Stop a webhook subscription",
    responses=ex.ok({**WEBHOOK, "active": False}),
)
def delete_webhook(service: ServiceDep, webhook_id: HookId) -> Webhook:
    _hook(service, webhook_id)
    reader = service.reader()
    reader.webhooks.deactivate(webhook_id)
    return webhook_model(_hook(service, webhook_id))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[WebhookDelivery],
    summary="Recent delivery attempts of a subscription, newest first",
    responses=ex.ok(
        [
            {
                "seq": 43,
                "attempt": 1,
                "status_code": 200,
                "error": None,
                "outcome": "delivered",
                "time": 1_795_000_001.2,
            }
        ]
    ),
)
def list_deliveries(
    service: ServiceDep, webhook_id: HookId, limit: Limit = 100
) -> list[WebhookDelivery]:
    _hook(service, webhook_id)
    return [WebhookDelivery(**d) for d in service.reader().webhooks.deliveries(webhook_id, limit)]
