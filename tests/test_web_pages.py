"""The web pages in process: EIP-4361 sign-in, /me's data (the signed-in account's only,
with each claim's computation in words), the explorer's pages in zh-CN and en, search, and
/docs on local Swagger UI files."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.routing import APIRoute

from api.routes.rating import RatingInputs, RatingPoints
from api.sessions import siwe_message
from api.web import account, assets, explorer, i18n, people
from registry.messages import MESSAGES
from registry.mrv import committed, ingest
from registry.signing import Signer
from tests.api_world import Client, MrvParties, api_client
from tests.ledger_world import CLASS, World
from tests.people_world import join, publish
from tests.web_labels import RAW_KEYS, visible_words

HOST = "testserver"  # the Host the test client sends, and the public URL's host here


@dataclass
class Site:
    world: World
    client: Client
    claims: list[str]
    certificate: str
    serial: str


@pytest.fixture(scope="module")
def site(module_store_url: str) -> Iterator[Site]:
    world = World.create(module_store_url, names=("alice", "bob"))
    world.open("wang", kind="household")
    world.open_person("mei", household=world.addr("wang"), personal_name="Wang Mei")
    world.open_person("lei", household=world.addr("wang"))
    mrv = MrvParties(world)
    records = mrv.trips("alice", 3, metres=12_300)
    receipt = world.registry.execute(*mrv.submit("day-1", records + mrv.trips("mei", 2)))
    claims = [
        o["claim"]
        for o, r in zip(receipt.effects["outcomes"], records, strict=False)
        if "claim" in o and r["account"] == world.addr("alice")
    ]
    world.issue("alice", 5_000)
    retired = world.retire("alice", 1_200)
    certificate = retired.effects["certificate_id"]
    row = world.store.retirement(certificate)
    assert row is not None
    with api_client(world, public_url=f"http://{HOST}") as client:
        yield Site(world, client, claims, certificate, str(row["serials"]))
    world.store.close()


def siwe(signer: Signer, **overrides: Any) -> dict[str, str]:
    now = int(time.time())
    fields: dict[str, Any] = {
        "domain": HOST, "address": signer.address, "uri": f"http://{HOST}/me",
        "chain_id": 31337, "nonce": Signer.generate().address[2:14], "issued": now,
        "expiry": now + 600,
    } | overrides  # fmt: skip
    text = siwe_message(**fields)
    signed = Account.sign_message(encode_defunct(text=text), signer.private_key_hex)
    return {"siwe": text, "signature": "0x" + signed.signature.hex().removeprefix("0x")}


def chain_id(site: Site) -> int:
    return int(site.client.get("/v1/eip712").json()["domain"]["chainId"])


def test_a_wallet_signs_in_with_an_eip_4361_message_once(site: Site) -> None:
    alice = site.world.people["alice"]
    body = siwe(alice, chain_id=chain_id(site))
    r = site.client.post("/v1/sessions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["account"] == alice.address
    token = r.json()["token"]
    assert site.client.get(f"/v1/accounts/{alice.address}/activities",
                           headers={"Authorization": f"Bearer {token}"}).status_code == 200  # fmt: skip
    again = site.client.post("/v1/sessions", json=body)
    assert again.status_code == 401 and again.json()["code"] == "sign_in_nonce_used"


# Times are seconds from the moment the test runs ("issued_in", "expires_in"), not from
# collection: a long session would otherwise turn "not yet valid" into valid.
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"domain": "evil.example"}, "sign_in_wrong_audience"),
        ({"uri": "https://evil.example/me"}, "sign_in_wrong_audience"),
        ({"chain_id": 1}, "sign_in_wrong_audience"),
        ({"expires_in": 7_200}, "sign_in_validity"),
        ({"issued_in": -900, "expires_in": -300}, "sign_in_expired"),
        ({"issued_in": 600, "expires_in": 900}, "sign_in_not_yet_valid"),
        ({"nonce": "short"}, "sign_in_malformed"),
    ],
)
def test_an_eip_4361_message_with_a_wrong_field_is_refused(
    site: Site, change: dict[str, Any], code: str
) -> None:
    now = int(time.time())
    fields = {"chain_id": chain_id(site)} | change
    if "issued_in" in fields:
        fields["issued"] = now + fields.pop("issued_in")
    if "expires_in" in fields:
        fields["expiry"] = now + fields.pop("expires_in")
    r = site.client.post("/v1/sessions", json=siwe(site.world.people["alice"], **fields))
    assert r.json().get("code") == code, r.text
    assert r.status_code in (401, 422)


def test_a_message_signed_by_another_key_or_edited_is_refused(site: Site) -> None:
    alice, bob = site.world.people["alice"], site.world.people["bob"]
    body = siwe(alice, chain_id=chain_id(site))
    forged = siwe(bob, chain_id=chain_id(site))["signature"]
    r = site.client.post("/v1/sessions", json={"siwe": body["siwe"], "signature": forged})
    assert r.json()["code"] == "sign_in_wrong_signer"
    edited = body["siwe"].replace("Version: 1", "Version: 1\nVersion: 1")
    r = site.client.post("/v1/sessions", json={"siwe": edited, "signature": body["signature"]})
    assert r.json()["code"] == "sign_in_malformed"
    lower = body["siwe"].replace(alice.address, alice.address.lower())
    r = site.client.post("/v1/sessions", json={"siwe": lower, "signature": body["signature"]})
    assert r.json()["code"] == "sign_in_malformed"  # EIP-55 is required


def test_me_data_needs_the_session_and_shows_only_its_account(site: Site) -> None:
    assert site.client.get("/me/data").status_code == 401
    page = site.client.get("/me")
    assert page.status_code == 200 and site.world.people["alice"].address not in page.text
    alice = site.world.people["alice"]
    token = site.client.post("/v1/sessions", json=siwe(alice, chain_id=chain_id(site))).json()
    data = site.client.get("/me/data", headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert data["account"] == alice.address
    assert {c["claim_id"] for c in data["claims"]} == set(site.claims)
    # 12.3 km of metro at 46.7 g/km: 574.41 g, floored; less the registry's 5% leakage
    words = data["claims"][0]["computation"]
    assert words == "12.3 km metro × 46.7 g/km = 574 g − 5% 泄漏扣减 = 545 g"  # zh-CN first
    english = site.client.get(
        "/me/data",
        headers={"Authorization": f"Bearer {token['token']}", "Accept-Language": "en"},
    ).json()
    words = english["claims"][0]["computation"]
    assert words == "12.3 km metro × 46.7 g/km = 574 g − 5% leakage = 545 g"
    assert data["total_claimed"] == 3 * 545
    assert data["total_verified"] == 0  # pending: not verified until issued
    assert sum(sum(v) for v in data["series"].values()) == 3 * 545
    # the same grams over the same months, by the platform that reported them
    assert data["platforms"] == [site.world.addr("platform")]
    assert [sum(v) for v in zip(*data["platform_series"].values(), strict=True)] == [
        sum(v) for v in zip(*data["series"].values(), strict=True)
    ]
    assert [r["certificate_id"] for r in data["retirements"]] == [site.certificate]


@pytest.mark.parametrize(
    "path",
    ["/", "/explorer/events", "/explorer/events/0", "/explorer/checkpoints", "/explorer/classes",
     "/explorer/methodologies", "/explorer/methodologies/SZ_TRANSIT/1.0", "/explorer/batches",
     "/explorer/retirements", "/me", "/merchants", "/communities"],
)  # fmt: skip
def test_every_page_renders_in_chinese_first_and_in_english_on_request(
    site: Site, path: str
) -> None:
    site.client.cookies.clear()  # the switch's cookie of the previous case
    zh = site.client.get(path)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    assert "script-src 'self';" in zh.headers["content-security-policy"]
    assert "碳普惠登记处" in zh.text
    en = site.client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Carbon Registry" in en.text
    switched = site.client.get(path + "?lang=en")
    assert '<html lang="en">' in switched.text and switched.cookies.get("lang") == "en"
    assert '<html lang="en">' in site.client.get(path).text  # the cookie keeps the choice
    site.client.cookies.clear()
    for leak in ("alice family", "(private name)"):
        assert leak not in zh.text  # names stay in the vault


def test_the_home_page_shows_the_registry_totals(site: Site) -> None:
    page = site.client.get("/").text
    events = site.world.store.event_count()
    assert f'data-total="events">{events:,}<' in page


def test_search_finds_a_certificate_an_event_and_a_serial(site: Site) -> None:
    r = site.client.get("/explorer/search", params={"q": site.certificate}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/v1/retirements/{site.certificate}/certificate.html"
    for odd in ("²", "٣", "9" * 40):  # digits that int() refuses, and a huge number
        assert site.client.get("/explorer/search", params={"q": odd}).status_code < 500, odd
    r = site.client.get("/explorer/search", params={"q": "3"}, follow_redirects=False)
    assert r.headers["location"] == "/explorer/events/3"
    first_range = site.serial.split()[0]
    page = site.client.get("/explorer/search", params={"q": first_range})
    assert page.status_code == 200 and 'data-status="retired"' in page.text
    assert site.certificate in page.text
    batch, first = site.serial.split()[0].split("-")[-3:-1]  # ...-<batch>-<first>-<last>
    page = site.client.get("/explorer/search", params={"q": f"{CLASS} {batch} {first}"})
    assert 'data-status="retired"' in page.text
    other = site.client.get("/explorer/search", params={"q": f"OTHER-CLASS {batch} {first}"})
    assert other.status_code == 404
    leaf = site.client.get("/explorer/events/3").text.split('id="leaf-hash">')[1][:66]
    r = site.client.get("/explorer/search", params={"q": leaf}, follow_redirects=False)
    assert r.headers["location"] == "/explorer/events/3"
    missing = site.client.get("/explorer/search", params={"q": "CERT-9999999999"})
    assert missing.status_code == 404


def test_docs_and_charts_load_from_this_server_not_a_cdn(site: Site) -> None:
    docs = site.client.get("/docs").text
    assert "/vendor/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "echarts.min.js"):
        assert site.client.get(f"/vendor/{name}").status_code == 200
    assert site.client.get("/vendor/..%2Fpackage.json").status_code == 404
    assert site.client.get("/static/site.css").status_code == 200


def me_data(site: Site, name: str) -> dict[str, Any]:
    body = siwe(site.world.people[name], chain_id=chain_id(site))
    token = site.client.post("/v1/sessions", json=body).json()["token"]
    r = site.client.get("/me/data", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_the_household_view_pools_its_members(site: Site) -> None:
    mei, wang = me_data(site, "mei"), me_data(site, "wang")
    assert mei["household"]["address"] == wang["household"]["address"] == site.world.addr("wang")
    members = {site.world.addr("mei"), site.world.addr("lei")}
    assert set(wang["household"]["members"]) == members  # the household sees its members
    # a member sees how many they are and not who the others are
    assert mei["household"]["members"] == [site.world.addr("mei")]
    assert mei["household"]["member_count"] == wang["household"]["member_count"] == 2
    assert site.world.addr("lei") not in json.dumps(mei)
    assert mei["household"]["claimed"] == mei["total_claimed"] == wang["household"]["claimed"] > 0
    assert wang["claims"] == []  # the household earns nothing itself: its members do
    alone = me_data(site, "alice")["household"]  # a household account of no members
    assert alone["address"] == site.world.addr("alice") and alone["members"] == []


def test_after_a_run_the_household_view_totals_what_its_members_hold(
    tmp_path: Path,
) -> None:
    """A run credits each member's own account (issue 11): the household's view still
    totals its members' claims and active credits; a member sees the totals, not the
    others."""
    world = World.create(tmp_path / "r.db", names=())
    world.open("wang", kind="household")
    world.open_person("mei", household=world.addr("wang"))
    world.open_person("lei", household=world.addr("wang"))
    mrv = MrvParties(world)
    receipt = world.registry.execute(
        *mrv.submit("day-1", mrv.trips("mei", 2) + mrv.trips("lei", 1))
    )
    world.registry.execute(*mrv.attest([o["claim"] for o in receipt.effects["outcomes"]]))
    world.registry.execute(*mrv.run())
    issued = [o["claim"] for o in receipt.effects["outcomes"]]
    with api_client(world, public_url=f"http://{HOST}") as client:
        site = Site(world, client, [], "", "")
        mei, lei, wang = (me_data(site, n) for n in ("mei", "lei", "wang"))
        # the household still reads its members' claims, issued to them
        body = siwe(world.people["wang"], chain_id=chain_id(site))
        token = client.post("/v1/sessions", json=body).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        listed = client.get("/v1/claims", headers=headers).json()["items"]
        assert sorted(c["claim_id"] for c in listed) == sorted(issued)
        one = client.get(f"/v1/claims/{issued[0]}", headers=headers).json()
        assert one["status"] == "issued" and one["beneficiary"] == one["account"]
    held = {n: sum(b["active"] for b in d["balances"]) for n, d in (("mei", mei), ("lei", lei))}
    assert held["mei"] > held["lei"] > 0 and wang["balances"] == []  # each holds their own
    claimed = mei["total_claimed"] + lei["total_claimed"]
    assert wang["household"]["claimed"] == mei["household"]["claimed"] == claimed
    assert sum(wang["household"]["active"].values()) == held["mei"] + held["lei"]
    assert mei["household"]["members"] == [world.addr("mei")]
    assert world.addr("lei") not in json.dumps(mei)
    world.store.close()


def test_merchant_and_community_pages_show_public_data_only(site: Site) -> None:
    world = site.world
    world.open("cafe", kind="merchant")
    world.open("lotus", kind="community")
    publish(world, "cafe", "coffee-2026", 2_000)
    join(world, "mei", "lotus", pseudonym="绿色狐狸")
    join(world, "alice", "lotus")  # not on the leaderboard
    offers = site.client.get("/merchants").text
    assert 'data-offer="coffee-2026"' in offers and 'data-grams="2000"' in offers
    merchant = site.client.get(f"/merchants/{world.addr('cafe')}")
    assert merchant.status_code == 200 and "coffee-2026" in merchant.text
    community = site.client.get(f"/communities/{world.addr('lotus')}").text
    assert 'data-total="members">2<' in community and "绿色狐狸" in community
    for address in (world.addr("mei"), world.addr("alice")):
        assert address not in community
    assert world.addr("lotus") in site.client.get("/communities").text
    for wrong in (f"/merchants/{world.addr('alice')}", f"/communities/{world.addr('cafe')}"):
        assert site.client.get(wrong).status_code == 404


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_label_has_both_languages() -> None:
    for key, (zh, en) in i18n.LABELS.items():
        assert zh.strip() and en.strip(), key
        if key != "switch":  # the switch names the other language in it
            assert CJK.search(zh), f"{key}: {zh!r} is not Chinese"
            assert not CJK.search(en), f"{key}: {en!r} is not English"
    for table in (i18n.EVENT_CAPTIONS, i18n.REFUSALS):
        for key, (zh, en) in table.items():
            assert CJK.search(zh) and en.strip() and not CJK.search(en), key


def test_every_event_type_refusal_and_rating_field_has_a_label() -> None:
    assert set(i18n.EVENT_CAPTIONS) == {m.event for m in MESSAGES.values()}
    assert set(i18n.REFUSALS) == set(committed.REASONS) | set(ingest.REASONS)
    fields = set(RatingInputs.model_fields) | set(RatingPoints.model_fields)
    for lang in i18n.LANGUAGES:
        assert set(i18n.rating_labels(lang)) == fields


def test_the_chinese_pages_show_no_untranslated_label_key(site: Site) -> None:
    world = site.world
    world.open("pine", kind="community")
    joined = join(world, "bob", "pine", pseudonym="松鼠")
    paths = [
        "/", "/explorer/events", f"/explorer/events/{joined.seq}", "/explorer/checkpoints",
        "/explorer/classes", "/explorer/methodologies", "/explorer/methodologies/SZ_TRANSIT/1.0",
        "/explorer/batches", "/explorer/retirements", f"/explorer/search?q={site.serial.split()[0]}",
        "/me", "/merchants", "/communities", f"/communities/{world.addr('pine')}",
        "/explorer/events/999999",
    ]  # fmt: skip
    site.client.cookies.clear()
    for path in paths:
        page = site.client.get(path)
        assert '<html lang="zh-CN">' in page.text, path
        assert not visible_words(page.text) & RAW_KEYS, path
    events = site.client.get("/explorer/events").text
    assert 'CommunityJoined <span class="note">加入社区</span>' in events
    event = site.client.get(f"/explorer/events/{joined.seq}").text
    assert 'CommunityJoined <span class="caption">(加入社区)</span>' in event
    english = site.client.get(f"/explorer/events/{joined.seq}", headers={"Accept-Language": "en"})
    assert "(community joined)" in english.text


def test_the_readme_lists_every_page_and_only_pages_that_exist() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = readme.split("### Web pages", 1)[1].split("\n## ", 1)[0]
    listed: set[str] = set()
    for row in re.findall(r"^\| (`[^|]*) \|", section, re.MULTILINE):
        for path in re.findall(r"`(/[^`]*)`", row):
            optional = re.fullmatch(r"(.*)\[(.*)\]", path)
            listed |= {optional[1], optional[1] + optional[2]} if optional else {path}
    served = {
        route.path
        for module in (account, assets, explorer, people)
        for route in module.router.routes
        if isinstance(route, APIRoute)
    } - {"/static/{name}", "/vendor/{name}", "/me/data"}  # files and /me's JSON, not pages

    def shape(path: str) -> str:  # parameters named alike, no query
        return re.sub(r"\{\w+\}", "{}", path.split("?")[0])

    assert {shape(p) for p in listed} == {shape(p) for p in served}


def test_a_phishing_site_cannot_sign_in_by_sending_its_own_host(site: Site) -> None:
    """A wallet signs "evil.example wants you to sign in" on evil.example without warning;
    posted here with `Host: evil.example`, it must still be refused: the domain is checked
    against the registry's public URL, not the request's Host header."""
    body = siwe(site.world.people["alice"], chain_id=chain_id(site), domain="evil.example",
                uri="https://evil.example/me")  # fmt: skip
    r = site.client.post("/v1/sessions", json=body, headers={"Host": "evil.example"})
    assert r.status_code == 401 and r.json()["code"] == "sign_in_wrong_audience", r.text
