"""The light verifier on the shared bundle vectors: bundles of every event type verify, and
every change to any field of a bundle is refused with that field named.

The same files are run by the JavaScript verifier under Node and in headless Chromium.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from carbon_verifier.rpc import Rpc
from carbon_verifier.trust import TrustAnchor
from carbon_verifier.verify import Report, verify_bundle, verify_certificate
from tests.bundle_mutations import covered, tamper_cases
from tests.chain_snapshot import transport
from tests.vectors.generate_bundle_vectors import generate

VECTORS = Path(__file__).resolve().parent / "vectors" / "bundles"


def load(name: str, folder: Path = VECTORS) -> Any:
    return json.loads((folder / f"{name}.json").read_text())


VALID: dict[str, dict[str, Any]] = load("valid")
RPC = Rpc(transport(load("chain")))
TRUST = TrustAnchor.from_json(load("trust"))


def check(bundle: Any, trust: TrustAnchor | None = TRUST) -> Report:
    return verify_bundle(bundle, RPC, trust=trust)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_a_bundle_of_every_event_type_verifies(event_type: str) -> None:
    report = check(VALID[event_type])
    assert report.verified, report.failures
    assert [c.name for c in report.checks] == [
        "format",
        "inclusion",
        "trust",
        "signature",
        "chain",
        "signer role",
        "root on chain",
        "transaction",
        "confirmations",
    ]


def test_every_event_type_has_a_vector() -> None:
    assert sorted(VALID) == [
        "AccountOpened",
        "ActivitiesSubmitted",
        "AssetClassRegistered",
        "ClaimReversed",
        "ClaimsAttested",
        "CommunityJoined",
        "CommunityLeft",
        "CreditsCancelled",
        "CreditsIssued",
        "CreditsLocked",
        "CreditsMinted",
        "CreditsRetired",
        "CreditsRetiredOnChain",
        "CreditsReturned",
        "CreditsTransferred",
        "IssuanceRun",
        "LockReleased",
        "OfferPublished",
        "OfferRedeemed",
        "OfferWithdrawn",
        "RegistryOpened",
        "RoleGranted",
        "RoleRevoked",
    ]


def test_a_pending_bundle_is_well_formed_but_never_verified() -> None:
    report = check(load("pending"))
    assert [c.name for c in report.checks] == ["format", "anchored"]
    assert not report.verified


@pytest.mark.parametrize("case", load("tamper"), ids=lambda case: case["name"])
def test_every_tamper_vector_fails_naming_its_field(case: dict[str, Any]) -> None:
    report = check(case["bundle"])
    assert not report.verified, case["name"]
    named = [c for c in report.failures if covered(case["field"], c.fields)]
    assert named, (case["name"], report.failures)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_every_change_to_every_field_of_every_bundle_is_refused(event_type: str) -> None:
    bundle = VALID[event_type]
    others = [b for t, b in VALID.items() if t != event_type]
    cases = 0
    for name, field, changed in tamper_cases(bundle, others):
        report = check(changed)
        assert not report.verified, name
        assert any(covered(field, c.fields) for c in report.failures), (name, report.failures)
        cases += 1
    assert cases > 40


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"log_id": "another.registry/log"}, "checkpoint.log_id"),
        ({"chain_id": 1}, "anchor.chain_id"),
        ({"contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}, "anchor.contract"),
        ({"signers": ("0x5FbDB2315678afecb367f032d93F642f64180aa3",)}, "checkpoint.signer"),
    ],
)
def test_a_bundle_of_another_log_chain_contract_or_signer_fails_the_trust_anchor(
    change: dict[str, Any], named: str
) -> None:
    report = check(VALID["CreditsRetired"], replace(TRUST, **change))
    assert [c.name for c in report.failures] == ["trust"]
    assert named in report.failures[0].detail


def test_without_a_chain_nothing_is_verified() -> None:
    report = verify_bundle(VALID["CreditsRetired"], None, trust=TRUST)
    assert [c.name for c in report.failures] == ["chain"]
    assert all(c.ok for c in report.checks[:-1])


def test_a_fresh_generation_verifies_too(tmp_path: Path) -> None:
    generate(tmp_path)
    rpc = Rpc(transport(load("chain", tmp_path)))
    trust = TrustAnchor.from_json(load("trust", tmp_path))
    fresh = load("valid", tmp_path)
    assert sorted(fresh) == sorted(VALID)
    for bundle in fresh.values():
        assert verify_bundle(bundle, rpc, trust=trust).verified
    for case in load("tamper", tmp_path)[:50]:
        assert not verify_bundle(case["bundle"], rpc, trust=trust).verified


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_a_lowercase_signer_is_refused_by_the_stated_rule() -> None:
    """Addresses are EIP-55 checksummed (docs/spec.md): a lowercase signer is not the format."""
    bundle = json.loads(json.dumps(VALID["CreditsRetired"]))
    bundle["checkpoint"]["signer"] = bundle["checkpoint"]["signer"].lower()
    report = check(bundle)
    assert [c.name for c in report.failures] == ["format"]
    assert "checkpoint.signer" in report.failures[0].fields


def test_the_high_s_twin_of_a_checkpoint_signature_is_refused() -> None:
    """(r, n - s, v ^ 1) recovers the same key; only the low-s form is accepted (EIP-2)."""
    bundle = json.loads(json.dumps(VALID["CreditsRetired"]))
    raw = bytes.fromhex(bundle["checkpoint"]["signature"][2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    bundle["checkpoint"]["signature"] = "0x" + twin.hex()
    report = check(bundle)
    assert not report.verified
    assert any("checkpoint.signature" in c.fields for c in report.failures), report.failures


def test_the_certificate_of_a_redemption_by_retirement_verifies() -> None:
    """An offer redeemed by retirement has a certificate like a Retire's: the retirements row
    the registry serves states what the OfferRedeemed event logged, and nothing else."""
    bundle = VALID["OfferRedeemed"]
    event = bundle["event"]
    request, effects = event["payload"]["request"], event["payload"]["effects"]
    assert request["mode"] == "retire"
    methodology, version, vintage, _ = request["assetClass"].rsplit("-", 3)
    certificate = {
        "certificate_id": effects["certificate_id"], "seq": event["seq"], "time": event["time"],
        "owner": request["owner"], "asset_class": request["assetClass"],
        "amount": effects["grams"], "beneficiary_name": None, "beneficiary_commitment": None,
        "beneficiary": request["merchant"], "reason": "redeemed offer coffee",
        "jurisdiction": "CN", "proof": bundle,
        "serials": [f"CN-CIR-{methodology}-{version}-{vintage}-{r['batch_no']}-{r['first']}"
                    f"-{r['last']}" for r in effects["ranges"]],
    }  # fmt: skip
    report = verify_certificate(certificate, RPC, trust=TRUST)
    assert report.verified, [c for c in report.checks if not c.ok]
    for key, value in (("amount", effects["grams"] + 1), ("beneficiary", request["owner"])):
        changed = verify_certificate({**certificate, key: value}, RPC, trust=TRUST)
        assert [c.name for c in changed.checks if not c.ok] == ["certificate"]
