"""One declaration per signed request, and every layer agrees with it.

For every request type of `registry.messages`: the EIP-712 types `GET /v1/eip712`
publishes, the API's OpenAPI body schema, the Python client's signature (recovered by
eth_account, an EIP-712 implementation that is not ours, from the published types alone)
and the command line's options all follow the one declaration, field for field, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient

from api import examples as ex
from api.client import RegistryClient
from api.main import create_app
from carbon_registry.cli import cli
from carbon_registry.cli.writes import COMMANDS
from registry import messages
from registry.commitments import NO_COMMITMENT, commit_text
from registry.messages import MESSAGES, Message
from registry.signing import Signer
from tests.api_world import OPERATOR, MrvParties, api_client, loopback_server, settings_for
from tests.ledger_world import CLASS, World
from tests.wallet_signing import sign_with_wallets


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    world = World.create(tmp_path_factory.mktemp("declarations") / "r.db")
    with api_client(world) as client:
        yield client
    world.store.close()


ATTACHED_EXAMPLES = {"records": [ex.RECORD], "claims": ["C42-7"]}


def field_names(message: Message) -> list[str]:
    return [f.name for f in message.all_fields]


def example_request(message: Message, signer: Signer) -> dict[str, Any]:
    fields = {f.name: f.kind.example for f in message.fields}
    if message.signed_by_field:
        fields[message.signed_by_field] = signer.address
    if message.attached is not None:
        items = message.attached.normalise(ATTACHED_EXAMPLES[message.attached.name])
        fields[message.attached.name] = items
        fields[message.attached.count_field] = len(items)
        fields[message.attached.hash_field] = message.attached.digest(items)
    return fields


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_published_types_follow_the_declaration(served: TestClient, name: str) -> None:
    published = served.get("/v1/eip712").json()
    message = MESSAGES[name]
    assert [f["name"] for f in published["types"][name]] == field_names(message)
    assert [f["type"] for f in published["types"][name]] == [
        f.kind.sol_type for f in message.all_fields
    ]
    described = published["requests"][name]
    assert described["route"] == message.route and described["signer"] == message.signer
    assert [f["name"] for f in described["fields"]] == field_names(message)


@pytest.mark.parametrize("name", sorted(n for n, m in MESSAGES.items() if m.route))
def test_the_api_body_schema_follows_the_declaration(served: TestClient, name: str) -> None:
    message = MESSAGES[name]
    openapi = served.get("/openapi.json").json()
    body = openapi["paths"][message.route]["post"]["requestBody"]["content"]["application/json"]
    schema = resolve(openapi, body["schema"])
    fields = resolve(openapi, schema["properties"]["message"])["properties"]
    attached = [message.attached.name] if message.attached else []
    assert list(fields) == field_names(message) + attached


def resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_a_client_signature_recovers_from_the_published_types(
    served: TestClient, name: str
) -> None:
    published = served.get("/v1/eip712").json()
    signer = Signer.generate()
    # the client reads the domain from the in-process app, as it would over the network
    with RegistryClient("http://testserver", transport=served._transport) as client:
        body = client.signed(signer, name, **example_request(MESSAGES[name], signer))
    message = MESSAGES[name].normalise(body["message"])
    signed = {k: v for k, v in message.items() if k in field_names(MESSAGES[name])}
    typed = {
        "domain": published["domain"],
        "types": {
            "EIP712Domain": published["types"]["EIP712Domain"],
            name: published["types"][name],
        },
        "primaryType": name,
        "message": signed,
    }
    recovered = Account.recover_message(
        encode_typed_data(full_message=typed), signature=body["signature"]
    )
    assert recovered == signer.address


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_line_options_follow_the_declaration(name: str, tmp_path: Path) -> None:
    group, command_name = COMMANDS[name]
    command = group.commands[command_name]
    assert isinstance(command, click.Command) and cli is not None
    offered = {opt for p in command.params for opt in getattr(p, "opts", [])}
    arguments = {p.name for p in command.params if isinstance(p, click.Argument)}
    for f in MESSAGES[name].fields:
        if f.from_signer:
            continue
        assert (
            f.option in offered
            or f.option.lstrip("-").replace("-", "_") in arguments
            or (f.cli == "" and any(a for a in arguments))
        ), f"{name}.{f.name}: no {f.option} on `{command_name}`"


def test_ethers_and_viem_sign_every_request_as_the_client_does(served: TestClient) -> None:
    """A wallet (ethers v6, viem) given only `GET /v1/eip712` signs every request type
    byte for byte as the registry's own client does (RFC 6979 signatures are deterministic),
    so what a wallet signs the registry accepts as the client's."""
    published = served.get("/v1/eip712").json()
    signer = Signer.generate()
    requests, ours = [], []
    with RegistryClient("http://testserver", transport=served._transport) as client:
        for name, message in sorted(MESSAGES.items()):
            body = client.signed(signer, name, **example_request(message, signer))
            signed = {k: v for k, v in body["message"].items() if k in field_names(message)}
            requests.append({"primaryType": name, "message": signed})
            ours.append(body["signature"])
    wallets = sign_with_wallets(published, signer, requests)
    for name, mine, theirs in zip(sorted(MESSAGES), ours, wallets, strict=True):
        assert theirs["ethers"] == mine, name
        assert theirs["viem"] == mine, name


def test_every_write_type_signed_by_ethers_is_accepted(tmp_path: Path) -> None:
    """Each request type the API takes, signed by an ethers wallet from `GET /v1/eip712`
    alone and POSTed as a browser dapp would, is accepted (201). ReleaseLock needs a lock
    past its mint deadline (tests/test_lock_expiry.py signs it); the Record* requests are
    recorded from the chain by the operator, not sent to the API."""
    world = World.create(tmp_path / "r.db")
    world.open("carol", kind="company")
    mrv = MrvParties(world)
    accepted: set[str] = set()
    with api_client(world) as client:
        published = client.get("/v1/eip712").json()

        def send(
            signer: Signer, request: str, /, private: dict[str, Any] | None = None, **fields: Any
        ) -> dict[str, Any]:
            _, message, _ = signer.request(world.registry.domain, request, **fields)
            names = field_names(MESSAGES[request])
            signed = {k: v for k, v in message.items() if k in names}
            (signature,) = [w["ethers"] for w in sign_with_wallets(
                published, signer, [{"primaryType": request, "message": signed}])]  # fmt: skip
            route = published["requests"][request]["route"].format(**message)
            headers = OPERATOR if published["requests"][request]["operator_key"] else {}
            answer = client.post(route, json={"message": message, "signature": signature,
                                              **(private or {})}, headers=headers)  # fmt: skip
            assert answer.status_code == 201, (request, answer.json())
            accepted.add(request)
            return dict(answer.json())

        op, alice, bob = world.operator, world.people["alice"], world.people["bob"]
        dave = Signer.generate()
        send(op, "OpenAccount", account=dave.address, kind="household", name="",
             nameCommitment="0x" + "00" * 32, householdCommitment=NO_COMMITMENT)  # fmt: skip
        send(op, "GrantRole", account=dave.address, role="exchange")
        send(op, "RevokeRole", account=dave.address, role="exchange")
        send(op, "RegisterAssetClass", methodology="BJ_METRO", methodologyVersion="2.0",
             vintage=2026, region="110000")  # fmt: skip
        send(op, "Issue", to=alice.address, assetClass=CLASS, amount=10_000, claimId="c-1")
        send(alice, "Transfer", **{"from": alice.address}, to=bob.address, assetClass=CLASS,
             batchNo=0, amount=1_000)  # fmt: skip
        send(bob, "Retire", owner=bob.address, assetClass=CLASS, batchNo=0, amount=100,
             beneficiaryCommitment="0x" + "00" * 32, beneficiary=bob.address,
             reason="commute", jurisdiction="CN-GD")  # fmt: skip
        send(alice, "Lock", owner=alice.address, assetClass=CLASS, batchNo=0, amount=100,
             recipient=dave.address)  # fmt: skip
        send(op, "Cancel", holder=alice.address, assetClass=CLASS, batchNo=0, amount=10,
             reason="issued twice", evidenceHash="0x" + "ab" * 32)  # fmt: skip
        batch, details = messages.activity_batch(mrv.platform.address, "b-1", mrv.trips("alice", 2))
        receipt = send(mrv.platform, "SubmitActivities", {"details": details}, **batch)
        claims = [o["claim"] for o in receipt["effects"]["outcomes"] if "claim" in o]
        send(mrv.verifier, "AttestClaims", **messages.attestation(
            mrv.verifier.address, "att-1", claims, True, ""))  # fmt: skip
        send(op, "RunIssuance", runId="run-1", bufferPool=mrv.pool.address,
             bufferBasisPoints=500, creditsTo="account")  # fmt: skip
        send(op, "ReverseClaim", claimId=claims[0], reason="trip reported twice",
             evidenceHash="0x" + "cd" * 32)  # fmt: skip
        cafe, estate = world.open("cafe", kind="merchant"), world.open("estate", kind="community")
        send(cafe, "PublishOffer", merchant=cafe.address, offerId="coffee",
             title="咖啡券 coffee voucher", grams=500, validUntil=0)  # fmt: skip
        send(alice, "RedeemOffer", owner=alice.address, merchant=cafe.address, offerId="coffee",
             assetClass=CLASS, batchNo=0, mode="retire")  # fmt: skip
        send(cafe, "WithdrawOffer", merchant=cafe.address, offerId="coffee")
        salt, committed = commit_text("绿色狐狸")
        send(alice, "JoinCommunity", {"pseudonym": {"value": "绿色狐狸", "salt": salt.hex()}},
             member=alice.address, community=estate.address, leaderboard=True,
             pseudonymCommitment=committed)  # fmt: skip
        send(alice, "LeaveCommunity", member=alice.address, community=estate.address)
    routed = {n for n, m in MESSAGES.items() if m.route} - {"ReleaseLock"}
    assert accepted == routed, routed - accepted
    world.store.close()


def test_the_javascript_client_sends_from_the_published_types(tmp_path: Path) -> None:
    """verifier-js's RegistryClient builds the typed data from `GET /v1/eip712` alone, an
    ethers wallet signs it, and the registry accepts it over HTTP; a refusal comes back as
    the registry's problem."""
    import subprocess

    world = World.create(tmp_path / "r.db")
    world.issue("alice", 5_000)
    alice, bob = world.people["alice"], world.addr("bob")
    app = create_app(settings_for(world.store.path))

    def send(request: str, signer: Signer, /, **fields: Any) -> dict[str, Any]:
        done = subprocess.run(
            ["node", str(Path(__file__).parent / "wallets" / "client_send.mjs")],
            input=json.dumps({"baseUrl": url, "privateKey": signer.private_key_hex,
                              "kind": request, "fields": fields,
                              "operatorKey": OPERATOR["X-Operator-Key"]}),
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    with loopback_server(app) as url:
        receipt = send("Transfer", alice, to=bob, assetClass=CLASS, amount=700)  # batchNo: 0
        assert receipt["event_type"] == "CreditsTransferred", receipt
        opened = send("OpenAccount", world.operator, account=Signer.generate().address,
                      kind="company", name="Acme", nameCommitment="0x" + "00" * 32,
                      householdCommitment=NO_COMMITMENT)  # fmt: skip
        assert opened["event_type"] == "AccountOpened", opened
        refused = send("Transfer", alice, to=bob, assetClass=CLASS, amount=10**9)
        assert refused["status"] == 409 and refused["problem"]["code"] == "insufficient_balance"
    assert world.active("bob") == 700
    world.store.close()


def test_the_python_client_signs_a_request_type_it_has_never_seen(served: TestClient) -> None:
    """The client builds typed data from `GET /v1/eip712` only: a type the registry would
    publish tomorrow is signed today without a client change."""
    published = served.get("/v1/eip712").json()
    published["types"]["Endorse"] = [
        {"name": "endorser", "type": "address"},
        {"name": "note", "type": "string"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint64"},
    ]
    published["requests"]["Endorse"] = {
        "route": "/v1/endorsements",
        "signer": "endorser",
        "operator_key": False,
        "fields": [{"name": n["name"]} for n in published["types"]["Endorse"]],
    }
    signer = Signer.generate()
    with RegistryClient("http://testserver", transport=served._transport) as client:
        client._published = published  # what tomorrow's registry would serve
        body = client.signed(signer, "Endorse", note="good registry")
        with pytest.raises(ValueError, match="no fields"):
            client.signed(signer, "Endorse", note="x", colour="green")
    assert body["message"]["endorser"] == signer.address and body["message"]["note"]
    typed = {
        "domain": published["domain"],
        "types": {
            "EIP712Domain": published["types"]["EIP712Domain"],
            "Endorse": published["types"]["Endorse"],
        },  # fmt: skip
        "primaryType": "Endorse",
        "message": body["message"],
    }
    recovered = Account.recover_message(
        encode_typed_data(full_message=typed), signature=body["signature"]
    )
    assert recovered == signer.address


def test_a_wrong_signature_names_the_expected_and_the_recovered_signer(
    served: TestClient,
) -> None:
    owner, impostor = Signer.generate(), Signer.generate()
    with RegistryClient("http://testserver", transport=served._transport) as client:
        body = client.signed(impostor, "Transfer", **{"from": owner.address},
                             to=Signer.generate().address, assetClass=CLASS, amount=1)  # fmt: skip
    answer = served.post("/v1/transfers", json=body)
    problem = answer.json()
    assert answer.status_code == 403 and problem["code"] == "wrong_signer", problem
    assert problem["expected"] == owner.address and problem["recovered"] == impostor.address


def test_each_write_route_documents_its_typed_data(served: TestClient) -> None:
    openapi = served.get("/openapi.json").json()
    for name, message in MESSAGES.items():
        if not message.route:
            continue
        text = openapi["paths"][message.route]["post"]["description"]
        typed = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
        assert typed["primaryType"] == name
        assert [f["name"] for f in typed["types"][name]] == field_names(message)
        assert set(typed["message"]) == set(field_names(message)), name
