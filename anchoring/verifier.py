"""The standalone verifier: a proof bundle and a chain RPC are all it needs.

It never opens the registry's database. Each check is reported by name with what it found,
so a failing bundle says exactly which link of the chain of evidence is broken:

    leaf             the event's RFC 8785 bytes hash to the leaf (SHA-256(0x00 || bytes))
    inclusion        the RFC 9162 inclusion path leads from that leaf to the checkpoint root
    signature        the checkpoint's EIP-712 signature recovers to the signer it names
    chain            the RPC serves the chain the bundle names
    signer role      the anchoring contract grants that signer the anchorer role
    root on chain    the contract stores this root for this tree size
    transaction      the anchor transaction succeeded in the named block and logged this
                     checkpoint's hash
    confirmations    the block is deep enough
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3.exceptions import Web3Exception

from anchoring.chain import Chain, ChainError
from anchoring.checkpoint import SignedCheckpoint
from anchoring.merkle import (
    MerkleError,
    leaf_hash,
    root_from_consistency_proof,
    root_from_inclusion_proof,
)
from registry.canonical import canonical_bytes
from registry.eip712 import Domain
from registry.errors import RegistryError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class _Checks:
    def __init__(self) -> None:
        self.results: list[Check] = []

    def run(self, name: str, func: Callable[[], str]) -> bool:
        try:
            detail = func()
        except (
            AssertionError,
            ChainError,
            MerkleError,
            RegistryError,
            Web3Exception,
            KeyError,
            ValueError,
            TypeError,
        ) as exc:
            self.results.append(Check(name, False, str(exc) or type(exc).__name__))
            return False
        self.results.append(Check(name, True, detail))
        return True


def _hex32(text: str) -> bytes:
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"{text} is not a 32-byte hex value")
    return raw


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def verify_bundle(
    bundle: dict[str, Any],
    chain: Chain,
    *,
    min_confirmations: int = 1,
    operator: str | None = None,
) -> list[Check]:
    """Run every check of a proof bundle; the result lists each check (stop at the first
    failure of a check that later ones depend on)."""
    checks = _Checks()
    state: dict[str, Any] = {}

    def leaf() -> str:
        _require(bundle.get("version") == 1, f"unsupported bundle version {bundle.get('version')}")
        data = canonical_bytes(bundle["event"])
        state["leaf"] = leaf_hash(data)
        _require(
            bundle["event"].get("seq") == bundle["leaf_index"], "event seq differs from leaf_index"
        )
        return f"event {bundle['leaf_index']} ({bundle['event'].get('type')}) -> leaf {state['leaf'].hex()}"

    if not checks.run("leaf", leaf):
        return checks.results
    if bundle.get("anchor") is None or bundle.get("checkpoint") is None:
        pending = bundle.get("pending", {})
        checks.results.append(
            Check(
                "anchored",
                False,
                f"not anchored yet: {pending.get('detail', '?')}, "
                f"expected by {pending.get('expected_by', '?')}",
            )
        )
        return checks.results
    signed = SignedCheckpoint.from_json(bundle["checkpoint"])
    cp = signed.checkpoint
    anchor = bundle["anchor"]

    def inclusion() -> str:
        proof = [_hex32(h) for h in bundle["inclusion"]["path"]]
        _require(
            bundle["inclusion"]["tree_size"] == cp.tree_size,
            "inclusion tree size differs from the checkpoint",
        )
        root = root_from_inclusion_proof(bundle["leaf_index"], cp.tree_size, state["leaf"], proof)
        _require(
            root == cp.root_hash,
            f"path leads to {root.hex()}, checkpoint root is {cp.root_hash.hex()}",
        )
        return f"{len(proof)} hashes to root {cp.root_hash.hex()} of tree size {cp.tree_size}"

    domain = Domain(int(anchor["chain_id"]), str(anchor["contract"]))

    def signature() -> str:
        signed.verify(domain)
        if operator is not None:
            _require(
                signed.signer.lower() == operator.lower(),
                f"signed by {signed.signer}, expected operator {operator}",
            )
        return f"checkpoint signed by {signed.signer}"

    def chain_id() -> str:
        actual = chain.chain_id
        _require(
            actual == domain.chain_id, f"RPC serves chain {actual}, bundle names {domain.chain_id}"
        )
        chain.bind(domain.verifying_contract)
        _require(
            chain.has_code(domain.verifying_contract), f"no contract at {domain.verifying_contract}"
        )
        return f"chain {actual}, contract {domain.verifying_contract}"

    def signer_role() -> str:
        _require(
            chain.has_role("ANCHORER_ROLE", signed.signer),
            f"{signed.signer} is not an anchorer of the contract",
        )
        return f"{signed.signer} holds ANCHORER_ROLE"

    def root_on_chain() -> str:
        stored = chain.root_at(cp.tree_size)
        _require(stored == cp.root_hash, f"contract stores {stored.hex()} for size {cp.tree_size}")
        return f"rootAt({cp.tree_size}) = {stored.hex()}"

    def transaction() -> str:
        receipt = chain.receipt(_hex32(anchor["tx_hash"]))
        _require(receipt is not None, f"transaction {anchor['tx_hash']} not found")
        assert receipt is not None
        _require(receipt["status"] == 1, "anchor transaction reverted")
        _require(
            int(receipt["blockNumber"]) == int(anchor["block_number"]),
            f"mined in block {receipt['blockNumber']}, not {anchor['block_number']}",
        )
        _require(
            bytes(receipt["blockHash"]) == _hex32(anchor["block_hash"]),
            "block hash differs: the block was reorganised away",
        )
        records = [r for r in chain.anchored_in(receipt) if r.tree_size == cp.tree_size]
        _require(bool(records), "the transaction logged no Anchored event for this size")
        _require(
            records[0].checkpoint_hash == cp.digest(domain),
            "the anchored checkpoint hash is not this checkpoint's",
        )
        state["block"] = int(receipt["blockNumber"])
        return f"tx {anchor['tx_hash']} in block {anchor['block_number']} logged Anchored({cp.tree_size})"

    def confirmations() -> str:
        depth = chain.head() - state["block"] + 1
        _require(
            depth >= min_confirmations, f"{depth} confirmation(s), {min_confirmations} required"
        )
        return f"{depth} confirmation(s) (>= {min_confirmations})"

    for name, func in (
        ("inclusion", inclusion),
        ("signature", signature),
        ("chain", chain_id),
        ("signer role", signer_role),
        ("root on chain", root_on_chain),
        ("transaction", transaction),
        ("confirmations", confirmations),
    ):
        if not checks.run(name, func) and name in ("chain", "transaction"):
            break
    return checks.results


def verify_consistency_bundle(
    bundle: dict[str, Any], chain: Chain, *, operator: str | None = None
) -> list[Check]:
    """Both checkpoints signed and anchored, and the newer one extends the older."""
    checks = _Checks()
    old = SignedCheckpoint.from_json(bundle["old"]["checkpoint"])
    new = SignedCheckpoint.from_json(bundle["new"]["checkpoint"])
    anchor = bundle["new"]["anchor"]
    domain = Domain(int(anchor["chain_id"]), str(anchor["contract"]))

    def consistency() -> str:
        proof = [_hex32(h) for h in bundle["proof"]]
        root = root_from_consistency_proof(
            old.checkpoint.tree_size, new.checkpoint.tree_size, old.checkpoint.root_hash, proof
        )
        _require(
            root == new.checkpoint.root_hash,
            f"proof leads to {root.hex()}, new root is {new.checkpoint.root_hash.hex()}",
        )
        return f"tree {new.checkpoint.tree_size} extends tree {old.checkpoint.tree_size} ({len(proof)} hashes)"

    def signatures() -> str:
        for signed in (old, new):
            signed.verify(domain)
            if operator is not None:
                _require(signed.signer.lower() == operator.lower(), f"signed by {signed.signer}")
        return f"both signed by {new.signer}"

    def on_chain() -> str:
        _require(chain.chain_id == domain.chain_id, "RPC serves another chain")
        chain.bind(domain.verifying_contract)
        for signed in (old, new):
            stored = chain.root_at(signed.checkpoint.tree_size)
            _require(
                stored == signed.checkpoint.root_hash,
                f"contract stores {stored.hex()} for size {signed.checkpoint.tree_size}",
            )
        return "both roots stored by the anchoring contract"

    checks.run("consistency", consistency)
    checks.run("signatures", signatures)
    checks.run("roots on chain", on_chain)
    return checks.results
