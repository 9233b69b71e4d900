"""The committed lock vectors (tests/vectors/locks.json) are current and right: they are what
the contract tests check CarbonCredits.mintWithProof against."""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from anchoring.merkle import leaf_hash, verify_inclusion
from registry.canonical import canonical_bytes
from tests.vectors import generate_lock_vectors as generator

_INTEGER = r"(?:0|[1-9][0-9]*)"
_ADDRESS = r"0x[0-9a-fA-F]{40}"
_RANGE = rf'\{{"batch_no":{_INTEGER},"first":{_INTEGER},"last":{_INTEGER}\}}'
# The bytes CarbonCredits rebuilds, as fixed by issue 6.
LOCK_SHAPE = re.compile(
    rf'\{{"payload":\{{"effects":\{{"lock_no":{_INTEGER},"ranges":\[{_RANGE}(?:,{_RANGE})*\]\}},'
    rf'"request":\{{"amount":{_INTEGER},"assetClass":"[A-Z0-9_.-]{{1,80}}","batchNo":{_INTEGER},'
    rf'"expiry":{_INTEGER},"nonce":{_INTEGER},"owner":"{_ADDRESS}","recipient":"{_ADDRESS}"\}}\}},'
    rf'"seq":{_INTEGER},"signatures":\[\{{"signature":"0x[0-9a-f]{{130}}","signer":"{_ADDRESS}"\}}\],'
    r'"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z","type":"CreditsLocked"\}'
)
ASSET_CLASS = re.compile(r"[A-Z0-9_.-]{1,80}")


def _vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(generator.OUTPUT.read_text(encoding="utf-8"))
    return data


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _lock_cases() -> list[dict[str, Any]]:
    vectors = _vectors()
    cases: list[dict[str, Any]] = vectors["locks"] + vectors["large_tree"]["locks"]
    return cases


def test_committed_vectors_equal_a_fresh_generation() -> None:
    assert generator.OUTPUT.read_text(encoding="utf-8") == generator.generate(), (
        "tests/vectors/locks.json is stale: run .venv/bin/python tests/vectors/generate_lock_vectors.py"
    )


def test_every_lock_leaf_hashes_from_its_canonical_json() -> None:
    cases = _lock_cases()
    assert len(cases) >= 6
    for case in cases:
        text = case["canonical_json"]
        data = text.encode()
        assert rfc8785.dumps(json.loads(text)) == data
        assert data == canonical_bytes(generator.lock_event(case["fields"]))
        assert LOCK_SHAPE.fullmatch(text), case["name"]
        assert leaf_hash(data) == _b(case["leaf_hash"])
        assert case["index"] == case["fields"]["seq"]
        verify_inclusion(
            case["index"],
            case["tree_size"],
            leaf_hash(data),
            [_b(value) for value in case["proof"]],
            _b(case["root"]),
        )


def test_locks_cover_the_edges_of_every_field() -> None:
    fields = [case["fields"] for case in _lock_cases()]
    integers = [
        value
        for f in fields
        for value in (
            f["seq"],
            f["batchNo"],
            f["amount"],
            f["nonce"],
            f["expiry"],
            *sum(f["ranges"], []),
        )
    ]
    assert 0 in integers and 2**53 - 1 in integers
    assert {len(f["ranges"]) for f in fields} >= {1, 2}
    assert max(len(f["assetClass"]) for f in fields) == 80
    assert {f["signature"][-2:] for f in fields} == {"1b", "1c"}
    assert {len(case["proof"]) for case in _vectors()["large_tree"]["locks"]} == {21, 30}


def test_forged_leaves_are_in_the_tree_but_are_not_locks() -> None:
    vectors = _vectors()
    forgeries = vectors["forgeries"]
    assert {forged["name"] for forged in forgeries} >= {
        "other_event_type",
        "retirement",
        "keys_reordered",
        "space_added",
        "nested_field",
        "quote_in_asset_class",
    }
    for forged in forgeries:
        data = forged["leaf_json"].encode()
        assert leaf_hash(data) == _b(forged["leaf_hash"])
        verify_inclusion(
            forged["index"],
            forged["tree_size"],
            leaf_hash(data),
            [_b(value) for value in forged["proof"]],
            _b(vectors["tree"]["root"]),
        )
        assert not LOCK_SHAPE.fullmatch(forged["leaf_json"]), forged["name"]
        fields = forged["fields"]
        if forged["error"] == "CarbonCreditsInvalidField":
            assert forged["error_argument"] == "assetClass"
            assert not ASSET_CLASS.fullmatch(fields["assetClass"])
        else:
            assert forged["error"] == "CarbonCreditsInvalidProof"
            assert canonical_bytes(generator.lock_event(fields)) != data
