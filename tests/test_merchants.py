"""Merchants' offers: publishing, withdrawing, and redeeming by transfer or by retirement
with a certificate naming the merchant; every guard; replay, audit, the certificate's
verification and the API's access control over redemptions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from anchoring.audit import audit
from carbon_registry.cli import cli
from carbon_verifier.verify import CheckFailed, certificate_claims
from registry.errors import (
    AccountKindError,
    CreditsRetiredError,
    InsufficientBalanceError,
    OfferExistsError,
    OfferStateError,
    UnknownOfferError,
    ValidationError,
    WrongSignerError,
)
from registry.replay import replay
from tests.api_world import api_client, signed_in
from tests.ledger_world import CLASS, World, check_invariants
from tests.people_world import publish, redeem, withdraw

pytestmark = pytest.mark.both_backends


@pytest.fixture
def town(store_url: str) -> Iterator[World]:
    world = World.create(store_url)
    world.open("cafe", kind="merchant")
    world.open("bakery", kind="merchant")
    world.open("acme", kind="company")
    world.issue("alice", 10_000)
    yield world
    world.store.close()


def supply(world: World) -> dict[str, int]:
    return world.store.class_supply()[CLASS]


def test_a_transfer_redemption_moves_the_offers_exact_grams_to_the_merchant(town: World) -> None:
    publish(town, "cafe", "coffee", 2_000)
    before = supply(town)
    receipt = redeem(town, "alice", "cafe", "coffee", "transfer")
    assert receipt.event_type == "OfferRedeemed"
    # Oldest serials first; a holding partly taken gives its highest serials.
    assert receipt.effects == {
        "grams": 2_000,
        "ranges": [{"batch_no": 1, "first": 8_001, "last": 10_000}],
    }
    assert town.active("alice") == 8_000
    assert town.active("cafe") == 2_000
    assert supply(town) == before  # moved, not retired
    [row] = town.store.redemptions(town.addr("cafe"))
    assert (row["owner"], row["grams"], row["mode"], row["certificate_id"]) == (
        town.addr("alice"),
        2_000,
        "transfer",
        None,
    )
    assert row["serials"] == "CN-CIR-SZ_TRANSIT-1.0-2026-1-8001-10000"
    assert town.store.redemptions_by(town.addr("alice")) == [row]
    check_invariants(town.store)


def test_a_retire_redemption_retires_for_the_merchant_with_a_certificate(town: World) -> None:
    publish(town, "cafe", "tea", 1_500)
    before = supply(town)
    receipt = redeem(town, "alice", "cafe", "tea", "retire")
    certificate_id = f"CERT-{receipt.seq:010d}"
    assert receipt.effects["certificate_id"] == certificate_id
    assert town.active("alice") == 8_500
    assert town.active("cafe") == 0
    balances = {b["asset_class"]: b for b in town.store.balances(town.addr("alice"))}
    assert balances[CLASS]["retired"] == 1_500
    assert supply(town) == {
        **before,
        "active": before["active"] - 1_500,
        "retired": before["retired"] + 1_500,
    }
    certificate = town.registry.certificate(certificate_id)
    assert certificate["beneficiary"] == town.addr("cafe")
    assert certificate["owner"] == town.addr("alice")
    assert certificate["amount"] == 1_500
    assert certificate["reason"] == "redeemed offer tea"
    assert certificate["serials"] == "CN-CIR-SZ_TRANSIT-1.0-2026-1-8501-10000"
    [row] = town.store.redemptions(town.addr("cafe"))
    assert (row["mode"], row["certificate_id"]) == ("retire", certificate_id)
    check_invariants(town.store)


def test_credits_of_any_asset_class_pay(town: World) -> None:
    town.op("RegisterAssetClass", methodology="BJ_METRO", methodologyVersion="2.0",
            vintage=2026, region="110000")  # fmt: skip
    other = "BJ_METRO-2.0-2026-110000"
    town.op("Issue", to=town.addr("bob"), assetClass=other, amount=3_000, claimId="bj-1")
    publish(town, "cafe", "coffee", 2_000)
    redeem(town, "bob", "cafe", "coffee", "retire", asset_class=other)
    assert town.store.active_balance(town.addr("bob"), other) == 1_000
    assert town.store.class_supply()[other]["retired"] == 2_000


def test_only_a_merchant_publishes_and_its_own_key_signs(town: World) -> None:
    with pytest.raises(AccountKindError, match="only merchant accounts publish offers"):
        publish(town, "acme", "coffee", 2_000)
    with pytest.raises(AccountKindError):
        publish(town, "alice", "coffee", 2_000)
    signed = town.people["bob"].request(
        town.registry.domain, "PublishOffer", merchant=town.addr("cafe"), offerId="coffee",
        title="coffee", grams=2_000, validUntil=0,
    )  # fmt: skip
    with pytest.raises(WrongSignerError):
        town.registry.execute(*signed)
    assert town.store.offers(active_only=False) == []


def test_an_offer_id_names_one_offer_of_its_merchant(town: World) -> None:
    publish(town, "cafe", "coffee", 2_000)
    with pytest.raises(OfferExistsError, match="new id"):
        publish(town, "cafe", "coffee", 1_000)
    publish(town, "bakery", "coffee", 1_000)  # another merchant's id space
    assert town.store.offer(town.addr("cafe"), "coffee")["grams"] == 2_000  # type: ignore[index]


def test_bad_offers_are_refused_by_their_fields(town: World) -> None:
    with pytest.raises(ValidationError, match="grams"):
        publish(town, "cafe", "free", 0)
    with pytest.raises(ValidationError, match="title"):
        publish(town, "cafe", "blank", 100, title="")
    with pytest.raises(ValidationError, match="offerId"):
        publish(town, "cafe", "has space", 100)
    with pytest.raises(ValidationError, match="already past"):
        publish(town, "cafe", "old", 100, valid_until=int(time.time()) - 60)


def test_unknown_withdrawn_and_expired_offers_are_not_redeemed(town: World) -> None:
    events = town.store.next_seq()
    with pytest.raises(UnknownOfferError):
        redeem(town, "alice", "cafe", "nothing")
    with pytest.raises(AccountKindError, match="only merchant accounts have offers"):
        redeem(town, "alice", "acme", "coffee")
    publish(town, "cafe", "coffee", 2_000)
    withdraw(town, "cafe", "coffee")
    with pytest.raises(OfferStateError, match="withdrawn"):
        redeem(town, "alice", "cafe", "coffee")
    with pytest.raises(OfferStateError, match="already withdrawn"):
        withdraw(town, "cafe", "coffee")
    with pytest.raises(UnknownOfferError):
        withdraw(town, "cafe", "never")
    now = int(time.time())
    publish(town, "cafe", "flash", 500, valid_until=now + 30)
    # The offer's end is judged by the event's time: a request signed in time but decided
    # after the end is refused.
    town.registry.clock = lambda: now + 31
    with pytest.raises(OfferStateError, match="ended"):
        redeem(town, "alice", "cafe", "flash")
    town.registry.clock = time.time
    redeem(town, "alice", "cafe", "flash")  # still open now
    assert town.store.next_seq() == events + 4  # publish, withdraw, publish, redeem
    assert town.active("alice") == 9_500


def test_a_redemption_needs_the_grams_and_the_owners_key(town: World) -> None:
    publish(town, "cafe", "big", 20_000)
    with pytest.raises(InsufficientBalanceError):
        redeem(town, "alice", "cafe", "big")
    publish(town, "cafe", "coffee", 6_000)
    town.retire("alice", 5_000)
    with pytest.raises(CreditsRetiredError):  # the missing grams exist, retired
        redeem(town, "alice", "cafe", "coffee")
    signed = town.people["bob"].request(
        town.registry.domain, "RedeemOffer", owner=town.addr("alice"),
        merchant=town.addr("cafe"), offerId="coffee", assetClass=CLASS, batchNo=0,
        mode="transfer",
    )  # fmt: skip
    with pytest.raises(WrongSignerError):
        town.registry.execute(*signed)
    town.issue("cafe", 6_000)
    with pytest.raises(ValidationError, match="own offer"):
        redeem(town, "cafe", "cafe", "coffee")
    assert town.active("alice") == 5_000
    assert town.store.redemptions(town.addr("cafe")) == []


def test_the_offers_read_keeps_active_ones_by_default(town: World) -> None:
    now = int(time.time())
    publish(town, "cafe", "coffee", 2_000)
    publish(town, "cafe", "gone", 1_000)
    withdraw(town, "cafe", "gone")
    publish(town, "bakery", "bread", 800, valid_until=now + 60)
    active = town.store.offers(now=now)
    assert [o["offer_id"] for o in active] == ["coffee", "bread"]
    assert [o["offer_id"] for o in town.store.offers(now=now + 61)] == ["coffee"]
    assert [o["offer_id"] for o in town.store.offers(town.addr("cafe"), active_only=False)] == [
        "coffee",
        "gone",
    ]


def test_replay_and_audit_are_clean_and_the_certificate_states_its_event(town: World) -> None:
    publish(town, "cafe", "coffee", 2_000)
    publish(town, "cafe", "tea", 1_000, valid_until=int(time.time()) + 3_600)
    redeem(town, "alice", "cafe", "coffee", "transfer")
    retired = redeem(town, "alice", "cafe", "tea", "retire")
    withdraw(town, "cafe", "tea")
    town.transfer("alice", "bob", 1_000)
    report = replay(town.store)
    assert report.clean, report.problems
    audited = audit(town.store, town.registry.log_id, town.registry.domain, None,
                    town.registry.vault)  # fmt: skip
    assert audited.clean, audited.problems
    with api_client(town) as client:
        served = client.get(f"/v1/retirements/CERT-{retired.seq:010d}")
        assert served.status_code == 200, served.text
        certificate = served.json()
        page = client.get(f"/v1/retirements/CERT-{retired.seq:010d}/certificate.html").text
    assert certificate["beneficiary_public_name"] == "cafe"
    assert f"cafe ({town.addr('cafe')})" in page
    # What a verifier reads from the event (the bundle is pending: no anchor in this world).
    stated = certificate_claims(certificate["proof"]["event"])
    assert {k: certificate[k] for k in stated} == stated
    assert stated["amount"] == 1_000 and stated["beneficiary"] == town.addr("cafe")
    transfer_event = json.loads(town.store.event_body(retired.seq - 1) or b"{}")
    with pytest.raises(CheckFailed, match="by transfer"):
        certificate_claims(transfer_event)


def test_an_edited_redemption_row_is_named_by_replay(town: World) -> None:
    publish(town, "cafe", "coffee", 2_000)
    redeem(town, "alice", "cafe", "coffee", "retire")
    town.store.conn.execute("UPDATE redemptions SET grams = 1")
    report = replay(town.store)
    assert any("table redemptions" in p for p in report.problems), report.problems


def test_redemptions_are_read_by_the_merchant_and_the_owner_only(town: World) -> None:
    publish(town, "cafe", "coffee", 2_000, title="咖啡券 coffee voucher")
    publish(town, "bakery", "bread", 500)
    redeem(town, "alice", "cafe", "coffee", "retire")
    cafe, alice = town.addr("cafe"), town.addr("alice")
    with api_client(town) as client:
        first = client.get("/v1/offers?limit=1").json()
        offers = (
            first["items"] + client.get(f"/v1/offers?after={first['next_after']}").json()["items"]
        )
        assert [(o["offer_id"], o["merchant_name"], o["title"], o["active"]) for o in offers] == [
            ("coffee", "cafe", "咖啡券 coffee voucher", True),
            ("bread", "bakery", "咖啡券 coffee voucher", True),
        ]
        assert client.get(f"/v1/offers/{cafe}/coffee").json()["grams"] == 2_000
        assert client.get(f"/v1/offers/{cafe}/nothing").status_code == 404
        assert client.get(f"/v1/offers?merchant={alice}").json()["items"] == []
        for path in (f"/v1/merchants/{cafe}/redemptions", f"/v1/accounts/{alice}/redemptions"):
            assert client.get(path).status_code == 401
            other = client.get(path, headers=signed_in(client, town, town.people["bob"]))
            assert other.status_code == 403, other.text
        mine = client.get(
            f"/v1/merchants/{cafe}/redemptions",
            headers=signed_in(client, town, town.people["cafe"]),
        )
        assert mine.status_code == 200
        [seen] = mine.json()["items"]
        assert (seen["owner"], seen["grams"], seen["mode"]) == (alice, 2_000, "retire")
        assert seen["certificate_url"] == f"/v1/retirements/{seen['certificate_id']}"
        own = client.get(
            f"/v1/accounts/{alice}/redemptions",
            headers=signed_in(client, town, town.people["alice"]),
        )
        assert own.json() == {"items": [seen], "next_after": None}
        # The merchant sees its redemptions, not its customers' other ones.
        assert (
            client.get(
                f"/v1/accounts/{alice}/redemptions",
                headers=signed_in(client, town, town.people["cafe"]),
            ).status_code
            == 403
        )


def test_offers_and_communities_through_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_REGISTRY_OPERATOR_KEY", raising=False)
    runner, db = CliRunner(), tmp_path / "r.db"

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--db", str(db), *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("init", "--log-id", "test.local/cli")
    keys = {n: tmp_path / f"{n}.key" for n in ("wang", "cafe", "lotus")}
    wang, cafe, lotus = (run("keygen", str(k)).strip() for k in keys.values())
    run("accounts", "open", wang, "--kind", "household", "--personal-name", "Wang")
    run("accounts", "open", cafe, "--kind", "merchant", "--name", "Corner Cafe")
    run("accounts", "open", lotus, "--kind", "community", "--name", "Lotus")
    run("classes", "register", "--methodology", "SZ_TRANSIT", "--version", "1.0",
        "--vintage", "2026", "--region", "440300")  # fmt: skip
    run("issue", "--to", wang, "--class", CLASS, "--amount", "5kg", "--claim-id", "c-1")
    run("offers", "publish", "coffee", "--title", "咖啡券", "--grams", "2kg",
        "--key-file", str(keys["cafe"]))  # fmt: skip
    assert "咖啡券 for 2,000 g" in run("offers", "list")
    out = run("offers", "redeem", "--merchant", cafe, "--offer-id", "coffee", "--class", CLASS,
              "--mode", "retire", "--key-file", str(keys["wang"]), "--json")  # fmt: skip
    assert json.loads(out)["effects"]["grams"] == 2_000
    run("communities", "join", lotus, "--leaderboard", "true", "--pseudonym", "王的熊猫",
        "--key-file", str(keys["wang"]))  # fmt: skip
    shown = run("communities", "show", lotus)
    assert "1 members" in shown and "王的熊猫" in shown and wang not in shown
    run("offers", "withdraw", "coffee", "--key-file", str(keys["cafe"]))
    assert run("offers", "list") == ""
    run("communities", "leave", lotus, "--key-file", str(keys["wang"]))
    assert "state equals the log" in run("replay")
