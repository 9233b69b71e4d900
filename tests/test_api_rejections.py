"""Every refusal is a 4xx problem (application/problem+json) with a stable code, and leaves
the database exactly as it was: state tables and event log compared before and after."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from registry.commitments import NO_COMMITMENT
from registry.messages import MAX_AMOUNT
from tests.api_world import OPERATOR, Client, MrvParties, api_client, body, sha256_hex
from tests.ledger_world import CLASS, World

Request = Callable[[], Any]
Case = Callable[[World, Client], Request]


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    world.issue("alice", 10_000, "claim-alice")
    with api_client(world, max_body_bytes=4096) as c:
        yield c


def transfer_body(world: World, grams: int = 1_000, **changes: Any) -> dict[str, Any]:
    """A signed transfer whose message then gets `changes` (after signing)."""
    signed = body(world.signed_transfer("alice", "bob", grams))
    signed["message"].update(changes)
    return signed


def post_transfer(client: Client, payload: Any, **kw: Any) -> Request:
    return lambda: client.post("/v1/transfers", json=payload, **kw)


def tampered_amount(world: World, client: Client) -> Request:
    signed = body(world.signed_transfer("alice", "bob", 1_000))
    signed["message"]["amount"] = 9_000  # the signature no longer covers the message
    return post_transfer(client, signed)


def malformed_signature(world: World, client: Client) -> Request:
    signed = transfer_body(world)
    signed["signature"] = "0x" + "11" * 32 + "00" * 32 + "1b"  # s = 0
    return post_transfer(client, signed)


def non_hex_signature(world: World, client: Client) -> Request:
    signed = transfer_body(world)
    signed["signature"] = "0x" + "zz" * 65
    return post_transfer(client, signed)


def replayed(world: World, client: Client) -> Request:
    signed = transfer_body(world)
    assert client.post("/v1/transfers", json=signed).status_code == 201
    return post_transfer(client, signed)


def expired(world: World, client: Client) -> Request:
    return post_transfer(client, body(world.signed_transfer("alice", "bob", 1_000, ttl_s=-60)))


def others_holdings_transfer(world: World, client: Client) -> Request:
    sender: dict[str, Any] = {"from": world.addr("alice")}
    signed = world.people["bob"].request(
        world.registry.domain,
        "Transfer",
        **sender,
        to=world.addr("bob"),
        assetClass=CLASS,
        batchNo=0,
        amount=1_000,
    )
    return post_transfer(client, body(signed))


def others_holdings_retire(world: World, client: Client) -> Request:
    signed = world.people["bob"].request(
        world.registry.domain,
        "Retire",
        owner=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1_000,
        beneficiaryCommitment="0x" + "00" * 32,
        beneficiary=world.addr("bob"),
        reason="offset",
        jurisdiction="CN-GD",
    )
    return lambda: client.post("/v1/retirements", json=body(signed))


def over_balance(world: World, client: Client) -> Request:
    return post_transfer(client, body(world.signed_transfer("alice", "bob", 10_001)))


def retired_credits(world: World, client: Client) -> Request:
    world.retire("alice", 10_000)
    return post_transfer(client, body(world.signed_transfer("alice", "bob", 1)))


def unknown_recipient(world: World, client: Client) -> Request:
    sender: dict[str, Any] = {"from": world.addr("alice")}
    signed = world.people["alice"].request(
        world.registry.domain,
        "Transfer",
        **sender,
        to="0x" + "12" * 20,
        assetClass=CLASS,
        batchNo=0,
        amount=1_000,
    )
    return post_transfer(client, body(signed))


def malformed_address(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, to="0x1234"))


def malformed_path_address(world: World, client: Client) -> Request:
    return lambda: client.get("/v1/accounts/0xnot-an-address/holdings")


def malformed_hex(world: World, client: Client) -> Request:
    signed = world.operator.request(
        world.registry.domain,
        "Cancel",
        holder=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1,
        reason="typo",
        evidenceHash=sha256_hex("x"),
    )
    payload = body(signed)
    payload["message"]["evidenceHash"] = "0x" + "zz" * 32
    return lambda: client.post("/v1/cancellations", json=payload, headers=OPERATOR)


def negative_amount(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, amount=-5))


def zero_amount(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, amount=0))


def oversized_amount(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, amount=MAX_AMOUNT + 1))


def amount_as_text(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, amount="1000"))


def fractional_amount(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, amount=1.5))


def unknown_field(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world, memo="hello"))


def oversized_body(world: World, client: Client) -> Request:
    payload = transfer_body(world)
    payload["padding"] = "x" * 5000
    return post_transfer(client, payload)


def oversized_chunked_body(world: World, client: Client) -> Request:
    chunks = [b'{"message": {}, "padding": "', b"x" * 3000, b"x" * 3000, b'"}']
    return lambda: client.post(
        "/v1/transfers", content=iter(chunks), headers={"content-type": "application/json"}
    )


def malformed_json(world: World, client: Client) -> Request:
    return lambda: client.post(
        "/v1/transfers", content=b'{"message": ', headers={"content-type": "application/json"}
    )


def operator_action_without_key(world: World, client: Client) -> Request:
    signed = world.operator.request(
        world.registry.domain, "GrantRole", account=world.addr("bob"), role="exchange"
    )
    return lambda: client.post(f"/v1/accounts/{world.addr('bob')}/roles", json=body(signed))


def operator_action_with_wrong_key(world: World, client: Client) -> Request:
    signed = world.operator.request(
        world.registry.domain, "GrantRole", account=world.addr("bob"), role="exchange"
    )
    return lambda: client.post(
        f"/v1/accounts/{world.addr('bob')}/roles",
        json=body(signed),
        headers={"X-Operator-Key": "guess"},
    )


def operator_action_signed_by_owner(world: World, client: Client) -> Request:
    signed = world.people["alice"].request(
        world.registry.domain,
        "Issue",
        to=world.addr("alice"),
        assetClass=CLASS,
        amount=1_000_000,
        claimId="self-issued",
    )
    return lambda: client.post("/v1/batches", json=body(signed), headers=OPERATOR)


def role_path_mismatch(world: World, client: Client) -> Request:
    signed = world.operator.request(
        world.registry.domain, "GrantRole", account=world.addr("bob"), role="exchange"
    )
    return lambda: client.post(
        f"/v1/accounts/{world.addr('carol')}/roles", json=body(signed), headers=OPERATOR
    )


def reused_idempotency_key(world: World, client: Client) -> Request:
    first = client.post(
        "/v1/transfers", json=transfer_body(world), headers={"Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201
    return post_transfer(client, transfer_body(world, 2_000), headers={"Idempotency-Key": "k-1"})


def malformed_idempotency_key(world: World, client: Client) -> Request:
    return post_transfer(client, transfer_body(world), headers={"Idempotency-Key": "has space"})


def platform_for_another(world: World, client: Client) -> Request:
    mrv = MrvParties(world)
    impostor = world.open("impostor", kind="platform")
    from registry import messages

    fields, details = messages.activity_batch(mrv.platform.address, "b-1", mrv.trips("alice", 1))
    signed = impostor.request(world.registry.domain, "SubmitActivities", **fields)
    return lambda: client.post("/v1/activity-batches", json=body((*signed, {"details": details})))


def attest_without_verifier_role(world: World, client: Client) -> Request:
    mrv = MrvParties(world)
    receipt = world.registry.execute(*mrv.submit("b-1", mrv.trips("alice", 1)))
    claim = receipt.effects["outcomes"][0]["claim"]
    from registry import messages

    fields = messages.attestation(world.addr("bob"), "att-x", [claim], True, "")
    signed = world.people["bob"].request(world.registry.domain, "AttestClaims", **fields)
    return lambda: client.post("/v1/attestations", json=body(signed))


def unknown_account_kind(world: World, client: Client) -> Request:
    from registry.signing import Signer

    signed = world.operator.request(
        world.registry.domain,
        "OpenAccount",
        account=Signer.generate().address,
        kind="company",
        name="x",
        nameCommitment="0x" + "00" * 32,
        householdCommitment=NO_COMMITMENT,
    )
    payload = body(signed)
    payload["message"]["kind"] = "spaceship"
    return lambda: client.post("/v1/accounts", json=payload, headers=OPERATOR)


def pooled_issuance_run(world: World, client: Client) -> Request:
    """A run in the form before issue 11 (no creditsTo: members' credits pooled to their
    household), signed as that release signed it: refused, naming creditsTo."""
    from registry import messages as m
    from registry.signing import new_nonce

    pool = world.open("pool", kind="company")
    message = {"runId": "r1", "bufferPool": pool.address, "bufferBasisPoints": 500,
               "nonce": new_nonce(), "expiry": int(time.time()) + 600}  # fmt: skip
    signature = world.operator.sign_struct(
        world.registry.domain, m.RUN_ISSUANCE_POOLED.struct, message
    )

    def send() -> Any:
        response = client.post(
            "/v1/issuance-runs", json={"message": message, "signature": signature},
            headers=OPERATOR,
        )  # fmt: skip
        assert "creditsTo" in response.json()["detail"], response.text
        return response

    return send


CASES: list[tuple[Case, int, str]] = [
    (tampered_amount, 403, "wrong_signer"),
    (malformed_signature, 401, "bad_signature"),
    (non_hex_signature, 422, "invalid_request"),
    (replayed, 409, "nonce_replayed"),
    (expired, 401, "signature_expired"),
    (others_holdings_transfer, 403, "wrong_signer"),
    (others_holdings_retire, 403, "wrong_signer"),
    (over_balance, 409, "insufficient_balance"),
    (retired_credits, 409, "credits_retired"),
    (unknown_recipient, 422, "unknown_account"),
    (malformed_address, 422, "invalid_request"),
    (malformed_path_address, 422, "invalid_request"),
    (malformed_hex, 422, "invalid_request"),
    (negative_amount, 422, "invalid_request"),
    (zero_amount, 422, "invalid_request"),
    (oversized_amount, 422, "invalid_request"),
    (amount_as_text, 422, "invalid_request"),
    (fractional_amount, 422, "invalid_request"),
    (unknown_field, 422, "invalid_request"),
    (oversized_body, 413, "body_too_large"),
    (oversized_chunked_body, 413, "body_too_large"),
    (malformed_json, 400, "malformed_body"),
    (operator_action_without_key, 401, "operator_key_required"),
    (operator_action_with_wrong_key, 401, "operator_key_required"),
    (operator_action_signed_by_owner, 403, "not_authorised"),
    (role_path_mismatch, 422, "path_mismatch"),
    (reused_idempotency_key, 422, "idempotency_key_reused"),
    (malformed_idempotency_key, 400, "invalid_idempotency_key"),
    (platform_for_another, 403, "wrong_signer"),
    (attest_without_verifier_role, 403, "not_authorised"),
    (unknown_account_kind, 422, "invalid_request"),
    (pooled_issuance_run, 422, "invalid_request"),
]


@pytest.mark.parametrize(
    ("case", "status", "code"), CASES, ids=[case.__name__ for case, _, _ in CASES]
)
def test_refusal_is_a_problem_and_changes_nothing(
    world: World, client: Client, case: Case, status: int, code: str
) -> None:
    refused = case(world, client)
    before = world.snapshot()
    response = refused()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["status"] == status
    assert problem["type"] == f"/v1/problems/{code}" and problem["title"] and problem["detail"]
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/accounts/0x" + "12" * 20, "unknown_account"),
        ("/v1/asset-classes/NOPE-1.0-2026-440300", "unknown_asset_class"),
        ("/v1/batches/99", "unknown_batch"),
        ("/v1/retirements/CERT-0000000099", "unknown_certificate"),
        ("/v1/events/999", "unknown_event"),
        ("/v1/events/999/proof", "unknown_event"),
        ("/v1/transfers/0", "unknown_event"),
        ("/v1/checkpoints/5", "unknown_checkpoint"),
        ("/v1/checkpoints/latest", "unknown_checkpoint"),
        ("/v1/checkpoints/1/consistency/2", "unknown_checkpoint"),
        ("/v1/claims/C1-0", "unknown_claim"),
        ("/v1/attestations/0", "unknown_attestation"),
        ("/v1/issuance-runs/0", "unknown_issuance_run"),
        ("/v1/activity-batches/0x" + "12" * 20 + "/b-1", "unknown_activity_batch"),
        ("/v1/no-such-thing", "not_found"),
    ],
)
def test_missing_resources_are_404_problems(client: Client, path: str, code: str) -> None:
    response = client.get(path, headers=OPERATOR)  # personal reads need a reader first
    assert response.status_code == 404 and response.json()["code"] == code


def test_wrong_method_is_a_405_problem(client: Client) -> None:
    response = client.delete("/v1/transfers")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
