"""Verification of proof bundles, consistency bundles and retirement certificates.

A bundle and a chain's JSON-RPC are all it needs. Each check is reported by name with what
it found and the bundle fields it covers, so a failing bundle says which link of the chain
of evidence is broken and where:

    format         the bundle is exactly the format (bundle.py); names the field
    inclusion      the event's RFC 8785 bytes, hashed as leaf `leaf_index`, lead along
                   inclusion.path to checkpoint.root_hash (RFC 9162)
    trust          the log, chain, contract and signer are the ones the trust anchor pins
    signature      checkpoint.signature is the signer's EIP-712 signature of the checkpoint
                   in the domain of anchor.chain_id and anchor.contract
    chain          the RPC serves anchor.chain_id and the contract has code there
    signer role    the signer held ANCHORER_ROLE when the checkpoint was anchored
    root on chain  the contract stores root_hash for tree_size
    transaction    anchor.tx_hash succeeded in block anchor.block_number (whose hash is
                   anchor.block_hash) and logged Anchored(tree_size, root, checkpoint hash)
    confirmations  the block is deep enough

A failure of the chain, a vanished transaction or a missing contract is explained: a reorg
(the block at that height changed) is told apart from a reset or another chain (the head is
below the block, the contract has no code, or the chain id differs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carbon_verifier.bundle import (
    Anchor,
    AnchoredCheckpoint,
    Bundle,
    BundleFormatError,
    parse_bundle,
    parse_consistency_bundle,
)
from carbon_verifier.checkpoint import SignedCheckpoint
from carbon_verifier.crypto import Domain, SignatureError
from carbon_verifier.errors import CodedError
from carbon_verifier.merkle import (
    MerkleError,
    leaf_hash,
    root_from_consistency_proof,
    root_from_inclusion_proof,
)
from carbon_verifier.rpc import Rpc
from carbon_verifier.trust import TrustAnchor

INCLUSION_FIELDS = (
    "event",
    "leaf_index",
    "inclusion",
    "checkpoint.root_hash",
    "checkpoint.tree_size",
)
SIGNATURE_FIELDS = ("checkpoint", "anchor.chain_id", "anchor.contract")
ANCHOR_FIELDS = ("anchor", "checkpoint.tree_size", "checkpoint.root_hash")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class CheckFailed(Exception):
    """Raised inside a check; its message becomes the check's detail."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class _Checks:
    def __init__(self) -> None:
        self.results: list[Check] = []

    def run(self, name: str, fields: tuple[str, ...], func: Callable[[], str]) -> bool:
        try:
            detail = func()
        except (CheckFailed, CodedError, ValueError) as exc:
            self.results.append(Check(name, False, str(exc) or type(exc).__name__, fields))
            return False
        self.results.append(Check(name, True, detail, fields))
        return True


def _format_failure(exc: BundleFormatError) -> Report:
    return Report([Check("format", False, str(exc), exc.fields)])


def verify_bundle(
    value: Any,
    rpc: Rpc | None,
    *,
    trust: TrustAnchor | None = None,
    min_confirmations: int = 1,
) -> Report:
    """Every check of a proof bundle. Without `rpc` only the offline checks run, and the
    report says the chain was not checked (it is then not VERIFIED)."""
    try:
        bundle = parse_bundle(value)
    except BundleFormatError as exc:
        return _format_failure(exc)
    checks = _Checks()
    checks.results.append(Check("format", True, "the bundle is exactly version 1"))
    if not bundle.anchored:
        pending = bundle.pending or {}
        checks.results.append(
            Check(
                "anchored",
                False,
                f"not anchored yet ({pending.get('status')}): {pending.get('detail')},"
                f" expected by {pending.get('expected_by')}",
                ("anchor",),
            )
        )
        return Report(checks.results)
    assert bundle.checkpoint is not None and bundle.anchor is not None
    ok = _offline(checks, bundle, bundle.checkpoint, bundle.anchor, trust)
    if rpc is None:
        checks.results.append(Check("chain", False, "not checked: no chain RPC given", ()))
    elif ok:
        _on_chain(checks, rpc, bundle.checkpoint, bundle.anchor, min_confirmations, trust)
    return Report(checks.results)


def _offline(
    checks: _Checks,
    bundle: Bundle,
    signed: SignedCheckpoint,
    anchor: Anchor,
    trust: TrustAnchor | None,
) -> bool:
    cp = signed.checkpoint
    domain = Domain(anchor.chain_id, anchor.contract)

    def inclusion() -> str:
        assert bundle.path is not None
        leaf = leaf_hash(bundle.event_bytes)
        root = root_from_inclusion_proof(bundle.leaf_index, cp.tree_size, leaf, bundle.path)
        require(
            root == cp.root_hash,
            f"the event's leaf {leaf.hex()} and inclusion.path lead to {root.hex()},"
            f" not to checkpoint.root_hash {cp.root_hash.hex()}",
        )
        return (
            f"event {bundle.leaf_index} ({bundle.event['type']}) is leaf {leaf.hex()} of the"
            f" tree of {cp.tree_size} ({len(bundle.path)} path hashes)"
        )

    def signature() -> str:
        signed.verify(domain)
        return f"checkpoint {cp.tree_size} signed by {signed.signer}"

    results = [checks.run("inclusion", INCLUSION_FIELDS, inclusion)]
    if trust is not None:
        results.append(_trust_check(checks, trust, signed, anchor, "checkpoint", "anchor"))
    results.append(checks.run("signature", SIGNATURE_FIELDS, signature))
    return all(results)


def _trust_check(
    checks: _Checks,
    trust: TrustAnchor,
    signed: SignedCheckpoint,
    anchor: Anchor,
    checkpoint_field: str,
    anchor_field: str,
    name: str = "trust",
) -> bool:
    def pinned() -> str:
        cp = signed.checkpoint
        require(
            cp.log_id == trust.log_id,
            f"{checkpoint_field}.log_id is {cp.log_id!r}; the trust anchor pins {trust.log_id!r}",
        )
        require(
            anchor.chain_id == trust.chain_id,
            f"{anchor_field}.chain_id is {anchor.chain_id}; the trust anchor pins {trust.chain_id}",
        )
        require(
            anchor.contract == trust.contract,
            f"{anchor_field}.contract is {anchor.contract}; the trust anchor pins {trust.contract}",
        )
        require(
            not trust.signers or signed.signer in trust.signers,
            f"{checkpoint_field}.signer {signed.signer} is not among the trusted signers"
            f" {', '.join(trust.signers)}",
        )
        return f"log {trust.log_id} on chain {trust.chain_id}, contract {trust.contract}"

    fields = (
        f"{checkpoint_field}.log_id",
        f"{checkpoint_field}.signer",
        f"{anchor_field}.chain_id",
        f"{anchor_field}.contract",
    )
    return checks.run(name, fields, pinned)


def _on_chain(
    checks: _Checks,
    rpc: Rpc,
    signed: SignedCheckpoint,
    anchor: Anchor,
    min_confirmations: int,
    trust: TrustAnchor | None,
    prefix: str = "",
) -> None:
    cp = signed.checkpoint
    domain = Domain(anchor.chain_id, anchor.contract)
    a, c = f"{prefix}anchor", f"{prefix}checkpoint"
    state: dict[str, int] = {}

    def chain() -> str:
        actual = rpc.chain_id()
        require(
            actual == anchor.chain_id,
            f"the RPC serves chain {actual}, the bundle names chain {anchor.chain_id}:"
            " another chain",
        )
        require(
            bool(rpc.code(anchor.contract)),
            f"no contract at {anchor.contract} on chain {actual}: the chain was reset,"
            " or this is another chain with the same id",
        )
        return f"chain {actual}, contract {anchor.contract}"

    def signer_role() -> str:
        require(
            rpc.is_anchorer(anchor.contract, signed.signer, anchor.block_number),
            f"{signed.signer} did not hold ANCHORER_ROLE at block {anchor.block_number}",
        )
        return f"{signed.signer} held ANCHORER_ROLE at block {anchor.block_number}"

    def root_on_chain() -> str:
        stored = rpc.root_at(anchor.contract, cp.tree_size)
        require(
            stored == cp.root_hash,
            f"the contract stores {stored.hex()} for tree size {cp.tree_size}"
            + (": never anchored" if stored == bytes(32) else ""),
        )
        return f"rootAt({cp.tree_size}) = {stored.hex()}"

    def transaction() -> str:
        receipt = rpc.receipt(anchor.tx_hash)
        if receipt is None:
            raise CheckFailed(_missing_transaction(rpc, anchor))
        require(receipt.status == 1, "the anchor transaction reverted")
        require(
            receipt.block_number == anchor.block_number,
            f"the transaction is in block {receipt.block_number}, the bundle says"
            f" {anchor.block_number}: a reorg moved it",
        )
        require(
            receipt.block_hash == anchor.block_hash,
            f"block {anchor.block_number} now has hash 0x{receipt.block_hash.hex()}, the"
            f" bundle names 0x{anchor.block_hash.hex()}: a reorg replaced the block",
        )
        logged = [
            log for log in Rpc.anchored_logs(receipt, anchor.contract) if log[0] == cp.tree_size
        ]
        require(bool(logged), f"the transaction logged no Anchored event for size {cp.tree_size}")
        require(
            logged[0][1] == cp.root_hash and logged[0][2] == cp.digest(domain),
            "the Anchored event names another root or checkpoint hash",
        )
        state["block"] = receipt.block_number
        return (
            f"tx 0x{anchor.tx_hash.hex()} in block {anchor.block_number}"
            f" logged Anchored({cp.tree_size})"
        )

    def confirmations() -> str:
        depth = rpc.head() - state["block"] + 1
        require(depth >= min_confirmations, f"{depth} confirmation(s), {min_confirmations} needed")
        return f"{depth} confirmation(s) (>= {min_confirmations})"

    if not checks.run("chain", (f"{a}.chain_id", f"{a}.contract"), chain):
        return
    checks.run("signer role", (f"{c}.signer", f"{a}.block_number"), signer_role)
    checks.run(
        "root on chain", (f"{c}.tree_size", f"{c}.root_hash", f"{a}.contract"), root_on_chain
    )
    if checks.run("transaction", (a, f"{c}.tree_size", f"{c}.root_hash"), transaction):
        checks.run("confirmations", (f"{a}.block_number",), confirmations)


def _missing_transaction(rpc: Rpc, anchor: Anchor) -> str:
    """Why the anchor transaction is not on the chain: a reorg, or a reset/another chain."""
    head = rpc.head()
    tx = f"0x{anchor.tx_hash.hex()}"
    if head < anchor.block_number:
        return (
            f"transaction {tx} not found and the chain's head ({head}) is below block"
            f" {anchor.block_number}: the chain was reset, or this is another chain"
        )
    current = rpc.block_hash(anchor.block_number)
    if current != anchor.block_hash:
        return (
            f"transaction {tx} not found: block {anchor.block_number} now has another hash,"
            " so a reorg dropped the anchor (or the chain was reset)"
        )
    return f"transaction {tx} not found although block {anchor.block_number} is unchanged"


def verify_consistency(value: Any, rpc: Rpc | None, *, trust: TrustAnchor | None = None) -> Report:
    """Both checkpoints signed and anchored, and the newer tree extends the older."""
    try:
        bundle = parse_consistency_bundle(value)
    except BundleFormatError as exc:
        return _format_failure(exc)
    checks = _Checks()
    checks.results.append(Check("format", True, "the consistency bundle is exactly version 1"))
    old, new = bundle.old.checkpoint.checkpoint, bundle.new.checkpoint.checkpoint

    def consistency() -> str:
        root = root_from_consistency_proof(
            old.tree_size, new.tree_size, old.root_hash, bundle.proof
        )
        require(
            root == new.root_hash,
            f"the proof leads to {root.hex()}, not to the new root {new.root_hash.hex()}",
        )
        return f"tree {new.tree_size} extends tree {old.tree_size} ({len(bundle.proof)} hashes)"

    checks.run("consistency", ("proof", "old.checkpoint", "new.checkpoint"), consistency)
    for name, end in (("old", bundle.old), ("new", bundle.new)):
        _anchored_end(checks, rpc, name, end, trust)
    return Report(checks.results)


def _anchored_end(
    checks: _Checks, rpc: Rpc | None, name: str, end: AnchoredCheckpoint, trust: TrustAnchor | None
) -> None:
    domain = Domain(end.anchor.chain_id, end.anchor.contract)
    if trust is not None:
        _trust_check(
            checks, trust, end.checkpoint, end.anchor, f"{name}.checkpoint", f"{name}.anchor"
        )

    def signature() -> str:
        end.checkpoint.verify(domain)
        return f"{name} checkpoint signed by {end.checkpoint.signer}"

    fields = (f"{name}.checkpoint", f"{name}.anchor.chain_id", f"{name}.anchor.contract")
    if not checks.run(f"{name} signature", fields, signature):
        return
    if rpc is None:
        checks.results.append(Check(f"{name} chain", False, "not checked: no chain RPC", ()))
        return
    _on_chain(checks, rpc, end.checkpoint, end.anchor, 1, trust, prefix=f"{name}.")


# A redeemed offer retired for its merchant (mode "retire") has a certificate too: its
# effects state the grams, the reason and the jurisdiction its request does not carry.
CERTIFICATE_EVENTS = ("CreditsRetired", "CreditsRetiredOnChain", "OfferRedeemed")
ON_CHAIN_JURISDICTION = "on-chain"


def certificate_claims(event: dict[str, Any]) -> dict[str, Any]:
    """What a retirement event says its certificate holds, field by field."""
    payload = event.get("payload")
    request = payload.get("request") if isinstance(payload, dict) else None
    effects = payload.get("effects") if isinstance(payload, dict) else None
    require(
        event.get("type") in CERTIFICATE_EVENTS
        and isinstance(request, dict)
        and isinstance(effects, dict),
        "the proof's event is not a retirement",
    )
    assert isinstance(request, dict) and isinstance(effects, dict)
    on_chain = event["type"] == "CreditsRetiredOnChain"
    if event["type"] == "OfferRedeemed":
        require(request.get("mode") == "retire", "the proof's event is a redemption by transfer")
        request = {
            **request,
            "amount": effects.get("grams"),
            "beneficiary": request.get("merchant"),
            "reason": effects.get("reason"),
            "jurisdiction": effects.get("jurisdiction"),
        }
    holder = request.get("holder") if on_chain else request.get("owner")
    methodology, version, vintage, _ = _class_parts(request.get("assetClass"))
    found = effects.get("ranges")
    ranges: list[Any] = found if isinstance(found, list) else []
    return {
        "certificate_id": effects.get("certificate_id"),
        "seq": event.get("seq"),
        "time": event.get("time"),
        "owner": holder,
        "asset_class": request.get("assetClass"),
        "amount": request.get("amount"),
        "beneficiary_commitment": request.get("beneficiaryCommitment"),
        "beneficiary": holder if on_chain else request.get("beneficiary"),
        "reason": request.get("reason"),
        "jurisdiction": ON_CHAIN_JURISDICTION if on_chain else request.get("jurisdiction"),
        "serials": [
            f"CN-CIR-{methodology}-{version}-{vintage}-{r.get('batch_no')}-{r.get('first')}"
            f"-{r.get('last')}"
            for r in ranges
            if isinstance(r, dict)
        ],
    }


def _check_beneficiary_name(certificate: dict[str, Any], request: dict[str, Any]) -> None:
    """A name on the certificate must be the one the event logged (first release), or open
    the commitment the event logged with the salt shown beside it."""
    name = certificate.get("beneficiary_name")
    if "beneficiaryName" in request:
        require(_same(name, request["beneficiaryName"]), "certificate names another beneficiary")
        return
    if name is None:
        return  # not disclosed, or erased: the commitment stands alone
    salt = certificate.get("beneficiary_salt")
    if not isinstance(name, str) or not isinstance(salt, str):
        raise CheckFailed("a named beneficiary needs its salt")
    opened = "0x" + hashlib.sha256(bytes.fromhex(salt) + name.encode("utf-8")).hexdigest()
    require(
        opened == request.get("beneficiaryCommitment"),
        "the certificate's beneficiary name and salt do not give the commitment its event logged",
    )


def _class_parts(asset_class: Any) -> tuple[str, str, str, str]:
    """`<methodology>-<version>-<vintage>-<region>` split from the right (a methodology id
    is A-Z, 0-9 and _), or empty parts when it is not an asset class id."""
    parts = asset_class.rsplit("-", 3) if isinstance(asset_class, str) else []
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else ("", "", "", "")


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 is not true, "1" is not 1."""
    return type(a) is type(b) and a == b


def verify_certificate(
    value: Any, rpc: Rpc | None, *, trust: TrustAnchor | None = None, min_confirmations: int = 1
) -> Report:
    """A retirement certificate as `GET /v1/retirements/{id}` serves it: its `proof` bundle
    verifies, and every field it states is what the retirement event says."""
    if not isinstance(value, dict) or not isinstance(value.get("proof"), dict):
        return _format_failure(
            BundleFormatError("proof", "a certificate carries its proof bundle in `proof`")
        )
    report = verify_bundle(value["proof"], rpc, trust=trust, min_confirmations=min_confirmations)
    checks = _Checks()
    checks.results.extend(
        Check(c.name, c.ok, c.detail, tuple(f"proof.{f}" if f else "proof" for f in c.fields))
        for c in report.checks
    )

    def matches() -> str:
        event = value["proof"]["event"]
        stated = certificate_claims(event)
        for key, want in stated.items():
            require(
                _same(value.get(key), want),
                f"certificate field {key} is {value.get(key)!r}, its event says {want!r}",
            )
        _check_beneficiary_name(value, event["payload"]["request"])
        return f"certificate {stated['certificate_id']} states what event {stated['seq']} logged"

    if report.checks and report.checks[0].ok:
        checks.run("certificate", ("certificate_id", "proof.event"), matches)
    return Report(checks.results)


__all__ = [
    "Check",
    "MerkleError",
    "Report",
    "SignatureError",
    "verify_bundle",
    "verify_certificate",
    "verify_consistency",
]
