"""Signed transfers applied per second at 10^5 and 10^6 existing holdings.

Prints one JSON object. A transfer here is the whole path of a request: EIP-712 digest,
signature recovery, range selection (rule 2, docs/spec.md §2), range split, balance update, nonce, RFC 8785 event,
commit. Signing happens before the clock starts (clients sign, the registry verifies). As in
the API's writer, a group's signers are recovered by a worker process (`registry.recovery`)
while the group before it commits (`Registry.execute_pipelined`); `raw_recover_per_s` is one
core's coincurve recoveries, as before.

The existing holdings are bulk-inserted straight into the tables (one batch each, spread over
filler accounts) so that setting up 10^6 of them takes seconds; the measured transfers go
through `Registry` like any request. The fragmented figure is taken on the 10^6 registry
after BENCH_FRAGMENTING_TRANSFERS (10^5) real transfers among the 1,000 traders have split
their holdings, with the serial ranges an average transfer then moves. Group commit (`execute_many`, 256 requests a
transaction) is the figure of the JSON keys; single-request transactions are reported beside it.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from coincurve import PrivateKey, PublicKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_registry import new_registry, open_accounts  # noqa: E402  (bench/ is the script directory)

from registry.ledger import Registry  # noqa: E402
from registry.recovery import SignerRecovery  # noqa: E402
from registry.signing import Signer  # noqa: E402

CLASS = "SZ_TRANSIT-1.0-2026-440300"
TRADERS = 1_000
HOLDINGS_PER_TRADER = 10
GRAMS_PER_HOLDING = 1_000_000
TRANSFERS = int(os.environ.get("BENCH_TRANSFERS", "20000"))
# Real transfers among the traders before the fragmented figure is taken (issue 16: 10^5).
FRAGMENTING_TRANSFERS = int(os.environ.get("BENCH_FRAGMENTING_TRANSFERS", "100000"))
GROUP = 256  # the service's default CARBON_REGISTRY_GROUP_COMMIT_MAX


def build(path: Path, holdings: int) -> tuple[Registry, list[Signer]]:
    registry, operator = new_registry(path, "ledger")
    d = registry.domain
    traders = [Signer.generate() for _ in range(TRADERS)]
    registry.execute_many(
        [
            operator.request(
                d,
                "RegisterAssetClass",
                methodology="SZ_TRANSIT",
                methodologyVersion="1.0",
                vintage=2026,
                region="440300",
            )
        ]
        + open_accounts(operator, registry, [t.address for t in traders], "household")
    )
    fillers = [f"0x{i:040x}" for i in range(1, holdings // 100 + 2)]
    conn = registry.store.conn
    rows, balances = [], {}
    for k in range(holdings):
        owner = (
            traders[k % TRADERS].address
            if k < TRADERS * HOLDINGS_PER_TRADER
            else fillers[k % len(fillers)]
        )
        rows.append((k + 1, CLASS, GRAMS_PER_HOLDING, owner, f"bulk-{k}", 0))
        balances[owner] = balances.get(owner, 0) + GRAMS_PER_HOLDING
    with registry.store.write():
        conn.executemany(
            "INSERT INTO accounts(address, kind, name, household, opened_seq) VALUES (?, 'company', '', NULL, 0)",
            [(f,) for f in fillers],
        )
        conn.executemany(
            "INSERT INTO batches(batch_no, asset_class, amount, issued_to, claim_id, issued_seq) VALUES (?,?,?,?,?,?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO holdings(batch_no, first, last, owner, asset_class, status, ref) VALUES (?, 1, ?, ?, ?, 'active', NULL)",
            [(r[0], GRAMS_PER_HOLDING, r[3], CLASS) for r in rows],
        )
        conn.executemany(
            "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked) VALUES (?, ?, ?, 0, 0, 0)",
            [(o, CLASS, b) for o, b in balances.items()],
        )
    conn.execute("ANALYZE")
    # The bulk insert sits in the WAL; copy it into the database now, not during the timing.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return registry, traders


def signed_transfers(
    registry: Registry, traders: list[Signer], n: int, seed: int
) -> list[tuple[str, dict, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(traders, 2)
        out.append(
            a.request(
                registry.domain,
                "Transfer",
                **{"from": a.address},
                to=b.address,
                assetClass=CLASS,
                batchNo=0,
                amount=rng.randint(1, 50),
            )
        )
    return out


def groups_of(requests: list[tuple[str, dict, str]]) -> list[list[tuple[str, dict, str]]]:
    return [requests[i : i + GROUP] for i in range(0, len(requests), GROUP)]


def rate_grouped(
    registry: Registry, recovery: SignerRecovery, requests: list[tuple[str, dict, str]]
) -> float:
    start = time.perf_counter()
    for results in registry.execute_pipelined(groups_of(requests), recovery):
        assert all(not isinstance(r, Exception) for r in results), results
    return len(requests) / (time.perf_counter() - start)


def fragment(registry: Registry, traders: list[Signer], n: int, seed: int) -> None:
    """Run `n` signed transfers among the traders, untimed, signing a group at a time."""
    for i in range(0, n, GROUP):
        requests = signed_transfers(registry, traders, min(GROUP, n - i), seed=seed + i)
        results = registry.execute_many(requests)
        assert all(not isinstance(r, Exception) for r in results), results


def rate_and_ranges_grouped(
    registry: Registry, recovery: SignerRecovery, requests: list[tuple[str, dict, str]]
) -> tuple[float, float]:
    """Transfers a second with group commit, and the serial ranges a transfer moved."""
    ranges = 0
    start = time.perf_counter()
    for results in registry.execute_pipelined(groups_of(requests), recovery):
        for r in results:
            assert not isinstance(r, Exception), r
            ranges += len(r.effects["ranges"])
    return len(requests) / (time.perf_counter() - start), ranges / len(requests)


def rate_single(registry: Registry, requests: list[tuple[str, dict, str]]) -> float:
    start = time.perf_counter()
    for request in requests:
        registry.execute(*request)
    return len(requests) / (time.perf_counter() - start)


def raw_recoveries_per_s(n: int = 20_000) -> float:
    key = PrivateKey()
    digest = os.urandom(32)
    signature = key.sign_recoverable(digest, hasher=None)
    start = time.perf_counter()
    for _ in range(n):
        PublicKey.from_signature_and_message(signature, digest, hasher=None)
    return n / (time.perf_counter() - start)


def main() -> None:
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, closing(SignerRecovery()) as recovery:
        # A server's worker is ready long before its first busy second: so is this one.
        assert recovery.wait_ready(120), "the signature worker did not start"
        for label, holdings in (("1e5", 100_000), ("1e6", 1_000_000)):
            registry, traders = build(Path(tmp) / f"ledger-{label}.db", holdings)
            requests = signed_transfers(registry, traders, TRANSFERS + TRANSFERS // 4, seed=1)
            out[f"transfers_per_s_{label}"] = round(
                rate_grouped(registry, recovery, requests[:TRANSFERS])
            )
            out[f"single_commit_transfers_per_s_{label}"] = round(
                rate_single(registry, requests[TRANSFERS:])
            )
            out[f"holdings_after_{label}"] = registry.store.conn.execute(
                "SELECT COUNT(*) FROM holdings"
            ).fetchone()[0]
            if label == "1e6":
                fragment(registry, traders, FRAGMENTING_TRANSFERS, seed=2)
                rate, ranges = rate_and_ranges_grouped(
                    registry, recovery, signed_transfers(registry, traders, TRANSFERS, seed=3)
                )
                out["transfers_per_s_fragmented"] = round(rate)
                out["ranges_per_transfer_fragmented"] = round(ranges, 2)
                out["fragmenting_transfers"] = FRAGMENTING_TRANSFERS
            registry.store.close()
    raw = raw_recoveries_per_s()
    out["raw_recover_per_s"] = round(raw)
    out["ratio_1e6"] = round(int(out["transfers_per_s_1e6"]) / raw, 3)  # type: ignore[call-overload]
    out["drop_1e5_to_1e6"] = round(
        1 - int(out["transfers_per_s_1e6"]) / int(out["transfers_per_s_1e5"]), 3
    )  # type: ignore[call-overload]
    out["fragmented_vs_1e6"] = round(
        int(out["transfers_per_s_fragmented"]) / int(out["transfers_per_s_1e6"]), 3
    )  # type: ignore[call-overload]
    out["synchronous"] = "FULL"
    out["group_commit"] = GROUP
    print(json.dumps(out))


if __name__ == "__main__":
    main()
