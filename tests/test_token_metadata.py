"""What exchanges and wallets read: the token's `uri(id)` resolves to ERC-1155 metadata
served by the API, with an image per asset class; contract metadata; CORS for browser dapps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.token import DEFAULT_PUBLIC_URL
from registry.bridge import token_id
from tests.anchoring_world import anchored_world
from tests.api_world import Client, api_client
from tests.bridge_world import Bridge
from tests.ledger_world import CLASS

# The ERC-1155 metadata JSON schema (eips.ethereum.org/EIPS/eip-1155#metadata), made strict
# about the fields the registry promises.
ERC1155_METADATA = {
    "title": "Token Metadata",
    "type": "object",
    "required": ["name", "decimals", "description", "image", "properties"],
    "properties": {
        "name": {"type": "string"},
        "decimals": {"type": "integer"},
        "description": {"type": "string"},
        "image": {"type": "string", "pattern": "^https?://"},
        "properties": {"type": "object"},
    },
}


@pytest.fixture
def bridged(tmp_path: Path) -> Iterator[tuple[Bridge, Client]]:
    world, chain = anchored_world(tmp_path / "r.db")
    world.issue("alice", 10_000)
    bridge = Bridge.start(world, chain)
    with api_client(world) as client:
        yield bridge, client
    world.store.close()


def local(url: str) -> str:
    assert url.startswith(DEFAULT_PUBLIC_URL), url
    return url[len(DEFAULT_PUBLIC_URL) :]


def test_the_token_uri_resolves_to_metadata_and_an_image(bridged: tuple[Bridge, Client]) -> None:
    bridge, client = bridged
    tid = token_id(CLASS)
    uri = bridge.token.contract.functions.uri(tid).call()
    assert uri.endswith("/v1/tokens/{id}")
    path = local(uri.replace("{id}", f"{tid:064x}"))  # as ERC-1155 tells wallets to
    metadata: dict[str, Any] = client.get(path).json()
    jsonschema.validate(metadata, ERC1155_METADATA)
    assert metadata["decimals"] == 0
    properties = metadata["properties"]
    assert properties["asset_class"] == CLASS and properties["token_id"] == str(tid)
    assert "1 gram of CO2e" in properties["unit"]
    assert properties["supply_grams"]["issued"] == 10_000
    image = client.get(local(metadata["image"]))
    assert image.headers["content-type"] == "image/svg+xml"
    assert image.text.startswith("<svg") and "SZ_TRANSIT" in image.text


def test_the_contract_metadata_resolves(bridged: tuple[Bridge, Client]) -> None:
    bridge, client = bridged
    contract_uri = bridge.token.contract.functions.contractURI().call()
    metadata = client.get(local(contract_uri)).json()
    assert metadata["name"] and metadata["symbol"] == "CRC"
    assert client.get(local(metadata["image"])).text.startswith("<svg")


def test_unknown_or_malformed_token_ids_are_refused(bridged: tuple[Bridge, Client]) -> None:
    _, client = bridged
    assert client.get("/v1/tokens/" + "0" * 64).json()["code"] == "not_found"
    assert client.get("/v1/tokens/" + "A" * 64).status_code == 422  # ERC-1155: lowercase hex


def test_only_configured_origins_may_call_the_api(tmp_path: Path) -> None:
    world, _ = anchored_world(tmp_path / "cors.db")
    with api_client(world, cors_origins=["https://dapp.example"]) as client:
        preflight = client.options(
            "/v1/transfers",
            headers={
                "Origin": "https://dapp.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,idempotency-key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://dapp.example"
        assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
        answer = client.get("/v1", headers={"Origin": "https://dapp.example"})
        assert answer.headers["access-control-allow-origin"] == "https://dapp.example"
        refused = client.options(
            "/v1/transfers",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        other = client.get("/v1", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    with api_client(world) as default:  # no other origin by default
        plain = default.get("/v1", headers={"Origin": "https://dapp.example"})
        assert "access-control-allow-origin" not in plain.headers
    world.store.close()
