"""An exchange's own reserve check: from the public log's entry bundles and the chain alone,
with the light verifier, no registry database (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.rpc_server import embedded_transport
from anchoring.worker import AnchorPolicy
from bridge.reserve import check_anchored_reserve
from carbon_verifier.reserve import ReserveLogError, check_public_reserve
from carbon_verifier.rpc import Rpc
from carbon_verifier.tiles import LogFormatError, entries_path, parse_entry_bundle
from carbon_verifier.trust import TrustAnchor
from tests.api_world import Client, api_client
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.ledger_world import CLASS
from tests.test_anchoring_embedded import anchored_world


@pytest.fixture
def bridged(tmp_path: Path) -> Iterator[tuple[Bridge, Client, TrustAnchor]]:
    """Locks, a mint, a return and an on-chain retirement, all anchored; the API serving
    the public log; the registry's trust anchor."""
    world, chain = anchored_world(tmp_path / "registry.db")
    bridge = Bridge.start(world, chain, AnchorPolicy(confirmations=1))
    world.issue("alice", 10_000)
    holder = bridge.wallet()
    lock = bridge.lock("alice", 3_000, holder.address)
    bridge.lock("alice", 1_000, holder.address)  # never minted
    bridge.worker.run_once()
    bridge.mint(holder, lock.seq)
    bridge.token.return_to_registry(key_of(holder), TOKEN, 500, world.addr("bob"))
    bridge.token.retire(key_of(holder), TOKEN, 700, "0x" + "ac" * 32, "offset")
    for _ in range(3):
        bridge.worker.run_once()
    with api_client(world, token=bridge.token.address) as client:
        trust = TrustAnchor.from_json(client.get("/v1/trust").json())
        yield bridge, client, trust
    world.store.close()


def fetch_of(client: Client) -> object:
    def fetch(path: str) -> bytes:
        answer = client.get(f"/log/{path}")
        assert answer.status_code == 200, (path, answer.text)
        return answer.content

    return fetch


def test_the_reserve_checks_out_from_the_public_log_and_the_chain(
    bridged: tuple[Bridge, Client, TrustAnchor],
) -> None:
    bridge, client, trust = bridged
    rpc = Rpc(embedded_transport(bridge.chain))
    report = check_public_reserve(fetch_of(client), rpc, trust)  # type: ignore[arg-type]
    assert report.ok, report.problems
    [reserve] = report.classes
    # 4,000 g locked, 1,000 never minted; 500 returned and 700 retired on chain
    assert (reserve.asset_class, reserve.locked_in_log, reserve.unminted_locks) == (
        CLASS, 4_000 - 500 - 700, 1_000
    )  # fmt: skip
    assert reserve.total_supply == reserve.expected_supply == 1_800
    # the same figures as the registry's own check of its database
    local = check_anchored_reserve(bridge.world.store, bridge.chain, bridge.token)
    assert local.classes == report.classes and local.log_size == report.log_size


def test_a_mint_the_log_has_not_recorded_yet_still_balances(
    bridged: tuple[Bridge, Client, TrustAnchor],
) -> None:
    bridge, client, trust = bridged
    holder = bridge.wallet()
    lock = bridge.lock("alice", 2_000, holder.address)
    bridge.worker.run_once()  # anchors the lock
    bridge.mint(holder, lock.seq)  # minted on chain, not recorded in the log yet
    report = check_public_reserve(fetch_of(client), Rpc(embedded_transport(bridge.chain)), trust)  # type: ignore[arg-type]
    assert report.ok, report.problems
    assert report.classes[0].mints_not_in_log == 2_000


def test_a_rewritten_event_in_the_served_log_is_caught(
    bridged: tuple[Bridge, Client, TrustAnchor],
) -> None:
    bridge, client, trust = bridged
    store = bridge.world.store
    seq, body = next((s, b) for s, t, _, b in store.event_rows() if t == "CreditsLocked")
    event = json.loads(body)
    event["payload"]["request"]["amount"] = 1  # the operator shrinks a lock
    store.conn.execute(
        "UPDATE events SET body = ? WHERE seq = ?",
        (json.dumps(event, separators=(",", ":")).encode(), seq),
    )
    with pytest.raises(ReserveLogError, match="do not hash to the anchored root"):
        check_public_reserve(fetch_of(client), Rpc(embedded_transport(bridge.chain)), trust)  # type: ignore[arg-type]


def test_entry_bundles_hold_the_events_and_are_refused_when_malformed(
    bridged: tuple[Bridge, Client, TrustAnchor],
) -> None:
    bridge, client, _ = bridged
    size = bridge.worker.tree.size
    served = client.get(f"/log/{entries_path(0, size)}")
    assert served.headers["cache-control"].endswith("immutable")
    bodies = [body for _, _, _, body in bridge.world.store.event_rows()][:size]
    assert parse_entry_bundle(served.content, size) == bodies
    assert client.get(f"/log/{entries_path(0, size + 1)}").status_code == 404  # not yet
    with pytest.raises(LogFormatError):
        parse_entry_bundle(served.content[:-1], size)
    with pytest.raises(LogFormatError):
        parse_entry_bundle(served.content, size - 1)
