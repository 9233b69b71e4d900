"""End to end over a real socket: uvicorn on 127.0.0.1 with the anchoring worker on the
embedded chain (served over JSON-RPC). The Python client runs the whole lifecycle, the
standalone verifier checks a retirement against the chain through that RPC URL, the event
stream resumes with Last-Event-ID, signed webhooks arrive after retries, and the CLI's
write commands go through the API with --api."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from api.client import ApiProblem, RegistryClient
from api.main import create_app
from api.webhooks import SIGNATURE_HEADER, verify_signature
from carbon_registry.cli import cli
from carbon_registry.cli.app import EMBEDDED_CHAIN_ID
from carbon_verifier.rpc import Rpc
from carbon_verifier.trust import TrustAnchor
from carbon_verifier.verify import verify_certificate
from registry import messages
from registry.eip712 import contract_address_of
from registry.ledger import Registry
from registry.messages import ZERO_ADDRESS
from registry.signing import Signer
from registry.storage import Store
from tests.api_world import OPERATOR_API_KEY, loopback_server, settings_for
from tests.webhook_endpoint import webhook_endpoint

CLASS = "SZ_TRANSIT-1.0-2026-440300"


@dataclass
class Receiver:
    """A local webhook endpoint that refuses its first `failures` deliveries."""

    failures: int
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(failures=2)

    def answer(headers: Message, data: bytes) -> int:
        with state.arrived:
            state.attempts += 1
            if state.attempts <= state.failures:
                return 503
            state.received.append((dict(headers), data))
            state.arrived.notify_all()
        return 204

    with webhook_endpoint(answer) as url:
        yield state, url


def sse_events(base: str, params: dict[str, Any], headers: dict[str, str]) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with httpx.stream(
        "GET", f"{base}/v1/events/stream", params=params, headers=headers, timeout=30
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if "id" in current:
                    events.append(current)
                current = {}
                continue
            name, _, value = line.partition(": ")
            current[name] = value
    return events


def test_lifecycle_over_http_verified_against_the_chain(
    tmp_path: Path, store_url: str, receiver: tuple[Receiver, str]
) -> None:
    operator = Signer.generate()
    db = store_url
    Registry.create(
        Store(db),
        chain_id=EMBEDDED_CHAIN_ID,
        verifying_contract=contract_address_of(operator.address, 0),
        operator=operator.address,
        log_id="e2e.local/log",
    )
    settings = settings_for(
        db,
        anchoring=True,
        operator_key=SecretStr(operator.private_key_hex),
        anchor_max_age_s=0.5,
        webhook_backoff_s=0.05,
    )
    hook_state, hook_url = receiver
    with (
        loopback_server(create_app(settings)) as base,
        RegistryClient(base, operator_api_key=OPERATOR_API_KEY) as api,
    ):
        chain = api.chain()
        assert chain.kind == "embedded" and chain.rpc_url and chain.anchoring.running
        hook = api.create_webhook(hook_url, ["CreditsTransferred", "CreditsRetired"])

        parties = {name: Signer.generate() for name in ("wang", "acme", "metro", "vvb", "pool")}
        kinds = {
            "wang": "household",
            "acme": "company",
            "metro": "platform",
            "vvb": "verifier",
            "pool": "company",
        }
        for name, signer in parties.items():
            api.open_account(operator, signer.address, kinds[name], name=name)
        api.grant_role(operator, parties["metro"].address, "platform")
        api.grant_role(operator, parties["vvb"].address, "verifier")
        api.register_asset_class(operator, "SZ_TRANSIT", "1.0", 2026, "440300")
        with pytest.raises(ApiProblem) as refused:
            api.open_account(parties["wang"], Signer.generate().address, "person")
        assert refused.value.code == "not_authorised"

        # Platform ingestion -> attestation -> issuance run.
        start = int(time.time()) - 3 * 86_400
        activities = [
            {
                "id": f"sz-{i}",
                "account": parties["wang"].address,
                "methodology": "SZ_TRANSIT",
                "version": "1.0",
                "region": "440304",
                "start": start + i * 7200,
                "end": start + i * 7200 + 1800,
                "quantities": {"metro_m": 15_000, "bus_m": 2_000},
            }
            for i in range(3)
        ]
        fields, details = messages.activity_batch(parties["metro"].address, "sz-day-1", activities)
        submitted = api.submit_activities(parties["metro"], fields, details)
        assert submitted.effects["accepted"] == 3
        again = api.submit_activities(parties["metro"], fields, details)
        assert again.seq == submitted.seq  # the same batch: the first receipt, no new event
        pending = [c.claim_id for c in api.claims(status="pending").items]
        assert len(pending) == 3
        api.attest(parties["vvb"], pending)
        run = api.run_issuance(operator, parties["pool"].address, 500)
        issued = run.effects["issued_grams"]
        assert api.active_balance(parties["wang"].address, CLASS) == issued > 0

        # Trades and a retirement.
        api.transfer(parties["wang"], parties["acme"].address, CLASS, issued // 2)
        with pytest.raises(ApiProblem) as refused:
            api.transfer(parties["wang"], parties["acme"].address, CLASS, issued)
        assert refused.value.code == "insufficient_balance" and refused.value.status == 409
        retired = api.retire(
            parties["acme"],
            CLASS,
            issued // 4,
            beneficiary_name="Acme Logistics",
            reason="offset 2026 Q4 delivery fleet",
            jurisdiction="CN-GD",
        )
        certificate_id = retired.certificate_id
        assert certificate_id is not None

        # The CLI's write commands through the API.
        key_file = tmp_path / "wang.key"
        parties["wang"].save(key_file)
        result = CliRunner().invoke(
            cli,
            ["--db", str(tmp_path / "absent.db"), "--api", base, "transfer", "--key-file",
             str(key_file), "--to", parties["acme"].address, "--class", CLASS, "--amount", "10",
             "--json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["event"] == "CreditsTransferred"
        result = CliRunner().invoke(
            cli,
            ["--db", str(tmp_path / "absent.db"), "--api", base, "transfer", "--key-file",
             str(key_file), "--to", parties["acme"].address, "--class", CLASS, "--amount", "1t"],
        )  # fmt: skip
        assert result.exit_code == 1 and "Error [insufficient_balance]" in result.output

        # The standalone verifier checks the retirement against the chain, via its RPC URL.
        bundle = api.wait_for_anchor(retired.seq, timeout_s=60)
        checks = api.verify_proof(bundle, chain.rpc_url)
        assert [c.name for c in checks if not c.ok] == [], checks
        certificate = api.certificate(certificate_id)
        assert certificate.proof["anchor"] is not None and certificate.amount == issued // 4
        raw = api.get(f"/v1/retirements/{certificate_id}")
        trust = TrustAnchor.from_json(api.get("/v1/trust"))
        assert verify_certificate(raw, Rpc(chain.rpc_url), trust=trust).verified
        assert certificate.verify["rpc_url"] == chain.rpc_url
        page = api.certificate_html(certificate_id)
        assert certificate_id in page and bundle["anchor"]["tx_hash"] in page

        # The event stream, then resumed with Last-Event-ID: no gap, no repeat.
        first = sse_events(base, {"after": -1, "max_events": 5}, {})
        rest = sse_events(base, {"max_events": 3}, {"Last-Event-ID": first[-1]["id"]})
        ids = [int(e["id"]) for e in first + rest]
        assert ids == list(range(8))
        assert json.loads(first[0]["data"])["type"] == first[0]["event"] == "RegistryOpened"

        # Webhooks: refused twice, retried with backoff, then every subscribed event arrives.
        wanted = [
            e.seq for e in api.iter_events() if e.type in ("CreditsTransferred", "CreditsRetired")
        ]
        with hook_state.arrived:
            assert hook_state.arrived.wait_for(lambda: len(hook_state.received) == len(wanted), 30)
        seqs = [int(h["X-Registry-Event-Id"]) for h, _ in hook_state.received]
        assert seqs == wanted
        for headers, data in hook_state.received:
            assert verify_signature(hook.secret, headers[SIGNATURE_HEADER], data)
            assert not verify_signature("another secret", headers[SIGNATURE_HEADER], data)
            assert json.loads(data)["seq"] == int(headers["X-Registry-Event-Id"])
        outcomes = [d.outcome for d in reversed(api.webhook_deliveries(hook.id))]
        assert outcomes[:3] == ["retry", "retry", "delivered"]

        # Supply and consistency between two anchored checkpoints.
        klass = api.asset_class(CLASS)
        assert (
            klass.supply.retired == issued // 4
            and klass.supply.buffer == run.effects["buffer_grams"]
        )
        latest = api.latest_checkpoint()
        assert latest.anchor is not None and latest.tree_size >= retired.seq + 1

        # Proof of reserve for exchanges: no lock yet, so no class and nothing to back.
        reserve = api.get("/v1/reserve")
        assert reserve["ok"] is True and reserve["classes"] == []
        assert reserve["log_size"] >= retired.seq + 1 and reserve["problems"] == []
        assert ZERO_ADDRESS not in {a["address"] for a in api.get("/v1/accounts")["items"]}


def test_serve_command_creates_the_registry_and_its_keys(tmp_path: Path) -> None:
    """`carbon-registry serve` on a missing --db: init, an operator API key file, the API up
    with the anchoring worker on the embedded chain, a clean stop on Ctrl-C."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = tmp_path / "served.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_REGISTRY")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "carbon-registry"), "--db", str(db), "serve",
         "--port", str(port), "--anchor-max-age", "0.5"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/v1/chain", timeout=2).json()
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert info["kind"] == "embedded" and info["anchoring"]["running"]
        key = Path(str(db) + ".operator-api-key").read_text().strip()
        operator = Signer.load(Path(str(db) + ".operator-key.json"))
        with RegistryClient(f"http://127.0.0.1:{port}", operator_api_key=key) as api:
            opened = api.open_account(operator, Signer.generate().address, "household")
            assert api.wait_for_anchor(opened.seq, timeout_s=120)["anchor"] is not None
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"Carbon Registry API on http://127.0.0.1:{port}" in output
    assert "registry API stopped" in output
    # The session secret stays for the next start (and for other nodes): its owner's only.
    secret = Path(str(db) + ".session-secret")
    assert len(secret.read_text().strip()) >= 32 and secret.stat().st_mode & 0o077 == 0


def test_serving_with_a_json_rpc_chain(hardhat_url: str, store_url: str) -> None:
    """CARBON_REGISTRY_CHAIN = a node's URL: anchors land there, and bundles verify there."""
    from tests.hardhat_node import connect, fund

    operator = Signer.generate()
    fund(hardhat_url, operator.address)
    chain = connect(hardhat_url)
    contract = chain.deploy_anchor(
        bytes.fromhex(operator.private_key_hex[2:]), operator.address, operator.address
    )
    db = store_url
    Registry.create(
        Store(db),
        chain_id=chain.chain_id,
        verifying_contract=contract,
        operator=operator.address,
        log_id="e2e.local/hardhat",
    )
    settings = settings_for(
        db,
        anchoring=True,
        chain=hardhat_url,
        public_rpc_url=hardhat_url,
        operator_key=SecretStr(operator.private_key_hex),
        anchor_max_age_s=0.2,
    )
    with (
        loopback_server(create_app(settings)) as base,
        RegistryClient(base, operator_api_key=OPERATOR_API_KEY) as api,
    ):
        info = api.chain()
        assert info.kind == "json-rpc" and info.rpc_url == hardhat_url
        assert info.contract == contract
        opened = api.open_account(operator, Signer.generate().address, "company", name="Acme")
        bundle = api.wait_for_anchor(opened.seq, timeout_s=60)
        checks = api.verify_proof(bundle)
        assert [c.name for c in checks if not c.ok] == [], checks
