"""Proofs, tokens and addresses survive restarts of `serve`, SIGKILL included.

The registry and its embedded chain are served by a child process on fixed ports; it is
killed (SIGKILL: no clean-up runs) and started again on the same ports, and everything
handed out before the kill must still hold: bundles verify with `carbon-registry verify` at
the same RPC URL, tokens and supply are the same, a minted lock cannot be minted again, and
new events are anchored.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from anchoring.chain import Chain, ChainError, ChainUnavailableError
from api.client import RegistryClient
from bridge.token import TokenContract
from carbon_verifier.rpc import Rpc
from carbon_verifier.verify import verify_bundle
from registry.bridge import token_id
from registry.eip712 import contract_address_of
from registry.signing import Signer
from tests.serve_process import CLASS, Served, run_cli, setup_parties


def export(api: RegistryClient, seq: int, folder: Path) -> Path:
    path = folder / f"bundle-{seq}.json"
    path.write_text(json.dumps(api.wait_for_anchor(seq, timeout_s=120)))
    return path


def verify(served: Served, bundle: Path) -> None:
    done = run_cli("verify", str(bundle), "--rpc", served.rpc_url, check=False)
    assert done.returncode == 0 and "VERIFIED" in done.stdout, done.stdout + done.stderr


def key_file(signer: Signer, folder: Path) -> str:
    path = folder / f"{signer.address}.key"
    if not path.exists():
        signer.save(path)
    return str(path)


def token_state(served: Served, holders: list[str]) -> tuple[int, list[int]]:
    chain = Chain.connect(served.rpc_url)
    try:
        token = TokenContract(chain, contract_address_of(served.operator.address, 1))
        tid = token_id(CLASS)
        return token.total_supply(tid), [token.balance_of(h, tid) for h in holders]
    finally:
        chain.close()


def test_bundles_tokens_and_urls_survive_a_sigkill(store_url: str, tmp_path: Path) -> None:
    with Served(store_url) as served:
        served.start()
        alice, bob, wallet, payer = (Signer.generate() for _ in range(4))
        with served.client() as api:
            setup_parties(api, served.operator, [alice, bob])
            before_chain = api.chain()
            transfer = api.transfer(alice, bob.address, CLASS, 2_000)
            retire = api.retire(bob, CLASS, 1_000, reason="commute 2026", jurisdiction="CN-GD",
                                beneficiary_name="Li Wei")  # fmt: skip
            lock = api.lock(alice, CLASS, 3_000, wallet.address)
            bundles = [export(api, e.seq, tmp_path) for e in (transfer, retire, lock)]
        run_cli("fund", payer.address, "--rpc", served.rpc_url)
        lock_bundle = str(bundles[-1])
        payer_key = key_file(payer, tmp_path)
        served.cli("token", "mint", lock_bundle, "--rpc", served.rpc_url, "--key-file", payer_key)
        tokens = token_state(served, [wallet.address])
        assert tokens == (3_000, [3_000])

        served.kill()
        served.start()

        with served.client() as api:
            assert api.chain().rpc_url == before_chain.rpc_url == served.rpc_url
            for bundle in bundles:
                verify(served, bundle)
            assert token_state(served, [wallet.address]) == tokens
            again = served.cli("token", "mint", lock_bundle, "--rpc", served.rpc_url,
                               "--key-file", payer_key, check=False)  # fmt: skip
            assert again.returncode == 1 and "CarbonCreditsLockAlreadyMinted" in again.stderr
            after = api.transfer(bob, alice.address, CLASS, 10)
            verify(served, export(api, after.seq, tmp_path))
            reserve = api.get("/v1/reserve")
            assert reserve["ok"] and reserve["problems"] == [], reserve
            assert [e["type"] for e in api.get("/v1/events", after=lock.seq)["items"]].count(
                "CreditsMinted"
            ) == 1
        clean_audit_and_replay(served)


def clean_audit_and_replay(served: Served) -> None:
    audited = served.cli("audit", "--rpc", served.rpc_url, check=False)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    replayed = served.cli("replay", check=False)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


class Traffic:
    """Transfers, locks and mints against a served registry until told to stop; remembers
    the bundles it was handed and the locks it minted."""

    def __init__(
        self, served: Served, people: list[Signer], payer: Signer, locks: list[int], seed: int
    ) -> None:
        self.served = served
        self.people = people
        self.payer_key = bytes.fromhex(payer.private_key_hex[2:])
        self.rng = random.Random(seed)
        self.bundles: list[dict[str, Any]] = []
        self.locks = locks  # shared across rounds: earlier rounds' locks are anchored by now
        self.errors: list[Exception] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        chain = Chain.connect(self.served.rpc_url)
        token = TokenContract(chain, contract_address_of(self.served.operator.address, 1))
        try:
            with self.served.client() as api:
                while not self.stop.wait(0.05):  # a steady trickle, not a flood
                    self._step(api, token)
        except (httpx.TransportError, ChainUnavailableError):
            pass  # the server was killed under us: exactly what is tested
        except Exception as exc:  # anything else is a failure of the registry
            self.errors.append(exc)
        finally:
            chain.close()

    def _step(self, api: RegistryClient, token: TokenContract) -> None:
        src, dst = self.rng.sample(self.people, 2)
        choice = self.rng.random()
        if choice < 0.5:
            api.transfer(src, dst.address, CLASS, self.rng.randint(1, 50))
        elif choice < 0.7:
            self.locks.append(api.lock(src, CLASS, self.rng.randint(1, 50), dst.address).seq)
        else:
            for seq in self.rng.sample(self.locks, min(3, len(self.locks))):
                bundle = api.proof(seq)
                if bundle.get("anchor") is None:
                    continue
                self.bundles.append(bundle)
                path = [bytes.fromhex(h) for h in bundle["inclusion"]["path"]]
                try:
                    token.mint_with_proof(self.payer_key, bundle["event"],
                                          bundle["inclusion"]["tree_size"], path)  # fmt: skip
                except ChainError as exc:  # minted before: the contract refuses
                    if "LockAlreadyMinted" not in str(exc):
                        raise

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=120)


def all_events(api: RegistryClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while page := api.get("/v1/events", after=events[-1]["seq"] if events else -1, limit=1000)[
        "items"
    ]:
        events += page
    return events


def test_twenty_sigkills_while_anchoring_and_minting(store_url: str) -> None:
    rng = random.Random(20)
    with Served(store_url, anchor_max_age_s=0.1) as served:
        served.start()
        people = [Signer.generate() for _ in range(6)]
        payer = Signer.generate()
        with served.client() as api:
            setup_parties(api, served.operator, people)
        run_cli("fund", payer.address, "--rpc", served.rpc_url)
        bundles: list[dict[str, Any]] = []
        locks: list[int] = []
        for round_no in range(20):
            with Traffic(served, people, payer, locks, round_no) as traffic:
                threading.Event().wait(rng.uniform(0.2, 1.5))  # a random moment to die at
                served.kill()
            assert traffic.errors == [], traffic.errors
            bundles += traffic.bundles
            served.start()

        with served.client() as api:
            last = api.transfer(people[0], people[1].address, CLASS, 1)
            api.wait_for_anchor(last.seq, timeout_s=120)
            rpc = Rpc(served.rpc_url)  # the verifier behind `carbon-registry verify`, in process
            for bundle in bundles:  # no block a bundle names was lost
                report = verify_bundle(bundle, rpc)
                assert report.verified, report.failures
            assert bundles
            reserve = api.get("/v1/reserve")
            assert reserve["ok"], reserve
            events = all_events(api)
        minted = Counter(e["payload"]["request"]["lockSeq"] for e in events
                         if e["type"] == "CreditsMinted")  # fmt: skip
        assert minted and max(minted.values()) == 1  # nothing minted twice
        chain = Chain.connect(served.rpc_url)
        try:
            chain.bind(contract_address_of(served.operator.address, 0))
            anchored = [a.tree_size for a in chain.anchors()]
            assert len(anchored) == len(set(anchored)) > 20  # nothing anchored twice
        finally:
            chain.close()
        clean_audit_and_replay(served)
    assert served.starts == 21
