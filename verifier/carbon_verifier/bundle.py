"""Proof bundles (version 1), read strictly: anything that is not exactly the format is
refused, and the error names the field (`checkpoint.tree_size`, `inclusion.path[3]`).

The format (docs/spec.md, "Proof bundles"):

    version      the integer 1
    event        the event object: seq, type, time, payload, and signatures when a party
                 signed it; every value within the JSON subset events use (no floats,
                 integers within +-(2^53 - 1)), so that its RFC 8785 bytes are defined
    leaf_index   an integer, equal to event.seq
    inclusion    {tree_size, path}: the checkpoint's size and the RFC 9162 PATH, each hash
                 64 lowercase hex digits without 0x
    checkpoint   {log_id, tree_size, root_hash, timestamp, signer, signature}: root_hash as
                 64 lowercase hex digits, signer an EIP-55 checksummed address, signature
                 0x and 130 lowercase hex digits (r || s || v, v 1b or 1c, low s)
    anchor       {chain_id, contract, tx_hash, block_number, block_hash}: contract EIP-55,
                 hashes 0x and 64 lowercase hex digits

Integers are JSON integers only: 1.0, "1" and true are refused. Addresses must be in their
EIP-55 form, which the registry always writes: an all-lowercase address is refused (one
written form per value, so that no two byte strings verify as the same bundle). A bundle of
an event not anchored yet has `anchor: null` and a `pending` object; it is well-formed but
never verifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from carbon_verifier.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes
from carbon_verifier.checkpoint import Checkpoint, SignedCheckpoint
from carbon_verifier.crypto import SECP256K1_N, checksum_address
from carbon_verifier.errors import CodedError

VERSION = 1
MAX_TEXT = 500
MAX_PATH = 64  # a proof in a tree of 2^64 leaves

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX64_0X = re.compile(r"0x[0-9a-f]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-f]{128}(1b|1c)")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_EVENT_TYPE = re.compile(r"[A-Za-z]{1,64}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PENDING_STATUSES = ("awaiting_checkpoint", "awaiting_confirmation")


class BundleFormatError(CodedError, ValueError):
    """The bundle is not exactly the format; `field` names where."""

    code = "malformed_bundle"
    status = 422
    title = "The proof bundle is not exactly the bundle format"

    def __init__(self, field: str, message: str, also: tuple[str, ...] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.fields = (field, *also)  # a mismatch names both sides


@dataclass(frozen=True)
class Anchor:
    chain_id: int
    contract: str
    tx_hash: bytes
    block_number: int
    block_hash: bytes


@dataclass(frozen=True)
class Bundle:
    event: dict[str, Any]
    event_bytes: bytes
    leaf_index: int
    tree_size: int | None
    path: list[bytes] | None
    checkpoint: SignedCheckpoint | None
    anchor: Anchor | None
    pending: dict[str, Any] | None

    @property
    def anchored(self) -> bool:
        return self.anchor is not None


@dataclass(frozen=True)
class AnchoredCheckpoint:
    checkpoint: SignedCheckpoint
    anchor: Anchor


@dataclass(frozen=True)
class ConsistencyBundle:
    old: AnchoredCheckpoint
    new: AnchoredCheckpoint
    proof: list[bytes]


# -- field readers: each names the field it refuses -----------------------------------------


def fields_of(
    value: Any, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleFormatError(field or "bundle", "must be a JSON object")
    missing = [k for k in required if k not in value]
    if missing:
        raise BundleFormatError(_join(field, missing[0]), "is missing")
    extra = sorted(set(value) - set(required) - set(optional))
    if extra:
        raise BundleFormatError(_join(field, extra[0]), "is not a field of this object")
    return value


def integer(value: Any, field: str, low: int = 0, high: int = MAX_SAFE_INTEGER) -> int:
    if type(value) is not int:
        raise BundleFormatError(field, f"must be a JSON integer, got {_show(value)}")
    if not low <= value <= high:
        raise BundleFormatError(field, f"must be between {low} and {high}, got {value}")
    return value


def hex_bytes(value: Any, field: str, *, prefixed: bool) -> bytes:
    pattern = _HEX64_0X if prefixed else _HEX64
    if not isinstance(value, str) or not pattern.fullmatch(value):
        form = "0x and 64" if prefixed else "64"
        raise BundleFormatError(field, f"must be {form} lowercase hex digits, got {_show(value)}")
    return bytes.fromhex(value.removeprefix("0x"))


def address(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise BundleFormatError(field, f"must be a 0x 20-byte hex address, got {_show(value)}")
    expected = checksum_address(value[2:].lower())
    if value != expected:
        raise BundleFormatError(field, f"must be in its EIP-55 checksummed form {expected}")
    return value


def signature(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
        raise BundleFormatError(
            field, "must be 0x and 130 lowercase hex digits (r || s || v, v 1b or 1c)"
        )
    r, s = int(value[2:66], 16), int(value[66:130], 16)
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        raise BundleFormatError(field, "r or s is out of range (high-s twins are refused)")
    return value


def text(value: Any, field: str) -> str:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_TEXT
        or _CONTROL.search(value)
        or _SURROGATE.search(value)
    ):
        raise BundleFormatError(
            field, f"must be 1-{MAX_TEXT} characters of valid Unicode without controls"
        )
    return value


# -- the parts ------------------------------------------------------------------------------


def parse_event(value: Any, field: str = "event") -> tuple[dict[str, Any], bytes]:
    event = fields_of(value, field, ("seq", "type", "time", "payload"), ("signatures",))
    integer(event["seq"], f"{field}.seq")
    if not isinstance(event["type"], str) or not _EVENT_TYPE.fullmatch(event["type"]):
        raise BundleFormatError(f"{field}.type", "must be 1-64 ASCII letters")
    if not isinstance(event["time"], str) or not _TIME.fullmatch(event["time"]):
        raise BundleFormatError(f"{field}.time", "must be RFC 3339 UTC with milliseconds")
    if not isinstance(event["payload"], dict):
        raise BundleFormatError(f"{field}.payload", "must be a JSON object")
    if "signatures" in event:
        signatures = event["signatures"]
        if not isinstance(signatures, list) or not 0 < len(signatures) <= 16:
            raise BundleFormatError(f"{field}.signatures", "must be a list of 1-16 signatures")
        for i, item in enumerate(signatures):
            where = f"{field}.signatures[{i}]"
            entry = fields_of(item, where, ("signer", "signature"))
            address(entry["signer"], f"{where}.signer")
            signature(entry["signature"], f"{where}.signature")
    try:
        data = canonical_bytes(event, path=field)
    except CanonicalError as exc:
        raise BundleFormatError(exc.path, str(exc).removeprefix(f"{exc.path}: ")) from exc
    return event, data


def parse_checkpoint(value: Any, field: str = "checkpoint") -> SignedCheckpoint:
    cp = fields_of(
        value, field, ("log_id", "tree_size", "root_hash", "timestamp", "signer", "signature")
    )
    checkpoint = Checkpoint(
        text(cp["log_id"], f"{field}.log_id"),
        integer(cp["tree_size"], f"{field}.tree_size", 1),
        hex_bytes(cp["root_hash"], f"{field}.root_hash", prefixed=False),
        integer(cp["timestamp"], f"{field}.timestamp"),
    )
    return SignedCheckpoint(
        checkpoint,
        address(cp["signer"], f"{field}.signer"),
        signature(cp["signature"], f"{field}.signature"),
    )


def parse_anchor(value: Any, field: str = "anchor") -> Anchor:
    a = fields_of(value, field, ("chain_id", "contract", "tx_hash", "block_number", "block_hash"))
    return Anchor(
        integer(a["chain_id"], f"{field}.chain_id", 1),
        address(a["contract"], f"{field}.contract"),
        hex_bytes(a["tx_hash"], f"{field}.tx_hash", prefixed=True),
        integer(a["block_number"], f"{field}.block_number"),
        hex_bytes(a["block_hash"], f"{field}.block_hash", prefixed=True),
    )


def parse_path(value: Any, field: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > MAX_PATH:
        raise BundleFormatError(field, f"must be a list of at most {MAX_PATH} hashes")
    return [hex_bytes(h, f"{field}[{i}]", prefixed=False) for i, h in enumerate(value)]


def parse_bundle(value: Any) -> Bundle:
    """A proof bundle, checked field by field; raises BundleFormatError naming the field."""
    top = fields_of(
        value,
        "",
        ("version", "event", "leaf_index", "inclusion", "checkpoint", "anchor"),
        ("pending",),
    )
    if type(top["version"]) is not int or top["version"] != VERSION:
        raise BundleFormatError("version", f"must be the integer {VERSION}")
    event, data = parse_event(top["event"])
    leaf_index = integer(top["leaf_index"], "leaf_index")
    if event["seq"] != leaf_index:
        raise BundleFormatError(
            "leaf_index", f"is {leaf_index}, but event.seq is {event['seq']}", ("event.seq",)
        )
    checkpoint = None if top["checkpoint"] is None else parse_checkpoint(top["checkpoint"])
    tree_size = path = None
    if top["inclusion"] is not None:
        inclusion = fields_of(top["inclusion"], "inclusion", ("tree_size", "path"))
        tree_size = integer(inclusion["tree_size"], "inclusion.tree_size", 1)
        path = parse_path(inclusion["path"], "inclusion.path")
        if checkpoint is None:
            raise BundleFormatError("checkpoint", "is null, but the bundle has an inclusion proof")
        if tree_size != checkpoint.checkpoint.tree_size:
            raise BundleFormatError(
                "inclusion.tree_size",
                f"is {tree_size}, but checkpoint.tree_size is {checkpoint.checkpoint.tree_size}",
                ("checkpoint.tree_size",),
            )
        if leaf_index >= tree_size:
            raise BundleFormatError(
                "leaf_index", f"is not below the tree size {tree_size}", ("inclusion.tree_size",)
            )
    elif checkpoint is not None:
        raise BundleFormatError("inclusion", "is null, but the bundle has a checkpoint")
    if top["anchor"] is None:
        pending = _parse_pending(top.get("pending"))
        return Bundle(event, data, leaf_index, tree_size, path, checkpoint, None, pending)
    if "pending" in top:
        raise BundleFormatError("pending", "is not a field of an anchored bundle")
    if checkpoint is None:
        raise BundleFormatError("checkpoint", "is null, but the bundle has an anchor")
    anchor = parse_anchor(top["anchor"])
    return Bundle(event, data, leaf_index, tree_size, path, checkpoint, anchor, None)


def _parse_pending(value: Any) -> dict[str, Any]:
    pending = fields_of(value, "pending", ("status", "detail", "expected_by"))
    if pending["status"] not in _PENDING_STATUSES:
        raise BundleFormatError("pending.status", f"must be one of {_PENDING_STATUSES}")
    text(pending["detail"], "pending.detail")
    if not isinstance(pending["expected_by"], str) or not _TIME.fullmatch(pending["expected_by"]):
        raise BundleFormatError("pending.expected_by", "must be RFC 3339 UTC with milliseconds")
    return pending


def parse_consistency_bundle(value: Any) -> ConsistencyBundle:
    """A consistency bundle `{version, old, new, proof}` (from `consistency-proof`)."""
    top = fields_of(value, "", ("version", "old", "new", "proof"))
    if type(top["version"]) is not int or top["version"] != VERSION:
        raise BundleFormatError("version", f"must be the integer {VERSION}")
    ends = []
    for name in ("old", "new"):
        part = fields_of(top[name], name, ("checkpoint", "anchor"))
        ends.append(
            AnchoredCheckpoint(
                parse_checkpoint(part["checkpoint"], f"{name}.checkpoint"),
                parse_anchor(part["anchor"], f"{name}.anchor"),
            )
        )
    old, new = ends
    if old.checkpoint.checkpoint.tree_size > new.checkpoint.checkpoint.tree_size:
        raise BundleFormatError(
            "new.checkpoint.tree_size",
            "is smaller than the old tree size",
            ("old.checkpoint.tree_size",),
        )
    return ConsistencyBundle(old, new, parse_path(top["proof"], "proof"))


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _show(value: Any) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 80 else text_[:77] + "..."
