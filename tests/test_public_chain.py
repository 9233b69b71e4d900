"""The whole lifecycle on a chain that behaves like a public test chain.

A Hardhat node mines a block every second and never on demand (interval mining, automine
off), so every transaction waits in the mempool and every confirmation takes real blocks.
The registry is set up exactly as the README tells an operator to (`deploy`, `init
--chain-id --contract`, `serve` with CARBON_REGISTRY_CHAIN and a confirmation depth), then
issues, trades, retires, locks; a wallet mints with the lock's proof and returns part of
it; every bundle verifies at the required depth, the reserve is exact, the audit clean.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import httpx
import jsonschema

from anchoring.chain import Chain
from bridge.token import TokenContract
from registry.bridge import token_id
from registry.commitments import commitment
from registry.signing import Signer
from tests.hardhat_node import fund, hardhat_node, rpc
from tests.serve_process import Served, free_port, run_cli
from tests.test_token_metadata import ERC1155_METADATA

CLASS = "SZ_TRANSIT-1.0-2026-440300"
ROOT = Path(__file__).resolve().parents[1]
CONFIRMATIONS = 2


def deploy(url: str, operator: Signer, public_url: str) -> tuple[int, str, str]:
    """`carbon-registry deploy`: (chain id, RegistryAnchor, CarbonCredits) from its output."""
    done = run_cli("deploy", "--chain", url, "--public-url", public_url,
                   env={"CARBON_REGISTRY_OPERATOR_KEY": operator.private_key_hex})  # fmt: skip
    anchor = re.search(
        r"RegistryAnchor deployed at (0x[0-9a-fA-F]{40}) on chain (\d+)", done.stdout
    )
    token = re.search(r"CarbonCredits deployed at (0x[0-9a-fA-F]{40})", done.stdout)
    assert anchor and token, done.stdout
    return int(anchor.group(2)), anchor.group(1), token.group(1)


def wait_for_event(served: Served, kind: str, timeout_s: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    with served.client() as api:
        while True:
            found = api.get("/v1/events", type=kind)["items"]
            if found:
                return found[0]  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"no {kind} recorded"
            time.sleep(0.5)


def test_lifecycle_on_an_interval_mined_chain(tmp_path: Path) -> None:
    with hardhat_node() as url:
        rpc(url, "evm_setAutomine", False)
        rpc(url, "evm_setIntervalMining", 1_000)
        operator, wallet, payer = (Signer.generate() for _ in range(3))
        for account in (operator, wallet, payer):
            fund(url, account.address)
        public_port = free_port()  # the API's address, known before the token is deployed
        chain_id, anchor, token_address = deploy(url, operator, f"http://127.0.0.1:{public_port}")
        env = {
            "CARBON_REGISTRY_OPERATOR_KEY": operator.private_key_hex,
            "CARBON_REGISTRY_CHAIN": url,
            "CARBON_REGISTRY_ANCHOR_CONFIRMATIONS": str(CONFIRMATIONS),
            # shown to verifiers: an RPC URL may hold a provider key, so it is never guessed
            "CARBON_REGISTRY_PUBLIC_RPC_URL": url,
            # where token metadata and images point: the API's own address
            "CARBON_REGISTRY_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
        }
        db = tmp_path / "registry.db"
        run_cli("--db", str(db), "init", "--chain-id", str(chain_id), "--contract", anchor,
                env=env)  # fmt: skip
        alice, bob = Signer.generate(), Signer.generate()
        with Served(db, anchor_max_age_s=1, env=env, port=public_port) as served:
            served.start()
            with served.client() as api:
                assert api.chain().rpc_url == url
                for person in (alice, bob):
                    api.open_account(operator, person.address, "household")
                api.register_asset_class(operator, "SZ_TRANSIT", "1.0", 2026, "440300")
                api.issue(operator, alice.address, CLASS, 50_000, "claim-1")
                transfer = api.transfer(alice, bob.address, CLASS, 20_000)
                retire = api.retire(bob, CLASS, 5_000, reason="commute", jurisdiction="CN-GD",
                                    beneficiary_name="Li Wei")  # fmt: skip
                lock = api.lock(alice, CLASS, 3_000, wallet.address)
                bundles = {}
                for event in (transfer, retire, lock):
                    bundles[event.seq] = api.wait_for_anchor(event.seq, timeout_s=180)
            for seq, bundle in bundles.items():
                path = tmp_path / f"bundle-{seq}.json"
                path.write_text(json.dumps(bundle))
                done = run_cli("verify", str(path), "--rpc", url,
                               "--confirmations", str(CONFIRMATIONS), check=False)  # fmt: skip
                assert done.returncode == 0 and "VERIFIED" in done.stdout, done.stdout

            payer_key = tmp_path / "payer.key"
            wallet_key = tmp_path / "wallet.key"
            payer.save(payer_key)
            wallet.save(wallet_key)
            served.cli("token", "mint", str(tmp_path / f"bundle-{lock.seq}.json"),
                       "--rpc", url, "--key-file", str(payer_key))  # fmt: skip
            wait_for_event(served, "CreditsMinted")
            served.cli("token", "return", "--rpc", url, "--key-file", str(wallet_key),
                       "--class", CLASS, "--amount", "1000", "--account", bob.address)  # fmt: skip
            wait_for_event(served, "CreditsReturned")
            retired = served.cli("token", "retire", "--rpc", url, "--key-file", str(wallet_key),
                                 "--class", CLASS, "--amount", "500", "--beneficiary-name",
                                 "Li Wei", "--reason", "offset 2026 flights")  # fmt: skip
            shown = re.search(r"commitment (0x[0-9a-f]{64}); keep its salt 0x([0-9a-f]{64})",
                              retired.stdout)  # fmt: skip
            assert shown and "Li Wei" not in retired.stdout.split("prove")[0], retired.stdout
            assert commitment(bytes.fromhex(shown.group(2)), b"Li Wei") == shown.group(1)
            on_chain = wait_for_event(served, "CreditsRetiredOnChain")
            certificate = f"CERT-{on_chain['seq']:010d}"
            with served.client() as api:
                cert = api.get(f"/v1/retirements/{certificate}")
            assert cert["beneficiary_commitment"] == shown.group(1), cert

            chain = Chain.connect(url)
            try:
                tokens = TokenContract(chain, token_address)
                assert tokens.total_supply(token_id(CLASS)) == 1_500
                uri = tokens.contract.functions.uri(token_id(CLASS)).call()  # as a wallet reads it
                metadata = httpx.get(uri.replace("{id}", f"{token_id(CLASS):064x}")).json()
                jsonschema.validate(metadata, ERC1155_METADATA)
                image = httpx.get(metadata["image"])
                assert image.headers["content-type"] == "image/svg+xml"
                assert ElementTree.fromstring(image.text).tag.endswith("svg")  # well-formed
                assert tokens.balance_of(wallet.address, token_id(CLASS)) == 1_500
            finally:
                chain.close()
            with served.client() as api:
                deadline = time.monotonic() + 120
                while not (reserve := api.get("/v1/reserve"))["ok"]:
                    assert time.monotonic() < deadline, reserve
                    time.sleep(0.5)
                assert api.active_balance(bob.address, CLASS) == 20_000 - 5_000 + 1_000
            audited = served.cli("audit", "--rpc", url, check=False)
            assert audited.returncode == 0, audited.stdout + audited.stderr
            with served.client() as api:
                (tmp_path / "trust.json").write_text(json.dumps(api.get("/v1/trust")))
                api.wait_for_anchor(int(str(on_chain["seq"])), timeout_s=180)
                cert = api.get(f"/v1/retirements/{certificate}")  # now with its anchored proof
            (tmp_path / "certificate.json").write_text(json.dumps(cert))
            outside_verifiers_agree(tmp_path, bundles, url, f"{served.base}/log")
            verified_in_a_browser(f"{served.base}/verify?seq={transfer.seq}")
            for _ in range(2):  # a first look, then the same log again: consistent
                followed = run_cli("monitor", f"{served.base}/log", "--rpc", url, "--trust",
                                   str(tmp_path / "trust.json"), "--state",
                                   str(tmp_path / "monitor.json"), check=False)  # fmt: skip
                assert followed.returncode == 0, followed.stdout + followed.stderr
                assert "consistent" in followed.stdout


def outside_verifiers_agree(
    folder: Path, bundles: dict[int, dict[str, object]], url: str, log_url: str
) -> None:
    """The light verifier installed alone in a fresh virtual environment (no registry
    package in it) and the JavaScript verifier under Node both verify every bundle and a
    retirement certificate against the chain, pinned to the registry's trust anchor, and
    check the reserve from the public log and the chain alone."""
    venv = folder / "outside-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", str(ROOT / "verifier")],
                   check=True, timeout=600, capture_output=True)  # fmt: skip
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "carbon-registry" not in listed and "web3" not in listed, listed
    trust = str(folder / "trust.json")
    documents = [("bundle", str(folder / f"bundle-{seq}.json")) for seq in bundles]
    documents.append(("certificate", str(folder / "certificate.json")))
    for kind, path in documents:
        for command in (
            [str(venv / "bin" / "carbon-verify"), kind, path],
            ["node", str(ROOT / "verifier-js" / "bin" / "carbon-verify.js"), kind, path],
        ):
            done = subprocess.run([*command, "--rpc", url, "--trust", trust,
                                   "--confirmations", str(CONFIRMATIONS)],
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
            assert done.returncode == 0 and "VERIFIED" in done.stdout, (command, done.stdout)
    for command in (
        [str(venv / "bin" / "carbon-verify"), "reserve", log_url],
        ["node", str(ROOT / "verifier-js" / "bin" / "carbon-verify.js"), "reserve", log_url],
    ):
        done = subprocess.run([*command, "--rpc", url, "--trust", trust],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0 and "RESERVE VERIFIED" in done.stdout, (command, done.stdout)


def verified_in_a_browser(page_url: str) -> None:
    """The /verify page checks the bundle in Chromium against the Hardhat node's RPC."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(page_url)
            page.wait_for_selector("#result [data-verdict]", timeout=120_000)
            verdict = page.get_attribute("#result [data-verdict]", "data-verdict")
            assert verdict == "verified", page.inner_text("#result")
        finally:
            browser.close()
