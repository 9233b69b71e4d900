"""Each operation of the ledger, and every way it refuses a request without changing anything."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from registry import errors
from registry.commitments import NO_COMMITMENT
from registry.handlers.common import RANGE_RULES
from registry.ledger import Receipt, Registry
from registry.replay import replay
from registry.signing import Signer
from tests.ledger_world import CLASS, World, check_invariants

pytestmark = pytest.mark.both_backends


def refused(
    world: World, error: type[errors.RegistryError], request: tuple[str, dict[str, Any], str]
) -> errors.RegistryError:
    """Submit `request`, expect `error`, and check that nothing changed."""
    before = world.snapshot()
    with pytest.raises(error) as caught:
        world.registry.execute(*request)
    assert world.snapshot() == before
    return caught.value


def test_genesis_records_domain_and_operator(world: World) -> None:
    first = next(world.store.event_rows())
    assert first[1] == "RegistryOpened"
    assert world.store.has_role(world.operator.address, "operator")
    assert world.registry.domain.chain_id == 31337


def test_issue_creates_a_batch_with_one_serial_range(world: World) -> None:
    receipt = world.issue("alice", 5_000, "claim-1")
    assert receipt.event_type == "CreditsIssued"
    assert receipt.effects == {"batch_no": 1, "ranges": [{"batch_no": 1, "first": 1, "last": 5000}]}
    [holding] = world.registry.holdings(world.addr("alice"))
    assert holding["serials"] == "CN-CIR-SZ_TRANSIT-1.0-2026-1-1-5000"
    assert world.active("alice") == 5_000


def test_issue_refuses_a_claim_issued_twice(world: World) -> None:
    world.issue("alice", 100, "claim-x")
    request = world.operator.request(
        world.registry.domain,
        "Issue",
        to=world.addr("bob"),
        assetClass=CLASS,
        amount=5,
        claimId="claim-x",
    )
    refused(world, errors.DuplicateClaimError, request)


def test_issue_needs_the_operator_role(world: World) -> None:
    request = world.people["alice"].request(
        world.registry.domain,
        "Issue",
        to=world.addr("alice"),
        assetClass=CLASS,
        amount=1_000_000,
        claimId="self-issued",
    )
    refused(world, errors.NotAuthorisedError, request)


def test_issue_to_unknown_account_or_class(world: World) -> None:
    stranger = Signer.generate().address
    d = world.registry.domain
    refused(
        world,
        errors.UnknownAccountError,
        world.operator.request(d, "Issue", to=stranger, assetClass=CLASS, amount=5, claimId="c"),
    )
    refused(
        world,
        errors.UnknownAssetClassError,
        world.operator.request(
            d,
            "Issue",
            to=world.addr("alice"),
            assetClass="NOPE-1-2026-440300",
            amount=5,
            claimId="c",
        ),
    )


def test_transfer_splits_ranges_first_in_first_out(world: World) -> None:
    world.issue("alice", 1_000)
    world.issue("alice", 500)
    receipt = world.transfer("alice", "bob", 1_200)
    assert receipt.effects["ranges"] == [
        {"batch_no": 1, "first": 1, "last": 1000},
        {"batch_no": 2, "first": 301, "last": 500},
    ]
    assert world.active("alice") == 300
    assert world.active("bob") == 1_200
    alice = world.registry.holdings(world.addr("alice"))
    assert [(h["batch_no"], h["first"], h["last"]) for h in alice] == [(2, 1, 300)]
    check_invariants(world.store)


def test_transfer_from_a_named_batch(world: World) -> None:
    world.issue("alice", 1_000)
    world.issue("alice", 500)
    receipt = world.transfer("alice", "bob", 100, batch_no=2)
    assert receipt.effects["ranges"] == [{"batch_no": 2, "first": 401, "last": 500}]


def test_transfer_refuses_a_replayed_signature(world: World) -> None:
    world.issue("alice", 1_000)
    request = world.signed_transfer("alice", "bob", 10)
    world.registry.execute(*request)
    refused(world, errors.NonceReplayedError, request)


def test_transfer_refuses_an_expired_signature(world: World) -> None:
    world.issue("alice", 1_000)
    request = world.signed_transfer("alice", "bob", 10, ttl_s=-1)
    refused(world, errors.SignatureExpiredError, request)


def test_transfer_refuses_a_wrong_signer(world: World) -> None:
    world.issue("alice", 1_000)
    kind, message, _ = world.signed_transfer("alice", "bob", 10)
    forged = world.people["bob"].sign(world.registry.domain, kind, message)
    error = refused(world, errors.WrongSignerError, (kind, message, forged))
    assert isinstance(error, errors.WrongSignerError)
    assert error.recovered == world.addr("bob")


def test_transfer_refuses_a_tampered_message(world: World) -> None:
    world.issue("alice", 1_000)
    kind, message, signature = world.signed_transfer("alice", "bob", 10)
    message["amount"] = 900  # signature was for 10: it now recovers to some other key
    refused(world, errors.WrongSignerError, (kind, message, signature))


def test_transfer_refuses_a_signature_for_another_registry(world: World, tmp_path: Any) -> None:
    other = World.create(tmp_path / "other.db", contract="0x" + "42" * 20)
    world.issue("alice", 1_000)
    alice = world.people["alice"]
    request = alice.request(
        other.registry.domain,
        "Transfer",
        **{"from": alice.address},
        to=world.addr("bob"),
        assetClass=CLASS,
        batchNo=0,
        amount=10,
    )
    refused(world, errors.WrongSignerError, request)


def test_transfer_refuses_more_than_the_balance(world: World) -> None:
    world.issue("alice", 1_000)
    error = refused(
        world, errors.InsufficientBalanceError, world.signed_transfer("alice", "bob", 1_001)
    )
    assert type(error) is errors.InsufficientBalanceError
    assert "holds 1000 g active" in str(error)


def test_transfer_refuses_retired_grams(world: World) -> None:
    world.issue("alice", 1_000)
    world.retire("alice", 600)
    refused(world, errors.CreditsRetiredError, world.signed_transfer("alice", "bob", 700))


def test_transfer_refuses_locked_grams(world: World) -> None:
    world.issue("alice", 1_000)
    holding = next(world.store.active_holdings(world.addr("alice"), CLASS, None))
    with world.store.write():  # as the bridge does when grams leave for the chain
        world.store.update_holding_owner(holding.id, holding.owner, "locked", "lock-1")
        world.store.add_balance(holding.owner, CLASS, "active", -1_000)
        world.store.add_balance(holding.owner, CLASS, "locked", 1_000)
    refused(world, errors.CreditsLockedError, world.signed_transfer("alice", "bob", 1))


def test_transfer_refuses_an_unknown_batch_or_recipient(world: World) -> None:
    world.issue("alice", 1_000)
    refused(world, errors.UnknownBatchError, world.signed_transfer("alice", "bob", 1, batch_no=9))
    alice = world.people["alice"]
    request = alice.request(
        world.registry.domain,
        "Transfer",
        **{"from": alice.address},
        to=Signer.generate().address,
        assetClass=CLASS,
        batchNo=0,
        amount=1,
    )
    refused(world, errors.UnknownAccountError, request)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -5),
        ("amount", 2**53),
        ("amount", "10"),
        ("amount", 1.5),
        ("to", "0x1234"),
        ("to", "not an address"),
        ("assetClass", ""),
        ("nonce", -1),
        ("expiry", 2**64),
    ],
)
def test_transfer_refuses_malformed_fields(world: World, field: str, value: Any) -> None:
    world.issue("alice", 1_000)
    kind, message, signature = world.signed_transfer("alice", "bob", 10)
    message[field] = value
    refused(world, errors.ValidationError, (kind, message, signature))


@pytest.mark.parametrize("signature", ["0x", "0xzz", "0x" + "00" * 65, "0x" + "11" * 64 + "1d"])
def test_malformed_signatures_are_refused(world: World, signature: str) -> None:
    world.issue("alice", 1_000)
    kind, message, _ = world.signed_transfer("alice", "bob", 10)
    refused(world, errors.SignatureError, (kind, message, signature))


def test_high_s_signature_is_refused(world: World) -> None:
    from registry.eip712 import SECP256K1_N

    world.issue("alice", 1_000)
    kind, message, signature = world.signed_transfer("alice", "bob", 10)
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    flipped = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    refused(world, errors.SignatureError, (kind, message, "0x" + flipped.hex()))


def test_retire_returns_a_certificate(world: World) -> None:
    world.issue("alice", 1_000)
    receipt = world.retire("alice", 250)
    cert_id = receipt.effects["certificate_id"]
    certificate = world.registry.certificate(cert_id)
    assert certificate["amount"] == 250
    assert certificate["beneficiary_name"] == "alice family"
    assert certificate["serials"] == "CN-CIR-SZ_TRANSIT-1.0-2026-1-751-1000"
    balances = world.registry.balances(world.addr("alice"))
    assert balances == [
        {"asset_class": CLASS, "active": 750, "retired": 250, "cancelled": 0, "locked": 0}
    ]


def test_retire_only_by_the_owner(world: World) -> None:
    world.issue("alice", 1_000)
    kind, message, _ = world.signed_retire("alice", 10)
    refused(
        world,
        errors.WrongSignerError,
        (kind, message, world.people["bob"].sign(world.registry.domain, kind, message)),
    )


def test_retire_refuses_already_retired_grams(world: World) -> None:
    world.issue("alice", 100)
    world.retire("alice", 100)
    refused(world, errors.CreditsRetiredError, world.signed_retire("alice", 1))


def test_unknown_certificate(world: World) -> None:
    with pytest.raises(errors.UnknownCertificateError):
        world.registry.certificate("CERT-404")


def test_cancel_by_operator_with_evidence(world: World) -> None:
    world.issue("alice", 1_000)
    receipt = world.cancel("alice", 400)
    assert receipt.event_type == "CreditsCancelled"
    assert world.active("alice") == 600
    assert world.store.batch_status_totals(1) == {
        "active": 600,
        "retired": 0,
        "cancelled": 400,
        "locked": 0,
    }


def test_cancel_needs_the_operator(world: World) -> None:
    world.issue("alice", 1_000)
    request = world.people["bob"].request(
        world.registry.domain,
        "Cancel",
        holder=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1,
        reason="spite",
        evidenceHash="0x" + "00" * 32,
    )
    refused(world, errors.NotAuthorisedError, request)


def test_cancel_refuses_bad_evidence_hash(world: World) -> None:
    world.issue("alice", 1_000)
    kind, message, signature = world.operator.request(
        world.registry.domain,
        "Cancel",
        holder=world.addr("alice"),
        assetClass=CLASS,
        batchNo=0,
        amount=1,
        reason="x",
        evidenceHash="0x" + "12" * 32,
    )
    message["evidenceHash"] = "0x1234"
    refused(world, errors.ValidationError, (kind, message, signature))


def test_accounts_roles_and_households(world: World) -> None:
    d = world.registry.domain
    household = world.people["alice"].address
    member = world.open_person("member", household=household).address
    assert world.store.account(member)["household"] == household
    opened = json.loads(world.store.event_body(world.store.next_seq() - 1))["payload"]
    assert "household" not in opened["request"]  # off the log: only its commitment
    assert household not in json.dumps(opened)
    refused(
        world,
        errors.AccountExistsError,
        world.operator.request(
            d,
            "OpenAccount",
            account=member,
            kind="person",
            name="",
            nameCommitment="0x" + "00" * 32,
            householdCommitment=NO_COMMITMENT,
        ),
    )
    world.op("GrantRole", account=world.addr("bob"), role="verifier")
    assert world.store.roles_of(world.addr("bob")) == ["verifier"]
    refused(
        world,
        errors.ValidationError,
        world.operator.request(d, "GrantRole", account=world.addr("bob"), role="verifier"),
    )
    refused(
        world,
        errors.NotAuthorisedError,
        world.people["bob"].request(d, "GrantRole", account=world.addr("bob"), role="operator"),
    )


def test_a_revoked_role_no_longer_authorises_and_the_last_operator_stays(world: World) -> None:
    d = world.registry.domain
    bob = world.addr("bob")
    world.op("GrantRole", account=bob, role="operator")
    world.op("RevokeRole", account=bob, role="operator")  # a rotated-out or leaked key
    assert world.store.roles_of(bob) == []
    refused(
        world,
        errors.NotAuthorisedError,
        world.people["bob"].request(d, "GrantRole", account=bob, role="operator"),
    )
    refused(
        world,
        errors.ValidationError,
        world.operator.request(d, "RevokeRole", account=bob, role="operator"),  # not held
    )
    refused(
        world,
        errors.ValidationError,
        world.operator.request(d, "RevokeRole", account=world.operator.address, role="operator"),
    )  # the last operator


def test_register_asset_class_twice_is_refused(world: World) -> None:
    refused(
        world,
        errors.AssetClassExistsError,
        world.operator.request(
            world.registry.domain,
            "RegisterAssetClass",
            methodology="SZ_TRANSIT",
            methodologyVersion="1.0",
            vintage=2026,
            region="440300",
        ),
    )


def test_every_operation_appends_exactly_one_gapless_event(world: World) -> None:
    start = world.store.event_count()
    world.issue("alice", 1_000)
    world.transfer("alice", "bob", 10)
    world.retire("bob", 5)
    world.cancel("alice", 5)
    seqs = [row[0] for row in world.store.event_rows()]
    assert seqs == list(range(start + 4))
    assert replay(world.store).clean


def test_execute_many_commits_the_good_and_refuses_the_bad(world: World) -> None:
    world.issue("alice", 100)
    good = world.signed_transfer("alice", "bob", 60)
    too_much = world.signed_transfer("alice", "bob", 60)
    expired = world.signed_transfer("alice", "bob", 1, ttl_s=-10)
    results = world.registry.execute_many([good, too_much, expired, good])
    assert results[0].event_type == "CreditsTransferred"  # type: ignore[union-attr]
    assert isinstance(results[1], errors.InsufficientBalanceError)
    assert isinstance(results[2], errors.SignatureExpiredError)
    assert isinstance(results[3], errors.NonceReplayedError)
    assert world.active("bob") == 60
    assert replay(world.store).clean


def test_a_group_answers_each_request_in_order(world: World) -> None:
    """Each bad signature in a group gets its own error and changes nothing; the rest commit
    in request order."""
    world.issue("alice", 10_000)
    size = 40
    requests = [world.signed_transfer("alice", "bob", i + 1) for i in range(size)]
    unrecoverable, wrong_signer, malformed = 2, 17, size - 1
    kind, message, _ = requests[unrecoverable]
    requests[unrecoverable] = (kind, message, "0x" + "00" * 65)
    kind, message, _ = requests[wrong_signer]
    forged = world.people["bob"].sign(world.registry.domain, kind, message)
    requests[wrong_signer] = (kind, message, forged)
    kind, message, _ = requests[malformed]
    requests[malformed] = (kind, message, "0xzz")
    bad = {unrecoverable, wrong_signer, malformed}
    start = world.store.next_seq()

    results = world.registry.execute_many(requests)

    assert isinstance(results[unrecoverable], errors.SignatureError)
    assert isinstance(results[malformed], errors.SignatureError)
    wrong = results[wrong_signer]
    assert isinstance(wrong, errors.WrongSignerError) and wrong.recovered == world.addr("bob")
    receipts = [r for i, r in enumerate(results) if i not in bad]
    assert all(isinstance(r, Receipt) for r in receipts)
    assert [r.seq for r in receipts] == list(range(start, start + size - len(bad)))  # type: ignore[union-attr]
    moved = [sum(x["last"] - x["first"] + 1 for x in r.effects["ranges"]) for r in receipts]  # type: ignore[union-attr]
    assert moved == [i + 1 for i in range(size) if i not in bad]
    assert world.active("bob") == sum(moved)
    assert world.store.next_seq() == start + size - len(bad)
    assert replay(world.store).clean


def test_a_group_of_bad_signatures_changes_nothing(world: World) -> None:
    world.issue("alice", 1_000)
    requests = [
        (kind, message, "0x" + "11" * 64 + "1d")
        for kind, message, _ in (world.signed_transfer("alice", "bob", 1) for _ in range(20))
    ]
    before = world.snapshot()
    results = world.registry.execute_many(requests)
    assert all(isinstance(r, errors.SignatureError) for r in results)
    assert world.snapshot() == before


@pytest.mark.parametrize("range_rule", RANGE_RULES)
def test_a_group_moving_many_fragmented_ranges_matches_its_log(
    store_url: str, range_rule: int
) -> None:
    """Transfers in one group that each move many ranges (under rule 2 too: no holding
    covers 1,050 grams), some of them ranges an earlier request of the group just split or
    moved: the tables stay what the log says."""
    world = World.create(store_url, range_rule=range_rule)
    for name in ("alice", "bob", "carol"):
        world.issue(name, 1_000)
    world.registry.execute_many(
        [world.signed_transfer(src, "alice", 3) for _ in range(15) for src in ("bob", "carol")]
    )
    group = [
        world.signed_transfer("alice", "bob", 1_050),
        world.signed_transfer("bob", "carol", 40),
        world.signed_transfer("alice", "carol", 20),
        world.signed_transfer("carol", "alice", 1_000),
        world.signed_transfer("alice", "bob", 1_010),
    ]
    results = world.registry.execute_many(group)
    assert [type(r) for r in results] == [Receipt] * len(group)
    assert len(results[0].effects["ranges"]) > 10  # type: ignore[union-attr]
    assert [world.active(n) for n in ("alice", "bob", "carol")] == [10, 2_975, 15]
    check_invariants(world.store)
    assert replay(world.store).clean
    world.store.close()


def test_groups_decide_as_requests_one_at_a_time_would(world: World) -> None:
    """Groups of transfers, retirements and replayed requests among three accounts, many
    spending what an earlier request of the same group moved or split (a group reads its
    accounts, nonces and holdings ahead): each request is answered as a model of the
    balances says, and every logged decision is the one replay makes afresh."""
    rng = random.Random(11)
    names = ("alice", "bob", "carol")
    for name in names:
        for _ in range(3):
            world.issue(name, rng.randint(5, 40))
    balance = {name: world.active(name) for name in names}
    sent: list[tuple[str, dict[str, Any], str]] = []
    for _ in range(6):
        group, expected = [], []
        for _ in range(25):
            src = rng.choice(names)
            amount = rng.randint(1, 30)
            if sent and rng.random() < 0.1:
                group.append(rng.choice(sent))  # a nonce already used
                expected.append(errors.NonceReplayedError)
                continue
            if rng.random() < 0.2:
                group.append(world.signed_retire(src, amount))
                dst = None
            else:
                dst = rng.choice([n for n in names if n != src])
                group.append(world.signed_transfer(src, dst, amount))
            if balance[src] < amount:
                expected.append(errors.InsufficientBalanceError)
                continue
            expected.append(Receipt)
            balance[src] -= amount
            if dst is not None:
                balance[dst] += amount
        results = world.registry.execute_many(group)
        # A refusal for want of active grams may name retired ones (CreditsRetiredError).
        assert [isinstance(r, e) for r, e in zip(results, expected, strict=True)] == [True] * 25
        sent += [g for g, r in zip(group, results, strict=True) if isinstance(r, Receipt)]
        assert {name: world.active(name) for name in names} == balance
    check_invariants(world.store)
    assert replay(world.store).clean


def test_a_new_registry_object_sees_the_stored_registry(world: World) -> None:
    world.issue("alice", 10)
    again = Registry(world.store)
    assert again.domain == world.registry.domain
    assert again.operator == world.operator.address


def test_open_without_init_is_a_clear_error(tmp_path: Any) -> None:
    from registry.storage import Store

    with pytest.raises(errors.NotInitialisedError):
        Registry(Store(tmp_path / "empty.db"))


def _ranges(receipt: Receipt) -> list[tuple[int, int, int]]:
    return [(r["batch_no"], r["first"], r["last"]) for r in receipt.effects["ranges"]]


@pytest.mark.parametrize("range_rule", RANGE_RULES)
def test_a_transfer_takes_one_covering_holding_under_rule_2(
    store_url: str, range_rule: int
) -> None:
    """Alice holds two small old batches and a larger newer one. Rule 2 pays 6 grams from the
    first holding that covers them (the newer), where rule 1 spends the older ones first,
    in a group whose holdings are read ahead (on PostgreSQL) only as far as its 9 grams;
    an amount no holding covers is taken first in, first out under both; `batchNo` keeps to
    its batch."""
    world = World.create(store_url, range_rule=range_rule)
    try:
        for grams in (5, 5, 100):  # batches 1, 2, 3
            world.issue("alice", grams)
        six, three = world.registry.execute_many(
            [world.signed_transfer("alice", "bob", 6), world.signed_transfer("alice", "carol", 3)]
        )
        assert isinstance(six, Receipt) and isinstance(three, Receipt)
        if range_rule == 2:
            assert _ranges(six) == [(3, 95, 100)] and _ranges(three) == [(1, 3, 5)]
        else:
            assert _ranges(six) == [(1, 1, 5), (2, 5, 5)] and _ranges(three) == [(2, 2, 4)]
        many = _ranges(world.transfer("alice", "carol", 96))  # of 101
        if range_rule == 2:  # no holding covers it: first in, first out
            assert many == [(1, 1, 2), (2, 1, 5), (3, 6, 94)]
        else:
            assert many == [(2, 1, 1), (3, 6, 100)]
        assert world.active("alice") == 5
        world.issue("alice", 3)  # batch 4
        with pytest.raises(errors.InsufficientBalanceError):
            world.transfer("alice", "bob", 2, batch_no=2)
        assert _ranges(world.transfer("alice", "bob", 2, batch_no=4)) == [(4, 2, 3)]
        check_invariants(world.store)
        assert replay(world.store).clean
    finally:
        world.store.close()
