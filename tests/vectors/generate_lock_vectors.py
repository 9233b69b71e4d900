"""Generate tests/vectors/locks.json: `CreditsLocked` events and forgeries, with their proofs.

    .venv/bin/python tests/vectors/generate_lock_vectors.py

Python generates them, the Hardhat tests of CarbonCredits (and bench/gas.py) consume them, and
tests/test_lock_vectors.py checks that the committed file equals a fresh generation.

A lock event is {"seq", "type": "CreditsLocked", "time", "payload": {"request", "effects"},
"signatures"}; its leaf is SHA-256(0x00 || RFC 8785 bytes) at leaf index `seq`. The typed
`fields` of a case are what `CarbonCredits.mintWithProof` takes: seq, time, owner, recipient,
assetClass, batchNo, amount, nonce, expiry, signature (0x hex, 65 bytes), ranges, lockNo
([batch_no, first, last] each).

- "tree": a small log of 16 events mixing other events, valid locks and forged
  leaves, with its root.
- "locks": the valid locks of that tree: fields, index, tree_size, root, leaf_hash, proof and
  the canonical JSON text.
- "forgeries": leaves of that tree that are not lock events (another event type, a lock whose
  JSON is not canonical, has an extra nested field or a quote in its asset class), with their
  index and proof, the typed fields an attacker would pass, and the custom error the contract
  must revert with.
- "large_tree": locks in a tree of 10^9 leaves whose other leaves all hold one filler event
  (every complete subtree without a lock has the same hash), for gas figures with proofs of
  real length (see LARGE_TREE_LOCK_SEQS).

Everything is deterministic: keys and signatures are hashes of fixed labels (the contract does
not check the signature; the registry did before logging the lock).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from anchoring.merkle import MerkleLog, leaf_hash, node_hash, verify_inclusion
from carbon_verifier.merkle import proof as merkle_proof
from registry.canonical import canonical_bytes
from registry.eip712 import SECP256K1_N
from registry.signing import Signer

OUTPUT = Path(__file__).resolve().parent / "locks.json"
SMALL_TREE_SIZE = 16
LARGE_TREE_SIZE = 1_000_000_000
# Minted in this order by the gas measurements: the first lock of the asset class, deep inside
# the tree (30 hashes, the longest proofs); the last leaf (21 hashes, as short as the proof of a
# lock anchored soon after it was logged); its left neighbour (21 hashes), whose minted-lock
# bitmap word the last leaf's mint has already written.
LARGE_TREE_LOCK_SEQS = (123_456_789, LARGE_TREE_SIZE - 1, LARGE_TREE_SIZE - 2)
MAX_SAFE_INTEGER = 2**53 - 1
INVALID_PROOF = "CarbonCreditsInvalidProof"
INVALID_FIELD = "CarbonCreditsInvalidField"

Event = dict[str, Any]
Fields = dict[str, Any]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _digest(label: str) -> bytes:
    return hashlib.sha256(f"carbon registry lock vectors: {label}".encode()).digest()


def private_key(label: str) -> bytes:
    """The test key named `label`: derived from a public label, it guards nothing."""
    return _digest(f"key {label}")


def address(label: str) -> str:
    """The EIP-55 address of the key named `label`."""
    return Signer(private_key(label)).address


def signature(label: str) -> str:
    """65 bytes that look like an EIP-2 signature (r, low s, v of 27 or 28)."""
    r = int.from_bytes(_digest(f"r {label}"), "big") % SECP256K1_N
    s = int.from_bytes(_digest(f"s {label}"), "big") % (SECP256K1_N // 2)
    v = 27 + _digest(f"v {label}")[0] % 2
    return _hex(r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v]))


def lock_event(fields: Fields) -> Event:
    """The `CreditsLocked` event with these typed fields, as the registry logs it."""
    return {
        "seq": fields["seq"],
        "type": "CreditsLocked",
        "time": fields["time"],
        "payload": {
            "request": {
                "owner": fields["owner"],
                "recipient": fields["recipient"],
                "assetClass": fields["assetClass"],
                "batchNo": fields["batchNo"],
                "amount": fields["amount"],
                "nonce": fields["nonce"],
                "expiry": fields["expiry"],
            },
            "effects": {
                "lock_no": fields["lockNo"],
                "ranges": [
                    {"batch_no": batch_no, "first": first, "last": last}
                    for batch_no, first, last in fields["ranges"]
                ],
            },
        },
        "signatures": [{"signer": fields["owner"], "signature": fields["signature"]}],
    }


def large_tree_label(seq: int) -> str:
    """Label of the lock at `seq` in the large tree: its recipient's key is
    private_key(f"recipient {label}")."""
    return f"large {seq}"


def lock_fields(
    label: str,
    seq: int,
    *,
    asset_class: str = "SZ_TRANSIT-1.0-2026-440300",
    batch_no: int = 3,
    ranges: tuple[tuple[int, int, int], ...] = ((3, 1_000_001, 2_250_000),),
    nonce: int = 7_461_093_853_211,
    expiry: int = 4_102_444_800,  # 2100-01-01: mintable on a chain at any wall time
    time: str = "2026-01-02T03:04:05.678Z",
    lock_no: int | None = None,
) -> Fields:
    """Typed fields of a lock; its lock number defaults to its seq (unique in the vectors)."""
    return {
        "seq": seq,
        "time": time,
        "owner": address(f"owner {label}"),
        "recipient": address(f"recipient {label}"),
        "assetClass": asset_class,
        "batchNo": batch_no,
        "amount": sum(last - first + 1 for _, first, last in ranges),
        "nonce": nonce,
        "expiry": expiry,
        "signature": signature(label),
        "ranges": [list(r) for r in ranges],
        "lockNo": seq if lock_no is None else lock_no,
    }


def issued_event(seq: int) -> Event:
    """A `CreditsIssued`-like event: the other events a log is made of."""
    return {
        "seq": seq,
        "type": "CreditsIssued",
        "time": f"2026-01-01T00:00:{seq:02d}.000Z",
        "payload": {
            "request": {"to": address(f"holder {seq}"), "amount": 1_000_000 + seq},
            "effects": {"batch_no": seq, "first": 1, "last": 1_000_000 + seq},
        },
        "signatures": [{"signer": address("operator"), "signature": signature(f"issue {seq}")}],
    }


def retired_event(seq: int) -> Event:
    """A `CreditsRetired` event of the registry."""
    owner = address("owner retirement")
    return {
        "seq": seq,
        "type": "CreditsRetired",
        "time": "2026-01-03T10:00:00.000Z",
        "payload": {
            "request": {
                "owner": owner,
                "assetClass": "SZ_TRANSIT-1.0-2026-440300",
                "batchNo": 3,
                "amount": 500_000,
                "beneficiaryName": "Li Wei",
                "beneficiary": owner,
                "reason": "commute offset 2026",
                "jurisdiction": "CN",
                "nonce": 11,
                "expiry": 1_767_312_000,
            },
            "effects": {
                "certificate_id": f"CERT-{seq:010d}",
                "ranges": [{"batch_no": 3, "first": 1, "last": 500_000}],
            },
        },
        "signatures": [{"signer": owner, "signature": signature("retirement")}],
    }


def _json(value: Any, **options: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, **options).encode()


# Forged leaves: (name, description, leaf data at `seq`, attacker's fields, expected error
# and its argument).
Forgery = tuple[str, str, bytes, Fields, str, str | None]


def _forgeries(first_seq: int) -> list[Forgery]:
    forged: list[Forgery] = []

    def add(
        name: str,
        description: str,
        data: Callable[[int], bytes],
        fields: Callable[[int], Fields],
        error: str = INVALID_PROOF,
        argument: str | None = None,
    ) -> None:
        seq = first_seq + len(forged)
        forged.append((name, description, data(seq), fields(seq), error, argument))

    add(
        "other_event_type",
        "the fields of a lock under type CreditsTransferred",
        lambda seq: canonical_bytes(
            {**lock_event(lock_fields("typed", seq)), "type": "CreditsTransferred"}
        ),
        lambda seq: lock_fields("typed", seq),
    )

    def retirement_fields(seq: int) -> Fields:
        request = retired_event(seq)["payload"]["request"]
        return {
            **lock_fields("retirement", seq, ranges=((3, 1, 500_000),)),
            "time": "2026-01-03T10:00:00.000Z",
            "owner": request["owner"],
            "recipient": address("attacker"),
            "nonce": request["nonce"],
            "signature": signature("retirement"),
        }

    add(
        "retirement",
        "a CreditsRetired event, and a lock of its owner, grams and signature",
        lambda seq: canonical_bytes(retired_event(seq)),
        retirement_fields,
    )
    add(
        "keys_reordered",
        "a lock whose JSON keeps the keys in the order lock_event builds them",
        lambda seq: _json(lock_event(lock_fields("reordered", seq)), separators=(",", ":")),
        lambda seq: lock_fields("reordered", seq),
    )
    add(
        "space_added",
        "a lock whose canonical JSON has a space after its first colon",
        lambda seq: canonical_bytes(lock_event(lock_fields("padded", seq))).replace(b":", b": ", 1),
        lambda seq: lock_fields("padded", seq),
    )

    def nested(seq: int) -> bytes:
        event = lock_event(lock_fields("nested", seq))
        event["payload"]["request"]["memo"] = {"note": "bridge"}
        return canonical_bytes(event)

    add(
        "nested_field",
        "a lock with an extra nested field payload.request.memo",
        nested,
        lambda seq: lock_fields("nested", seq),
    )
    quoted = 'SZ_TRANSIT"-1.0'
    add(
        "quote_in_asset_class",
        "a lock whose asset class holds a quote (escaped in the JSON); the attacker passes it",
        lambda seq: canonical_bytes(lock_event(lock_fields("quoted", seq, asset_class=quoted))),
        lambda seq: lock_fields("quoted", seq, asset_class=quoted),
        INVALID_FIELD,
        "assetClass",
    )
    add(
        "escaped_quote_in_asset_class",
        "the same, the attacker passing the escaped text so that plain copying would match",
        lambda seq: canonical_bytes(lock_event(lock_fields("escaped", seq, asset_class=quoted))),
        lambda seq: lock_fields("escaped", seq, asset_class=quoted.replace('"', '\\"')),
        INVALID_FIELD,
        "assetClass",
    )
    return forged


def _valid_locks(first_seq: int) -> list[tuple[str, Fields]]:
    max_class = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789_.-" * 2
    return [
        ("single_range", lock_fields("single", first_seq)),
        (
            "any_batch_two_ranges",
            lock_fields(
                "two ranges",
                first_seq + 1,
                asset_class="SZ_CYCLING-2-2025-CN",
                batch_no=0,
                ranges=((1, 999_001, 1_000_000), (2, 1, 25)),
                nonce=0,
                time="2025-12-31T23:59:59.999Z",
            ),
        ),
        (
            "extreme_values",
            lock_fields(
                "extremes",
                first_seq + 2,
                asset_class=max_class,
                batch_no=MAX_SAFE_INTEGER,
                ranges=((MAX_SAFE_INTEGER, 1, MAX_SAFE_INTEGER),),
                nonce=MAX_SAFE_INTEGER,
                expiry=MAX_SAFE_INTEGER,
            ),
        ),
    ]


def _lock_case(
    name: str, fields: Fields, tree_size: int, root: bytes, proof: list[bytes]
) -> dict[str, Any]:
    data = canonical_bytes(lock_event(fields))
    return {
        "name": name,
        "fields": fields,
        "index": fields["seq"],
        "tree_size": tree_size,
        "root": _hex(root),
        "leaf_hash": _hex(leaf_hash(data)),
        "proof": [_hex(value) for value in proof],
        "canonical_json": data.decode(),
    }


def small_tree() -> dict[str, Any]:
    fillers = 4
    valid = _valid_locks(fillers)
    forgeries = _forgeries(fillers + len(valid))
    leaves = [canonical_bytes(issued_event(seq)) for seq in range(fillers)]
    leaves += [canonical_bytes(lock_event(fields)) for _, fields in valid]
    leaves += [data for _, _, data, _, _, _ in forgeries]
    leaves += [canonical_bytes(issued_event(seq)) for seq in range(len(leaves), SMALL_TREE_SIZE)]
    assert len(leaves) == SMALL_TREE_SIZE
    log = MerkleLog(sqlite3.connect(":memory:", isolation_level=None))
    log.append(leaf_hash(data) for data in leaves)
    root = log.root(SMALL_TREE_SIZE)
    locks = [
        _lock_case(
            name, fields, SMALL_TREE_SIZE, root, log.inclusion_proof(fields["seq"], SMALL_TREE_SIZE)
        )
        for name, fields in valid
    ]
    forged_cases = []
    for name, description, data, fields, error, argument in forgeries:
        index = fields["seq"]
        assert leaves[index] == data
        if error == INVALID_PROOF:
            # What the contract rebuilds from the attacker's fields is not that leaf.
            assert canonical_bytes(lock_event(fields)) != data, name
        forged_cases.append(
            {
                "name": name,
                "description": description,
                "index": index,
                "tree_size": SMALL_TREE_SIZE,
                "leaf_hash": _hex(leaf_hash(data)),
                "leaf_json": data.decode(),
                "proof": [_hex(value) for value in log.inclusion_proof(index, SMALL_TREE_SIZE)],
                "fields": fields,
                "error": error,
                "error_argument": argument,
            }
        )
    return {
        "tree": {"tree_size": SMALL_TREE_SIZE, "root": _hex(root)},
        "locks": locks,
        "forgeries": forged_cases,
    }


def large_tree() -> dict[str, Any]:
    locks = {seq: lock_fields(large_tree_label(seq), seq) for seq in LARGE_TREE_LOCK_SEQS}
    special = {seq: leaf_hash(canonical_bytes(lock_event(fields))) for seq, fields in locks.items()}
    filler = [leaf_hash(canonical_bytes(issued_event(0)))]
    for _ in range(LARGE_TREE_SIZE.bit_length()):
        filler.append(node_hash(filler[-1], filler[-1]))

    @cache
    def node(level: int, index: int) -> bytes:
        begin = index << level
        if not any(begin <= seq < begin + (1 << level) for seq in special):
            return filler[level]
        if level == 0:
            return special[begin]
        return node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))

    root = merkle_proof.tree_root(LARGE_TREE_SIZE, node)
    cases = [
        _lock_case(
            f"seq_{seq}",
            fields,
            LARGE_TREE_SIZE,
            root,
            merkle_proof.inclusion_proof(seq, LARGE_TREE_SIZE, node),
        )
        for seq, fields in locks.items()
    ]
    return {"tree_size": LARGE_TREE_SIZE, "root": _hex(root), "locks": cases}


def _check(document: dict[str, Any]) -> None:
    """Every lock case verifies; its canonical JSON is that of its fields."""
    cases = document["locks"] + document["large_tree"]["locks"]
    for case in cases:
        data = case["canonical_json"].encode()
        assert data == canonical_bytes(lock_event(case["fields"]))
        assert _hex(leaf_hash(data)) == case["leaf_hash"]
        verify_inclusion(
            case["index"],
            case["tree_size"],
            leaf_hash(data),
            [bytes.fromhex(value[2:]) for value in case["proof"]],
            bytes.fromhex(case["root"][2:]),
        )
    for forged in document["forgeries"]:
        verify_inclusion(
            forged["index"],
            forged["tree_size"],
            leaf_hash(forged["leaf_json"].encode()),
            [bytes.fromhex(value[2:]) for value in forged["proof"]],
            bytes.fromhex(document["tree"]["root"][2:]),
        )


def generate() -> str:
    """Text of locks.json."""
    document = {
        "description": (
            "CreditsLocked events and forged leaves with RFC 9162 inclusion proofs, for"
            " CarbonCredits.mintWithProof. Generated by tests/vectors/generate_lock_vectors.py;"
            " leaf_hash = SHA-256(0x00 || RFC 8785 bytes of the event), leaf index = seq."
        ),
        **small_tree(),
        "large_tree": large_tree(),
    }
    _check(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(OUTPUT.parents[2])}")


if __name__ == "__main__":
    main()
