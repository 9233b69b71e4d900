"""Ledger tables: accounts, roles, asset classes, batches, holdings, balances, nonces,
retirements and cancellations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from registry.storage.base import (
    MAX_PARAMETERS,
    STATUSES,
    Holding,
    StoreBase,
    chunks,
    pairs_of_marks,
)


@cache
def _balances_upsert(rows: int) -> str:
    """The statement adding `rows` (owner, asset class, one delta a status) to the balances."""
    added = ", ".join(f"{s} = balances.{s} + excluded.{s}" for s in STATUSES)
    marks = ", ".join(["(?, ?, " + ", ".join("?" * len(STATUSES)) + ")"] * rows)
    return (
        f"INSERT INTO balances(owner, asset_class, {', '.join(STATUSES)}) VALUES {marks}"
        f" ON CONFLICT (owner, asset_class) DO UPDATE SET {added}"
    )


class LedgerTables(StoreBase):
    def account(self, address: str) -> dict[str, Any] | None:
        if self._depth == 0:  # a read outside a transaction: another process may have erased
            self._drop_stale_accounts()
        cached = self._accounts.get(address)
        if cached is not None:
            return cached
        row = self.conn.execute(
            "SELECT address, kind, name, household, opened_seq FROM accounts WHERE address = ?",
            (address,),
        ).fetchone()
        if row is None:
            return None
        cols = ("address", "kind", "name", "household", "opened_seq")
        account = dict(zip(cols, row, strict=True))
        self._accounts[address] = account
        return account

    def accounts(self) -> list[dict[str, Any]]:
        cols = ("address", "kind", "name", "household", "opened_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM accounts ORDER BY opened_seq")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_account(
        self, address: str, kind: str, name: str, household: str | None, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO accounts(address, kind, name, household, opened_seq) VALUES (?,?,?,?,?)",
            (address, kind, name, household, seq),
        )

    def has_role(self, address: str, role: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM roles WHERE address = ? AND role = ?", (address, role)
        ).fetchone()
        return row is not None

    def roles_of(self, address: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT role FROM roles WHERE address = ? ORDER BY role", (address,)
        )
        return [r[0] for r in rows]

    def insert_role(self, address: str, role: str, seq: int) -> None:
        self.conn.execute(
            "INSERT INTO roles(address, role, granted_seq) VALUES (?, ?, ?)", (address, role, seq)
        )

    def delete_role(self, address: str, role: str) -> None:
        self.conn.execute("DELETE FROM roles WHERE address = ? AND role = ?", (address, role))

    def role_count(self, role: str) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM roles WHERE role = ?", (role,)).fetchone()
        return int(row[0])

    def asset_class(self, class_id: str) -> dict[str, Any] | None:
        cached = self._asset_classes.get(class_id)
        if cached is not None:
            return cached
        cols = ("id", "methodology", "methodology_version", "vintage", "region", "registered_seq")
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM asset_classes WHERE id = ?", (class_id,)
        ).fetchone()
        if row is None:
            return None
        asset_class = dict(zip(cols, row, strict=True))
        self._asset_classes[class_id] = asset_class
        return asset_class

    def asset_classes(self) -> list[dict[str, Any]]:
        cols = ("id", "methodology", "methodology_version", "vintage", "region", "registered_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM asset_classes ORDER BY id")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_asset_class(
        self, class_id: str, methodology: str, version: str, vintage: int, region: str, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO asset_classes(id, methodology, methodology_version, vintage, region,"
            " registered_seq) VALUES (?,?,?,?,?,?)",
            (class_id, methodology, version, vintage, region, seq),
        )

    def next_batch_no(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(batch_no), 0) + 1 FROM batches").fetchone()
        return int(row[0])

    def claim_issued(self, claim_id: str) -> int | None:
        row = self.conn.execute(
            "SELECT batch_no FROM batches WHERE claim_id = ?", (claim_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def batch(self, batch_no: int) -> dict[str, Any] | None:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        row = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM batches WHERE batch_no = ?", (batch_no,)
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def batches(self) -> list[dict[str, Any]]:
        cols = ("batch_no", "asset_class", "amount", "issued_to", "claim_id", "issued_seq")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM batches ORDER BY batch_no")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_batch(
        self, batch_no: int, asset_class: str, amount: int, to: str, claim_id: str, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO batches(batch_no, asset_class, amount, issued_to, claim_id, issued_seq)"
            " VALUES (?,?,?,?,?,?)",
            (batch_no, asset_class, amount, to, claim_id, seq),
        )

    def batch_status_totals(self, batch_no: int) -> dict[str, int]:
        totals = dict.fromkeys(STATUSES, 0)
        rows = self.conn.execute(
            "SELECT status, SUM(last - first + 1) FROM holdings WHERE batch_no = ? GROUP BY status",
            (batch_no,),
        )
        for status, total in rows:
            totals[status] = int(total)
        return totals

    # -- holdings -------------------------------------------------------------------------

    _HOLDING_COLS = "id, batch_no, first, last, owner, asset_class, status, ref"

    def read_holdings_ahead(self, wanted: dict[tuple[str, str], int]) -> None:
        """Read ahead, in one query, the oldest active holdings of a write group's (owner,
        asset class) pairs, each pair's up to the grams its requests may take (`wanted`),
        so that `active_holdings` gives them without one. Inside a write transaction only,
        whose changes to holdings all pass through this class: each keeps what was read
        ahead exact (`_changed_ahead`), or forgets a pair's; the transaction's end or a
        rollback forgets them all."""
        assert self._depth > 0, "holdings are read ahead inside a write transaction"
        pairs = sorted(wanted.keys() - self._active_ahead.keys())
        for pair in pairs:
            self._active_ahead[pair] = []
        columns = ", ".join("h." + c for c in self._HOLDING_COLS.split(", "))
        for chunk in chunks(pairs, MAX_PARAMETERS // 3):
            rows = self.conn.execute(
                "WITH wanted(owner, asset_class, grams) AS"
                f" (VALUES {', '.join(['(?, ?, ?)'] * len(chunk))})"
                f" SELECT {self._HOLDING_COLS}, through, grams FROM (SELECT {columns},"
                " SUM(h.last - h.first + 1) OVER (PARTITION BY h.owner, h.asset_class"
                " ORDER BY h.batch_no, h.first ROWS UNBOUNDED PRECEDING) AS through,"
                " wanted.grams FROM wanted CROSS JOIN holdings h ON h.owner = wanted.owner"
                " AND h.asset_class = wanted.asset_class WHERE h.status = 'active') AS running"
                " WHERE through - (last - first + 1) < grams ORDER BY batch_no, first",
                [value for pair in chunk for value in (*pair, wanted[pair])],
            )
            for *row, through, grams in rows:
                holding = Holding(*row)
                pair = (holding.owner, holding.asset_class)
                self._active_ahead[pair].append(holding)
                self._ahead_by_id[holding.id] = holding
                # The pair's holdings after this one were not read (if it has any).
                if through >= grams:
                    self._ahead_partial.add(pair)
                else:
                    self._ahead_partial.discard(pair)

    def _changed_ahead(self, holding_id: int, **changes: Any) -> bool:
        """Keep what was read ahead exact through a change of a holding read ahead: it
        leaves its pair's holdings and, if still active, joins its (new) pair's in order,
        or, when that pair was read only in part, the pair is forgotten (the holding may
        belong after holdings not read). False when the holding was not read ahead."""
        before = self._ahead_by_id.get(holding_id)
        if before is None:
            return False
        after = self._ahead_by_id[holding_id] = before._replace(**changes)
        known = self._active_ahead.get((before.owner, before.asset_class))
        if known is not None:
            known[:] = [h for h in known if h.id != holding_id]
        pair = (after.owner, after.asset_class)
        known = self._active_ahead.get(pair)
        if known is not None and after.status == "active":
            if pair in self._ahead_partial and pair != (before.owner, before.asset_class):
                self._forget_holdings_ahead(*pair)
            else:
                known.append(after)
                known.sort(key=lambda h: (h.batch_no, h.first))
        return True

    def active_holdings(
        self, owner: str, asset_class: str, batch_no: int | None
    ) -> Iterator[Holding]:
        """Active ranges of `owner` in first-in-first-out order (batch, then serial)."""
        picked = self._picked
        picked.clear()  # only the last pick is applied next
        pair = (owner, asset_class)
        ahead = self._active_ahead.get(pair) if self._depth else None
        after: tuple[int, int] | None = None
        if ahead is not None:
            for holding in [h for h in ahead if batch_no is None or h.batch_no == batch_no]:
                picked.setdefault(holding.batch_no, {})[holding.id] = holding
                yield holding
                after = (holding.batch_no, holding.first)
            if pair not in self._ahead_partial:
                return
            # Wanted beyond what was read ahead: the rest from the table, and the pair's
            # holdings are no longer kept (those read now are not tracked).
            self._forget_holdings_ahead(owner, asset_class)
        if batch_no is None:
            rows = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND status = 'active' ORDER BY batch_no, first",
                (owner, asset_class),
            )
        else:
            rows = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND batch_no = ? AND status = 'active' ORDER BY first",
                (owner, asset_class, batch_no),
            )
        for row in rows:
            holding = Holding(*row)
            if after is not None and (holding.batch_no, holding.first) <= after:
                continue  # given from what was read ahead
            picked.setdefault(holding.batch_no, {})[holding.id] = holding
            yield holding

    def first_covering_holding(
        self, owner: str, asset_class: str, batch_no: int | None, grams: int
    ) -> Holding | None:
        """The first of `active_holdings` that holds at least `grams`, if any."""
        picked = self._picked
        picked.clear()  # only the last pick is applied next
        pair = (owner, asset_class)
        ahead = self._active_ahead.get(pair) if self._depth else None
        found: Holding | None = None
        if ahead is not None:
            found = next(
                (
                    h
                    for h in ahead
                    if h.amount >= grams and (batch_no is None or h.batch_no == batch_no)
                ),
                None,
            )
            if found is None and pair not in self._ahead_partial:
                return None
        if found is None:
            # None of those read ahead covers it, so the table's first that does is after them.
            query = (
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND status = 'active' AND last - first >= ?"
            )
            args: tuple[Any, ...] = (owner, asset_class, grams - 1)
            if batch_no is not None:
                query += " AND batch_no = ?"
                args = (*args, batch_no)
            row = self.conn.execute(query + " ORDER BY batch_no, first LIMIT 1", args).fetchone()
            if row is None:
                return None
            found = Holding(*row)
        picked[found.batch_no] = {found.id: found}
        return found

    def holding_containing(self, batch_no: int, serial: int) -> Holding | None:
        for known in self._picked.get(batch_no, {}).values():
            if known.first <= serial <= known.last:
                return known
        row = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE batch_no = ? AND first <= ?"
            " ORDER BY first DESC LIMIT 1",
            (batch_no, serial),
        ).fetchone()
        if row is None or row[3] < serial:
            return None
        return Holding(*row)

    def holdings_of(self, owner: str, status: str | None = None) -> list[Holding]:
        query = f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ?"
        args: tuple[Any, ...] = (owner,)
        if status is not None:
            query += " AND status = ?"
            args = (owner, status)
        rows = self.conn.execute(query + " ORDER BY asset_class, batch_no, first", args)
        return [Holding(*row) for row in rows]

    def holdings_of_batch(self, batch_no: int) -> list[Holding]:
        rows = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE batch_no = ? ORDER BY first",
            (batch_no,),
        )
        return [Holding(*row) for row in rows]

    def _forget_picked(self, holding_id: int) -> None:
        """Drop a holding about to change from the ranges last picked: the others still hold
        as read, so moving a transfer's next range needs no query (a fragmented transfer
        moves about ten)."""
        for known in self._picked.values():
            known.pop(holding_id, None)

    def update_holding_range(self, holding_id: int, first: int, last: int) -> None:
        self._forget_picked(holding_id)
        self._changed_ahead(holding_id, first=first, last=last)
        self.conn.execute(
            "UPDATE holdings SET first = ?, last = ? WHERE id = ?", (first, last, holding_id)
        )

    def update_holding_owner(
        self, holding_id: int, owner: str, status: str, ref: str | None
    ) -> None:
        self._forget_picked(holding_id)
        if not self._changed_ahead(holding_id, owner=owner, status=status, ref=ref):
            self._forget_holdings_ahead(owner)  # one of its pairs may gain it: read again
        self.conn.execute(
            "UPDATE holdings SET owner = ?, status = ?, ref = ? WHERE id = ?",
            (owner, status, ref, holding_id),
        )

    def insert_holding(
        self,
        batch_no: int,
        first: int,
        last: int,
        owner: str,
        asset_class: str,
        status: str,
        ref: str | None,
    ) -> None:
        # The new range was cut from a holding already forgotten; drop any other overlap.
        known = self._picked.get(batch_no)
        if known:
            self._picked[batch_no] = {
                i: h for i, h in known.items() if h.last < first or h.first > last
            }
        self._forget_holdings_ahead(owner, asset_class)  # its id is the database's: read again
        self.conn.execute(
            "INSERT INTO holdings(batch_no, first, last, owner, asset_class, status, ref)"
            " VALUES (?,?,?,?,?,?,?)",
            (batch_no, first, last, owner, asset_class, status, ref),
        )

    def held_in_status(
        self, owner: str, asset_class: str, batch_no: int | None, status: str
    ) -> int:
        query = (
            "SELECT COALESCE(SUM(last - first + 1), 0) FROM holdings WHERE owner = ?"
            " AND asset_class = ? AND status = ?"
        )
        args: tuple[Any, ...] = (owner, asset_class, status)
        if batch_no is not None:
            query += " AND batch_no = ?"
            args = (*args, batch_no)
        return int(self.conn.execute(query, args).fetchone()[0])

    def holdings_in_status(self, asset_class: str, status: str) -> Iterator[Holding]:
        """Every range of the class in `status`, oldest batch and serial first."""
        cursor = self.conn.execute(
            f"SELECT {self._HOLDING_COLS} FROM holdings WHERE asset_class = ? AND status = ?"
            " ORDER BY batch_no, first",
            (asset_class, status),
        )
        for row in cursor:
            yield Holding(*row)

    def add_balance(self, owner: str, asset_class: str, status: str, delta: int) -> None:
        self.add_balances([(owner, asset_class, status, delta)])

    def add_balances(self, changes: list[tuple[str, str, str, int]]) -> None:
        """Add `(owner, asset class, status, delta)` changes to the balances, in one
        statement whose answer nobody waits for (PostgreSQL sends it with the next read):
        an owner's first grams of a class make its row, later ones add to it."""
        rows: dict[tuple[str, str], list[int]] = {}
        for owner, asset_class, status, delta in changes:
            if status not in STATUSES:
                raise ValueError(status)
            row = rows.setdefault((owner, asset_class), [0] * len(STATUSES))
            row[STATUSES.index(status)] += delta
        self.conn.execute(
            _balances_upsert(len(rows)),
            [value for key, deltas in rows.items() for value in (*key, *deltas)],
        )

    def balances(self, owner: str) -> list[dict[str, Any]]:
        cols = ("asset_class", "active", "retired", "cancelled", "locked")
        rows = self.conn.execute(
            f"SELECT {', '.join(cols)} FROM balances WHERE owner = ? ORDER BY asset_class",
            (owner,),
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def active_balance(self, owner: str, asset_class: str) -> int:
        row = self.conn.execute(
            "SELECT active FROM balances WHERE owner = ? AND asset_class = ?", (owner, asset_class)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def read_nonces_ahead(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Read which of a write group's (signer, nonce) pairs are used, in one query, so
        that `claim_nonce` decides them without one. Only inside a write transaction: the
        write lock keeps other writers from claiming them until it ends."""
        assert self._depth > 0, "nonces are read ahead inside a write transaction"
        wanted = sorted(set(pairs))
        used: set[tuple[str, int]] = set()
        for chunk in chunks(wanted, MAX_PARAMETERS // 2):
            rows = self.conn.execute(
                f"WITH wanted(signer, nonce) AS (VALUES {pairs_of_marks(len(chunk))})"
                " SELECT n.signer, n.nonce FROM wanted"
                " CROSS JOIN nonces n ON n.signer = wanted.signer AND n.nonce = wanted.nonce",
                [value for pair in chunk for value in pair],
            )
            used.update((str(signer), int(nonce)) for signer, nonce in rows)
        self._nonces_ahead.update((pair, pair in used) for pair in wanted)

    def claim_nonce(self, signer: str, nonce: int) -> bool:
        """Record the nonce as used; False when it already was (no race: inside the write
        transaction). A nonce read ahead is decided without a statement, and inserted with
        the transaction's other claimed nonces before it commits (`write`)."""
        assert self._claimed_nonces, "nonces are claimed inside a write transaction"
        if any((signer, nonce) in level for level in self._claimed_nonces):
            return False
        used = self._nonces_ahead.get((signer, nonce))
        if used is None:  # not read ahead: the statement tells
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce)
            )
            return cursor.rowcount == 1
        if used:
            return False
        self._claimed_nonces[-1].add((signer, nonce))
        return True

    def insert_retirement(self, row: dict[str, Any]) -> None:
        self.insert_row("retirements", row)

    def retirement(self, certificate_id: str) -> dict[str, Any] | None:
        cursor = self.conn.execute(
            "SELECT * FROM retirements WHERE certificate_id = ?", (certificate_id,)
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def insert_cancellation(self, row: dict[str, Any]) -> None:
        self.insert_row("cancellations", row)
