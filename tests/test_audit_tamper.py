"""Every stored column, edited in a copy of the database, is named by `audit` or `replay`.

A registry goes through every operation on the embedded chain (the bundle vectors' world),
so that every table holds rows. Then, for each table and column, one value of one row is
changed in a fresh copy and both checks run: `replay` (state against the log) and `audit`
with the chain (events, tiles, checkpoints, evidence, anchors, and replay). The test writes
which of them names each edit to test-output/audit-tamper-matrix.md and requires that
every edit is named by at least one, except the operational columns `audit.OPERATIONAL`
lists with their reason.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchoring.audit import OPERATIONAL, audit
from anchoring.chain import Chain
from anchoring.merkle import MerkleLog
from anchoring.merkle.nodefile import NodeFile, node_file_path
from anchoring.worker import AnchorPolicy
from registry.commitments import commitment
from registry.personal import Vault, master_key, salt_fingerprint
from registry.replay import replay
from registry.storage import Store
from registry.storage.personal import PersonalTables
from tests.anchoring_world import anchored_world, worker_for
from tests.api_world import MrvParties
from tests.bridge_world import TOKEN, Bridge, key_of
from tests.ledger_world import World, legacy_batch
from tests.people_world import join, publish, redeem, withdraw

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, World, Chain]]:
    path = tmp_path_factory.mktemp("audit") / "registry.db"
    world, chain = anchored_world(path)
    bridge = Bridge.start(world, chain, AnchorPolicy(confirmations=1))
    mrv = MrvParties(world)
    member = world.open_person("member", household=world.addr("alice"))
    records = mrv.trips("alice", 3)
    records.append(dict(records[0], id="trip-again"))  # the same trip twice: one is refused
    world.registry.execute(*mrv.submit("batch-1", records))
    claims = [c["claim_id"] for c in world.store.claims(status="pending")]
    world.registry.attest(*mrv.attest(claims[1:])[1:])
    world.registry.attest(*mrv.attest(claims[:1], approve=False, reason="not a trip")[1:])
    world.registry.run_issuance(*mrv.run()[1:])
    world.op("ReverseClaim", claimId=claims[1], reason="double", evidenceHash="0x" + "cd" * 32)
    world.issue("alice", 10_000)
    world.transfer("alice", "bob", 4_000)
    world.retire("bob", 1_500)
    world.cancel("alice", 100)
    world.open("cafe", kind="merchant")
    world.open("estate", kind="community")
    publish(world, "cafe", "coffee", 300)
    redeem(world, "alice", "cafe", "coffee", "transfer")
    redeem(world, "alice", "cafe", "coffee", "retire")
    withdraw(world, "cafe", "coffee")
    join(world, "alice", "estate", "绿色狐狸")
    holder = bridge.wallet()
    lock = bridge.lock("alice", 2_000, holder.address)
    bridge.worker.run_once()
    bridge.mint(holder, lock.seq)
    bridge.token.return_to_registry(key_of(holder), TOKEN, 500, world.addr("bob"))
    bridge.token.retire(key_of(holder), TOKEN, 700, "0x" + "ac" * 32, "offset")
    bridge.worker.run_once()
    bridge.worker.run_once()
    # A registry of the first release logged records in clear and kept evidence in
    # plaintext: one such batch and evidence row, as migrated.
    [legacy] = mrv.trips("alice", 1)
    legacy_salt = bytes(range(32))
    logged = legacy_batch(world.registry, mrv.platform, [legacy],
                          commitment(legacy_salt, b"legacy trip"))  # fmt: skip
    world.store.conn.execute(
        "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?)",
        (mrv.platform.address, legacy["id"], legacy["account"], legacy_salt, b"legacy trip",
         logged.seq),
    )  # fmt: skip
    world.registry.erase(member.address)  # someone asked to be forgotten
    world.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield path, world, chain


def columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return [(t, c[1]) for t in sorted(tables) for c in conn.execute(f"PRAGMA table_info({t})")]


def candidates(value: Any, column: str) -> list[Any]:
    """New values to try for one cell, most telling first."""
    if isinstance(value, int):
        return [value + 1, value - 1, 1 - value, value + 1000]
    if isinstance(value, bytes):
        return [bytes([value[0] ^ 1]) + value[1:] if value else b"\x01"]
    if isinstance(value, str):
        swaps = {"active": "retired", "confirmed": "sent", "issued": "approved"}
        return [swaps.get(value, value[:-1] + ("1" if value[-1:] != "1" else "2")), value + "x"]
    return [1, "x"]


def live_salts(path: Path) -> tuple[str, tuple[Any, ...]]:
    """Rows of commitment_salts whose piece is still sealed: an erased piece's fingerprint
    is kept to refuse its salt again, and nothing is left to check it against."""
    store = Store(path, read_only=True)
    try:
        vault = Vault(PersonalTables(store.conn), master_key(path))
        prints = [salt_fingerprint(p.salt) for s in vault.tables.all() if (p := vault.open(s))]
    finally:
        store.close()
    return f"WHERE fingerprint IN ({', '.join('?' * len(prints))})", tuple(prints)


def edit(path: Path, table: str, column: str, rows: tuple[str, tuple[Any, ...]] = ("", ())) -> str:
    """Change one value of `column` in one row (of `rows`, a WHERE clause and its values, if
    given): "edited", "no row", or "refused" when the schema's constraints refuse every other
    value (CHECK (id = 0), say)."""
    where_rows, params = rows
    conn = sqlite3.connect(path)
    try:
        info = list(conn.execute(f"PRAGMA table_info({table})"))
        key = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]] or ["rowid"]
        # A set value if there is one, else a NULL (a column only older rows fill).
        row = conn.execute(
            f"SELECT {', '.join(key)}, {column} FROM {table} {where_rows}"
            f" ORDER BY {column} IS NULL LIMIT 1",
            params,
        ).fetchone()
        if row is None:
            return "no row"
        where = " AND ".join(f"{k} = ?" for k in key)
        for new in candidates(row[-1], column):
            try:
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (new, *row[:-1]))
                conn.commit()
                return "edited"
            except sqlite3.IntegrityError:
                conn.rollback()
        return "refused"
    finally:
        conn.close()


def test_every_edit_of_every_stored_column_is_named(
    registry: tuple[Path, World, Chain], tmp_path: Path
) -> None:
    path, world, chain = registry
    conn = sqlite3.connect(path)
    cells = columns(conn)
    conn.close()
    matrix: list[tuple[str, str, str]] = []
    unnamed = []
    for table, column in cells:
        skipped, why = OPERATIONAL.get(table, ((), ""))
        if column in skipped:
            matrix.append((table, column, f"not audited: {why}"))
            continue
        copy = tmp_path / f"{table}.{column}.db"
        shutil.copy(path, copy)
        outcome = edit(copy, table, column, live_salts(path) if table == "commitment_salts"
                       else ("", ()))  # fmt: skip
        if outcome == "refused":
            matrix.append((table, column, "cannot be edited: the schema refuses other values"))
            continue
        if outcome == "no row":
            unnamed.append(f"{table}.{column}: no row to edit (the world must fill every table)")
            continue
        store = Store(copy, read_only=True)
        try:
            by_replay = not replay(store).clean
            vault = Vault(PersonalTables(store.conn), master_key(path))
            report = audit(store, world.registry.log_id, world.registry.domain, chain, vault)
        finally:
            store.close()
        by_audit = not report.clean
        names = [n for n, hit in (("replay", by_replay), ("audit", by_audit)) if hit]
        matrix.append((table, column, " and ".join(names) or "NOBODY"))
        if not names:
            unnamed.append(f"{table}.{column}")
    OUTPUT.mkdir(exist_ok=True)
    lines = ["| table | column | named by |", "|---|---|---|"]
    lines += [f"| {t} | {c} | {who} |" for t, c, who in matrix]
    (OUTPUT / "audit-tamper-matrix.md").write_text("\n".join(lines) + "\n")
    assert not unnamed, "\n".join(unnamed)
    assert len(matrix) > 100


@pytest.fixture(scope="module")
def long_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, World, Chain]]:
    """A log of more than 256 leaves, so the Merkle log has tiles above level 0, anchored."""
    path = tmp_path_factory.mktemp("long") / "registry.db"
    world, chain = anchored_world(path)
    world.issue("alice", 100_000)
    for _ in range(300):
        world.transfer("alice", "bob", 1)
    worker = worker_for(world, chain, AnchorPolicy(confirmations=1))
    worker.attach()
    worker.run_once()
    world.transfer("alice", "bob", 1)
    worker.run_once()
    world.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # copies take the main file
    yield path, world, chain
    world.store.close()


def audited(path: Path, world: World, chain: Chain) -> list[str]:
    store = Store(path, read_only=True)
    try:
        return audit(store, world.registry.log_id, world.registry.domain, chain).problems
    finally:
        store.close()


def test_a_corrupted_tile_above_level_zero_is_named(
    long_log: tuple[Path, World, Chain], tmp_path: Path
) -> None:
    path, world, chain = long_log
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    level, tile, hashes = conn.execute(
        "SELECT level, tile, hashes FROM merkle_tiles WHERE level > 0 ORDER BY level LIMIT 1"
    ).fetchone()
    conn.execute(
        "UPDATE merkle_tiles SET hashes = ? WHERE level = ? AND tile = ?",
        (bytes([hashes[0] ^ 1]) + hashes[1:], level, tile),
    )
    conn.commit()
    conn.close()
    assert audited(path, world, chain) == []
    problems = audited(copy, world, chain)
    assert f"Merkle tile {tile} of level {level} differs from the tile the events give" in " ".join(
        problems
    ), problems


def test_a_node_file_that_differs_from_the_tiles_is_named(
    long_log: tuple[Path, World, Chain], tmp_path: Path
) -> None:
    """The node file (levels 0-3 beside the database, which proofs read on large logs) is
    held to the stored tiles as far as its header claims."""
    path, world, chain = long_log
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    log = MerkleLog(conn)
    nodes = node_file_path(str(copy))
    assert nodes is not None
    node_file = NodeFile(nodes)
    node_file.prepare(log.size, log.leaf_hash(0), [], log.table.tiles_of_level)
    node_file.publish(log.size)
    conn.close()
    assert audited(copy, world, chain) == []
    body = bytearray(nodes.read_bytes())
    body[4096 + 256 * 32] ^= 1  # the first level-1 hash
    nodes.write_bytes(bytes(body))
    problems = audited(copy, world, chain)
    assert "a Merkle node file differs from the stored tiles (level, tile) [(1, 0)]" in " ".join(
        problems
    ), problems


def test_checkpoints_deleted_from_the_database_are_missed_against_the_chain(
    long_log: tuple[Path, World, Chain], tmp_path: Path
) -> None:
    path, world, chain = long_log
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    conn.execute("DELETE FROM anchor_checkpoints")
    conn.commit()
    conn.close()
    problems = " ".join(audited(copy, world, chain))
    assert "no checkpoint of that size and transaction is stored" in problems, problems
    assert "the contract's latest anchored size" in problems, problems
