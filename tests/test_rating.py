"""The low-carbon credit rating: the formula on hand-built events, the registry's indexed
read against the whole log, the routes and their access control, and score statements
verified (or refused) with and without the public log."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from anchoring.chain import Chain
from anchoring.worker import AnchorPolicy, AnchorWorker
from api.main import create_app
from carbon_verifier import cli
from carbon_verifier.rating import (
    RatingLogError,
    month_of,
    points,
    rate,
    statement_digest,
    verify_rating_statement,
)
from carbon_verifier.tiles import LogUnavailableError, entries_path, entry_bundle
from carbon_verifier.trust import TrustAnchor
from registry.canonical import from_canonical
from registry.eip712 import sign_digest
from registry.rating import account_rating
from registry.signing import Signer
from tests.anchoring_world import anchored_world, worker_for
from tests.api_world import (
    OPERATOR,
    Client,
    MrvParties,
    api_client,
    loopback_server,
    settings_for,
    sha256_hex,
    signed_in,
)
from tests.ledger_world import World
from tests.people_world import publish, redeem
from tests.vectors import generate_rating_vectors as vectors
from tests.vectors.generate_rating_vectors import Log

ALICE, BOB = vectors.ALICE, vectors.BOB
JS_CLI = Path(__file__).resolve().parents[1] / "verifier-js" / "bin" / "carbon-verify.js"


def rated(log: Log, account: str = ALICE, as_of: str | None = None) -> dict[str, Any]:
    return rate(account, log.events, as_of or log.events[-1]["time"])


# -- hand-built events -----------------------------------------------------------------------


def test_no_events_no_score() -> None:
    rating = rate(ALICE, [], "2026-05-01T00:00:00.000Z")
    assert rating["score"] == 0
    assert rating["history"] == []
    assert rating["inputs"] == {
        "verifiedGrams": 0, "activeMonths": 0, "methodologies": [], "retiredGrams": 0,
        "reversedClaims": 0,
    }  # fmt: skip


def test_one_verified_claim_scores_each_component() -> None:
    log = Log()
    log.verified("2026-05-10T02:00:00.000Z", ALICE, "SZ_TRANSIT", 1_234)
    rating = rated(log)
    # 1,234 // 500 = 2; one active month: 25; one methodology: 50.
    assert rating["points"] == {
        "reductions": 2, "regularity": 25, "diversity": 50, "retirements": 0,
        "reversalPenalty": 0,
    }  # fmt: skip
    assert rating["score"] == 77
    assert rating["inputs"]["verifiedGrams"] == 1_234
    assert rating["formula"] == "carbon-rating/1"
    assert rating["history"] == [{"month": "2026-05", "score": 77}]


def test_only_issued_claims_of_the_account_count() -> None:
    log = Log()
    t = "2026-05-10T02:00:00.000Z"
    (pending,) = log.submit(t, (ALICE, "SZ_TRANSIT", 5_000))
    (rejected,) = log.submit(t, (ALICE, "SZ_TRANSIT", 5_000))
    (approved,) = log.submit(t, (ALICE, "SZ_BIKE", 5_000))
    log.attest(t, [rejected], approve=False)
    log.verified(t, BOB, "SZ_TRANSIT", 50_000)  # bob's: the run also issues alice's approved
    log.attest(t, [approved])
    rating = rated(log)
    assert rating["inputs"]["verifiedGrams"] == 0  # approved after the run: not issued yet
    log.run("2026-05-11T02:00:00.000Z")
    rating = rated(log)
    assert rating["inputs"]["verifiedGrams"] == 5_000
    assert rating["inputs"]["methodologies"] == ["SZ_BIKE"]
    assert rating["score"] == 10 + 25 + 50
    assert pending  # submitted, never attested: nothing


def test_every_component_is_capped_and_the_score_tops_at_1000() -> None:
    log = Log()
    methods = ["SZ_TRANSIT", "SZ_BIKE", "SZ_WALK", "SZ_EV", "SZ_HOME_ELECTRICITY"]
    for month in range(1, 13):  # 12 months in 2026, 20 kg each
        log.verified(f"2026-{month:02d}-15T00:00:00.000Z", ALICE, methods[month % 5], 20_000)
    log.retire("2026-12-20T00:00:00.000Z", ALICE, 90_000)
    rating = rated(log)
    assert rating["inputs"]["verifiedGrams"] == 240_000  # 480 points uncapped
    assert rating["inputs"]["activeMonths"] == 12
    assert len(rating["inputs"]["methodologies"]) == 5  # 250 points uncapped
    assert rating["points"] == {
        "reductions": 300, "regularity": 300, "diversity": 200, "retirements": 200,
        "reversalPenalty": 0,
    }  # fmt: skip
    assert rating["score"] == 1000


def test_retirements_count_the_accounts_own() -> None:
    log = Log()
    log.retire("2026-03-01T00:00:00.000Z", ALICE, 1_999)
    log.retire("2026-03-02T00:00:00.000Z", BOB, 100_000)
    rating = rated(log)
    assert rating["inputs"]["retiredGrams"] == 1_999
    assert rating["points"]["retirements"] == 7  # 1,999 // 250
    assert rating["score"] == 7


def test_a_reversal_takes_the_claim_out_and_costs_100_points() -> None:
    log = Log()
    kept = log.verified("2026-05-10T02:00:00.000Z", ALICE, "SZ_TRANSIT", 10_000)
    gone = log.verified("2026-06-10T02:00:00.000Z", ALICE, "SZ_BIKE", 10_000)
    before = rated(log)
    assert before["score"] == 40 + 50 + 100  # 20 kg, two months, two methodologies
    log.reverse("2026-06-12T00:00:00.000Z", gone)
    after = rated(log)
    assert after["inputs"] == {
        "verifiedGrams": 10_000, "activeMonths": 1, "methodologies": ["SZ_TRANSIT"],
        "retiredGrams": 0, "reversedClaims": 1,
    }  # fmt: skip
    assert after["points"]["reversalPenalty"] == 100
    assert after["score"] == 0  # 20 + 25 + 50 - 100, floored at 0
    assert kept
    log.reverse("2026-06-13T00:00:00.000Z", gone)  # a second reversal of it changes nothing
    assert rated(log)["inputs"]["reversedClaims"] == 1


def test_regularity_counts_the_last_12_months_by_the_logs_time() -> None:
    log = Log()
    log.verified("2025-05-10T00:00:00.000Z", ALICE, "SZ_TRANSIT", 500)
    log.verified("2025-06-10T00:00:00.000Z", ALICE, "SZ_TRANSIT", 500)
    log.verified("2026-05-10T00:00:00.000Z", ALICE, "SZ_TRANSIT", 500)
    # As of May 2026 the window is June 2025 to May 2026: two of the three months.
    assert rated(log)["inputs"]["activeMonths"] == 2
    assert rated(log, as_of="2026-06-01T00:00:00.000Z")["inputs"]["activeMonths"] == 1
    assert rated(log, as_of="2027-06-01T00:00:00.000Z")["inputs"]["activeMonths"] == 0


def test_months_are_china_standard_time() -> None:
    assert month_of("2026-05-31T15:59:59.999Z") == 2026 * 12 + 4  # May, 23:59 in Shenzhen
    assert month_of("2026-05-31T16:00:00.000Z") == 2026 * 12 + 5  # June, 00:00
    with pytest.raises(RatingLogError):
        month_of("2026-05-31 16:00")


def test_history_is_the_score_at_the_end_of_each_month() -> None:
    log = Log()
    log.verified("2026-02-10T00:00:00.000Z", ALICE, "SZ_TRANSIT", 5_000)  # 10 + 25 + 50
    log.retire("2026-03-31T15:00:00.000Z", ALICE, 2_500)  # March (CST): + 10
    log.verified("2026-05-31T16:30:00.000Z", ALICE, "SZ_BIKE", 5_000)  # June (CST)
    rating = rated(log, as_of="2026-06-02T00:00:00.000Z")
    assert rating["history"] == [
        {"month": "2026-02", "score": 85},
        {"month": "2026-03", "score": 95},
        {"month": "2026-04", "score": 95},
        {"month": "2026-05", "score": 95},
        {"month": "2026-06", "score": 20 + 50 + 100 + 10},
    ]
    assert rating["score"] == 180


def test_rejections_top_up_and_readmit_the_accounts_claims() -> None:
    log = Log()
    t = "2026-05-10T02:00:00.000Z"
    claims = log.submit(t, (ALICE, "SZ_TRANSIT", 300), (ALICE, "SZ_TRANSIT", 200),
                        (ALICE, "SZ_TRANSIT", None))  # fmt: skip
    refused = f"C{0}-2"
    log.attest(t, [claims[0]], approve=False,
               recredited=[{"claim": claims[1], "grams": 100},
                           {"claim": refused, "grams": 400, "readmitted": True}])  # fmt: skip
    log.attest(t, [claims[1], refused])
    log.run(t)
    assert rated(log)["inputs"]["verifiedGrams"] == 300 + 400


def test_an_unreadable_event_is_a_clear_error() -> None:
    log = Log()
    log.verified("2026-05-10T02:00:00.000Z", ALICE, "SZ_TRANSIT", 1_000)
    log.events[0]["payload"]["effects"]["outcomes"][0]["grams"] = 1.5
    with pytest.raises(RatingLogError, match="grams"):
        rated(log)
    del log.events[0]["payload"]["effects"]["outcomes"]
    with pytest.raises(RatingLogError, match="event 0"):
        rated(log)


def test_points_use_integer_arithmetic_only() -> None:
    inputs = {"verifiedGrams": 999, "activeMonths": 13, "methodologies": ["A"],
              "retiredGrams": 249, "reversedClaims": 0}  # fmt: skip
    assert points(inputs) == {
        "reductions": 1, "regularity": 300, "diversity": 50, "retirements": 0,
        "reversalPenalty": 0, "score": 351,
    }  # fmt: skip


# -- a real ledger ---------------------------------------------------------------------------


@dataclass
class Town:
    world: World
    chain: Chain
    worker: AnchorWorker
    mrv: MrvParties
    client: Client


def _build(world: World, mrv: MrvParties) -> None:
    """Alice: trips approved and issued, one reversed, some retired, an offer redeemed by
    retiring grams (not her retirement: the merchant's); bob: trips too, one batch
    rejected; carol: nothing."""
    op = world.registry.execute
    alice = op(*mrv.submit("b-1", mrv.trips("alice", 4)))
    bob = op(*mrv.submit("b-2", mrv.trips("bob", 3)))
    alice_claims = [o["claim"] for o in alice.effects["outcomes"] if "claim" in o]
    bob_claims = [o["claim"] for o in bob.effects["outcomes"] if "claim" in o]
    assert len(alice_claims) == 4 and len(bob_claims) == 3
    op(*mrv.attest(alice_claims))
    op(*mrv.attest(bob_claims[:1], approve=False, reason="not a trip"))
    op(*mrv.attest(bob_claims[1:]))
    op(*mrv.run())
    world.op("ReverseClaim", claimId=alice_claims[0], reason="reported twice",
             evidenceHash=sha256_hex("audit"))  # fmt: skip
    world.retire("alice", 300)
    world.open("cafe", kind="merchant")
    world.issue("alice", 2_000)
    publish(world, "cafe", "coffee", 1_000)
    redeem(world, "alice", "cafe", "coffee", mode="retire")


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    world, chain = anchored_world(tmp_path_factory.mktemp("rating") / "registry.db")
    world.open("carol")
    mrv = MrvParties(world)
    _build(world, mrv)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
    worker.attach()
    worker.run_once()
    key = SecretStr(world.operator.private_key_hex)
    with api_client(world, operator_key=key) as client:
        yield Town(world, chain, worker, mrv, client)
    world.store.close()


def all_events(world: World, size: int | None = None) -> list[dict[str, Any]]:
    rows = list(world.store.event_rows(-1, size))
    return [from_canonical(body) for _, _, _, body in rows]


def test_the_indexed_read_rates_like_the_whole_log(town: Town) -> None:
    """The registry reads its tables; a verifier reads the events: at every tree size, for
    every account, the same rating."""
    world = town.world
    size = world.store.event_count()
    events = all_events(world)
    for name in ("alice", "bob", "carol"):
        address = world.addr(name)
        for prefix in range(1, size + 1):
            whole = rate(address, events[:prefix], events[prefix - 1]["time"])
            indexed = account_rating(world.store, address, prefix)
            assert indexed == {**whole, "treeSize": prefix}, (name, prefix)
    alice = account_rating(world.store, world.addr("alice"), size)["inputs"]
    (issued,) = world.store.conn.execute(
        "SELECT SUM(grams) FROM claims WHERE account = ? AND status = 'issued'",
        (world.addr("alice"),),
    ).fetchone()
    assert alice["verifiedGrams"] == issued > 0  # three trips; the fourth was reversed
    assert alice["reversedClaims"] == 1 and alice["retiredGrams"] == 300
    assert alice["methodologies"] == ["SZ_TRANSIT"] and alice["activeMonths"] == 1


def test_the_read_uses_the_account_indexes(town: Town) -> None:
    conn = town.world.store.conn
    plans = [
        " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", args))
        for query, args in (
            ("SELECT grams FROM claims WHERE account = ? AND issued_seq < ?", ("0x", 9)),
            ("SELECT amount FROM retirements WHERE owner = ? AND seq < ?", ("0x", 9)),
        )
    ]
    assert "USING INDEX claims_account" in plans[0], plans[0]
    assert "USING INDEX retirements_owner" in plans[1], plans[1]


def test_the_person_reads_their_rating(town: Town) -> None:
    world, client = town.world, town.client
    alice = world.addr("alice")
    answer = client.get(f"/v1/accounts/{alice}/rating", headers=signed_in(client, world,
                        world.people["alice"]))  # fmt: skip
    assert answer.status_code == 200, answer.text
    rating = answer.json()
    events = all_events(world)
    assert rating == {**rate(alice, events, events[-1]["time"]), "treeSize": len(events)}
    assert rating["inputs"]["reversedClaims"] == 1
    assert rating["points"]["reversalPenalty"] == 100
    assert rating["history"][-1]["score"] == rating["score"]


def test_only_the_persons_own_session_reads_or_discloses(town: Town) -> None:
    world, client = town.world, town.client
    alice = world.addr("alice")
    for method, path in (("GET", "rating"), ("POST", "rating/statements")):
        url = f"/v1/accounts/{alice}/{path}"
        anonymous = client.request(method, url)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.json()["code"] == "session_required"
        bob = signed_in(client, world, world.people["bob"])
        other = client.request(method, url, headers=bob)
        assert other.status_code == 403 and other.json()["code"] == "read_forbidden"
        operator = client.request(method, url, headers=OPERATOR)
        assert operator.status_code == 403  # the operator key is no session of alice's
    unknown = signed_in(client, world, world.people["alice"])
    missing = client.get("/v1/accounts/0x" + "12" * 20 + "/rating", headers=unknown)
    assert missing.status_code == 404


def _statement(town: Town, name: str = "bob") -> dict[str, Any]:
    world, client = town.world, town.client
    headers = signed_in(client, world, world.people[name])
    answer = client.post(f"/v1/accounts/{world.addr(name)}/rating/statements", headers=headers)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _trust(world: World, *signers: str) -> TrustAnchor:
    domain = world.registry.domain
    return TrustAnchor(world.registry.log_id, domain.chain_id, domain.verifying_contract,
                       signers or (world.operator.address,))  # fmt: skip


def _fetch(client: Client) -> Any:
    def fetch(path: str) -> bytes:
        answer = client.get(f"/log/{path}")
        if answer.status_code != 200:
            raise LogUnavailableError(f"{path}: {answer.status_code}")
        return answer.content

    return fetch


def _failed(report: Any) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}


def test_a_statement_verifies_and_its_score_is_recomputed_from_the_log(town: Town) -> None:
    world = town.world
    document = _statement(town)
    statement = document["statement"]
    checkpoint = town.worker.checkpoints.latest_confirmed()
    assert checkpoint is not None
    assert statement["treeSize"] == checkpoint.tree_size
    assert statement["rootHash"] == "0x" + checkpoint.signed.checkpoint.root_hash.hex()
    rating = account_rating(world.store, world.addr("bob"), statement["treeSize"])
    assert statement["score"] == rating["score"] > 0
    assert statement["inputs"] == rating["inputs"]
    published = TrustAnchor.from_json(town.client.get("/v1/trust").json())  # what a bank pins
    alone = verify_rating_statement(document, published)
    assert alone.verified, _failed(alone)
    assert alone.signer == world.operator.address
    with_log = verify_rating_statement(document, _trust(world), _fetch(town.client))
    assert with_log.verified, _failed(with_log)
    assert [c.name for c in with_log.checks] == [
        "form", "formula", "signature", "log", "log entries", "recomputed"
    ]  # fmt: skip


def test_a_statement_is_at_the_anchored_size_while_the_log_grows(town: Town) -> None:
    world = town.world
    before = _statement(town, "alice")["statement"]
    world.retire("alice", 100)  # after the checkpoint: not in the statement until anchored
    after = _statement(town, "alice")["statement"]
    assert after["treeSize"] == before["treeSize"]
    assert after["inputs"] == before["inputs"]
    live = town.client.get(
        f"/v1/accounts/{world.addr('alice')}/rating",
        headers=signed_in(town.client, world, world.people["alice"]),
    ).json()
    assert live["inputs"]["retiredGrams"] == before["inputs"]["retiredGrams"] + 100


def _resigned(statement: dict[str, Any], key: Signer) -> dict[str, Any]:
    digest = statement_digest(statement)
    return {"statement": statement, "signature": sign_digest(bytes.fromhex(key.private_key_hex[2:]), digest)}  # fmt: skip


def test_tampered_statements_are_refused(town: Town) -> None:
    world = town.world
    document = _statement(town)
    trust, fetch = _trust(world), _fetch(town.client)
    statement = document["statement"]

    raised = {**document, "statement": {**statement, "score": statement["score"] + 100}}
    failed = _failed(verify_rating_statement(raised, trust))
    assert f"carbon-rating/1 gives {statement['score']}" in failed["formula"]
    assert "does not pin" in failed["signature"]  # recovers to some other key

    richer = dict(statement, inputs={**statement["inputs"], "retiredGrams": 50_000})
    richer["score"] = points(richer["inputs"])["score"]
    failed = _failed(verify_rating_statement({**document, "statement": richer}, trust))
    assert list(failed) == ["signature"]

    signature = document["signature"]
    flipped = signature[:-2] + ("1c" if signature.endswith("1b") else "1b")
    assert "signature" in _failed(
        verify_rating_statement({**document, "signature": flipped}, trust)
    )

    stranger = Signer.generate()
    failed = _failed(verify_rating_statement(_resigned(statement, stranger), trust))
    assert stranger.address in failed["signature"] and "does not pin" in failed["signature"]
    wrong_trust = _trust(world, stranger.address)
    assert "signature" in _failed(verify_rating_statement(document, wrong_trust))
    assert (
        "pins no signer"
        in _failed(
            verify_rating_statement(
                document, TrustAnchor(trust.log_id, trust.chain_id, trust.contract)
            )
        )["signature"]
    )
    other_log = TrustAnchor("another/log", trust.chain_id, trust.contract, trust.signers)
    assert "another/log" in _failed(verify_rating_statement(document, other_log))["log"]

    # Signed by the registry's own key, yet not what the log says: only the log tells.
    shorter = _resigned({**statement, "treeSize": statement["treeSize"] - 1}, world.operator)
    assert verify_rating_statement(shorter, trust).verified
    failed = _failed(verify_rating_statement(shorter, trust, fetch))
    assert "do not hash to rootHash" in failed["log entries"]
    lying = dict(statement, inputs={**statement["inputs"], "verifiedGrams": 900_000})
    lying["score"] = points(lying["inputs"])["score"]
    failed = _failed(verify_rating_statement(_resigned(lying, world.operator), trust, fetch))
    assert f"the statement says {lying['score']}" in failed["recomputed"]

    for broken, message in (
        ({"statement": statement}, "{statement, signature}"),
        ({**document, "statement": {**statement, "type": "checkpoint"}}, "statement.type"),
        ({**document, "statement": {**statement, "treeSize": "12"}}, "treeSize"),
        ({**document, "statement": {**statement, "extra": 1}}, "unexpected ['extra']"),
        ({**document, "statement": {**statement, "inputs": {}}}, "inputs must hold"),
    ):
        assert message in _failed(verify_rating_statement(broken, trust))["form"]


def test_a_statement_digest_is_no_checkpoint_digest(town: Town) -> None:
    """The same key signs checkpoints: a checkpoint's signature never verifies as a
    statement's (different digests), and the reverse."""
    checkpoint = town.worker.checkpoints.latest_confirmed()
    assert checkpoint is not None
    document = _statement(town)
    digest = checkpoint.signed.checkpoint.digest(town.world.registry.domain)
    assert statement_digest(document["statement"]) != digest
    forged = {**document, "signature": checkpoint.signed.signature}
    assert "signature" in _failed(verify_rating_statement(forged, _trust(town.world)))


def test_the_cli_verifies_a_statement_with_the_served_log(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = town.world
    document = _statement(town)
    statement_file, trust_file = tmp_path / "statement.json", tmp_path / "trust.json"
    statement_file.write_text(json.dumps(document))
    trust_file.write_text(_trust(world).dumps())
    assert cli.main(["rating", str(statement_file), "--trust", str(trust_file)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "STATEMENT VERIFIED"
    app = create_app(settings_for(world.store.path))
    with loopback_server(app) as url:
        code = cli.main(["rating", str(statement_file), "--trust", str(trust_file),
                         "--log", f"{url}/log"])  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out
        assert "[ok  ] recomputed" in out
        node = subprocess.run(
            ["node", str(JS_CLI), "rating", str(statement_file), "--trust", str(trust_file),
             "--log", f"{url}/log"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert node.returncode == 0, node.stdout + node.stderr
        assert "[ok  ] recomputed" in node.stdout
        assert node.stdout.splitlines()[-1] == "STATEMENT VERIFIED"
        lying = dict(document["statement"], score=document["statement"]["score"] + 1)
        statement_file.write_text(json.dumps({**document, "statement": lying}))
        assert cli.main(["rating", str(statement_file), "--trust", str(trust_file),
                         "--log", f"{url}/log"]) == 1  # fmt: skip
        assert capsys.readouterr().out.splitlines()[-1] == "STATEMENT NOT VERIFIED"
        node = subprocess.run(
            ["node", str(JS_CLI), "rating", str(statement_file), "--trust", str(trust_file),
             "--log", f"{url}/log"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert node.returncode == 1 and "[FAIL] formula" in node.stdout, node.stdout
    statement_file.write_text("{not json")
    assert cli.main(["rating", str(statement_file), "--trust", str(trust_file)]) == 2


def test_no_statement_before_an_anchored_checkpoint(tmp_path: Path) -> None:
    world = World.create(tmp_path / "r.db")
    with api_client(world, operator_key=SecretStr(world.operator.private_key_hex)) as client:
        headers = signed_in(client, world, world.people["alice"])
        answer = client.post(f"/v1/accounts/{world.addr('alice')}/rating/statements",
                             headers=headers)  # fmt: skip
        assert answer.status_code == 409
        assert answer.json()["code"] == "no_anchored_checkpoint"
        rating = client.get(f"/v1/accounts/{world.addr('alice')}/rating", headers=headers)
        assert rating.status_code == 200 and rating.json()["score"] == 0
    world.store.close()


# -- the shared vectors (verifier-js checks the same) -----------------------------------------


def _vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(vectors.OUTPUT.read_text(encoding="utf-8"))
    return data


def test_committed_vectors_equal_a_fresh_generation() -> None:
    assert vectors.OUTPUT.read_text(encoding="utf-8") == vectors.generate(), (
        "tests/vectors/rating.json is stale: run"
        " .venv/bin/python tests/vectors/generate_rating_vectors.py"
    )


def test_the_vectors_ratings_and_verdicts() -> None:
    data = _vector()
    events = [json.loads(e) for e in data["entries"]]
    for case in data["ratings"]:
        size = case["size"]
        assert rate(case["account"], events[:size], events[size - 1]["time"]) == case["rating"]
    assert any(c["rating"]["score"] > 500 for c in data["ratings"])
    entries = [e.encode() for e in data["entries"]]

    def fetch(path: str) -> bytes:
        for index in range((len(entries) + 255) // 256):
            width = min(256, len(entries) - 256 * index)
            if path == entries_path(index, width):
                return entry_bundle(entries[256 * index : 256 * index + width])
        raise LogUnavailableError(path)

    trust = TrustAnchor.from_json(data["trust"])
    for case in data["statements"]:
        report = verify_rating_statement(case["document"], trust, fetch if case["log"] else None)
        assert report.verified == case["verified"], case["name"]
        assert [c.name for c in report.checks if not c.ok] == case["failed"], case["name"]


def test_no_statement_without_the_checkpoint_key(town: Town) -> None:
    """A service started without the key that signs checkpoints (no setting, no key file)
    refuses to sign statements, and says why."""
    world = town.world
    with api_client(world) as client:
        headers = signed_in(client, world, world.people["bob"])
        answer = client.post(f"/v1/accounts/{world.addr('bob')}/rating/statements", headers=headers)
        assert answer.status_code == 503
        assert answer.json()["code"] == "statement_key_unavailable"
        assert "key file" in answer.json()["detail"]
        assert (
            client.get(f"/v1/accounts/{world.addr('bob')}/rating", headers=headers).status_code
            == 200
        )
