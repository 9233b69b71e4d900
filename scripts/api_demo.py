"""The registry as a running service: `carbon-registry serve` on loopback with the embedded
chain, and a lifecycle driven over HTTP by the Python client.

Platform ingestion -> verifier attestation -> issuance run -> trades -> a retirement, then
the retirement's proof bundle is checked by the standalone verifier against the chain's
JSON-RPC URL; a café's offer redeemed by both households, who join a community. Prints the
URLs of the web pages (explorer, a certificate, /me, merchants, the community), the API
docs and the proof; keeps serving until Ctrl-C (or exits at once with --no-wait).

    .venv/bin/python scripts/api_demo.py [--dir .demo/api] [--port 8080] [--no-wait]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.client import ApiProblem, RegistryClient  # noqa: E402
from registry import messages  # noqa: E402
from registry.commitments import commit_text  # noqa: E402
from registry.signing import Signer  # noqa: E402
from registry.units import format_grams  # noqa: E402

CLASS_REGION = "440300"


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def wait_for(port: int, server: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def free_or_other(port: int) -> int:
    """`port` if nothing listens there, else any free port (the demo must not fail on it)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def trips(account: str, days: int, first_id: int) -> list[dict[str, object]]:
    """Two metro commutes a day, ending two days ago."""
    midnight = int(time.time()) // 86_400 * 86_400 - (days + 2) * 86_400
    records = []
    for day in range(days):
        for hour in (8, 18):
            start = midnight + day * 86_400 + hour * 3600 - 8 * 3600  # CST
            n = first_id + len(records)
            records.append(
                {
                    "id": f"metro-{n:06d}",
                    "account": account,
                    "methodology": "SZ_TRANSIT",
                    "version": "1.0",
                    "region": "440304",
                    "start": start,
                    "end": start + 40 * 60,
                    "quantities": {"metro_m": 14_000 + 500 * (n % 7), "bus_m": 1_500},
                }
            )
    return records


def lifecycle(api: RegistryClient, operator: Signer, base: str, work: Path) -> None:
    people = {n: Signer.generate() for n in ("wang", "li", "acme", "metro", "vvb", "pool")}
    say("Accounts and roles (operator-signed, X-Operator-Key)")
    kinds = {
        "wang": "household",
        "li": "household",
        "acme": "company",
        "metro": "platform",
        "vvb": "verifier",
        "pool": "company",
    }
    for name, signer in people.items():
        api.open_account(operator, signer.address, kinds[name], name=f"{name} ({kinds[name]})")
        print(f"  {name:<5} {signer.address} {kinds[name]}")
    api.grant_role(operator, people["metro"].address, "platform")
    api.grant_role(operator, people["vvb"].address, "verifier")

    say("The transit platform submits a signed batch of trips")
    records = trips(people["wang"].address, 5, 1) + trips(people["li"].address, 5, 100)
    fields, details = messages.activity_batch(people["metro"].address, "metro-demo-1", records)
    receipt = api.submit_activities(people["metro"], fields, details)
    fx = receipt.effects
    print(f"  event {receipt.seq}: {fx['accepted']} claims ({format_grams(fx['grams'])}),"
          f" {fx['rejected']} rejected")  # fmt: skip

    say("The verifier attests the pending claims; the operator runs issuance")
    pending = [c.claim_id for c in api.claims(status="pending").items]
    api.attest(people["vvb"], pending)
    run = api.run_issuance(operator, people["pool"].address, 500)
    print(f"  {run.effects['claims']} claims: {format_grams(run.effects['issued_grams'])} issued,"
          f" {format_grams(run.effects['buffer_grams'])} to the buffer pool")  # fmt: skip
    [klass] = [c for c in api.asset_classes() if c.supply.issued]
    asset_class = klass.id

    say("Households sell to Acme (owner-signed transfers); an over-balance one is refused")
    for seller in ("wang", "li"):
        held = api.active_balance(people[seller].address, asset_class)
        api.transfer(people[seller], people["acme"].address, asset_class, held * 3 // 4)
        print(f"  {seller} -> acme: {format_grams(held * 3 // 4)}")
    try:
        api.transfer(people["li"], people["acme"].address, asset_class, 10**9)
    except ApiProblem as refused:
        print(f"  refused: HTTP {refused.status} [{refused.code}] {refused.detail}")

    say("Acme retires grams for its delivery fleet")
    acme = api.active_balance(people["acme"].address, asset_class)
    retired = api.retire(
        people["acme"],
        asset_class,
        acme // 2,
        beneficiary_name="Acme Logistics",
        reason="offset 2026 Q4 delivery fleet",
        jurisdiction="CN-GD",
    )
    assert retired.certificate_id is not None
    print(f"  certificate {retired.certificate_id}: {format_grams(acme // 2)}")

    say("A café publishes an offer; the households spend grams on it; a community forms")
    cafe, lotus = Signer.generate(), Signer.generate()
    api.open_account(operator, cafe.address, "merchant", name="街角咖啡 Corner Cafe")
    api.open_account(operator, lotus.address, "community", name="莲花山社区 Lianhuashan")
    api.send(cafe, "PublishOffer", None, merchant=cafe.address, offerId="coffee-demo",
             title="咖啡券 coffee voucher", grams=1_000)  # fmt: skip
    for name, mode, pseudonym in (("wang", "transfer", "绿色狐狸"), ("li", "retire", "低碳小李")):
        redeemed = api.send(people[name], "RedeemOffer", None, owner=people[name].address,
                            merchant=cafe.address, offerId="coffee-demo",
                            assetClass=asset_class, batchNo=0, mode=mode)  # fmt: skip
        salt, committed = commit_text(pseudonym)
        api.send(people[name], "JoinCommunity", {"pseudonym": (salt, pseudonym)},
                 member=people[name].address, community=lotus.address, leaderboard=True,
                 pseudonymCommitment=committed)  # fmt: skip
        print(
            f"  {name} redeemed coffee-demo ({mode}, event {redeemed.seq}), joined as {pseudonym}"
        )
    api.sign_in(people["wang"])
    score = api.get(f"/v1/accounts/{people['wang'].address}/rating")["score"]
    api.sign_out()
    print(f"  wang's low-carbon credit rating: {score} / 1000")
    wang_key = work / "wang.key"  # demo keys only: import it into a browser wallet for /me
    wang_key.write_text(people["wang"].private_key_hex + "\n")
    wang_key.chmod(0o600)

    say("Its proof bundle, anchored, checked by the standalone verifier against the chain")
    bundle = api.wait_for_anchor(retired.seq, timeout_s=120)
    chain = api.chain()
    checks = api.verify_proof(bundle)
    for check in checks:
        print(f"  [{'ok  ' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    print("  VERIFIED" if all(c.ok for c in checks) else "  NOT VERIFIED")
    supply = api.asset_class(asset_class).supply
    print(f"  {asset_class}: issued {supply.issued:,} g = active {supply.active:,} + retired"
          f" {supply.retired:,} + cancelled {supply.cancelled:,} + locked {supply.locked:,}")  # fmt: skip

    say("Where to look (web pages in Chinese, English by the switch)")
    print(f"  explorer        {base}/")
    print(f"  log events      {base}/explorer/events")
    print(f"  asset classes   {base}/explorer/classes")
    print(f"  certificate     {base}/explorer/search?q={retired.certificate_id}")
    print(f"  my account      {base}/me   (wang: import {wang_key} into a browser wallet)")
    print(f"  merchants       {base}/merchants")
    print(f"  the café        {base}/merchants/{cafe.address}   (its redemptions: the café's key)")
    print(f"  a community     {base}/communities/{lotus.address}")
    print(f"  API docs        {base}/docs")
    print(f"  certificate API {base}/v1/retirements/{retired.certificate_id}")
    print(f"  printable page  {base}/v1/retirements/{retired.certificate_id}/certificate.html")
    print(f"  proof bundle    {base}/v1/events/{retired.seq}/proof")
    print(f"  live events     {base}/v1/events/stream")
    print(f"  chain JSON-RPC  {chain.rpc_url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=str(ROOT / ".demo" / "api"))
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-wait", action="store_true", help="Stop the server at the end.")
    args = parser.parse_args()
    args.port = free_or_other(args.port)
    work = Path(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "registry.db"
    say(f"carbon-registry serve on 127.0.0.1:{args.port} (embedded chain, anchoring worker)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_REGISTRY_")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "carbon-registry"), "--db", str(db), "serve",
         "--port", str(args.port), "--anchor-max-age", "2"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        wait_for(args.port, server)
        base = f"http://127.0.0.1:{args.port}"
        operator = Signer.load(Path(str(db) + ".operator-key.json"))
        api_key = Path(str(db) + ".operator-api-key").read_text().strip()
        with RegistryClient(base, operator_api_key=api_key) as api:
            lifecycle(api, operator, base, work)
        if not args.no_wait:
            print("\nserving until Ctrl-C", flush=True)
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
