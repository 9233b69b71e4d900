"""The private activity index: what ingestion needs of activities whose log holds only
commitments (times, the group that earns, readings), keyed by a keyed hash of the
platform's activity id. Personal data, not state: erasing a subject deletes their rows
(`registry.storage.personal`), and `replay` rebuilds the rows from the vault."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from registry.storage.base import StoreBase, chunks, marks

PRIVATE_COLUMNS = (
    "activity_key",
    "platform",
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
    def known_activity_keys(self, keys: list[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for chunk in chunks(keys):
            rows = self.conn.execute(
                "SELECT activity_key FROM private_activities"
                f" WHERE activity_key IN ({marks(chunk)})",
                chunk,
            )
            found.update(bytes(r[0]) for r in rows)
        return found

    def overlaps(
        self, probes: list[tuple[int, str, str, int, int]], max_duration_s: int
    ) -> dict[int, str]:
        """For each probe `(idx, subject, family, start, end)`, a counted activity of the
        subject and family whose interval overlaps it (half-open intervals), or a claim of a
        first-release batch that does. A record is probed once for each account that may
        have reported the same person's activity (`same_person`)."""
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS person_probe (idx INTEGER, subject TEXT,"
            " family TEXT, start_s INTEGER, end_s INTEGER)"
        )
        self.conn.execute("DELETE FROM temp.person_probe")
        self.conn.executemany("INSERT INTO temp.person_probe VALUES (?,?,?,?,?)", probes)
        rows = self.conn.execute(
            "SELECT idx, MIN(claim_id) FROM ("
            " SELECT p.idx, a.claim_id FROM temp.person_probe p CROSS JOIN"
            " private_activities a ON a.subject = p.subject AND a.family = p.family"
            " AND a.counted = 1 AND a.start_s > p.start_s - ? AND a.start_s < p.end_s"
            " AND a.end_s > p.start_s"
            " UNION ALL"  # claims of the first release's batches, times in state
            " SELECT p.idx, c.claim_id FROM temp.person_probe p CROSS JOIN claims c"
            " ON c.account = p.subject AND c.start_s > 0 AND c.start_s > p.start_s - ?"
            " AND c.start_s < p.end_s AND c.end_s > p.start_s AND c.family = p.family"
            ") AS found GROUP BY idx",
            (max_duration_s, max_duration_s),
        ).fetchall()
        self.conn.execute("DELETE FROM temp.person_probe")
        return {int(idx): str(claim) for idx, claim in rows}

    def zone_twins(self, platform: str, probes: list[tuple[int, str, str, bytes, int]]) -> set[int]:
        """The probes `(idx, subject, family, fingerprint, start)` that have a counted
        activity of the subject, reported by another platform, with the same fingerprint
        (methodology, quantities, duration) and a start eight hours away: one platform's
        UTC and another's local time."""
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS twin_probe (idx INTEGER, subject TEXT,"
            " family TEXT, fingerprint BLOB, start_s INTEGER)"
        )
        self.conn.execute("DELETE FROM temp.twin_probe")
        self.conn.executemany("INSERT INTO temp.twin_probe VALUES (?,?,?,?,?)", probes)
        reach = ZONE_SHIFT_S + ZONE_TOLERANCE_S
        rows = self.conn.execute(
            "SELECT p.idx, p.start_s, a.start_s FROM temp.twin_probe p CROSS JOIN"
            " private_activities a ON a.subject = p.subject AND a.family = p.family"
            " AND a.counted = 1 AND a.start_s BETWEEN p.start_s - ? AND p.start_s + ?"
            " AND a.fingerprint = p.fingerprint AND a.platform != ?",
            (reach, reach, platform),
        ).fetchall()
        self.conn.execute("DELETE FROM temp.twin_probe")
        return {int(idx) for idx, start, other in rows if is_zone_shift(other - start)}

    def day_totals(
        self, keys: Iterable[tuple[str, str, str]], family_of: dict[str, str]
    ) -> dict[tuple[str, str, str], int]:
        """Grams counted so far per `(account, methodology id, day)`; `family_of` names each
        methodology's family (the index leads with account and family)."""
        wanted = set(keys)
        totals = dict.fromkeys(wanted, 0)
        by_family: dict[str, set[str]] = {}
        for account, methodology, _ in wanted:
            by_family.setdefault(family_of[methodology], set()).add(account)
        first, last = _day_range({day for _, _, day in wanted})
        for family, accounts in by_family.items():
            for chunk in chunks(sorted(accounts)):
                rows = self.conn.execute(
                    "SELECT subject, methodology, day, SUM(grams) FROM private_activities"
                    f" WHERE subject IN ({marks(chunk)}) AND family = ? AND counted = 1"
                    " AND start_s >= ? AND start_s < ? GROUP BY subject, methodology, day",
                    (*chunk, family, first, last),
                )
                for account, methodology, day, grams in rows:
                    if (account, methodology, day) in totals:
                        totals[(account, methodology, day)] = int(grams)
        return totals

    def reading(
        self, subjects: list[str], family: str, methodology_id: str, start: int
    ) -> int | None:
        """The first reading of a meter (reported under any of `subjects`, a household and
        its members) under `methodology_id` for the period starting at `start`. A later one
        for the same month cannot raise a baseline, nor replace a first one that was no
        reading (sent late, refused, or rejected by a verifier): None then."""
        row = self.conn.execute(
            "SELECT reading FROM private_activities"
            f" WHERE subject IN ({marks(subjects)}) AND family = ? AND start_s = ?"
            " AND methodology = ? ORDER BY seq, idx LIMIT 1",
            (*subjects, family, start, methodology_id),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def insert_private_activities(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            f"INSERT INTO private_activities({', '.join(PRIVATE_COLUMNS)})"
            f" VALUES ({marks(PRIVATE_COLUMNS)})",
            rows,
        )

    def uncount_claims(self, claim_ids: list[str]) -> None:
        """Rejected claims stop counting toward overlaps and caps, and their readings are no
        baseline."""
        self.conn.executemany(
            "UPDATE private_activities SET counted = 0, reading = NULL WHERE claim_id = ?",
            [(c,) for c in claim_ids],
        )

    def erased_among(self, accounts: set[str]) -> set[str]:
        """The accounts among these whose person was erased."""
        found: set[str] = set()
        for chunk in chunks(sorted(accounts)):
            rows = self.conn.execute(
                f"SELECT subject FROM erased_subjects WHERE subject IN ({marks(chunk)})", chunk
            )
            found.update(r[0] for r in rows)
        return found

    def erased_subjects(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT subject FROM erased_subjects")}

    def erasures(self) -> list[tuple[str, int]]:
        """`(subject, log size when erased)`, in log order."""
        rows = self.conn.execute("SELECT subject, log_size FROM erased_subjects ORDER BY log_size")
        return [(str(subject), int(size)) for subject, size in rows]

    def record_erasure(self, subject: str, log_size: int) -> None:
        """Note an erasure (replay, as it reaches the point in the log where it happened)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO erased_subjects(subject, erased_at, log_size) VALUES (?, 0, ?)",
            (subject, log_size),
        )
        self.forget_household_link(subject, log_size)

    def forget_household_link(self, subject: str, log_size: int) -> None:
        """An erased person's household link goes: from their account and their claims
        (whose credits their household already received stay with it); the household is
        noted as having had a member erased at `log_size`, without which member."""
        row = self.conn.execute(
            "SELECT household FROM accounts WHERE address = ? AND household IS NOT NULL",
            (subject,),
        ).fetchone()
        if row is None:
            return
        self.record_member_erasure(str(row[0]), log_size)
        self.conn.execute("UPDATE accounts SET household = NULL WHERE address = ?", (subject,))
        self.conn.execute(
            "UPDATE claims SET beneficiary = account WHERE account = ? AND beneficiary != account",
            (subject,),
        )
        self.forget_account(subject)

    def record_member_erasure(self, household: str, log_size: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO erased_members(household, log_size) VALUES (?, ?)",
            (household, log_size),
        )

    def member_erasures(self) -> list[tuple[str, int]]:
        """`(household, log size when a member of it was erased)`, in log order."""
        rows = self.conn.execute(
            "SELECT household, log_size FROM erased_members ORDER BY log_size, household"
        )
        return [(str(household), int(size)) for household, size in rows]

    def with_erased_member(self, households: set[str]) -> set[str]:
        """The households among these that had a member erased."""
        found: set[str] = set()
        for chunk in chunks(sorted(households)):
            rows = self.conn.execute(
                f"SELECT household FROM erased_members WHERE household IN ({marks(chunk)})",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found


def _day_range(days: set[str]) -> tuple[int, int]:
    """Unix seconds from 00:00 China Standard Time of the first day to the end of the last."""
    first = min(days)
    last = max(days)
    start = int(datetime.fromisoformat(first + "T00:00:00+08:00").timestamp())
    end = int(datetime.fromisoformat(last + "T00:00:00+08:00").timestamp()) + 86_400
    return start, end


def same_person(account: str, group: str, other_subject: str) -> bool:
    """Whether an activity of `other_subject` (of the same group) may be the same person's
    as one reported under `account`: see `ActivityIndex.overlaps`."""
    return other_subject in (account, group) or account == group


def is_zone_shift(delta_s: int) -> bool:
    """Whether two starts `delta_s` apart look like one moment read in UTC and in China
    Standard Time (a whole day apart is another day's activity, not a twin)."""
    return abs(abs(delta_s) - ZONE_SHIFT_S) <= ZONE_TOLERANCE_S
