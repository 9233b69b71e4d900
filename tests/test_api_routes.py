"""Every route of the API, on the success path, against a live app over a test registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.worker import AnchorPolicy
from api.routes import events
from registry.handlers.common import LATEST_RANGE_RULE
from tests.anchoring_world import anchored_world, worker_for
from tests.api_world import (
    OPERATOR,
    Client,
    MrvParties,
    api_client,
    body,
    sha256_hex,
    signed_in,
)
from tests.ledger_world import CLASS, World, check_invariants

pytestmark = pytest.mark.both_backends


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    with api_client(world) as c:
        yield c


def test_registry_info_names_the_domain_to_sign_in(world: World, client: Client) -> None:
    info = client.get("/v1").json()
    assert info["domain"] == world.registry.domain.as_dict()
    assert info["operator"] == world.operator.address
    assert info["events"] == world.store.event_count()
    assert info["range_rule"] == LATEST_RANGE_RULE
    assert client.get("/v1/chain").json()["kind"] == "none"
    problems = {p["code"]: p["status"] for p in client.get("/v1/problems").json()}
    assert problems["insufficient_balance"] == 409
    assert client.get("/v1/problems/nonce_replayed").json()["status"] == 409


def test_accounts_open_grant_and_read(world: World, client: Client) -> None:
    newcomer = world.open("dave")  # opened through the library; the next one over HTTP
    from registry.signing import Signer

    erin = Signer.generate()
    signed = world.operator.request(
        world.registry.domain,
        "OpenAccount",
        account=erin.address,
        kind="company",
        name="Erin Exchange",
        nameCommitment="0x" + "00" * 32,
        householdCommitment="0x" + "00" * 32,
    )
    r = client.post("/v1/accounts", json=body(signed), headers=OPERATOR)
    assert r.status_code == 201, r.text
    assert r.json()["event_type"] == "AccountOpened"
    assert r.headers["location"] == f"/v1/events/{r.json()['seq']}"
    grant = world.operator.request(
        world.registry.domain, "GrantRole", account=erin.address, role="exchange"
    )
    r = client.post(f"/v1/accounts/{erin.address}/roles", json=body(grant), headers=OPERATOR)
    assert r.status_code == 201, r.text
    account = client.get(f"/v1/accounts/{erin.address.lower()}").json()
    assert account["roles"] == ["exchange"] and account["kind"] == "company"
    page = client.get("/v1/accounts", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_after"] is not None
    everyone: list[str] = []
    after = -1
    while after is not None:
        page = client.get("/v1/accounts", params={"after": after, "limit": 2}).json()
        everyone += [a["address"] for a in page["items"]]
        after = page["next_after"]
    assert newcomer.address in everyone and erin.address in everyone
    assert len(everyone) == len(set(everyone)) == len(world.store.accounts())


def test_signed_writes_answer_alike_on_the_fast_path_and_through_the_route(
    world: World, client: Client
) -> None:
    """SignedWriteFastPath takes a transfer sent as application/json; one whose content type
    names a charset goes through FastAPI's route: both take effect and answer alike, and a
    body the request model refuses gets the route's field-located 422."""
    world.issue("alice", 20_000, "claim-a")
    fast = client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 1_000)))
    routed = client.post(
        "/v1/transfers",
        content=json.dumps(body(world.signed_transfer("alice", "bob", 2_000))),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert fast.status_code == routed.status_code == 201, (fast.text, routed.text)
    assert routed.json()["seq"] == fast.json()["seq"] + 1
    for answer in (fast, routed):
        assert answer.json().keys() == fast.json().keys()
        assert answer.headers["location"] == f"/v1/events/{answer.json()['seq']}"
    assert world.active("bob") == 3_000
    extra = {**body(world.signed_transfer("alice", "bob", 1)), "note": "hi"}
    refused = client.post("/v1/transfers", json=extra)
    assert refused.status_code == 422 and refused.json()["errors"][0]["location"] == "body.note"
    assert world.active("bob") == 3_000


def test_trading_lifecycle_reads_back_everywhere(world: World, client: Client) -> None:
    world.issue("alice", 20_000, "claim-a")
    r = client.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 5_000)))
    assert r.status_code == 201, r.text
    transfer_seq = r.json()["seq"]
    r = client.post("/v1/retirements", json=body(world.signed_retire("bob", 3_000)))
    assert r.status_code == 201, r.text
    certificate_id = r.json()["certificate_id"]
    assert r.json()["certificate_url"] == f"/v1/retirements/{certificate_id}"
    cancel = world.operator.request(
        world.registry.domain,
        "Cancel",
        holder=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1_000,
        reason="double reported",
        evidenceHash=sha256_hex("case 1"),
    )
    r = client.post("/v1/cancellations", json=body(cancel), headers=OPERATOR)
    assert r.status_code == 201, r.text

    balances = client.get(f"/v1/accounts/{world.addr('bob')}/balances").json()
    assert balances == [
        {"asset_class": CLASS, "active": 2_000, "retired": 3_000, "cancelled": 0, "locked": 0}
    ]
    holdings = client.get(f"/v1/accounts/{world.addr('bob')}/holdings").json()
    assert {h["serials"]: h["status"] for h in holdings} == {
        "CN-CIR-SZ_TRANSIT-1.0-2026-1-15001-17000": "active",
        "CN-CIR-SZ_TRANSIT-1.0-2026-1-17001-20000": "retired",
    }
    active = client.get(f"/v1/accounts/{world.addr('bob')}/holdings?status=active").json()
    assert [h["amount"] for h in active] == [2_000]

    [klass] = client.get("/v1/asset-classes").json()
    supply = {"issued": 20_000, "active": 16_000, "retired": 3_000, "cancelled": 1_000}
    assert klass["supply"] == {**supply, "locked": 0, "buffer": 0}
    assert client.get(f"/v1/asset-classes/{CLASS}").json() == klass
    batch = client.get("/v1/batches/1").json()
    assert batch["supply"] == klass["supply"] and batch["reference"] == "claim-a"
    assert sum(h["amount"] for h in batch["holdings"]) == batch["amount"]
    assert client.get("/v1/batches").json()["items"][0]["batch_no"] == 1
    assert client.get(f"/v1/asset-classes/{CLASS}/batches").json()["items"][0]["amount"] == 20_000

    transfers = client.get("/v1/transfers").json()["items"]
    assert [(t["from"], t["to"], t["amount"]) for t in transfers] == [
        (world.addr("alice"), world.addr("bob"), 5_000)
    ]
    assert client.get(f"/v1/transfers/{transfer_seq}").json() == transfers[0]
    [retirement] = client.get("/v1/retirements").json()["items"]
    assert retirement["certificate_id"] == certificate_id and retirement["amount"] == 3_000
    mine = client.get(f"/v1/accounts/{world.addr('bob')}/retirements").json()["items"]
    assert mine == [retirement]
    [cancellation] = client.get("/v1/cancellations").json()["items"]
    assert cancellation["amount"] == 1_000 and cancellation["holder"] == world.addr("alice")

    cert = client.get(f"/v1/retirements/{certificate_id}").json()
    assert cert["proof"]["event"]["seq"] == retirement["seq"]
    assert cert["proof"]["anchor"] is None and cert["proof"]["pending"]["expected_by"]
    page = client.get(f"/v1/retirements/{certificate_id}/certificate.html")
    assert page.headers["content-type"].startswith("text/html")
    assert certificate_id in page.text and 'id="proof-bundle"' in page.text
    check_invariants(world.store)


def test_events_are_cursor_paginated_and_typed(world: World, client: Client) -> None:
    world.issue("alice", 1_000)
    total = world.store.event_count()
    seen, after = [], -1
    while after is not None:
        page = client.get("/v1/events", params={"after": after, "limit": 3}).json()
        seen += [e["seq"] for e in page["items"]]
        after = page["next_after"]
    assert seen == list(range(total))
    issued = client.get("/v1/events", params={"type": "CreditsIssued"}).json()["items"]
    assert [e["type"] for e in issued] == ["CreditsIssued"]
    event = client.get(f"/v1/events/{issued[0]['seq']}").json()
    assert event == issued[0] and event["signatures"][0]["signer"] == world.operator.address


def test_proof_is_pending_then_anchored_and_consistent(tmp_path: Path) -> None:
    world, chain = anchored_world(tmp_path / "anchored.db")
    world.issue("alice", 1_000)
    with api_client(world) as client:
        pending = client.get("/v1/events/2/proof").json()
        assert pending["anchor"] is None and pending["pending"]["status"] == "awaiting_checkpoint"
        worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
        worker.attach()
        worker.run_once()
        first = worker.tree.size
        world.transfer("alice", "bob", 10)
        worker.run_once()
        anchored = client.get("/v1/events/2/proof").json()
        assert anchored["anchor"]["chain_id"] == chain.chain_id and "pending" not in anchored
        assert anchored["inclusion"]["tree_size"] == first
        checkpoints = client.get("/v1/checkpoints").json()["items"]
        assert [c["tree_size"] for c in checkpoints] == [first, first + 1]
        assert all(c["status"] == "confirmed" and c["anchor"] for c in checkpoints)
        assert checkpoints[0]["note"].splitlines()[1] == str(first)
        assert client.get("/v1/checkpoints/latest").json()["tree_size"] == first + 1
        assert client.get(f"/v1/checkpoints/{first}").json() == checkpoints[0]
        assert client.get("/v1/anchors").json()["items"] == checkpoints
        page = client.get("/v1/checkpoints", params={"limit": 1}).json()
        assert page["items"] == checkpoints[:1] and page["next_after"] == first
        rest = client.get("/v1/anchors", params={"after": page["next_after"]}).json()
        assert rest["items"] == checkpoints[1:] and rest["next_after"] is None
        proof = client.get(f"/v1/checkpoints/{first}/consistency/{first + 1}").json()
        assert proof["old"]["checkpoint"]["tree_size"] == first and proof["proof"]

        from carbon_verifier.verify import verify_consistency
        from tests.anchoring_world import verifier_rpc, verify

        assert all(c.ok for c in verify(anchored, chain)), verify(anchored, chain)
        assert verify_consistency(proof, verifier_rpc(chain)).verified


def test_proof_fast_path_answers_as_the_declared_route(tmp_path: Path) -> None:
    """ProofFastPath answers GET proof outside FastAPI's routing with the bytes and headers of
    the declared route; what it passes on (a seq out of range) gets the route's answer."""
    world, chain = anchored_world(tmp_path / "anchored.db")
    world.issue("alice", 1_000)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
    worker.attach()
    worker.run_once()
    with api_client(world) as client:
        fast = client.get("/v1/events/2/proof")
        routed = events.get_proof(client.app.state.service, 2)
        assert fast.status_code == routed.status_code == 200
        assert fast.content == routed.body and fast.json()["anchor"] is not None
        for header in ("content-type", "content-length"):
            assert fast.headers[header] == routed.headers[header]
        assert client.get("/v1/events/0002/proof").content == fast.content
        too_large = client.get(f"/v1/events/{2**53}/proof")
        assert too_large.status_code == 422 and too_large.json()["code"] == "invalid_request"


def test_mrv_batches_claims_attestations_issuance_and_reversal(
    world: World, client: Client
) -> None:
    mrv = MrvParties(world)
    records = mrv.trips("alice", 3) + mrv.trips("bob", 1, metres=100)  # the last: too short
    r = client.post("/v1/activity-batches", json=body(mrv.submit("day-1", records)))
    assert r.status_code == 201, r.text
    effects = r.json()["effects"]
    assert effects["accepted"] == 3 and effects["rejected"] == 1
    batches = client.get("/v1/activity-batches").json()["items"]
    assert [(b["batch_id"], b["accepted"]) for b in batches] == [("day-1", 3)]
    # Per-person reads need a session (tests/test_access.py covers who may read what).
    platform = signed_in(client, world, mrv.platform)
    alice = signed_in(client, world, world.people["alice"])
    detail_path = f"/v1/activity-batches/{mrv.platform.address}/day-1"
    assert client.get(detail_path).status_code == 401
    detail = client.get(detail_path, headers=platform).json()
    assert detail["outcomes"] == effects["outcomes"]

    claims = client.get("/v1/claims", params={"status": "pending"}, headers=alice).json()["items"]
    assert len(claims) == 3 and {c["account"] for c in claims} == {world.addr("alice")}
    assert client.get(f"/v1/claims/{claims[0]['claim_id']}", headers=alice).json() == claims[0]
    [rejection] = client.get("/v1/claims/rejections", headers=OPERATOR).json()["items"]
    assert rejection["reason"] == "not_eligible" and rejection["account"] == world.addr("bob")
    summary = client.get("/v1/claims/summary").json()
    assert summary["claims"]["pending"]["claims"] == 3 and summary["rejected"] == {
        "not_eligible": 1
    }

    ids = [c["claim_id"] for c in claims]
    r = client.post("/v1/attestations", json=body(mrv.attest(ids)))
    assert r.status_code == 201, r.text
    [attestation] = client.get("/v1/attestations").json()["items"]
    assert attestation["claims"] == 3 and attestation["approve"] is True
    assert client.get(f"/v1/attestations/{attestation['seq']}").json() == attestation

    r = client.post("/v1/issuance-runs", json=body(mrv.run()), headers=OPERATOR)
    assert r.status_code == 201, r.text
    [run] = client.get("/v1/issuance-runs").json()["items"]
    assert run["claims"] == 3 and run["issued_grams"] + run["buffer_grams"] == run["grams"]
    assert client.get(f"/v1/issuance-runs/{run['seq']}").json() == run
    klass = client.get(f"/v1/asset-classes/{MrvParties.trip_class(records[0])}").json()
    assert klass["supply"]["issued"] == run["grams"]
    assert klass["supply"]["buffer"] == run["buffer_grams"] > 0
    buffer_batches = [b for b in client.get("/v1/batches").json()["items"] if b["buffer"]]
    assert [b["issued_to"] for b in buffer_batches] == [mrv.pool.address]

    reverse = world.operator.request(
        world.registry.domain,
        "ReverseClaim",
        claimId=ids[0],
        reason="platform audit: trip fabricated",
        evidenceHash=sha256_hex("audit"),
    )
    r = client.post(f"/v1/claims/{ids[0]}/reversal", json=body(reverse), headers=OPERATOR)
    assert r.status_code == 201, r.text
    assert client.get(f"/v1/claims/{ids[0]}", headers=alice).json()["status"] == "reversed"
    check_invariants(world.store)


def test_methodologies_with_parameters_and_sources(client: Client) -> None:
    listed = client.get("/v1/methodologies").json()
    assert {"SZ_TRANSIT", "BJ_METRO"} <= {m["id"] for m in listed}
    detail = client.get("/v1/methodologies/SZ_TRANSIT/1.0").json()
    assert detail["hash"] == next(m["hash"] for m in listed if m["id"] == "SZ_TRANSIT")
    assert all(f["source"] and f["mg_per_unit"] for f in detail["factors"].values())
    assert detail["parameters"]["cap_per_activity_g"] > 0
    assert client.get("/v1/methodologies/SZ_TRANSIT/9.9").json()["code"] == "unknown_methodology"


def test_webhook_subscriptions_need_the_operator_key(client: Client) -> None:
    assert client.get("/v1/webhooks").json()["code"] == "operator_key_required"
    created = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["CreditsRetired"]},
        headers=OPERATOR,
    )
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    hook_id = created.json()["id"]
    listed = client.get("/v1/webhooks", headers=OPERATOR).json()
    assert [h["id"] for h in listed] == [hook_id] and "secret" not in listed[0]
    assert client.get(f"/v1/webhooks/{hook_id}", headers=OPERATOR).json()["active"] is True
    assert client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=OPERATOR).json() == []
    stopped = client.delete(f"/v1/webhooks/{hook_id}", headers=OPERATOR).json()
    assert stopped["active"] is False


def test_a_certificate_and_its_trust_anchor_verify_as_served(tmp_path: Path) -> None:
    from carbon_verifier.trust import TrustAnchor
    from carbon_verifier.verify import verify_certificate
    from tests.anchoring_world import verifier_rpc

    world, chain = anchored_world(tmp_path / "anchored.db")
    world.issue("alice", 1_000)
    retired = world.retire("alice", 250)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
    worker.attach()
    worker.run_once()
    with api_client(world) as client:
        trust = TrustAnchor.from_json(client.get("/v1/trust").json())
        assert trust.signers == (world.operator.address,)
        certificate = client.get(f"/v1/retirements/{retired.effects['certificate_id']}").json()
    rpc = verifier_rpc(chain)
    report = verify_certificate(certificate, rpc, trust=trust)
    assert report.verified, report.failures
    assert report.checks[-1].name == "certificate"
    for field, value in (("amount", 251), ("amount", True), ("beneficiary_name", "Mallory")):
        forged = verify_certificate({**certificate, field: value}, rpc, trust=trust)
        assert [c.name for c in forged.failures] == ["certificate"], field
