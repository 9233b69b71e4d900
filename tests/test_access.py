"""Access control on personal reads (issue 11, part 2).

Claims, refused records, a batch's per-record outcomes and people's names and household
links are readable only by the person, their household, the platform that sent the record
and the operator (a verifier also reads the claims it attests); a session comes from an
EIP-712 SignIn. Public reads keep aggregates and ledger data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.client import ApiProblem, RegistryClient
from api.sessions import SIGN_IN, SessionKeys
from registry.eip712 import Domain
from registry.signing import Signer, new_nonce
from tests.api_world import OPERATOR, Client, MrvParties, api_client
from tests.ledger_world import World
from tests.wallet_signing import sign_with_wallets

LOG_ID = "test.local/log"


@dataclass
class Town:
    world: World
    mrv: MrvParties
    client: Client
    claims: dict[str, list[str]]  # person -> claim ids

    def signer(self, name: str) -> Signer:
        return self.world.people[name]

    def sign_in_body(
        self,
        signer: Signer,
        *,
        account: str | None = None,
        audience: str = LOG_ID,
        issued: int | None = None,
        ttl: int = 600,
        domain: Domain | None = None,
    ) -> dict[str, Any]:
        issued = int(time.time()) if issued is None else issued
        message = {
            "account": account or signer.address,
            "audience": audience,
            "issuedAt": issued,
            "expiry": issued + ttl,
            "nonce": new_nonce(),
        }
        signature = signer.sign_struct(domain or self.world.registry.domain, SIGN_IN, message)
        return {"message": message, "signature": signature}

    def token(self, name: str) -> str:
        r = self.client.post("/v1/sessions", json=self.sign_in_body(self.signer(name)))
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(name)}"}


@pytest.fixture(scope="module")
def town(module_store_url: str) -> Iterator[Town]:
    """Two households: the Wangs (wang, the household; mei and jun, its members) and
    stranger, a person alone; a platform sent trips of mei, jun and stranger, and one of
    mei's trips is refused (a duplicate)."""
    world = World.create(module_store_url, names=())
    world.open("wang", kind="household")
    for name, household in (("mei", "wang"), ("jun", "wang"), ("stranger", None)):
        signer = Signer.generate()
        world.people[name] = signer
        world.registry.execute(
            *world.open_request(signer.address, "person",
                                world.addr(household) if household else None,
                                f"{name} (private name)")
        )  # fmt: skip
    world.open("other-platform", kind="platform")
    world.op("GrantRole", account=world.addr("other-platform"), role="platform")
    world.open("operator2", kind="person")
    world.op("GrantRole", account=world.addr("operator2"), role="operator")
    mrv = MrvParties(world)
    world.people["platform"] = mrv.platform
    world.people["verifier"] = mrv.verifier
    records = mrv.trips("mei", 2) + mrv.trips("jun", 1) + mrv.trips("stranger", 1)
    records.append({**records[0], "id": "trip-dup"})  # mei's trip again: double counted
    receipt = world.registry.execute(*mrv.submit("day-1", records))
    claims: dict[str, list[str]] = {}
    for record, outcome in zip(records, receipt.effects["outcomes"], strict=True):
        if "claim" in outcome:
            person = next(n for n, s in world.people.items() if s.address == record["account"])
            claims.setdefault(person, []).append(outcome["claim"])
    assert receipt.effects["rejected"] == 1 and sorted(claims) == ["jun", "mei", "stranger"]
    with api_client(world) as client:
        yield Town(world, mrv, client, claims)
    world.store.close()


def claim_ids(town: Town, headers: dict[str, str], **params: Any) -> set[str]:
    r = town.client.get("/v1/claims", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {c["claim_id"] for c in r.json()["items"]}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem


# -- who reads claims ------------------------------------------------------------------------


def personal_reads(town: Town) -> list[str]:
    mei_claim = town.claims["mei"][0]
    return [
        "/v1/claims",
        f"/v1/claims/{mei_claim}",
        "/v1/claims/rejections",
        f"/v1/activity-batches/{town.mrv.platform.address}/day-1",
        f"/v1/accounts/{town.world.addr('mei')}/activities",
    ]


def test_personal_reads_without_a_session_are_refused(town: Town) -> None:
    for path in personal_reads(town):
        problem = assert_problem(town.client.get(path), 401, "session_required")
        assert "POST /v1/sessions" in problem["detail"]


def test_a_person_reads_their_own_claims_only(town: Town) -> None:
    mei = town.as_("mei")
    assert claim_ids(town, mei) == set(town.claims["mei"])
    # A filter cannot widen what is visible: jun's claims are not mei's to read.
    assert claim_ids(town, mei, account=town.world.addr("jun")) == set()
    r = town.client.get(f"/v1/claims/{town.claims['mei'][0]}", headers=mei)
    assert r.status_code == 200 and r.json()["account"] == town.world.addr("mei")
    rejections = town.client.get("/v1/claims/rejections", headers=mei).json()["items"]
    assert [r["account"] for r in rejections] == [town.world.addr("mei")]


def test_their_household_reads_their_claims(town: Town) -> None:
    wang = town.as_("wang")
    assert claim_ids(town, wang) == set(town.claims["mei"]) | set(town.claims["jun"])
    assert claim_ids(town, wang, account=town.world.addr("jun")) == set(town.claims["jun"])
    r = town.client.get(f"/v1/claims/{town.claims['jun'][0]}", headers=wang)
    assert r.status_code == 200 and r.json()["beneficiary"] == town.world.addr("wang")
    rejections = town.client.get("/v1/claims/rejections", headers=wang).json()["items"]
    assert [r["account"] for r in rejections] == [town.world.addr("mei")]


def test_the_platform_reads_the_claims_it_sent(town: Town) -> None:
    platform = town.as_("platform")
    everyone = {c for ids in town.claims.values() for c in ids}
    assert claim_ids(town, platform) == everyone
    r = town.client.get(f"/v1/claims/{town.claims['stranger'][0]}", headers=platform)
    assert r.status_code == 200
    detail = town.client.get(
        f"/v1/activity-batches/{town.mrv.platform.address}/day-1", headers=platform
    )
    assert detail.status_code == 200 and len(detail.json()["outcomes"]) == 5
    # Another platform sent none of them.
    other = town.as_("other-platform")
    assert claim_ids(town, other) == set()
    assert town.client.get("/v1/claims/rejections", headers=other).json()["items"] == []
    assert_problem(
        town.client.get(f"/v1/claims/{town.claims['mei'][0]}", headers=other),
        403,
        "read_forbidden",
    )


def test_another_person_is_refused(town: Town) -> None:
    stranger = town.as_("stranger")
    for name in ("mei", "jun"):
        r = town.client.get(f"/v1/claims/{town.claims[name][0]}", headers=stranger)
        assert_problem(r, 403, "read_forbidden")
    assert claim_ids(town, stranger) == set(town.claims["stranger"])
    assert town.client.get("/v1/claims/rejections", headers=stranger).json()["items"] == []
    assert_problem(
        town.client.get(
            f"/v1/activity-batches/{town.mrv.platform.address}/day-1", headers=stranger
        ),
        403,
        "read_forbidden",
    )
    # A household reads its members' claims, not those of people outside it.
    assert_problem(
        town.client.get(f"/v1/claims/{town.claims['stranger'][0]}", headers=town.as_("wang")),
        403,
        "read_forbidden",
    )


def test_the_operator_reads_everything(town: Town) -> None:
    everyone = {c for ids in town.claims.values() for c in ids}
    for headers in (OPERATOR, town.as_("operator2")):  # the key, or an operator's session
        assert claim_ids(town, headers) == everyone
        rejections = town.client.get("/v1/claims/rejections", headers=headers).json()["items"]
        assert len(rejections) == 1
        batch = f"/v1/activity-batches/{town.mrv.platform.address}/day-1"
        assert town.client.get(batch, headers=headers).status_code == 200
    assert_problem(
        town.client.get("/v1/claims", headers={"X-Operator-Key": "wrong"}),
        401,
        "operator_key_required",
    )


def test_a_verifier_reads_the_claims_it_attests_but_no_refusals(town: Town) -> None:
    verifier = town.as_("verifier")
    pending = claim_ids(town, verifier, status="pending")
    assert pending == {c for ids in town.claims.values() for c in ids}
    assert town.client.get("/v1/claims/rejections", headers=verifier).json()["items"] == []


# -- names and household links -----------------------------------------------------------------


def test_names_and_household_links_are_withheld_from_others(town: Town) -> None:
    mei = town.world.addr("mei")
    public = town.client.get(f"/v1/accounts/{mei}").json()
    assert public["kind"] == "person" and public["address"] == mei  # ledger data stays
    assert public["name"] is None and public["household"] is None
    assert public["withheld"] == ["name", "household"]
    listed = {a["address"]: a for a in town.client.get("/v1/accounts").json()["items"]}
    assert "(private name)" not in str(listed)
    assert listed[town.mrv.platform.address]["name"] == "platform"  # not a natural person
    assert listed[town.mrv.platform.address]["withheld"] == []
    stranger = town.client.get(f"/v1/accounts/{mei}", headers=town.as_("stranger")).json()
    assert stranger["name"] is None
    for reader in ("mei", "wang"):  # herself, her household
        shown = town.client.get(f"/v1/accounts/{mei}", headers=town.as_(reader)).json()
        assert shown["name"] == "mei (private name)", reader
        assert shown["household"] == town.world.addr("wang") and shown["withheld"] == []
    # A member reads the household's account, not the other members'.
    jun = town.as_("jun")
    assert town.client.get(f"/v1/accounts/{mei}", headers=jun).json()["name"] is None
    wang = town.client.get(f"/v1/accounts/{town.world.addr('wang')}", headers=jun).json()
    assert wang["name"] == "wang" and wang["withheld"] == []
    shown = town.client.get(f"/v1/accounts/{mei}", headers=OPERATOR).json()
    assert shown["name"] == "mei (private name)"


# -- public aggregates -------------------------------------------------------------------------


def test_public_aggregates_hold_no_per_person_rows(town: Town) -> None:
    summary = town.client.get("/v1/claims/summary")
    assert summary.status_code == 200
    body = summary.json()
    assert body == {"claims": {"pending": {"claims": 4, "grams": body["claims"]["pending"]["grams"]}},
                    "rejected": {"double_counted": 1}}  # fmt: skip
    text = summary.text
    for name in ("mei", "jun", "stranger", "wang"):
        assert town.world.addr(name) not in text
    batches = town.client.get("/v1/activity-batches")
    assert batches.status_code == 200
    [batch] = batches.json()["items"]
    assert "outcomes" not in batch and batch["records"] == 5
    for path in ("/v1/trust", "/v1/eip712", "/v1/methodologies", "/v1/attestations",
                 "/v1/events/0/proof", "/log/checkpoint", "/v1/checkpoints"):  # fmt: skip
        assert town.client.get(path).status_code in (200, 404), path  # never 401/403


# -- sign-in refusals --------------------------------------------------------------------------


def test_the_published_sign_in_is_not_a_write_request(town: Town) -> None:
    published = town.client.get("/v1/eip712").json()
    assert published["types"]["SignIn"] == SIGN_IN.eip712_types()
    assert "SignIn" not in published["requests"]
    assert published["sign_in"]["audience"] == LOG_ID
    assert published["sign_in"]["route"] == "/v1/sessions"
    assert published["sign_in"]["max_session_s"] == 3600


def test_browser_wallets_sign_in_from_the_published_types(town: Town) -> None:
    """ethers and viem, given only GET /v1/eip712, sign the SignIn the server accepts."""
    published = town.client.get("/v1/eip712").json()
    signer = town.signer("stranger")
    message = town.sign_in_body(signer)["message"]
    [signed] = sign_with_wallets(published, signer, [{"primaryType": "SignIn", "message": message}])
    assert signed["ethers"] == signed["viem"]
    r = town.client.post("/v1/sessions", json={"message": message, "signature": signed["ethers"]})
    assert r.status_code == 200 and r.json()["account"] == signer.address


def test_sign_in_answers_a_token_until_expiry(town: Town) -> None:
    body = town.sign_in_body(town.signer("mei"), ttl=900)
    r = town.client.post("/v1/sessions", json=body)
    assert r.status_code == 200
    session = r.json()
    assert session["account"] == town.world.addr("mei")
    assert session["expires_at"] == body["message"]["expiry"]
    # A lowercase address signs in as the same account.
    lower = town.sign_in_body(town.signer("mei"), account=town.world.addr("mei").lower())
    assert town.client.post("/v1/sessions", json=lower).json()["account"] == session["account"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"issued_in": -4000, "ttl": 3600}, 401, "sign_in_expired"),
        ({"issued_in": 600}, 401, "sign_in_not_yet_valid"),
        ({"ttl": 3601}, 422, "sign_in_validity"),
        ({"ttl": 0}, 422, "sign_in_validity"),
        ({"audience": "another.registry/log"}, 401, "sign_in_wrong_audience"),
        ({"domain": Domain(1, "0x" + "11" * 20)}, 401, "sign_in_wrong_signer"),
    ],
    ids=["expired", "future", "too-long", "empty", "wrong-audience", "wrong-domain"],
)
def test_bad_sign_ins_are_refused(
    town: Town, change: dict[str, Any], status: int, code: str
) -> None:
    change = dict(change)
    if "issued_in" in change:  # from now, not from collection: a long session runs late
        change["issued"] = int(time.time()) + change.pop("issued_in")
    body = town.sign_in_body(town.signer("mei"), **change)
    assert_problem(town.client.post("/v1/sessions", json=body), status, code)


def test_a_sign_in_for_another_account_or_unknown_or_malformed_is_refused(town: Town) -> None:
    # mei signs a message naming jun: the signature recovers to mei.
    body = town.sign_in_body(town.signer("mei"), account=town.world.addr("jun"))
    problem = assert_problem(
        town.client.post("/v1/sessions", json=body), 401, "sign_in_wrong_signer"
    )
    assert problem["recovered"] == town.world.addr("mei")
    # A message altered after signing no longer recovers to its account.
    body = town.sign_in_body(town.signer("mei"))
    body["message"]["expiry"] -= 1
    assert_problem(town.client.post("/v1/sessions", json=body), 401, "sign_in_wrong_signer")
    outsider = Signer.generate()
    assert_problem(
        town.client.post("/v1/sessions", json=town.sign_in_body(outsider)),
        401,
        "sign_in_unknown_account",
    )
    body = town.sign_in_body(town.signer("mei"))
    body["signature"] = "0x" + "00" * 65
    assert_problem(town.client.post("/v1/sessions", json=body), 401, "bad_signature")


def test_forged_expired_and_foreign_tokens_are_refused(town: Town) -> None:
    token = town.token("mei")
    prefix, account, expiry, mac = token.split(".")
    jun = town.world.addr("jun")
    forged = [
        f"{prefix}.{jun}.{expiry}.{mac}",  # another account under mei's MAC
        f"{prefix}.{account}.{int(expiry) + 3600}.{mac}",  # a longer session
        f"{prefix}.{account}.{expiry}.{'0' * 64}",
        "not-a-token",
    ]
    for bad in forged:
        r = town.client.get("/v1/claims", headers={"Authorization": f"Bearer {bad}"})
        assert_problem(r, 401, "session_invalid")
    # A token of another service (another secret) is refused; an expired one of ours too.
    foreign = SessionKeys(b"x" * 32, LOG_ID).issue(account, int(time.time()) + 600)
    r = town.client.get("/v1/claims", headers={"Authorization": f"Bearer {foreign}"})
    assert_problem(r, 401, "session_invalid")
    service = town.client.app.state.service  # type: ignore[attr-defined]
    expired = service.sessions.issue(account, int(time.time()) - 1)
    r = town.client.get("/v1/claims", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(r, 401, "session_expired")
    # A well-formed token of ours still works, and reaches no more than its account.
    fine = town.client.get("/v1/claims", headers={"Authorization": f"Bearer {token}"})
    assert {c["account"] for c in fine.json()["items"]} == {account}


def test_the_session_secret_from_the_settings_survives_a_restart(town: Town) -> None:
    secret = "s" * 40
    with api_client(town.world, session_secret=secret) as first:
        body = town.sign_in_body(town.signer("mei"))
        token = first.post("/v1/sessions", json=body).json()["token"]
    with api_client(town.world, session_secret=secret) as second:
        r = second.get("/v1/claims", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    with api_client(town.world) as third:  # a random secret: the session has ended
        r = third.get("/v1/claims", headers={"Authorization": f"Bearer {token}"})
        assert_problem(r, 401, "session_invalid")


# -- the Python client ---------------------------------------------------------------------


def test_the_client_signs_in_and_reads_with_its_token(town: Town) -> None:
    transport = town.client._transport
    with RegistryClient("http://testserver", transport=transport) as client:
        with pytest.raises(ApiProblem) as refused:
            client.claims()
        assert refused.value.status == 401 and refused.value.code == "session_required"
        session = client.sign_in(town.signer("jun"))
        assert session.account == town.world.addr("jun")
        assert {c.claim_id for c in client.claims().items} == set(town.claims["jun"])
        assert client.claim(town.claims["jun"][0]).account == town.world.addr("jun")
        assert client.account(town.world.addr("jun")).name == "jun (private name)"
        with pytest.raises(ApiProblem) as refused:
            client.claim(town.claims["stranger"][0])
        assert refused.value.status == 403 and refused.value.code == "read_forbidden"
        client.session = session.model_copy(update={"expires_at": int(time.time()) + 5})
        client.claims()  # about to end: the client signed in again
        assert client.session.expires_at > int(time.time()) + 60
        client.sign_out()
        assert client.account(town.world.addr("jun")).name is None


# -- a person's activities --------------------------------------------------------------------


def test_a_person_reads_their_activities_and_others_do_not(town: Town) -> None:
    """The details the log holds only commitments to: times, quantities and outcomes, opened
    from the vault for the person, their household, the operator and the sending platform."""
    mei = town.world.addr("mei")
    path = f"/v1/accounts/{mei}/activities"
    for reader in ("mei", "wang", "operator2", "platform"):
        r = town.client.get(path, headers=town.as_(reader))
        assert r.status_code == 200, (reader, r.text)
        activities = r.json()
        assert len(activities) == 3, reader  # two trips and the refused duplicate
        first = activities[0]
        assert first["quantities"] == {"metro_m": 12_000, "bus_m": 0}
        assert first["end"] - first["start"] == 1_800 and first["activity_id"].startswith("trip-")
        assert first["outcome"]["claim"] == town.claims["mei"][0]
        assert activities[-1]["outcome"]["reason"] == "double_counted"
        body = town.world.store.event_body(first["seq"])
        assert (
            first["activity_id"].encode() not in body and str(first["start"]).encode() not in body
        )
    for reader in ("stranger", "jun", "verifier"):
        assert_problem(town.client.get(path, headers=town.as_(reader)), 403, "read_forbidden")
    other = town.client.get(path, headers=town.as_("other-platform"))  # sent none of them
    assert other.status_code == 200 and other.json() == []
    claim = town.client.get(f"/v1/claims/{town.claims['mei'][0]}", headers=town.as_("mei"))
    shown = claim.json()  # the claim itself holds no times: the log never had them
    assert (shown["start_s"], shown["end_s"], shown["day"]) == (None, None, None)
