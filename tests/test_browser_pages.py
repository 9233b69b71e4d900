"""The verification pages in a real browser: Debian's Chromium, driven by Playwright.

`serve` runs as it would for anyone (embedded chain, its JSON-RPC on loopback); the pages
load the JavaScript light verifier and check a bundle against the chain from the browser:
`/verify?seq=N`, a pasted bundle that was tampered with, and a certificate page.
`make test` installs Chromium when it is missing, so this test fails rather than skips.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from registry.signing import Signer
from tests.serve_process import CLASS, Served, setup_parties


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, int, str]]:
    folder = tmp_path_factory.mktemp("pages")
    with Served(folder / "registry.db") as running:
        running.start()
        alice, bob = Signer.generate(), Signer.generate()
        with running.client() as api:
            setup_parties(api, running.operator, [alice, bob], 10_000, issued_to=[alice])
            retired = api.retire(alice, CLASS, 1_000, reason="commute", jurisdiction="CN-GD",
                                 beneficiary_name="李伟")  # fmt: skip
            api.wait_for_anchor(retired.seq, timeout_s=120)
            certificate = retired.effects["certificate_id"]
        yield running, retired.seq, certificate


def verdict(page: Page, selector: str = "#result") -> str:
    page.wait_for_selector(f"{selector} [data-verdict]", timeout=120_000)
    return str(page.get_attribute(f"{selector} [data-verdict]", "data-verdict"))


def test_the_verify_page_verifies_an_event_in_the_browser(
    served: tuple[Served, int, str], browser: Browser
) -> None:
    running, seq, _ = served
    page = browser.new_page()
    page.goto(f"{running.base}/verify?seq={seq}")
    assert verdict(page) == "verified", page.inner_text("#result")
    checks = page.inner_text("#result")
    for name in ("inclusion", "signature", "root on chain", "confirmations"):
        assert f"✓ {name}" in checks
    page.close()


def test_a_tampered_bundle_pasted_into_the_page_fails_naming_the_check(
    served: tuple[Served, int, str], browser: Browser
) -> None:
    running, seq, _ = served
    with running.client() as api:
        bundle: dict[str, Any] = api.proof(seq)
    bundle["event"]["payload"]["request"]["amount"] += 1
    page = browser.new_page()
    page.goto(f"{running.base}/verify")
    page.fill("#bundle", json.dumps(bundle))
    page.click("button[type=submit]")
    assert verdict(page) == "failed"
    assert "✗ inclusion" in page.inner_text("#result")
    page.close()


def test_the_certificate_page_verifies_itself(
    served: tuple[Served, int, str], browser: Browser, tmp_path: Path
) -> None:
    running, _, certificate = served
    page = browser.new_page()
    page.goto(f"{running.base}/v1/retirements/{certificate}/certificate.html")
    assert verdict(page, "#verify-result") == "verified", page.inner_text("#verify-result")
    page.screenshot(path=str(tmp_path / "certificate.png"))  # Chinese text renders
    assert "李伟" in page.inner_text("body")
    page.close()


ETHERS = (
    Path(__file__).resolve().parents[1] / "node_modules" / "ethers" / "dist" / "ethers.umd.min.js"
)

# An injected EIP-1193 provider backed by an ethers wallet, as MetaMask would inject one.
PROVIDER = """
(() => {
  const wallet = new ethers.Wallet("%s");
  window.__added = [];
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [wallet.address];
      if (method === "wallet_addEthereumChain") { window.__added.push(params[0]); return null; }
      if (method === "eth_signTypedData_v4") {
        const typed = JSON.parse(params[1]);
        delete typed.types.EIP712Domain;
        return wallet.signTypedData(typed.domain, typed.types, typed.message);
      }
      throw new Error("unsupported " + method);
    },
  };
})();
"""


def test_a_browser_wallet_signs_and_the_proof_verifies(
    served: tuple[Served, int, str], browser: Browser
) -> None:
    running, _, _ = served
    holder, buyer = Signer.generate(), Signer.generate()
    with running.client() as api:
        for person in (holder, buyer):
            api.open_account(running.operator, person.address, "household")
        api.issue(running.operator, holder.address, CLASS, 5_000, "claim-wallet")
    page = browser.new_page()
    page.add_init_script(ETHERS.read_text(encoding="utf-8"))
    page.add_init_script(PROVIDER % holder.private_key_hex)
    page.goto(f"{running.base}/wallet")
    page.click("#connect")
    page.wait_for_selector("#form:not([hidden])", timeout=120_000)
    assert page.inner_text("#account") == holder.address
    added = page.evaluate("window.__added")
    assert added and added[0]["rpcUrls"] == [running.rpc_url]  # EIP-3085, the stable URL
    page.fill("#f-to", buyer.address)
    page.fill("#f-assetClass", CLASS)
    page.fill("#f-amount", "1200")
    page.click("button[type=submit]")
    page.wait_for_function(
        "document.getElementById('receipt').textContent.includes('seq')", timeout=120_000
    )
    receipt = json.loads(page.inner_text("#receipt"))
    assert receipt["event_type"] == "CreditsTransferred", receipt
    assert verdict(page, "#verify-result") == "verified", page.inner_text("#verify-result")
    with running.client() as api:
        assert api.active_balance(buyer.address, CLASS) == 1_200
    page.close()
