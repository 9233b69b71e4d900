"""Generate tests/vectors/rating.json: a small log, the ratings it gives and score statements.

    .venv/bin/python tests/vectors/generate_rating_vectors.py

Python generates them; tests/test_rating.py checks that the committed file equals a fresh
generation and that `carbon_verifier.rating` gives the same, and verifier-js's
test/rating.test.js that `src/rating.js` gives the same ratings and verdicts.

- "entries": the log's events, each as its RFC 8785 text (the leaf data), with "root" the
  RFC 9162 root of all of them;
- "ratings": `{account, size, rating}`: the rating of `account` from the first `size`
  entries, as of the time of entry `size - 1`;
- "trust": the trust anchor pinning the statement key;
- "statements": `{name, document, log, verified, failed}`: a statement, whether it verifies
  (with the log when `log`), and the checks that fail.

Deterministic: the key is a hash of a fixed label, and ECDSA signatures are RFC 6979.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from carbon_verifier.canonical import canonical_bytes
from carbon_verifier.crypto import checksum_address, keccak
from carbon_verifier.merkle.hasher import leaf_hashes
from carbon_verifier.rating import FORMULA, STATEMENT_TYPE, points, rate, statement_digest
from carbon_verifier.reserve import root_of
from registry.eip712 import sign_digest
from registry.signing import Signer

OUTPUT = Path(__file__).with_name("rating.json")
LOG_ID = "vectors.local/rating"
KEY = hashlib.sha256(b"rating-vector-operator").digest()
STRANGER_KEY = hashlib.sha256(b"rating-vector-stranger").digest()


def account(label: str) -> str:
    return checksum_address(keccak(label.encode())[12:].hex())


ALICE, BOB = account("alice"), account("bob")


class Log:
    """Events in the log's shape, numbered in order; times in UTC."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, time: str, request: dict[str, Any], effects: dict[str, Any]) -> int:
        seq = len(self.events)
        self.events.append(
            {"seq": seq, "type": kind, "time": time,
             "payload": {"request": request, "effects": effects}}
        )  # fmt: skip
        return seq

    def submit(self, time: str, *records: tuple[str, str, int | None]) -> list[str]:
        """Records `(account, methodology, grams or None for a refusal)`; their claim ids."""
        seq = len(self.events)
        outcomes = [
            {"claim": f"C{seq}-{i}", "grams": grams}
            if grams is not None
            else {"reason": "daily_cap", "detail": "capped"}
            for i, (_, _, grams) in enumerate(records)
        ]
        self.add(
            "ActivitiesSubmitted",
            time,
            {"records": [{"account": a, "methodology": m} for a, m, _ in records]},
            {"outcomes": outcomes},
        )
        return [o["claim"] for o in outcomes if "claim" in o]

    def attest(self, time: str, claims: list[str], approve: bool = True, **effects: Any) -> None:
        status = "approved" if approve else "rejected"
        self.add("ClaimsAttested", time, {"claims": claims, "approve": approve},
                 {"status": status, "claims": len(claims), **effects})  # fmt: skip

    def run(self, time: str) -> None:
        self.add("IssuanceRun", time, {"runId": time}, {"batches": []})

    def verified(self, time: str, owner: str, methodology: str, grams: int) -> str:
        """A claim submitted, approved and issued at `time`."""
        (claim,) = self.submit(time, (owner, methodology, grams))
        self.attest(time, [claim])
        self.run(time)
        return claim

    def reverse(self, time: str, claim: str) -> None:
        self.add("ClaimReversed", time, {"claimId": claim}, {})

    def retire(self, time: str, owner: str, grams: int) -> None:
        self.add("CreditsRetired", time, {"owner": owner, "amount": grams}, {})


def vector_log() -> Log:
    """A year of alice (two methodologies, a top-up, a readmission, a reversal,
    retirements) and bob beside her; times cross CST month ends."""
    log = Log()
    log.add("AccountOpened", "2025-12-01T00:00:00.000Z", {"account": ALICE}, {})
    for month in range(1, 11):
        log.verified(f"2026-{month:02d}-10T03:00:00.000Z", ALICE, "SZ_TRANSIT", 3_000 * month)
    t = "2026-06-30T16:30:00.000Z"  # 1 July in Shenzhen
    claims = log.submit(t, (ALICE, "SZ_BIKE", 300), (ALICE, "SZ_BIKE", 200),
                        (ALICE, "SZ_BIKE", None), (BOB, "SZ_BIKE", 900))  # fmt: skip
    refused = f"C{len(log.events) - 1}-2"
    log.attest(t, [claims[0]], approve=False,
               recredited=[{"claim": claims[1], "grams": 100},
                           {"claim": refused, "grams": 400, "readmitted": True}])  # fmt: skip
    log.attest(t, [claims[1], refused, claims[2]])
    log.run(t)
    bad = log.verified("2026-08-01T00:00:00.000Z", ALICE, "SZ_HOME_ELECTRICITY", 12_000)
    log.reverse("2026-09-01T00:00:00.000Z", bad)
    log.retire("2026-10-31T15:59:59.999Z", ALICE, 7_777)
    log.retire("2026-10-31T16:00:00.000Z", BOB, 5_000)
    log.verified("2026-11-02T00:00:00.000Z", BOB, "SZ_TRANSIT", 40_000)
    return log


def sign(statement: dict[str, Any], key: bytes = KEY) -> dict[str, Any]:
    return {"statement": statement, "signature": sign_digest(key, statement_digest(statement))}


def generate() -> str:
    events = vector_log().events
    entries = [canonical_bytes(e).decode() for e in events]
    size = len(entries)
    roots = {n: root_of(leaf_hashes(e.encode() for e in entries[:n])) for n in (size - 3, size)}
    ratings = [
        {"account": who, "size": n, "rating": rate(who, events[:n], events[n - 1]["time"])}
        for who in (ALICE, BOB, account("carol"))
        for n in (1, size // 2, size - 3, size)
    ]
    signer = Signer("0x" + KEY.hex()).address
    trust = {"log_id": LOG_ID, "chain_id": 31337, "contract": account("contract"),
             "signers": [signer]}  # fmt: skip
    alice = rate(ALICE, events, events[-1]["time"])
    statement = {
        "type": STATEMENT_TYPE, "account": ALICE, "score": alice["score"], "formula": FORMULA,
        "inputs": alice["inputs"], "asOf": alice["asOf"], "logId": LOG_ID, "treeSize": size,
        "rootHash": "0x" + roots[size].hex(), "issuedAt": "2026-11-30T12:00:00.000Z",
    }  # fmt: skip
    good = sign(statement)
    lying_inputs = {**alice["inputs"], "retiredGrams": 50_000}
    lying = {**statement, "inputs": lying_inputs, "score": points(lying_inputs)["score"]}
    signature = good["signature"]
    cases: list[tuple[str, dict[str, Any], bool, list[str]]] = [
        ("valid", good, False, []),
        ("valid, recomputed from the log", good, True, []),
        ("score raised", {**good, "statement": {**statement, "score": statement["score"] + 1}},
         False, ["formula", "signature"]),
        ("signature altered",
         {**good, "signature": signature[:-2] + ("1c" if signature.endswith("1b") else "1b")},
         False, ["signature"]),
        ("signed by another key", sign(statement, STRANGER_KEY), False, ["signature"]),
        ("another log", sign({**statement, "logId": "another.local/log"}), False, ["log"]),
        ("inputs the log does not give", sign(lying), True, ["recomputed"]),
        ("tree size not the root's", sign({**statement, "treeSize": size - 3}), True,
         ["log entries"]),
        ("malformed", {"statement": {**statement, "score": "1"}, "signature": signature}, False,
         ["form"]),
    ]  # fmt: skip
    statements = [
        {"name": name, "document": document, "log": log, "verified": not failed,
         "failed": failed}
        for name, document, log, failed in cases
    ]  # fmt: skip
    data = {"entries": entries, "root": roots[size].hex(), "ratings": ratings, "trust": trust,
            "statements": statements}  # fmt: skip
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")


if __name__ == "__main__":
    main()
