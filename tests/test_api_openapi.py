"""The OpenAPI document: a summary and an example on every route, and schemathesis over it
(bounded examples): no 5xx, status codes, content types and bodies as documented."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from tests.api_world import OPERATOR, Client, MrvParties, settings_for
from tests.ledger_world import World

METHODS = ("get", "post", "put", "patch", "delete")
# Per operation: about 60 operations, under half a minute in all. `make fuzz` raises it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
STATEFUL_SEQUENCES = int(os.environ.get("FUZZ_STATEFUL_SEQUENCES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def live_app(module_store_url: str) -> Iterator[Any]:
    """An app over a registry with some of everything, its service running."""
    world = World.create(module_store_url)
    world.issue("alice", 50_000, "claim-1")
    world.transfer("alice", "bob", 5_000)
    world.retire("bob", 1_000)
    world.cancel("alice", 100)
    mrv = MrvParties(world)
    receipt = world.registry.execute(*mrv.submit("b-1", mrv.trips("carol", 2)))
    claims = [o["claim"] for o in receipt.effects["outcomes"] if "claim" in o]
    world.registry.execute(*mrv.attest(claims))
    world.registry.execute(*mrv.run())
    app = create_app(settings_for(world.store.path))
    with Client(app) as client:
        client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=OPERATOR)
        yield app


@pytest.fixture(scope="module")
def openapi(live_app: Any) -> dict[str, Any]:
    return dict(live_app.openapi())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def has_example(content: dict[str, Any]) -> bool:
    return any("example" in media or "examples" in media for media in content.values())


def test_every_route_has_a_summary_and_examples(openapi: dict[str, Any]) -> None:
    missing = []
    for path, method, operation in operations(openapi):
        name = f"{method.upper()} {path}"
        if not operation.get("summary"):
            missing.append(f"{name}: summary")
        success = [r for code, r in operation["responses"].items() if code.startswith("2")]
        if not success or not any(has_example(r.get("content", {})) for r in success):
            missing.append(f"{name}: response example")
        if "requestBody" in operation and not has_example(operation["requestBody"]["content"]):
            missing.append(f"{name}: request example")
    assert not missing, missing
    assert len(list(operations(openapi))) >= 50


def test_every_json_route_declares_its_response_model(openapi: dict[str, Any]) -> None:
    for path, method, operation in operations(openapi):
        for code, response in operation["responses"].items():
            content = response.get("content", {})
            if code.startswith("2") and "application/json" in content:
                assert "schema" in content["application/json"], f"{method} {path}"
            if not code.startswith("2"):
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path}"


WRITE_NOTHING = ("/v1/sessions", "/v1/accounts/{address}/rating/statements")


def test_writes_document_the_idempotency_key(openapi: dict[str, Any]) -> None:
    for path, method, operation in operations(openapi):
        # A sign-in and a score statement write nothing.
        if method == "post" and path not in WRITE_NOTHING:
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert "Idempotency-Key" in headers, path


def test_api_conforms_to_its_openapi(live_app: Any) -> None:
    """Schemathesis cases for every operation (schemathesis' pytest plugin does not run
    under pytest 9, so the strategies are driven with hypothesis directly)."""
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", live_app).exclude(
        path="/v1/events/stream"  # an endless text/event-stream; tested over a real socket
    )
    checked = 0
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @given(case=operation.as_strategy(), operator=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any, operator: bool) -> None:
            # Half the cases carry the operator key, so operator routes are fuzzed past 401.
            case.call_and_validate(headers=OPERATOR if operator else None, checks=CHECKS)

        conforms()
        checked += 1
    assert checked >= 50


def test_api_conforms_along_its_links(live_app: Any) -> None:
    """The stateful phase: sequences of calls (with the operator key) that follow the OpenAPI
    links from a write's receipt to its event and proof bundle. Random requests rarely carry
    a valid signature, so most sequences stop at the refusal; every step must still conform."""
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", live_app).exclude(
        path="/v1/events/stream"
    )
    machine = api_schema.as_state_machine()
    calls: list[str] = []

    class Machine(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": OPERATOR}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            calls.append(case.operation.path)
            case.validate_response(response, checks=CHECKS)

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_SEQUENCES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert len(calls) >= STATEFUL_SEQUENCES  # the machine ran, every step validated
