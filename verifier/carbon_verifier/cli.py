"""`carbon-verify`: check proof bundles, consistency bundles and certificates.

    carbon-verify bundle BUNDLE.json --rpc URL [--trust TRUST.json] [--confirmations N]
    carbon-verify consistency CONSISTENCY.json --rpc URL [--trust TRUST.json]
    carbon-verify certificate CERTIFICATE.json --rpc URL [--trust TRUST.json]
        (the JSON of GET /v1/retirements/{id}: its fields and its `proof` bundle)
    carbon-verify reserve LOG_URL --rpc URL --trust TRUST.json
        (every token on chain backed by grams locked in the public log, e.g.
        https://registry.example/log or a mirror of it)
    carbon-verify rating STATEMENT.json --trust TRUST.json [--log LOG_URL]
        (a score statement of POST /v1/accounts/{a}/rating/statements: signed by a key the
        trust anchor pins; with --log, the score recomputed from the public log's entries)

Every check is printed with what it found; the last line is VERIFIED or NOT VERIFIED.
Exit status: 0 verified, 1 not verified, 2 the input could not be read. `--offline` skips
the chain (never VERIFIED then). Standard library only, besides the package's two.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from carbon_verifier.errors import CodedError
from carbon_verifier.jsonsafe import loads
from carbon_verifier.rating import StatementReport, verify_rating_statement
from carbon_verifier.reserve import ReserveReport, check_public_reserve
from carbon_verifier.rpc import Rpc
from carbon_verifier.tiles import http_fetch
from carbon_verifier.trust import TrustAnchor
from carbon_verifier.verify import Report, verify_bundle, verify_certificate, verify_consistency

MAX_INPUT_BYTES = 16 * 1024 * 1024


def read_json(path: str) -> Any:
    file = Path(path)
    if file.stat().st_size > MAX_INPUT_BYTES:
        raise ValueError(f"{path} is larger than {MAX_INPUT_BYTES} bytes")
    return loads(file.read_bytes(), what=path)


def print_report(report: Report, out: TextIO | None = None) -> bool:
    out = out or sys.stdout  # looked up now: a caller may have redirected it
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        where = f" [{', '.join(check.fields)}]" if not check.ok and check.fields else ""
        print(f"[{mark}] {check.name}: {check.detail}{where}", file=out)
    print("VERIFIED" if report.verified else "NOT VERIFIED", file=out)
    return report.verified


def print_reserve(report: ReserveReport, out: TextIO | None = None) -> bool:
    out = out or sys.stdout
    print(f"log anchored up to tree size {report.log_size}; chain block {report.block}", file=out)
    for c in report.classes:
        mark = "ok  " if c.ok else "FAIL"
        print(
            f"[{mark}] {c.asset_class}: locked {c.locked_in_log:,} g - unminted"
            f" {c.unminted_locks:,} + mints not yet logged {c.mints_not_in_log:,} - burns not"
            f" yet logged {c.burns_not_in_log:,} = {c.expected_supply:,};"
            f" totalSupply {c.total_supply:,}",
            file=out,
        )
    for problem in report.problems:
        print(f"FAIL: {problem}", file=out)
    print("RESERVE VERIFIED" if report.ok else "RESERVE NOT VERIFIED", file=out)
    return report.ok


def reserve(log_url: str, rpc: Rpc, trust_file: str) -> int:
    """The reserve from the public log at `log_url` and the chain: 0 verified, 1 not, 2 the
    log or the chain could not be read."""
    try:
        report = check_public_reserve(http_fetch(log_url), rpc, TrustAnchor.load(trust_file))
    except (OSError, ValueError, CodedError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0 if print_reserve(report) else 1


def print_statement(report: StatementReport, out: TextIO | None = None) -> bool:
    out = out or sys.stdout
    for check in report.checks:
        print(f"[{'ok  ' if check.ok else 'FAIL'}] {check.name}: {check.detail}", file=out)
    print("STATEMENT VERIFIED" if report.verified else "STATEMENT NOT VERIFIED", file=out)
    return report.verified


def rating(statement_file: str, trust_file: str, log_url: str | None) -> int:
    """A score statement: 0 verified, 1 not, 2 the statement, anchor or log unreadable."""
    try:
        document = read_json(statement_file)
        trust = TrustAnchor.load(trust_file)
    except (OSError, ValueError, CodedError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0 if print_statement(verify_rating_statement(document, trust, log_url)) else 1


def _depth(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 1 and 10000")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carbon-verify", description=__doc__.split("\n")[0])
    parser.add_argument(
        "kind", choices=("bundle", "consistency", "certificate", "reserve", "rating")
    )
    parser.add_argument("file", help="the JSON document to verify (reserve: the log's URL)")
    parser.add_argument("--rpc", help="JSON-RPC URL of the chain the document names")
    parser.add_argument("--trust", help="trust anchor file pinning log, chain, contract, signers")
    parser.add_argument(
        "--confirmations", type=_depth, default=1, help="required anchor depth (1-10000)"
    )
    parser.add_argument("--offline", action="store_true", help="check without a chain")
    parser.add_argument("--log", help="rating: the public log's URL, to recompute the score")
    args = parser.parse_args(argv)
    if args.kind == "rating":
        if not args.trust:
            parser.error("rating needs --trust TRUST.json (pinning the signers)")
        return rating(args.file, args.trust, args.log)
    if not args.offline and not args.rpc:
        parser.error("give --rpc URL (or --offline)")
    if args.kind == "reserve":
        if args.offline or not args.trust:
            parser.error("reserve needs --rpc URL and --trust TRUST.json (naming the token)")
        return reserve(args.file, Rpc(args.rpc), args.trust)
    try:
        document = read_json(args.file)
        trust = TrustAnchor.load(args.trust) if args.trust else None
    except (OSError, ValueError, CodedError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    rpc = None if args.offline else Rpc(args.rpc)
    verifiers: dict[str, Callable[..., Report]] = {
        "bundle": verify_bundle,
        "consistency": verify_consistency,
        "certificate": verify_certificate,
    }
    kwargs: dict[str, Any] = {"trust": trust}
    if args.kind != "consistency":
        kwargs["min_confirmations"] = args.confirmations
    return 0 if print_report(verifiers[args.kind](document, rpc, **kwargs)) else 1


if __name__ == "__main__":
    sys.exit(main())
