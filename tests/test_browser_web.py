"""The web pages in Debian's Chromium (Playwright, never a downloaded browser): a person
signs in with a wallet (EIP-4361, personal_sign) and sees their claims and chart; redeems a
merchant's offer (eth_signTypedData_v4) and the merchant, signed in, sees it; discloses a
signed rating statement; a community shows its totals and leaderboard; the explorer finds a
certificate by serial and the certificate verifies itself in the page; anchors link to the
configured block explorer; a person joins a community under a pseudonym from its page and
leaves; axe-core finds no serious or critical violation on any page type at phone and
desktop widths; screenshots of each page type at both widths go to
test-output/screenshots/.

The wallet is an EIP-1193 provider injected into the page whose signatures are made in
Python with eth_account (`expose_binding`), as MetaMask would make them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from playwright.sync_api import Browser, BrowserContext, Page

from carbon_verifier.rating import statement_digest
from registry import messages
from registry.commitments import commit_text
from registry.eip712 import recover_signer
from registry.signing import Signer
from tests.serve_process import CLASS, Served, setup_parties
from tests.web_labels import RAW_KEYS, words

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-output" / "screenshots"
WAIT_MS = 120_000
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

# window.ethereum: requests go to the Python wallet through the exposed binding.
PROVIDER = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) { return window.__wallet(method, JSON.stringify(params ?? [])); },
};
"""


@dataclass
class Town:
    served: Served
    person: Signer
    certificate: str
    serial: str
    merchant: Signer
    community: str
    neighbour: Signer  # a person not yet in the community


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    folder = tmp_path_factory.mktemp("web-browser")
    explorer = {"CARBON_REGISTRY_CHAIN_EXPLORER_TX_URL": "https://explorer.example/tx/{tx}"}
    with Served(folder / "registry.db", env=explorer) as running:
        running.env["CARBON_REGISTRY_PUBLIC_URL"] = running.base  # what wallets sign in to
        running.start()
        person, platform = Signer.generate(), Signer.generate()
        with running.client() as api:
            setup_parties(api, running.operator, [person], 5_000)
            api.open_account(running.operator, platform.address, "platform", name="Metro SZ")
            api.grant_role(running.operator, platform.address, "platform")
            start = int(time.time()) - 3 * 86_400
            trips = [
                {"id": f"trip-{i}", "account": person.address, "methodology": "SZ_TRANSIT",
                 "version": "1.0", "region": "440304", "start": start + i * 10_800,
                 "end": start + i * 10_800 + 1_800, "quantities": {"metro_m": 12_300, "bus_m": 0}}
                for i in range(3)
            ]  # fmt: skip
            fields, details = messages.activity_batch(platform.address, "day-1", trips)
            api.submit_activities(platform, fields, details)
            merchant, community, neighbour = Signer.generate(), Signer.generate(), Signer.generate()
            api.open_account(running.operator, neighbour.address, "person")
            api.open_account(
                running.operator, merchant.address, "merchant", name="街角咖啡 Corner Cafe"
            )
            api.open_account(running.operator, community.address, "community", name="莲花山社区")
            api.send(merchant, "PublishOffer", None, merchant=merchant.address,
                     offerId="coffee-2026", title="咖啡券 coffee voucher", grams=2_000)  # fmt: skip
            salt, committed = commit_text("绿色狐狸")
            api.send(person, "JoinCommunity", {"pseudonym": (salt, "绿色狐狸")},
                     member=person.address, community=community.address, leaderboard=True,
                     pseudonymCommitment=committed)  # fmt: skip
            retired = api.retire(person, CLASS, 1_000, reason="commute", jurisdiction="CN-GD")
            api.wait_for_anchor(retired.seq, timeout_s=120)
            certificate = str(retired.effects["certificate_id"])
            serial = api.certificate(certificate).serials[0]
        yield Town(running, person, certificate, serial, merchant, community.address, neighbour)


def wallet_context(browser: Browser, signer: Signer, **options: Any) -> BrowserContext:
    """A browser context whose pages have `signer`'s wallet injected."""
    context = browser.new_context(locale="zh-CN", **options)  # Accept-Language: zh-CN

    def answer(_source: Any, method: str, params_json: str) -> Any:
        params = json.loads(params_json)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [signer.address.lower()]  # as MetaMask answers: not checksummed
        if method == "personal_sign":
            signed = Account.sign_message(encode_defunct(hexstr=params[0]), signer.private_key_hex)
            return "0x" + signed.signature.hex().removeprefix("0x")
        if method == "eth_signTypedData_v4":
            typed = encode_typed_data(full_message=json.loads(params[1]))
            signed = Account.sign_message(typed, signer.private_key_hex)
            return "0x" + signed.signature.hex().removeprefix("0x")
        raise ValueError(f"unsupported {method}")

    context.expose_binding("__wallet", answer)
    context.add_init_script(PROVIDER)
    context.set_default_timeout(WAIT_MS)
    return context


def signed_in_page(town: Town, context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto(f"{town.served.base}/me")
    page.click("#connect")
    page.wait_for_selector("body[data-loaded=true]")
    return page


def test_a_person_signs_in_with_the_wallet_and_sees_claims_and_chart(
    town: Town, browser: Browser
) -> None:
    context = wallet_context(browser, town.person)
    page = signed_in_page(town, context)
    assert page.inner_text("#address") == town.person.address
    rows = page.locator("#claims tbody tr")
    assert rows.count() == 3
    assert "12.3 km metro × 46.7 g/km = 574 g − 5% 泄漏扣减 = 545 g" in rows.first.inner_text()
    assert "待核证" in rows.first.inner_text()  # the status in the page's language
    page.wait_for_selector("#chart[data-rendered=true] canvas")
    page.wait_for_selector("#platform-chart[data-rendered=true] canvas")
    assert page.locator("#series tbody tr").count() >= 1  # the chart's table fallback
    assert town.certificate in page.inner_text("#retirements")
    page.fill("#fp-car_km", "100")
    page.fill("#fp-electricity", "10")
    assert page.get_attribute("#fp-total", "data-grams") == str(100 * 110 + 10 * 536)
    page.reload()  # the token stays in the tab (sessionStorage)
    page.wait_for_selector("body[data-loaded=true]")
    context.close()
    fresh = browser.new_page()  # another tab, no session: nothing personal
    fresh.goto(f"{town.served.base}/me")
    assert town.person.address not in fresh.content()
    fresh.close()


def test_the_explorer_finds_a_certificate_by_serial_and_verifies_it(
    town: Town, browser: Browser
) -> None:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{town.served.base}/")
    page.fill("#q", town.serial)
    page.press("#q", "Enter")
    page.wait_for_selector("#serial-result [data-status=retired]")
    page.click("#certificate-link")
    page.wait_for_selector("#verify-result [data-verdict]")
    assert page.get_attribute("#verify-result [data-verdict]", "data-verdict") == "verified"
    assert town.certificate in page.inner_text("body")
    page.close()


def test_a_person_redeems_an_offer_and_the_merchant_sees_it(town: Town, browser: Browser) -> None:
    with town.served.client() as api:
        before = api.active_balance(town.merchant.address, CLASS)
    context = wallet_context(browser, town.person)
    page = context.new_page()
    page.goto(f"{town.served.base}/merchants")
    offer = page.locator("li[data-offer=coffee-2026]")
    assert "咖啡券 coffee voucher" in offer.inner_text()
    offer.locator("select").select_option("transfer")
    offer.locator("button[type=submit]").click()
    page.wait_for_selector("#redeem-status[data-seq]")
    seq = int(str(page.get_attribute("#redeem-status", "data-seq")))
    context.close()
    with town.served.client() as api:
        assert api.active_balance(town.merchant.address, CLASS) == before + 2_000
        assert api.event(seq).type == "OfferRedeemed"
    merchant = wallet_context(browser, town.merchant)
    page = merchant.new_page()
    page.goto(f"{town.served.base}/merchants/{town.merchant.address}")
    page.click("#connect")
    page.wait_for_selector("body[data-loaded=true]")
    rows = page.locator("#redemptions tbody tr")
    assert rows.count() == 1 and "coffee-2026" in rows.first.inner_text()
    assert f"#{seq}" in rows.first.inner_text()
    merchant.close()


def test_the_person_discloses_a_signed_rating_statement(town: Town, browser: Browser) -> None:
    context = wallet_context(browser, town.person)
    page = signed_in_page(town, context)
    assert page.inner_text("#score").isdigit()
    inputs = page.inner_text("#rating-inputs")  # the rating's fields in the page's language
    assert "经核证的减排量（克）" in inputs and "撤销扣分" in inputs
    assert not words(page.inner_text("main")) & RAW_KEYS
    page.click("#disclose")
    page.wait_for_selector("#statement:not([hidden])")
    signed = json.loads(page.inner_text("#statement"))
    statement = signed["statement"]
    assert statement["account"] == town.person.address
    assert str(statement["score"]) == page.inner_text("#score")
    signer = recover_signer(statement_digest(statement), signed["signature"])
    assert signer == town.served.operator.address  # the checkpoints' key: GET /v1/trust
    context.close()


def test_the_community_page_shows_totals_and_the_opted_in_pseudonym(
    town: Town, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(f"{town.served.base}/communities/{town.community}")
    assert page.inner_text("[data-total=members]") == "1"
    assert "绿色狐狸" in page.inner_text("#leaderboard")
    assert town.person.address not in page.content()
    page.close()


def test_a_person_joins_the_community_under_a_pseudonym_and_leaves(
    town: Town, browser: Browser
) -> None:
    context = wallet_context(browser, town.neighbour)
    page = context.new_page()
    page.goto(f"{town.served.base}/communities/{town.community}")
    members = int(page.inner_text("[data-total=members]"))
    page.check("#join-leaderboard")
    page.fill("#join-pseudonym", "安静的猫头鹰")
    page.click("#join button[type=submit]")
    page.wait_for_selector("#membership-status[data-kind=JoinCommunity][data-seq]")
    assert "安静的猫头鹰" in page.inner_text("#leaderboard")
    assert page.inner_text("[data-total=members]") == str(members + 1)
    joined = int(str(page.get_attribute("#membership-status", "data-seq")))
    with town.served.client() as api:
        event = api.event(joined)
        assert event.type == "CommunityJoined"
        # the log holds the commitment only; the pseudonym came beside the request
        assert "安静的猫头鹰" not in json.dumps(event.model_dump(), ensure_ascii=False)
    page.reload()  # the server's page shows it too
    assert "安静的猫头鹰" in page.inner_text("#leaderboard")
    page.click("#leave")
    page.wait_for_selector("#membership-status[data-kind=LeaveCommunity][data-seq]")
    assert "安静的猫头鹰" not in page.inner_text("#leaderboard")
    assert page.inner_text("[data-total=members]") == str(members)
    page.reload()
    assert "安静的猫头鹰" not in page.inner_text("#leaderboard")
    context.close()


def test_joining_the_leaderboard_without_a_pseudonym_is_refused_in_the_page(
    town: Town, browser: Browser
) -> None:
    context = wallet_context(browser, town.neighbour)
    page = context.new_page()
    page.goto(f"{town.served.base}/communities/{town.community}")
    members = page.inner_text("[data-total=members]")
    page.check("#join-leaderboard")
    page.click("#join button[type=submit]")
    page.wait_for_function("document.getElementById('membership-status').textContent !== ''")
    assert "昵称" in page.inner_text("#membership-status")
    assert page.get_attribute("#membership-status", "data-seq") is None
    page.reload()
    assert page.inner_text("[data-total=members]") == members
    context.close()


def test_anchors_link_to_the_configured_block_explorer(town: Town, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{town.served.base}/explorer/checkpoints")
    links = page.locator("a[href^='https://explorer.example/tx/0x']")
    assert links.count() >= 1
    tx = str(links.first.get_attribute("href")).rsplit("/", 1)[1]
    assert links.first.inner_text() == tx
    page.close()


def page_types(town: Town) -> dict[str, str]:
    return {
        "home": "/",
        "events": "/explorer/events",
        "event": "/explorer/events/1",
        "checkpoints": "/explorer/checkpoints",
        "classes": "/explorer/classes",
        "methodology": "/explorer/methodologies/SZ_TRANSIT/1.0",
        "batches": "/explorer/batches",
        "retirements": "/explorer/retirements",
        "serial": f"/explorer/search?q={town.serial}",
        "certificate": f"/v1/retirements/{town.certificate}/certificate.html",
        "me-signed-out": "/me",
        "merchants": "/merchants",
        "merchant": f"/merchants/{town.merchant.address}",
        "communities": "/communities",
        "community": f"/communities/{town.community}",
        "english-home": "/?lang=en",
    }


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    report = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in report["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_type_passes_axe_and_is_photographed_at_both_widths(
    town: Town, browser: Browser
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[dict[str, Any]]] = {}
    for width, viewport in VIEWPORTS.items():
        # axe is injected as a script tag, which the pages' CSP would refuse
        context = wallet_context(browser, town.person, viewport=viewport, bypass_csp=True)
        page = context.new_page()
        for name, path in page_types(town).items():
            page.goto(f"{town.served.base}{path}")
            page.wait_for_load_state("load")
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=width == "phone")
            if violations := serious_violations(page):
                found[f"{name}-{width}"] = violations
        page.close()
        context.clear_cookies()  # the English page's switch set one: /me in Chinese
        me = signed_in_page(town, context)
        me.wait_for_selector("#chart[data-rendered=true] canvas")
        me.screenshot(path=str(SHOTS / f"me-{width}.png"), full_page=True)
        if violations := serious_violations(me):
            found[f"me-{width}"] = violations
        context.close()
    assert found == {}
    assert len(list(SHOTS.glob("*.png"))) >= 2 * (len(page_types(town)) + 1)
