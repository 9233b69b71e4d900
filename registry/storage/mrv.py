"""MRV tables: activity batches, claims and rejections, daily totals, attestations,
issuance runs, reversals, and the erasable raw evidence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from registry.storage.base import StoreBase, chunks, equal_filters, marks

CLAIM_COLUMNS = (
    "claim_id",
    "seq",
    "idx",
    "platform",
    "activity_id",
    "account",
    "beneficiary",
    "methodology",
    "version",
    "methodology_hash",
    "family",
    "start_s",
    "end_s",
    "day",
    "asset_class",
    "grams",
    "evidence_hash",
    "status",
    "attested_seq",
    "verdict",
    "issued_seq",
    "reversed_seq",
)
# What ingestion writes; the rest start as 'pending' and NULL.
NEW_CLAIM_COLUMNS = CLAIM_COLUMNS[: CLAIM_COLUMNS.index("status")]
REJECTION_COLUMNS = (
    "seq",
    "idx",
    "platform",
    "activity_id",
    "account",
    "methodology",
    "version",
    "start_s",
    "end_s",
    "reason",
    "detail",
)


class MrvTables(StoreBase):
    def accounts_by_address(self, addresses: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The accounts among `addresses` that exist, in one query for those not cached."""
        if self._depth == 0:
            self._drop_stale_accounts()
        wanted = set(addresses)
        found = {a: self._accounts[a] for a in wanted if a in self._accounts}
        missing = sorted(wanted - found.keys())
        cols = ("address", "kind", "name", "household", "opened_seq")
        for chunk in chunks(missing):
            rows = self.conn.execute(
                f"SELECT {', '.join(cols)} FROM accounts WHERE address IN ({marks(chunk)})",
                chunk,
            )
            for row in rows:
                account = dict(zip(cols, row, strict=True))
                self._accounts[account["address"]] = account
                found[account["address"]] = account
        return found

    def activity_batch(self, platform: str, batch_id: str) -> dict[str, Any] | None:
        cols = (
            "platform",
            "batch_id",
            "records_hash",
            "records",
            "accepted",
            "rejected",
            "grams",
            "seq",
        )
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM activity_batches WHERE platform = ? AND batch_id = ?",
            (platform, batch_id),
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def insert_activity_batch(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO activity_batches VALUES (?,?,?,?,?,?,?,?)", row)

    def members_of(self, households: Iterable[str]) -> dict[str, list[str]]:
        """The person accounts opted in to each of these households."""
        wanted = sorted(set(households))
        members: dict[str, list[str]] = {h: [] for h in wanted}
        for chunk in chunks(wanted):
            rows = self.conn.execute(
                f"SELECT address, household FROM accounts WHERE household IN ({marks(chunk)})",
                chunk,
            )
            for address, household in rows:
                members[household].append(address)
        return members

    def household_claimed(self, household: str) -> int:
        """The grams claimed (not rejected, not reversed) by a household's account and its
        members' accounts, as one total (whether a run pooled them to the household, before
        issue 11, or credited the member)."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(grams), 0) FROM claims"
            " WHERE account IN (SELECT address FROM accounts WHERE household = ? UNION SELECT ?)"
            " AND status NOT IN ('rejected', 'reversed')",
            (household, household),
        ).fetchone()
        return int(row[0])

    def known_activities(self, platform: str, activity_ids: list[str]) -> set[str]:
        """The ids among `activity_ids` that `platform` submitted in clear, in a batch of the
        first release (claimed or not). Committed batches keep no activity id in state: their
        claims have no day, their refusals no end time."""
        known: set[str] = set()
        for chunk in chunks(activity_ids):
            ids = marks(chunk)
            rows = self.conn.execute(
                f"SELECT activity_id FROM claims WHERE platform = ? AND activity_id IN ({ids})"
                " AND day != '' UNION SELECT activity_id FROM claim_rejections"
                f" WHERE platform = ? AND activity_id IN ({ids}) AND end_s > 0",
                (platform, *chunk, platform, *chunk),
            )
            known.update(r[0] for r in rows)
        return known

    def overlapping_claims(
        self, probes: list[tuple[int, str, str, int, int]], max_duration_s: int
    ) -> dict[int, str]:
        """For each probe `(idx, account, family, start, end)`, the first claim that overlaps.

        Intervals are half-open, `[start, end)`. Every claim lasts at most `max_duration_s`,
        so only claims starting in `(start - max_duration_s, end)` need a look: one index
        range per probe, in one join.
        """
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS probe (idx INTEGER PRIMARY KEY, account TEXT,"
            " family TEXT, start_s INTEGER, end_s INTEGER)"
        )
        self.conn.execute("DELETE FROM temp.probe")
        self.conn.executemany("INSERT INTO temp.probe VALUES (?,?,?,?,?)", probes)
        rows = self.conn.execute(
            "SELECT p.idx, MIN(c.claim_id) FROM temp.probe p CROSS JOIN claims c"
            " ON c.account = p.account AND c.start_s > 0 AND c.start_s > p.start_s - ?"
            " AND c.start_s < p.end_s"
            " AND c.end_s > p.start_s AND c.family = p.family GROUP BY p.idx",
            (max_duration_s,),
        ).fetchall()
        self.conn.execute("DELETE FROM temp.probe")
        return {int(idx): str(claim) for idx, claim in rows}

    def daily_totals(
        self, accounts: Iterable[str], days: Iterable[str]
    ) -> dict[tuple[str, str, str], int]:
        """Grams credited so far per `(account, methodology, day)` for these accounts and days."""
        day_list = sorted(set(days))
        totals: dict[tuple[str, str, str], int] = {}
        for chunk in chunks(sorted(set(accounts)), 30_000 - len(day_list)):
            rows = self.conn.execute(
                "SELECT account, methodology, day, grams FROM daily_totals"
                f" WHERE account IN ({marks(chunk)}) AND day IN ({marks(day_list)})",
                (*chunk, *day_list),
            )
            for account, methodology, day, grams in rows:
                totals[(account, methodology, day)] = int(grams)
        return totals

    def add_daily_totals(self, rows: list[tuple[str, str, str, int]]) -> None:
        self.conn.executemany(
            "INSERT INTO daily_totals(account, methodology, day, grams) VALUES (?,?,?,?)"
            " ON CONFLICT(account, methodology, day) DO UPDATE SET grams = daily_totals.grams + excluded.grams",
            rows,
        )

    def insert_claims(self, rows: list[tuple[Any, ...]]) -> None:
        """New pending claims, rows in NEW_CLAIM_COLUMNS order."""
        self.conn.executemany(
            f"INSERT INTO claims({', '.join(NEW_CLAIM_COLUMNS)})"
            f" VALUES ({marks(NEW_CLAIM_COLUMNS)})",
            rows,
        )

    def insert_rejections(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows in REJECTION_COLUMNS order."""
        self.conn.executemany(
            f"INSERT INTO claim_rejections({', '.join(REJECTION_COLUMNS)})"
            f" VALUES ({marks(REJECTION_COLUMNS)})",
            rows,
        )

    def claim(self, claim_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims WHERE claim_id = ?", (claim_id,)
        ).fetchone()
        return None if row is None else dict(zip(CLAIM_COLUMNS, row, strict=True))

    def claims(
        self,
        *,
        account: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Claims matching every filter given, oldest first."""
        filters = (("account", account), ("status", status), ("platform", platform))
        return self._filtered("claims", CLAIM_COLUMNS, filters, limit)

    def rejections(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Records refused at ingestion, with their reasons, oldest first."""
        filters = (("account", account), ("platform", platform), ("reason", reason))
        return self._filtered("claim_rejections", REJECTION_COLUMNS, filters, limit)

    def _filtered(
        self,
        table: str,
        columns: tuple[str, ...],
        filters: tuple[tuple[str, str | None], ...],
        limit: int | None,
    ) -> list[dict[str, Any]]:
        """Rows of `table` (ordered by seq, idx) whose columns equal every non-None filter."""
        where, args = equal_filters(*filters)
        query = f"SELECT {', '.join(columns)} FROM {table}"
        if where:
            query += f" WHERE {' AND '.join(where)}"
        query += " ORDER BY seq, idx"
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        return [dict(zip(columns, row, strict=True)) for row in self.conn.execute(query, args)]

    def claim_counts(self) -> dict[str, dict[str, int]]:
        """`{status: {"claims": n, "grams": g}}` over all claims."""
        rows = self.conn.execute("SELECT status, COUNT(*), SUM(grams) FROM claims GROUP BY status")
        return {status: {"claims": int(n), "grams": int(g)} for status, n, g in rows}

    def rejection_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT reason, COUNT(*) FROM claim_rejections GROUP BY reason")
        return {reason: int(n) for reason, n in rows}

    def claim_states(self, claim_ids: list[str]) -> dict[str, tuple[str, str]]:
        """`{claim id: (status, platform)}` for the ids that exist."""
        found: dict[str, tuple[str, str]] = {}
        for chunk in chunks(claim_ids):
            rows = self.conn.execute(
                f"SELECT claim_id, status, platform FROM claims WHERE claim_id IN ({marks(chunk)})",
                chunk,
            )
            found.update((c, (s, p)) for c, s, p in rows)
        return found

    def set_verdicts(self, claim_ids: list[str], status: str, seq: int, verdict: str) -> None:
        self.conn.executemany(
            "UPDATE claims SET status = ?, attested_seq = ?, verdict = ? WHERE claim_id = ?",
            [(status, seq, verdict, c) for c in claim_ids],
        )

    def day_claims(
        self, account: str, methodology: str, day: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The account's claims under `methodology` on CST `day`, and its records refused
        there for the daily cap, both oldest first."""
        claims = [
            dict(zip(CLAIM_COLUMNS, row, strict=True))
            for row in self.conn.execute(
                f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims WHERE account = ?"
                " AND methodology = ? AND day = ? ORDER BY seq, idx",
                (account, methodology, day),
            )
        ]
        first_s = int(datetime.fromisoformat(day + "T00:00:00+08:00").timestamp())
        refused = [
            dict(zip(REJECTION_COLUMNS, row, strict=True))
            for row in self.conn.execute(
                f"SELECT {', '.join(REJECTION_COLUMNS)} FROM claim_rejections WHERE account = ?"
                " AND methodology = ? AND reason = 'daily_cap' AND start_s >= ? AND start_s < ?"
                " ORDER BY seq, idx",
                (account, methodology, first_s, first_s + 86_400),
            )
        ]
        return claims, refused

    def add_claim_grams(self, rows: list[tuple[str, int]]) -> None:
        """`(claim id, grams)`: more grams for pending claims the daily cap had clipped."""
        self.conn.executemany(
            "UPDATE claims SET grams = grams + ? WHERE claim_id = ?",
            [(grams, claim) for claim, grams in rows],
        )

    def delete_rejections(self, keys: list[tuple[int, int]]) -> None:
        """`(seq, idx)` of refused records that became claims."""
        self.conn.executemany("DELETE FROM claim_rejections WHERE seq = ? AND idx = ?", keys)

    def attestation_exists(self, verifier: str, attestation_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM attestations WHERE verifier = ? AND attestation_id = ?",
            (verifier, attestation_id),
        ).fetchone()
        return row is not None

    def insert_attestation(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO attestations VALUES (?,?,?,?,?,?,?)", row)

    def approved_claim_groups(self, by_account: bool) -> list[tuple[str, str, int, int]]:
        """`(asset_class, holder, claims, grams)` of approved claims, in that order; the
        holder is each claim's account (`by_account`), else its beneficiary (a pooled run's
        household for an opted-in member)."""
        holder = "account" if by_account else "beneficiary"
        rows = self.conn.execute(
            f"SELECT asset_class, {holder}, COUNT(*), SUM(grams) FROM claims"
            f" WHERE status = 'approved' GROUP BY asset_class, {holder}"
            f" ORDER BY asset_class, {holder}"
        )
        return [(str(c), str(b), int(n), int(g)) for c, b, n, g in rows]

    def approved_classes(self) -> list[str]:
        """The asset classes of approved claims (an issuance run's classes)."""
        rows = self.conn.execute(
            "SELECT DISTINCT asset_class FROM claims WHERE status = 'approved'"
        )
        return [str(r[0]) for r in rows]

    def mark_approved_issued(self, seq: int, to_accounts: bool) -> None:
        """Every approved claim is issued by run `seq`; `to_accounts`: to its own account,
        which becomes its beneficiary (a reversal takes back from it)."""
        credited = ", beneficiary = account" if to_accounts else ""
        self.conn.execute(
            f"UPDATE claims SET status = 'issued', issued_seq = ?{credited}"
            " WHERE status = 'approved'",
            (seq,),
        )

    def batch_refs_with_prefix(self, prefix: str) -> int:
        """How many batches have a `claim_id` reference starting with `prefix`."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        row = self.conn.execute(
            "SELECT COUNT(*) FROM batches WHERE claim_id >= ? AND claim_id < ?", (prefix, upper)
        ).fetchone()
        return int(row[0])

    def insert_batches(self, rows: list[tuple[int, str, int, str, str, int]]) -> None:
        """New batches, each with its one holding and balance: `(batch_no, class, amount,
        to, ref, seq)`."""
        for _, klass, _, to, _, _ in rows:
            self._forget_holdings_ahead(to, klass)
        self.conn.executemany(
            "INSERT INTO batches(batch_no, asset_class, amount, issued_to, claim_id, issued_seq)"
            " VALUES (?,?,?,?,?,?)",
            rows,
        )
        self.conn.executemany(
            "INSERT INTO holdings(batch_no, first, last, owner, asset_class, status, ref)"
            " VALUES (?, 1, ?, ?, ?, 'active', NULL)",
            [(no, amount, to, klass) for no, klass, amount, to, _, _ in rows],
        )
        self.conn.executemany(
            "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked)"
            " VALUES (?, ?, ?, 0, 0, 0)"
            " ON CONFLICT(owner, asset_class) DO UPDATE SET active = balances.active + excluded.active",
            [(to, klass, amount) for _, klass, amount, to, _, _ in rows],
        )

    def issuance_run(self, seq: int) -> dict[str, Any] | None:
        cursor = self.conn.execute("SELECT * FROM issuance_runs WHERE seq = ?", (seq,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def issuance_run_exists(self, run_id: str) -> bool:
        found = self.conn.execute("SELECT 1 FROM issuance_runs WHERE run_id = ?", (run_id,))
        return found.fetchone() is not None

    def insert_issuance_run(self, row: tuple[Any, ...]) -> None:
        self.conn.execute("INSERT INTO issuance_runs VALUES (?,?,?,?,?,?,?,?,?)", row)

    def mark_claim_reversed(self, claim_id: str, seq: int) -> None:
        self.conn.execute(
            "UPDATE claims SET status = 'reversed', reversed_seq = ? WHERE claim_id = ?",
            (seq, claim_id),
        )

    def insert_reversal(self, row: dict[str, Any]) -> None:
        self.insert_row("reversals", row)

    def reversal(self, claim_id: str) -> dict[str, Any] | None:
        cursor = self.conn.execute("SELECT * FROM reversals WHERE claim_id = ?", (claim_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def all_evidence(self) -> list[dict[str, Any]]:
        cols = ("platform", "activity_id", "account", "salt", "data", "seq")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM evidence ORDER BY seq, activity_id"
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def personal_count(self) -> int:
        """Sealed pieces of personal data (`registry.storage.personal` reads them)."""
        return int(self.conn.execute("SELECT count(*) FROM personal_data").fetchone()[0])
