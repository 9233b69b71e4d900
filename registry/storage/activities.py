"""The private activity index: what ingestion needs of activities whose log holds only
commitments (times, the group that earns, readings), keyed by a keyed hash of the
platform's activity id. Personal data, not state: erasing a subject deletes their rows
(`registry.storage.personal`), and `replay` rebuilds the rows from the vault."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from registry.storage.base import StoreBase, chunks, marks

PRIVATE_COLUMNS = (
    "platform",
    "activity_key",
    "subject",
    "grp",
    "seq",
    "idx",
    "methodology",
    "family",
    "start_s",
    "end_s",
    "day",
    "fingerprint",
    "reading",
    "claim_id",
    "grams",
    "counted",
)
# China keeps one time zone, UTC+8: a platform that sends local time as if it were UTC
# (or the reverse) shifts an activity by exactly eight hours.
ZONE_SHIFT_S = 8 * 3600
ZONE_TOLERANCE_S = 60


class ActivityIndex(StoreBase):
    def known_activity_keys(self, platform: str, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(keys):
            rows = self.conn.execute(
                "SELECT activity_key FROM private_activities WHERE platform = ?"
                f" AND activity_key IN ({marks(chunk)})",
                (platform, *chunk),
            )
            found.update(r[0] for r in rows)
        return found

    def overlaps(
        self, probes: list[tuple[int, str, str, str, int, int]], max_duration_s: int
    ) -> dict[int, str]:
        """For each probe `(idx, account, group, family, start, end)`, a counted activity of
        the same person and family whose interval overlaps it (half-open intervals).

        The same person: the account itself; for a household member, also the household's
        own account (which may have reported the member's trip); for a household account,
        every account of the household (the trip may be any member's).
        """
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS person_probe (idx INTEGER PRIMARY KEY,"
            " account TEXT, grp TEXT, family TEXT, start_s INTEGER, end_s INTEGER)"
        )
        self.conn.execute("DELETE FROM temp.person_probe")
        self.conn.executemany("INSERT INTO temp.person_probe VALUES (?,?,?,?,?,?)", probes)
        window = " AND a.family = p.family AND a.counted = 1 AND a.start_s > p.start_s - ?"
        window += " AND a.start_s < p.end_s AND a.end_s > p.start_s"
        rows = self.conn.execute(
            "SELECT idx, MIN(claim_id) FROM ("
            " SELECT p.idx, a.claim_id FROM temp.person_probe p CROSS JOIN private_activities a"
            f" ON a.subject = p.account{window}"
            " UNION ALL"
            " SELECT p.idx, a.claim_id FROM temp.person_probe p CROSS JOIN private_activities a"
            f" ON p.grp != p.account AND a.subject = p.grp{window}"
            " UNION ALL"
            " SELECT p.idx, a.claim_id FROM temp.person_probe p CROSS JOIN private_activities a"
            f" ON p.grp = p.account AND a.grp = p.grp{window}"
            ") GROUP BY idx",
            (max_duration_s,) * 3,
        ).fetchall()
        self.conn.execute("DELETE FROM temp.person_probe")
        return {int(idx): str(claim) for idx, claim in rows}

    def zone_twin(
        self, platform: str, account: str, group: str, fingerprint: str, start: int
    ) -> str | None:
        """A counted activity of the same person (see `overlaps`), reported by another
        platform, with the same fingerprint (methodology, quantities, duration) and a start
        eight hours away: one platform's UTC and another's local time."""
        rows = self.conn.execute(
            "SELECT start_s, subject, claim_id FROM private_activities WHERE grp = ?"
            " AND fingerprint = ? AND counted = 1 AND platform != ? AND start_s BETWEEN ? AND ?",
            (group, fingerprint, platform, start - ZONE_SHIFT_S - ZONE_TOLERANCE_S,
             start + ZONE_SHIFT_S + ZONE_TOLERANCE_S),
        ).fetchall()  # fmt: skip
        for other_start, subject, claim in rows:
            if same_person(account, group, subject) and is_zone_shift(other_start - start):
                return str(claim)
        return None

    def day_totals(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        """Grams counted so far per `(account, methodology id, day)`."""
        totals: dict[tuple[str, str, str], int] = {}
        for account, methodology, day in set(keys):
            row = self.conn.execute(
                "SELECT SUM(grams) FROM private_activities WHERE subject = ? AND methodology = ?"
                " AND day = ? AND counted = 1",
                (account, methodology, day),
            ).fetchone()
            totals[(account, methodology, day)] = int(row[0] or 0)
        return totals

    def reading(self, group: str, methodology_id: str, start: int) -> int | None:
        """The group's reading under `methodology_id` for the period starting at `start`."""
        row = self.conn.execute(
            "SELECT MAX(reading) FROM private_activities WHERE grp = ? AND methodology = ?"
            " AND start_s = ? AND reading IS NOT NULL",
            (group, methodology_id, start),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def insert_private_activities(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            f"INSERT INTO private_activities({', '.join(PRIVATE_COLUMNS)})"
            f" VALUES ({marks(PRIVATE_COLUMNS)})",
            rows,
        )

    def uncount_claims(self, claim_ids: list[str]) -> None:
        """Rejected claims stop counting toward overlaps and caps."""
        self.conn.executemany(
            "UPDATE private_activities SET counted = 0 WHERE claim_id = ?",
            [(c,) for c in claim_ids],
        )

    def erased_subjects(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT subject FROM erased_subjects")}


def same_person(account: str, group: str, other_subject: str) -> bool:
    """Whether an activity of `other_subject` (of the same group) may be the same person's
    as one reported under `account`: see `ActivityIndex.overlaps`."""
    return other_subject in (account, group) or account == group


def is_zone_shift(delta_s: int) -> bool:
    """Whether two starts `delta_s` apart look like one moment read in UTC and in China
    Standard Time (a whole day apart is another day's activity, not a twin)."""
    return abs(abs(delta_s) - ZONE_SHIFT_S) <= ZONE_TOLERANCE_S
