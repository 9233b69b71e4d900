"""Nothing from outside crashes, poisons or silently stops the API (the hardening issue).

Each test names the defect it guards against; each class of defect has one more case of
the same kind beside the reported one.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.webhooks import TargetRefusedError, check_target
from registry.commitments import NO_COMMITMENT, commit_text
from registry.eip712 import sign_digest
from registry.messages import OPEN_ACCOUNT, OPEN_ACCOUNT_WITH_HOUSEHOLD
from registry.signing import Signer
from tests.api_world import OPERATOR, Client, api_client, body
from tests.ledger_world import CLASS, World

BOMB = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    world.issue("alice", 10_000, "claim-alice")
    with api_client(world) as c:
        yield c


# -- 1. deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/transfers", "/v1/activity-batches", "/v1/webhooks"])
def test_a_nesting_bomb_is_a_400_problem_and_the_service_goes_on(client: Client, path: str) -> None:
    answer = client.post(
        path, content=BOMB, headers={"Content-Type": "application/json", **OPERATOR}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_body"
    assert client.get("/v1").status_code == 200


def test_a_number_of_5000_digits_is_a_malformed_body(client: Client, world: World) -> None:
    signed = body(world.signed_transfer("alice", "bob", 10))
    text = httpx.Request("POST", "/", json=signed).content.replace(
        b'"amount":10', b'"amount":' + b"9" * 5000
    )
    answer = client.post(
        "/v1/transfers", content=text, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_body"


def test_serve_survives_the_nesting_bomb(tmp_path: Path) -> None:
    """The reported crash: one unauthenticated request killed the whole process."""
    env = dict(os.environ, CARBON_REGISTRY_OPERATOR_API_KEY="k", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "carbon-registry"), "--db", str(tmp_path / "r.db"),
         "serve", "--port", "0", "--no-anchoring"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        base = None
        for line in process.stdout:
            if line.startswith("Carbon Registry API on "):
                base = line.split()[4]
                break
        assert base is not None, "serve did not start"
        for _ in range(3):
            answer = httpx.post(
                f"{base}/v1/transfers",
                content=BOMB,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            assert answer.status_code == 400
        assert httpx.get(f"{base}/v1", timeout=60).status_code == 200
        assert process.poll() is None
    finally:
        process.terminate()
        process.communicate(timeout=60)  # reads and closes its output pipe


# -- 2. integers beyond what the log can carry -----------------------------------------------


def test_an_expiry_of_2_to_the_64_is_refused_not_logged(client: Client, world: World) -> None:
    _, message, signature = world.signed_transfer("alice", "bob", 10)
    message["expiry"] = 2**64 - 1
    answer = client.post("/v1/transfers", json={"message": message, "signature": signature})
    assert answer.status_code == 422
    assert world.store.event_count() == client.get("/v1").json()["events"]


def test_the_ledger_refuses_an_expiry_beyond_the_json_safe_range(world: World) -> None:
    from registry.errors import ValidationError

    signer = world.people["alice"]
    with pytest.raises(ValidationError, match="expiry"):
        world.registry.execute(
            *signer.request(
                world.registry.domain,
                "Transfer",
                ttl_s=2**64,
                **{"from": signer.address},
                to=world.addr("bob"),
                assetClass=CLASS,
                batchNo=0,
                amount=1,
            )  # fmt: skip
        )


# -- 4. headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"\xb2", b"9" * 5000, b"-1", b"1e3", b" 12"])
def test_a_bad_last_event_id_is_a_problem_not_a_500(client: Client, value: bytes) -> None:
    answer = client.get("/v1/events/stream", headers={"Last-Event-ID": value})
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"


@pytest.mark.parametrize("value", [b"x" * 300, b"caf\xe9"])
def test_a_bad_idempotency_key_is_a_problem(client: Client, world: World, value: bytes) -> None:
    answer = client.post(
        "/v1/transfers",
        json=body(world.signed_transfer("alice", "bob", 10)),
        headers={"Idempotency-Key": value},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_idempotency_key"


# -- 5. webhook targets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://user:pass@example.com/hook",
        "ftp://example.com/hook",
    ],
)
def test_webhooks_to_private_or_credentialed_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        check_target(url, [])


def test_the_api_refuses_a_loopback_webhook_unless_its_network_is_allowed(world: World) -> None:
    with api_client(world, webhook_allowed_networks=[]) as strict:
        answer = strict.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=OPERATOR)
        assert answer.status_code == 422
        assert answer.json()["code"] == "webhook_target_refused"
    with api_client(world) as local:  # the tests' settings allow 127.0.0.0/8
        answer = local.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=OPERATOR)
        assert answer.status_code == 201


# -- 6. rate limits --------------------------------------------------------------------------


def test_writes_over_the_limit_get_429_with_retry_after(world: World) -> None:
    with api_client(world, rate_limits=True, rate_limit_writes="3/minute") as limited:
        statuses = [
            limited.post("/v1/transfers", json=body(world.signed_transfer("alice", "bob", 1)))
            for _ in range(4)
        ]
        assert [s.status_code for s in statuses[:3]] != [429] * 3
        refused = statuses[3]
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert limited.get("/v1").status_code == 200  # cheap reads are not limited


def test_expensive_reads_have_their_own_limit(world: World) -> None:
    with api_client(world, rate_limits=True, rate_limit_expensive_reads="2/minute") as limited:
        codes = [limited.get("/v1/events/0/proof").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert limited.get("/v1/events/0").status_code == 200


# -- 7. file modes ---------------------------------------------------------------------------


@pytest.mark.sqlite_only("the modes of SQLite's files: a PostgreSQL cluster keeps its own")
def test_the_database_its_wal_and_keys_are_private(world: World, tmp_path: Path) -> None:
    world.issue("alice", 5)
    db = Path(world.store.path)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    key = tmp_path / "k.json"
    Signer.generate().save(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


# -- 8. idempotency keys of refused requests -------------------------------------------------


def test_a_refused_request_is_refused_again_on_retry_with_its_key(
    client: Client, world: World
) -> None:
    signed = body(world.signed_transfer("alice", "bob", 50_000))
    headers = {"Idempotency-Key": "retry-me"}
    first = client.post("/v1/transfers", json=signed, headers=headers)
    assert first.status_code == 409
    world.issue("alice", 100_000)  # the balance would now allow it...
    again = client.post("/v1/transfers", json=signed, headers=headers)
    assert again.status_code == 409  # ...but the key's answer is the first one
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    fresh = client.post("/v1/transfers", json=signed, headers={"Idempotency-Key": "new-key"})
    assert fresh.status_code == 201


# -- 9. names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Ali\x7fce", "Ali\x85ce", "gnp\u202eexe.doc", "\u200b\u200b", "\u2066x\u2069", "a\x00b"],
)
def test_names_with_controls_overrides_or_nothing_visible_are_refused(
    client: Client, world: World, name: str
) -> None:
    message = {
        "account": Signer.generate().address,
        "kind": "company",
        "name": name,
        "nameCommitment": "0x" + "00" * 32,
        "householdCommitment": NO_COMMITMENT,
        "nonce": 1,
        "expiry": 2**40,
    }
    digest = world.registry.domain.digest(OPEN_ACCOUNT.struct, message)  # as a client would
    signature = sign_digest(bytes.fromhex(world.operator.private_key_hex[2:]), digest)
    answer = client.post(
        "/v1/accounts", json={"message": message, "signature": signature}, headers=OPERATOR
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"


def test_a_chinese_name_is_welcome(client: Client, world: World) -> None:
    """A household's name is personal: it goes beside the request, sealed off the log."""
    name = "王家 (朝阳区)"
    salt, committed = commit_text(name)
    account = Signer.generate().address
    signed = world.operator.request(
        world.registry.domain,
        "OpenAccount",
        account=account,
        kind="household",
        name="",
        nameCommitment=committed,
        householdCommitment=NO_COMMITMENT,
    )
    sent = {**body(signed), "personal_name": {"salt": salt.hex(), "value": name}}
    answer = client.post("/v1/accounts", json=sent, headers=OPERATOR)
    assert answer.status_code == 201, answer.text
    assert name.encode() not in world.store.event_body(answer.json()["seq"])
    shown = client.get(f"/v1/accounts/{account}", headers=OPERATOR).json()
    assert shown["name"] == name
    message = {"account": Signer.generate().address, "kind": "household", "name": name,
               "nameCommitment": "0x" + "00" * 32, "householdCommitment": NO_COMMITMENT, "nonce": 1,
               "expiry": int(time.time()) + 600}  # fmt: skip
    digest = world.registry.domain.digest(OPEN_ACCOUNT.struct, message)
    signature = sign_digest(bytes.fromhex(world.operator.private_key_hex[2:]), digest)
    in_clear = client.post(
        "/v1/accounts", json={"message": message, "signature": signature}, headers=OPERATOR
    )
    assert in_clear.status_code == 422
    assert "personal data" in in_clear.json()["detail"]


def test_an_open_account_with_the_household_in_clear_is_refused_naming_the_new_way(
    client: Client, world: World
) -> None:
    """The second release's form (household in the message) gets a 422 that says where the
    household goes now; the form it names is accepted, the log holding only the commitment."""
    household = world.addr("alice")
    message = {"account": Signer.generate().address, "kind": "person", "name": "",
               "nameCommitment": NO_COMMITMENT, "household": household, "nonce": 1,
               "expiry": int(time.time()) + 600}  # fmt: skip
    digest = world.registry.domain.digest(OPEN_ACCOUNT_WITH_HOUSEHOLD.struct, message)
    signature = sign_digest(bytes.fromhex(world.operator.private_key_hex[2:]), digest)
    before = world.store.event_count()
    old = client.post(
        "/v1/accounts", json={"message": message, "signature": signature}, headers=OPERATOR
    )
    assert old.status_code == 422, old.text
    assert "householdCommitment" in old.json()["detail"]
    assert world.store.event_count() == before
    signed = world.open_request(message["account"], "person", household)
    (salt, value) = signed[3]["household"]  # type: ignore[index]
    sent = {**body(signed[:3]), "household": {"salt": salt.hex(), "value": value}}
    new = client.post("/v1/accounts", json=sent, headers=OPERATOR)
    assert new.status_code == 201, new.text
    assert household[2:].lower().encode() not in world.store.event_body(new.json()["seq"]).lower()
    assert world.store.account(message["account"])["household"] == household
