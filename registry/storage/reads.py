"""Read models for the HTTP API: pages and totals (read-only queries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.storage.base import STATUSES, StoreBase, chunks, equal_filters, marks
from registry.storage.mrv import CLAIM_COLUMNS


class ReadModels(StoreBase):
    def accounts_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """Accounts opened after event `after_seq`, in opening order."""
        cols = ("address", "kind", "name", "household", "opened_seq")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM accounts WHERE opened_seq > ?"
            " ORDER BY opened_seq LIMIT ?",
            (after_seq, limit),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def roles_by_address(self, addresses: Sequence[str]) -> dict[str, list[str]]:
        roles: dict[str, list[str]] = {a: [] for a in addresses}
        for chunk in chunks(list(addresses)):
            rows = self.conn.execute(
                f"SELECT address, role FROM roles WHERE address IN ({marks(chunk)})"
                " ORDER BY address, role",
                chunk,
            )
            for address, role in rows:
                roles[address].append(role)
        return roles

    def batches_page(self, asset_class: str | None, after: int, limit: int) -> list[dict[str, Any]]:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        query = f"SELECT {', '.join(cols)} FROM batches WHERE batch_no > ?"
        args: list[Any] = [after]
        if asset_class is not None:
            query += " AND asset_class = ?"
            args.append(asset_class)
        rows = self.conn.execute(query + " ORDER BY batch_no LIMIT ?", (*args, limit))
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def batches_status_totals(self, batch_nos: Sequence[int]) -> dict[int, dict[str, int]]:
        """`batch_status_totals` of many batches in one query."""
        totals = {no: dict.fromkeys(STATUSES, 0) for no in batch_nos}
        for chunk in chunks(list(batch_nos)):
            rows = self.conn.execute(
                "SELECT batch_no, status, SUM(last - first + 1) FROM holdings"
                f" WHERE batch_no IN ({marks(chunk)}) GROUP BY batch_no, status",
                chunk,
            )
            for batch_no, status, total in rows:
                totals[int(batch_no)][status] = int(total)
        return totals

    def class_supply(self) -> dict[str, dict[str, int]]:
        """Per asset class: batches, issued, grams per status, and grams issued to buffer
        pools (batches whose reference is an issuance run's `run-<seq>:buffer:<class>`)."""
        supply: dict[str, dict[str, int]] = {}
        for class_id, batches, issued, buffer in self.conn.execute(
            "SELECT asset_class, COUNT(*), SUM(amount),"
            " SUM(CASE WHEN claim_id LIKE 'run-%:buffer:%' THEN amount ELSE 0 END)"
            " FROM batches GROUP BY asset_class"
        ):
            supply[class_id] = {
                "batches": int(batches),
                "issued": int(issued),
                "buffer": int(buffer),
                **dict.fromkeys(STATUSES, 0),
            }
        for class_id, *sums in self.conn.execute(
            "SELECT asset_class, SUM(active), SUM(retired), SUM(cancelled), SUM(locked)"
            " FROM balances GROUP BY asset_class"
        ):
            if class_id in supply:
                supply[class_id].update(zip(STATUSES, (int(s) for s in sums), strict=True))
        return supply

    def locks_page(self, after_lock_no: int, limit: int) -> list[dict[str, Any]]:
        return self._page("locks", ["lock_no > ?"], [after_lock_no], "lock_no", limit)

    def _page(
        self, table: str, where: list[str], args: list[Any], order: str, limit: int
    ) -> list[dict[str, Any]]:
        query = f"SELECT * FROM {table}"
        if where:
            query += f" WHERE {' AND '.join(where)}"
        cursor = self.conn.execute(f"{query} ORDER BY {order} LIMIT ?", (*args, limit))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def retirements_page(
        self, after_seq: int, limit: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = equal_filters(("owner", owner))
        return self._page("retirements", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def cancellations_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        return self._page("cancellations", ["seq > ?"], [after_seq], "seq", limit)

    def activity_batches_page(
        self, after_seq: int, limit: int, platform: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = equal_filters(("platform", platform))
        return self._page("activity_batches", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def attestations_page(
        self, after_seq: int, limit: int, verifier: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = equal_filters(("verifier", verifier))
        return self._page("attestations", ["seq > ?", *where], [after_seq, *args], "seq", limit)

    def issuance_runs_page(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        return self._page("issuance_runs", ["seq > ?"], [after_seq], "seq", limit)

    def claims_page(
        self,
        after: int,
        limit: int,
        *,
        account: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        visible_to: str | None = None,
    ) -> list[tuple[int, dict[str, Any]]]:
        """Claims in log order, each with its rowid (the page cursor); with `visible_to`,
        only those of which it is the account, the account's household, the beneficiary or
        the platform."""
        where, args = equal_filters(
            ("account", account), ("status", status), ("platform", platform)
        )
        if visible_to is not None:
            where.append(
                "(account = ? OR beneficiary = ? OR platform = ?"
                " OR account IN (SELECT address FROM accounts WHERE household = ?))"
            )
            args += [visible_to] * 4
        rows = self.conn.execute(
            f"SELECT rowid, {', '.join(CLAIM_COLUMNS)} FROM claims WHERE {' AND '.join(['rowid > ?', *where])}"
            " ORDER BY rowid LIMIT ?",
            (after, *args, limit),
        )
        return [(int(row[0]), dict(zip(CLAIM_COLUMNS, row[1:], strict=True))) for row in rows]

    def rejections_page(
        self,
        after: tuple[int, int],
        limit: int,
        *,
        account: str | None = None,
        platform: str | None = None,
        reason: str | None = None,
        visible_to: str | None = None,
    ) -> list[dict[str, Any]]:
        """Refused records after `(seq, idx)`, in log order; with `visible_to`, only those
        of which it is the account, the account's household or the platform."""
        where, args = equal_filters(
            ("account", account), ("platform", platform), ("reason", reason)
        )
        if visible_to is not None:
            where.append(
                "(account = ? OR platform = ?"
                " OR account IN (SELECT address FROM accounts WHERE household = ?))"
            )
            args += [visible_to] * 3
        return self._page(
            "claim_rejections",
            ["(seq > ? OR (seq = ? AND idx > ?))", *where],
            [after[0], after[0], after[1], *args],
            "seq, idx",
            limit,
        )

    def rating_facts(
        self, account: str, size: int
    ) -> tuple[list[tuple[str, int, str, str | None]], list[tuple[str, int]]]:
        """What the rating (`carbon_verifier.rating`) reads of `account` in the log's first
        `size` events: its claims issued in them `(methodology, grams, time issued, time
        reversed or None)` and its retirements `(time, grams)`, by index."""
        claims = [
            (
                str(m),
                int(g),
                str(issued),
                None if reversed_ is None or int(rs) >= size else str(reversed_),
            )
            for m, g, issued, rs, reversed_ in self.conn.execute(
                "SELECT c.methodology, c.grams, i.time, c.reversed_seq, r.time FROM claims c"
                " JOIN events i ON i.seq = c.issued_seq"
                " LEFT JOIN events r ON r.seq = c.reversed_seq"
                " WHERE c.account = ? AND c.issued_seq < ?",
                (account, size),
            )
        ]
        retirements = [
            (str(time), int(amount))
            for time, amount in self.conn.execute(
                # CreditsRetired only: a redemption's retirement is the merchant's offset.
                "SELECT r.time, r.amount FROM retirements r JOIN events e ON e.seq = r.seq"
                " WHERE r.owner = ? AND r.seq < ? AND e.type = 'CreditsRetired'",
                (account, size),
            )
        ]
        return claims, retirements

    def event_time(self, seq: int) -> str | None:
        row = self.conn.execute("SELECT time FROM events WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else str(row[0])
