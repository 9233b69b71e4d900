"""The database schema, as numbered migrations: one list of steps for every table.

Every table of a registry file is created here and only here: the ledger, MRV, bridge,
Merkle log, anchoring and service tables. A file records the last step applied in SQLite's
`PRAGMA user_version`. `migrate` applies the missing steps in order, each in its own
transaction together with its version number, so an interrupted migration resumes where it
stopped. Step 1 is the schema of the first release (round 1), written with IF NOT EXISTS:
a file made by that release (version 0, some tables created lazily back then) gets the
tables it lacks and nothing else changes. A step once released is never edited; a change
is a new step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from registry.storage.connection import Connection

# -- step 1: the first release's schema -----------------------------------------------------

LEDGER_TABLES = """
CREATE TABLE IF NOT EXISTS "meta" ("key" TEXT PRIMARY KEY, "value" TEXT);
CREATE TABLE IF NOT EXISTS "events" (
   "seq" INTEGER PRIMARY KEY, "type" TEXT, "time" TEXT, "body" BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS "accounts" (
   "address" TEXT PRIMARY KEY, "kind" TEXT, "name" TEXT, "household" TEXT,
   "opened_seq" INTEGER);
CREATE TABLE IF NOT EXISTS "roles" (
   "address" TEXT, "role" TEXT, "granted_seq" INTEGER, PRIMARY KEY ("address", "role"));
CREATE TABLE IF NOT EXISTS "asset_classes" (
   "id" TEXT PRIMARY KEY, "methodology" TEXT, "methodology_version" TEXT, "vintage" INTEGER,
   "region" TEXT, "registered_seq" INTEGER);
CREATE TABLE IF NOT EXISTS "batches" (
   "batch_no" INTEGER PRIMARY KEY, "asset_class" TEXT, "amount" INTEGER, "issued_to" TEXT,
   "claim_id" TEXT, "issued_seq" INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_batches_claim_id" ON "batches" ("claim_id");
CREATE TABLE IF NOT EXISTS "holdings" (
   "id" INTEGER PRIMARY KEY, "batch_no" INTEGER, "first" INTEGER, "last" INTEGER,
   "owner" TEXT, "asset_class" TEXT, "status" TEXT, "ref" TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_holdings_batch_no_first"
    ON "holdings" ("batch_no", "first");
CREATE INDEX IF NOT EXISTS holdings_active ON holdings(owner, asset_class, batch_no, first)
    WHERE status = 'active';
-- WITHOUT ROWID: every transfer updates two balance rows by their key, one search each.
CREATE TABLE IF NOT EXISTS balances (owner TEXT, asset_class TEXT, active INTEGER,
    retired INTEGER, cancelled INTEGER, locked INTEGER, PRIMARY KEY (owner, asset_class))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nonces (signer TEXT, nonce INTEGER, PRIMARY KEY (signer, nonce))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS "retirements" (
   "certificate_id" TEXT PRIMARY KEY, "seq" INTEGER, "time" TEXT, "owner" TEXT,
   "asset_class" TEXT, "amount" INTEGER, "beneficiary_name" TEXT, "beneficiary" TEXT,
   "reason" TEXT, "jurisdiction" TEXT, "serials" TEXT);
CREATE TABLE IF NOT EXISTS "cancellations" (
   "seq" INTEGER PRIMARY KEY, "holder" TEXT, "asset_class" TEXT, "amount" INTEGER,
   "reason" TEXT, "evidence_hash" TEXT, "serials" TEXT);
"""

MRV_TABLES = """
CREATE TABLE IF NOT EXISTS activity_batches (
    platform TEXT NOT NULL, batch_id TEXT NOT NULL, records_hash TEXT NOT NULL,
    records INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
    grams INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (platform, batch_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    claim_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
    platform TEXT NOT NULL, activity_id TEXT NOT NULL, account TEXT NOT NULL,
    beneficiary TEXT NOT NULL, methodology TEXT NOT NULL, version TEXT NOT NULL,
    methodology_hash TEXT NOT NULL, family TEXT NOT NULL, start_s INTEGER NOT NULL,
    end_s INTEGER NOT NULL, day TEXT NOT NULL, asset_class TEXT NOT NULL,
    grams INTEGER NOT NULL, evidence_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attested_seq INTEGER, verdict TEXT,
    issued_seq INTEGER, reversed_seq INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS claims_activity ON claims(platform, activity_id);
CREATE INDEX IF NOT EXISTS claims_interval ON claims(account, start_s);
CREATE INDEX IF NOT EXISTS claims_approved ON claims(asset_class, beneficiary, grams)
    WHERE status = 'approved';
CREATE TABLE IF NOT EXISTS claim_rejections (
    seq INTEGER NOT NULL, idx INTEGER NOT NULL, platform TEXT NOT NULL,
    activity_id TEXT NOT NULL, account TEXT NOT NULL, methodology TEXT NOT NULL,
    version TEXT NOT NULL, start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claim_rejections_activity ON claim_rejections(platform, activity_id);
CREATE INDEX IF NOT EXISTS claim_rejections_account ON claim_rejections(account);
CREATE TABLE IF NOT EXISTS daily_totals (
    account TEXT NOT NULL, methodology TEXT NOT NULL, day TEXT NOT NULL,
    grams INTEGER NOT NULL,
    PRIMARY KEY (account, methodology, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attestations (
    seq INTEGER PRIMARY KEY, attestation_id TEXT NOT NULL, verifier TEXT NOT NULL,
    approve INTEGER NOT NULL, reason TEXT NOT NULL, claims INTEGER NOT NULL,
    claims_hash TEXT NOT NULL,
    UNIQUE (verifier, attestation_id)
);
CREATE TABLE IF NOT EXISTS issuance_runs (
    seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, buffer_pool TEXT NOT NULL,
    buffer_basis_points INTEGER NOT NULL, claims INTEGER NOT NULL, grams INTEGER NOT NULL,
    issued_grams INTEGER NOT NULL, buffer_grams INTEGER NOT NULL, batches INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reversals (
    claim_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, holder TEXT NOT NULL,
    holder_grams INTEGER NOT NULL, buffer_pool TEXT NOT NULL, pool_grams INTEGER NOT NULL,
    reason TEXT NOT NULL, evidence_hash TEXT NOT NULL, serials TEXT NOT NULL
);
-- Raw evidence is not state: events hold only its salted hash, so erasing it changes
-- neither the log nor what replay rebuilds.
CREATE TABLE IF NOT EXISTS evidence (
    platform TEXT NOT NULL, activity_id TEXT NOT NULL, account TEXT NOT NULL,
    salt BLOB NOT NULL, data BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (platform, activity_id)
);
CREATE INDEX IF NOT EXISTS evidence_account ON evidence(account);
"""

BRIDGE_TABLES = """
CREATE TABLE IF NOT EXISTS chain_events (chain_event TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS holdings_locked ON holdings(asset_class, batch_no, first)
    WHERE status = 'locked';
CREATE TABLE IF NOT EXISTS locks (lock_no INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
    owner TEXT NOT NULL, recipient TEXT NOT NULL, asset_class TEXT NOT NULL,
    amount INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS anchor_bridge_cursor (id INTEGER PRIMARY KEY CHECK (id = 0),
    token TEXT NOT NULL, next_block INTEGER NOT NULL);
"""

MERKLE_TABLES = """
CREATE TABLE IF NOT EXISTS merkle_state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    tree_size INTEGER NOT NULL CHECK (tree_size >= 0)
);
CREATE TABLE IF NOT EXISTS merkle_tiles (
    level INTEGER NOT NULL CHECK (level >= 0),
    tile INTEGER NOT NULL CHECK (tile >= 0),
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, tile)
);
INSERT OR IGNORE INTO merkle_state (id, tree_size) VALUES (0, 0);
"""

ANCHOR_TABLES = """
CREATE TABLE IF NOT EXISTS anchor_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    checkpoint_hash BLOB NOT NULL,
    signer TEXT NOT NULL,
    signature TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('signed', 'sent', 'confirmed')),
    tx_hash BLOB,
    raw_tx BLOB,
    block_number INTEGER,
    block_hash BLOB,
    chain_id INTEGER,
    contract TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    confirmed_at REAL
);
"""

SERVICE_TABLES = """
CREATE TABLE IF NOT EXISTS api_idempotency (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_idempotency_age ON api_idempotency(created_at);
CREATE TABLE IF NOT EXISTS api_webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_types TEXT NOT NULL,
    created_at REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    cursor INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS api_webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'gave_up')),
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_webhook_deliveries_hook
    ON api_webhook_deliveries(webhook_id, id);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _script(*scripts: str) -> Callable[[Connection], None]:
    """A step that runs SQL scripts statement by statement (`--` comment lines dropped)."""
    text = "\n".join(
        line for script in scripts for line in script.splitlines() if not line.startswith("--")
    )
    statements = [s for s in text.split(";") if s.strip()]

    def apply(conn: Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


def _columns(table: str, **columns: str) -> Callable[[Connection], None]:
    """A step that adds the columns a table lacks (so that a step can be applied again)."""

    def apply(conn: Connection) -> None:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    return apply


def _steps(*steps: Callable[[Connection], None]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for step in steps:
            step(conn)

    return apply


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the first release's tables: ledger, MRV, bridge, Merkle log, anchors, service",
        _script(
            LEDGER_TABLES,
            MRV_TABLES,
            BRIDGE_TABLES,
            MERKLE_TABLES,
            ANCHOR_TABLES,
            SERVICE_TABLES,
        ),
    ),
    Migration(
        2,
        "retirements commit to the beneficiary's name; locks record their mint or release;"
        " personal data encrypted off the log",
        _steps(
            _columns("retirements", beneficiary_commitment="TEXT"),
            _columns("locks", minted_seq="INTEGER", released_seq="INTEGER"),
            _columns("anchor_bridge_cursor", mints_next_block="INTEGER NOT NULL DEFAULT 0"),
            _script(
                """
            CREATE INDEX IF NOT EXISTS locks_open ON locks(asset_class)
                WHERE minted_seq IS NULL AND released_seq IS NULL;
            CREATE TABLE IF NOT EXISTS personal_keys (
                subject TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at REAL NOT NULL
            );
            CREATE TABLE IF NOT EXISTS personal_data (
                subject TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
                nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, seq INTEGER,
                PRIMARY KEY (kind, ref)
            );
            CREATE INDEX IF NOT EXISTS personal_data_subject ON personal_data(subject);
            -- SHA-256 of every commitment salt ever used: a reused salt is refused.
            CREATE TABLE IF NOT EXISTS commitment_salts (fingerprint BLOB PRIMARY KEY)
                WITHOUT ROWID;
            """
            ),
        ),
    ),
    Migration(
        3,
        "daily caps count only claims that are not rejected",
        _script(
            """
            DELETE FROM daily_totals;
            INSERT INTO daily_totals(account, methodology, day, grams)
                SELECT account, methodology, day, SUM(grams) FROM claims
                WHERE status != 'rejected' GROUP BY account, methodology, day;
            """
        ),
    ),
    Migration(
        4,
        "activity details off the log: the private activity index",
        _script(
            """
            -- Not state: one row per activity of a committed batch, from the details sent
            -- beside it (never logged). Ingestion decides duplicates, overlaps and caps on
            -- it, and erasing a subject deletes their rows.
            CREATE TABLE IF NOT EXISTS private_activities (
                activity_key BLOB NOT NULL, platform TEXT NOT NULL, subject TEXT NOT NULL,
                grp TEXT NOT NULL, seq INTEGER NOT NULL, idx INTEGER NOT NULL,
                methodology TEXT NOT NULL, family TEXT NOT NULL,
                start_s INTEGER NOT NULL, end_s INTEGER NOT NULL, day TEXT NOT NULL,
                fingerprint BLOB NOT NULL, reading INTEGER, claim_id TEXT,
                grams INTEGER NOT NULL, counted INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS private_activities_key
                ON private_activities(activity_key);
            CREATE INDEX IF NOT EXISTS private_activities_person
                ON private_activities(subject, family, start_s) WHERE counted = 1;
            CREATE UNIQUE INDEX IF NOT EXISTS private_activities_claim
                ON private_activities(claim_id) WHERE claim_id IS NOT NULL;
            -- Committed claims have no interval (start_s 0): only first-release claims
            -- need this index, and a household's members are found by their household.
            DROP INDEX IF EXISTS claims_interval;
            CREATE INDEX IF NOT EXISTS claims_interval ON claims(account, start_s)
                WHERE start_s > 0;
            CREATE INDEX IF NOT EXISTS accounts_household ON accounts(household)
                WHERE household IS NOT NULL;
            -- Sealed pieces in the order they are written (by event), so that ingestion
            -- appends instead of inserting at random commitments.
            CREATE TABLE personal_data_by_event (
                seq INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
                subject TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL,
                PRIMARY KEY (seq, kind, ref)
            ) WITHOUT ROWID;
            INSERT OR IGNORE INTO personal_data_by_event(seq, kind, ref, subject, nonce, ciphertext)
                SELECT COALESCE(seq, 0), kind, ref, subject, nonce, ciphertext FROM personal_data;
            DROP TABLE personal_data;
            ALTER TABLE personal_data_by_event RENAME TO personal_data;
            CREATE INDEX IF NOT EXISTS personal_data_subject ON personal_data(subject);
            -- A salt's fingerprint in 128 bits: as safe against reuse, half the index.
            UPDATE commitment_salts SET fingerprint = substr(fingerprint, 1, 16);
            -- Who was erased (an address, no more), and when in the log: replay decides later
            -- batches knowing it, and takes the earlier ones that need their data as logged.
            CREATE TABLE IF NOT EXISTS erased_subjects (
                subject TEXT PRIMARY KEY, erased_at REAL NOT NULL, log_size INTEGER NOT NULL
            ) WITHOUT ROWID;
            """
        ),
    ),
    Migration(
        5,
        "merchants' offers and their redemptions; community memberships; an account's"
        " claims and retirements by index (the rating, community totals)",
        _script(
            """
            CREATE INDEX IF NOT EXISTS claims_account ON claims(account);
            CREATE INDEX IF NOT EXISTS retirements_owner ON retirements(owner);
            -- Claims pooled to another account (a member's, to its household): few rows.
            CREATE INDEX IF NOT EXISTS claims_pooled ON claims(beneficiary)
                WHERE beneficiary != account;
            CREATE TABLE IF NOT EXISTS offers (
                merchant TEXT NOT NULL, offer_id TEXT NOT NULL, title TEXT NOT NULL,
                grams INTEGER NOT NULL, valid_until INTEGER NOT NULL,
                published_seq INTEGER NOT NULL, withdrawn_seq INTEGER,
                PRIMARY KEY (merchant, offer_id)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS redemptions (
                seq INTEGER PRIMARY KEY, time TEXT NOT NULL, merchant TEXT NOT NULL,
                offer_id TEXT NOT NULL, owner TEXT NOT NULL, asset_class TEXT NOT NULL,
                grams INTEGER NOT NULL, mode TEXT NOT NULL, certificate_id TEXT,
                serials TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS redemptions_merchant ON redemptions(merchant, seq);
            CREATE INDEX IF NOT EXISTS redemptions_owner ON redemptions(owner, seq);
            -- A member's pseudonym is personal: only its commitment is here and in the
            -- log, the pseudonym itself is sealed in the vault and goes when erased.
            CREATE TABLE IF NOT EXISTS community_members (
                community TEXT NOT NULL, member TEXT NOT NULL, joined_seq INTEGER NOT NULL,
                leaderboard INTEGER NOT NULL, pseudonym_commitment TEXT NOT NULL,
                PRIMARY KEY (community, member)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS community_members_member ON community_members(member);
            """
        ),
    ),
    Migration(
        6,
        "a person's household is off the log: erasing a member forgets their household link"
        " and notes only that the household had a member erased",
        _script(
            """
            -- That a household had a member erased, and when in the log, without which
            -- member: the household earns no more, and replay takes its earlier batches as
            -- logged (their duplicates and meter history went with the member).
            CREATE TABLE IF NOT EXISTS erased_members (
                household TEXT NOT NULL, log_size INTEGER NOT NULL,
                PRIMARY KEY (household, log_size)
            ) WITHOUT ROWID;
            INSERT OR IGNORE INTO erased_members(household, log_size)
                SELECT a.household, e.log_size FROM erased_subjects e
                JOIN accounts a ON a.address = e.subject WHERE a.household IS NOT NULL;
            -- Persons erased before: their link goes now, from their claims too.
            UPDATE claims SET beneficiary = account
                WHERE beneficiary != account AND account IN (SELECT subject FROM erased_subjects);
            UPDATE accounts SET household = NULL
                WHERE household IS NOT NULL AND address IN (SELECT subject FROM erased_subjects);
            """
        ),
    ),
    Migration(
        7,
        "several API nodes on one database: sign-in nonces taken once across nodes, webhook"
        " deliveries leased to one node at a time",
        _steps(
            _columns(
                "api_webhooks",
                lease_holder="TEXT",
                lease_until="REAL NOT NULL DEFAULT 0",
            ),
            _script(
                """
            -- The EIP-4361 nonces that signed in, each until its message expires (then
            -- pruned): a message is accepted once, whichever node it is sent to.
            CREATE TABLE IF NOT EXISTS api_sign_in_nonces (
                nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS api_sign_in_nonces_expiry
                ON api_sign_in_nonces(expires_at);
            """
            ),
        ),
    ),
    Migration(
        8,
        "API nodes announce themselves, so that rate limits hold across nodes",
        _script(
            """
            -- Each serving API node, with when it last said it was alive (api/nodes.py):
            -- a node's share of a client's rate limit is the limit over the nodes alive.
            CREATE TABLE IF NOT EXISTS api_nodes (
                node TEXT PRIMARY KEY, seen_at REAL NOT NULL
            ) WITHOUT ROWID;
            """
        ),
    ),
    Migration(
        9,
        "the index of active holdings holds each range's last serial, so that range rule 2"
        " finds an owner's first holding that covers an amount without reading the others",
        _script(
            """
            DROP INDEX IF EXISTS holdings_active;
            CREATE INDEX IF NOT EXISTS holdings_active_ranges
                ON holdings(owner, asset_class, batch_no, first, last) WHERE status = 'active';
            """
        ),
    ),
)
LATEST = MIGRATIONS[-1].version


def version_of(conn: Connection) -> int:
    """The schema version a file holds: its user_version, or 0 (a file of the first release,
    or an empty one)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: Connection, on_step: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Apply every step newer than the file's version, each in one transaction; returns
    those applied. `conn` must be in autocommit mode and outside a transaction."""
    applied = []
    for step in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version_of(conn) >= step.version:  # another process applied it meanwhile
                conn.execute("ROLLBACK")
                continue
            step.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step)
        if on_step is not None:
            on_step(step)
    return applied


def create_merkle_tables(conn: Connection) -> None:
    """The Merkle log's two tables alone, for a log kept on a connection of its own (an
    in-memory log that audit or the reserve check recomputes)."""
    _script(MERKLE_TABLES)(conn)
