"""Ledger tables: accounts, roles, asset classes, batches, holdings, balances, nonces,
retirements and cancellations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from registry.storage.base import MAX_PARAMETERS, STATUSES, Holding, StoreBase, chunks


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

    def active_holdings(
        self, owner: str, asset_class: str, batch_no: int | None
    ) -> Iterator[Holding]:
        """Active ranges of `owner` in first-in-first-out order (batch, then serial)."""
        if batch_no is None:
            cursor = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND status = 'active' ORDER BY batch_no, first",
                (owner, asset_class),
            )
        else:
            cursor = self.conn.execute(
                f"SELECT {self._HOLDING_COLS} FROM holdings WHERE owner = ? AND asset_class = ?"
                " AND batch_no = ? AND status = 'active' ORDER BY first",
                (owner, asset_class, batch_no),
            )
        picked = self._picked
        picked.clear()  # only the last pick is applied next
        for row in cursor:
            holding = Holding(*row)
            picked.setdefault(holding.batch_no, []).append(holding)
            yield holding

    def holding_containing(self, batch_no: int, serial: int) -> Holding | None:
        for known in self._picked.get(batch_no, ()):
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
        for batch_no, known in self._picked.items():
            self._picked[batch_no] = [h for h in known if h.id != holding_id]

    def update_holding_range(self, holding_id: int, first: int, last: int) -> None:
        self._forget_picked(holding_id)
        self.conn.execute(
            "UPDATE holdings SET first = ?, last = ? WHERE id = ?", (first, last, holding_id)
        )

    def update_holding_owner(
        self, holding_id: int, owner: str, status: str, ref: str | None
    ) -> None:
        self._forget_picked(holding_id)
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
            self._picked[batch_no] = [h for h in known if h.last < first or h.first > last]
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
        if status not in STATUSES:
            raise ValueError(status)
        # One statement, whose answer nobody waits for (PostgreSQL sends it with the next
        # read): the owner's first grams of the class make the row, later ones add to it.
        values = [delta if s == status else 0 for s in STATUSES]
        self.conn.execute(
            "INSERT INTO balances(owner, asset_class, active, retired, cancelled, locked)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner, asset_class)"
            f" DO UPDATE SET {status} = balances.{status} + excluded.{status}",
            (owner, asset_class, *values),
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

    def nonce_used(self, signer: str, nonce: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM nonces WHERE signer = ? AND nonce = ?", (signer, nonce)
        ).fetchone()
        return row is not None

    def read_nonces_ahead(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Read which of a write group's (signer, nonce) pairs are used, in one query, so
        that `claim_nonce` decides them without one. Only inside a write transaction: the
        write lock keeps other writers from claiming them until it ends."""
        assert self._depth > 0, "nonces are read ahead inside a write transaction"
        wanted = sorted(set(pairs))
        used: set[tuple[str, int]] = set()
        for chunk in chunks(wanted, MAX_PARAMETERS // 2):
            rows = self.conn.execute(
                "SELECT signer, nonce FROM nonces WHERE (signer, nonce) IN"
                f" (VALUES {', '.join(['(?, ?)'] * len(chunk))})",
                [value for pair in chunk for value in pair],
            )
            used.update((str(signer), int(nonce)) for signer, nonce in rows)
        self._nonces_ahead.update((pair, pair in used) for pair in wanted)

    def claim_nonce(self, signer: str, nonce: int) -> bool:
        """Record the nonce as used; False when it already was (one statement, no race)."""
        used = self._nonces_ahead.get((signer, nonce))
        if used is None:  # not read ahead: the statement tells
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce)
            )
            return cursor.rowcount == 1
        if used:
            return False
        # Known free: an INSERT whose answer is not needed (PostgreSQL sends it with the next
        # query). A rollback forgets what was read ahead (`_forget_uncommitted`).
        self.conn.execute("INSERT INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce))
        self._nonces_ahead[signer, nonce] = True
        return True

    def use_nonce(self, signer: str, nonce: int) -> None:
        self.conn.execute("INSERT INTO nonces(signer, nonce) VALUES (?, ?)", (signer, nonce))

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
