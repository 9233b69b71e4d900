"""Communities: joining and leaving, the public totals, the leaderboard of members who opted
in (by a pseudonym kept off the log, gone when erased), pooled retirements; replay, audit
and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from anchoring.audit import audit
from registry.commitments import NO_COMMITMENT, commit_text
from registry.errors import AccountKindError, MembershipError, ValidationError, WrongSignerError
from registry.replay import replay
from tests.api_world import MrvParties, api_client
from tests.ledger_world import CLASS, World
from tests.people_world import join, leave

pytestmark = pytest.mark.both_backends


@pytest.fixture
def estate(store_url: str) -> Iterator[World]:
    """A community, a merchant, three households, and verified reductions of two of them:
    alice 3 trips, bob 1 (issued by one run; 5% to the buffer pool)."""
    world = World.create(store_url)
    world.open("lotus", kind="community")
    world.open("cafe", kind="merchant")
    mrv = MrvParties(world)
    world.registry.execute(*mrv.submit("b-1", mrv.trips("alice", 3) + mrv.trips("bob", 1)))
    claims = [c["claim_id"] for c in world.store.claims(status="pending")]
    world.registry.attest(*mrv.attest(claims)[1:])
    world.registry.run_issuance(*mrv.run()[1:])
    yield world
    world.store.close()


def verified(world: World, name: str) -> int:
    return sum(
        c["grams"]
        for c in world.store.claims(status="issued")
        if world.addr(name) in (c["account"], c["beneficiary"])
    )


def test_members_join_and_the_totals_count_their_verified_grams(estate: World) -> None:
    lotus = estate.addr("lotus")
    assert estate.store.community(lotus) == {
        "address": lotus, "name": "lotus",
        "opened_seq": estate.store.account(lotus)["opened_seq"],  # type: ignore[index]
        "members": 0,
        "verified_grams": 0, "retired_grams": 0,
    }  # fmt: skip
    join(estate, "alice", "lotus", "绿色狐狸")
    join(estate, "bob", "lotus")
    join(estate, "carol", "lotus", "Quiet Owl")
    totals = estate.store.community(lotus)
    assert totals is not None and totals["members"] == 3
    assert verified(estate, "alice") > verified(estate, "bob") > 0
    assert totals["verified_grams"] == verified(estate, "alice") + verified(estate, "bob")
    assert estate.store.communities() == [totals]
    assert estate.store.communities_of(estate.addr("alice")) == [lotus]


def test_the_leaderboard_shows_only_opted_in_members_by_pseudonym(estate: World) -> None:
    join(estate, "carol", "lotus", "Quiet Owl")  # no verified grams yet
    join(estate, "bob", "lotus")  # not on the board
    join(estate, "alice", "lotus", "绿色狐狸")
    board = estate.registry.community_leaderboard(estate.addr("lotus"))
    assert board == [
        {"rank": 1, "pseudonym": "绿色狐狸", "verified_grams": verified(estate, "alice")},
        {"rank": 2, "pseudonym": "Quiet Owl", "verified_grams": 0},
    ]
    assert estate.registry.community_leaderboard(estate.addr("lotus"), limit=1) == board[:1]
    # The log holds the commitments only.
    log = b"".join(body for *_, body in estate.store.event_rows())
    assert "绿色狐狸".encode() not in log and b"Quiet Owl" not in log


def test_erasing_a_member_takes_them_off_the_leaderboard(estate: World) -> None:
    join(estate, "alice", "lotus", "绿色狐狸")
    join(estate, "carol", "lotus", "Quiet Owl")
    assert estate.registry.erase(estate.addr("alice")) >= 2  # the name and the pseudonym
    board = estate.registry.community_leaderboard(estate.addr("lotus"))
    assert board == [{"rank": 1, "pseudonym": "Quiet Owl", "verified_grams": 0}]
    assert estate.store.community(estate.addr("lotus"))["members"] == 2  # type: ignore[index]
    report = replay(estate.store)
    assert report.clean, report.problems
    audited = audit(estate.store, estate.registry.log_id, estate.registry.domain, None,
                    estate.registry.vault)  # fmt: skip
    assert audited.clean, audited.problems


def test_joining_twice_and_leaving_without_membership_are_refused(estate: World) -> None:
    join(estate, "alice", "lotus")
    with pytest.raises(MembershipError, match="already a member"):
        join(estate, "alice", "lotus", "again")
    leave(estate, "alice", "lotus")
    with pytest.raises(MembershipError, match="not a member"):
        leave(estate, "alice", "lotus")
    with pytest.raises(MembershipError, match="not a member"):
        leave(estate, "bob", "lotus")
    join(estate, "alice", "lotus", "回来了")  # leaving is not for ever
    assert estate.store.membership(estate.addr("lotus"), estate.addr("alice")) is not None


def test_only_people_join_and_only_communities_are_joined(estate: World) -> None:
    with pytest.raises(AccountKindError, match="only person or household accounts join"):
        join(estate, "cafe", "lotus")
    with pytest.raises(AccountKindError, match="only community accounts be joined"):
        join(estate, "alice", "cafe")
    signed = estate.people["bob"].request(
        estate.registry.domain, "JoinCommunity", member=estate.addr("alice"),
        community=estate.addr("lotus"), leaderboard=False,
    )  # fmt: skip
    with pytest.raises(WrongSignerError):
        estate.registry.execute(*signed)
    # A person of a household joins in its own right.
    estate.open_person("dan", household=estate.addr("alice"))
    join(estate, "dan", "lotus", "Dan the Walker")
    assert estate.store.community(estate.addr("lotus"))["members"] == 1  # type: ignore[index]


def test_the_leaderboard_needs_a_pseudonym_that_matches_its_commitment(estate: World) -> None:
    with pytest.raises(ValidationError, match="pseudonym"):
        estate.people["alice"].request(
            estate.registry.domain, "JoinCommunity", member=estate.addr("alice"),
            community=estate.addr("lotus"), leaderboard=True, pseudonymCommitment=NO_COMMITMENT,
        )  # fmt: skip
    salt, committed = commit_text("绿色狐狸")
    signed = estate.people["alice"].request(
        estate.registry.domain, "JoinCommunity", member=estate.addr("alice"),
        community=estate.addr("lotus"), leaderboard=True, pseudonymCommitment=committed,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="do not give pseudonymCommitment"):
        estate.registry.execute(*signed, {"pseudonym": (salt, "someone else")})
    assert estate.store.membership(estate.addr("lotus"), estate.addr("alice")) is None


def test_a_pooled_retirement_names_the_community(estate: World) -> None:
    """Members transfer to the community, which retires the pool with Retire."""
    join(estate, "alice", "lotus")
    join(estate, "bob", "lotus")
    estate.issue("alice", 3_000)
    estate.issue("bob", 2_000)
    estate.transfer("alice", "lotus", 3_000)
    estate.transfer("bob", "lotus", 2_000)
    before = estate.store.class_supply()[CLASS]["retired"]
    receipt = estate.registry.execute(
        *estate.people["lotus"].request(
            estate.registry.domain,
            "Retire",
            owner=estate.addr("lotus"),
            assetClass=CLASS,
            batchNo=0,
            amount=5_000,
            beneficiary=estate.addr("lotus"),
            reason="莲花山社区 2026 pooled offset",
            jurisdiction="CN-GD",
        )  # fmt: skip
    )
    certificate = estate.registry.certificate(receipt.effects["certificate_id"])
    assert (certificate["owner"], certificate["beneficiary"]) == (estate.addr("lotus"),) * 2
    assert estate.store.class_supply()[CLASS]["retired"] == before + 5_000
    assert estate.store.community(estate.addr("lotus"))["retired_grams"] == 5_000  # type: ignore[index]
    with api_client(estate) as client:
        served = client.get(f"/v1/retirements/{receipt.effects['certificate_id']}").json()
    assert served["beneficiary_public_name"] == "lotus"
    report = replay(estate.store)
    assert report.clean, report.problems


def test_the_api_shows_totals_and_pseudonyms_not_members(estate: World) -> None:
    join(estate, "alice", "lotus", "绿色狐狸")
    join(estate, "bob", "lotus")
    lotus = estate.addr("lotus")
    with api_client(estate) as client:
        listed = client.get("/v1/communities").json()["items"]
        assert [(c["address"], c["members"]) for c in listed] == [(lotus, 2)]
        one = client.get(f"/v1/communities/{lotus}")
        assert one.status_code == 200 and one.json() == listed[0]
        assert one.json()["leaderboard_url"] == f"/v1/communities/{lotus}/leaderboard"
        board = client.get(f"/v1/communities/{lotus}/leaderboard")
        assert board.json() == [
            {"rank": 1, "pseudonym": "绿色狐狸", "verified_grams": verified(estate, "alice")}
        ]
        assert estate.addr("alice") not in board.text and estate.addr("bob") not in one.text
        assert client.get(f"/v1/communities/{estate.addr('cafe')}").status_code == 404
        assert client.get(f"/v1/communities/{estate.addr('cafe')}/leaderboard").status_code == 404


@pytest.mark.sqlite_only("reads the plan through sqlite3's trace callback")
def test_community_totals_and_leaderboard_read_claims_by_index(estate: World) -> None:
    """Public pages: their cost must not grow with every claim of the registry."""
    store = estate.store
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    store.community(estate.addr("lotus"))
    store.community_leaderboard(estate.addr("lotus"))
    store.conn.set_trace_callback(None)
    for statement in [t for t in traced if "claims" in t]:
        plan = " ".join(
            str(row[-1]) for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}")
        )
        assert "SCAN claims" not in plan, plan
