"""The people's side: merchants' offers and their redemptions, community memberships, and
the public aggregates of communities (members, verified grams, retirements)."""

from __future__ import annotations

from typing import Any

from registry.storage.base import StoreBase

OFFER_COLUMNS = (
    "merchant",
    "offer_id",
    "title",
    "grams",
    "valid_until",
    "published_seq",
    "withdrawn_seq",
)
REDEMPTION_COLUMNS = (
    "seq",
    "time",
    "merchant",
    "offer_id",
    "owner",
    "asset_class",
    "grams",
    "mode",
    "certificate_id",
    "serials",
)


def offer_is_open(offer: dict[str, Any], now: int) -> bool:
    """Not withdrawn, and not past its last second (valid_until 0: no end)."""
    return offer["withdrawn_seq"] is None and (
        offer["valid_until"] == 0 or now <= offer["valid_until"]
    )


class PeopleTables(StoreBase):
    # -- offers and redemptions -------------------------------------------------------------

    def insert_offer(
        self, merchant: str, offer_id: str, title: str, grams: int, valid_until: int, seq: int
    ) -> None:
        self.conn.execute(
            "INSERT INTO offers(merchant, offer_id, title, grams, valid_until, published_seq)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (merchant, offer_id, title, grams, valid_until, seq),
        )

    def withdraw_offer(self, merchant: str, offer_id: str, seq: int) -> None:
        self.conn.execute(
            "UPDATE offers SET withdrawn_seq = ? WHERE merchant = ? AND offer_id = ?",
            (seq, merchant, offer_id),
        )

    def offer(self, merchant: str, offer_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT {', '.join(OFFER_COLUMNS)} FROM offers WHERE merchant = ? AND offer_id = ?",
            (merchant, offer_id),
        ).fetchone()
        return None if row is None else dict(zip(OFFER_COLUMNS, row, strict=True))

    def offers(
        self,
        merchant: str | None = None,
        active_only: bool = True,
        now: int = 0,
        after: int = -1,
        limit: int = -1,
    ) -> list[dict[str, Any]]:
        """Offers published after event `after`, in publishing order (of one merchant, or
        all; at most `limit`, -1: all), each with its merchant's public name
        (`merchant_name`); `active_only` keeps those neither withdrawn nor past their end at
        Unix second `now`."""
        query = (
            f"SELECT {', '.join(f'o.{c}' for c in OFFER_COLUMNS)}, a.name FROM offers o"
            " JOIN accounts a ON a.address = o.merchant"
        )
        where: list[str] = ["o.published_seq > ?"]
        args: list[Any] = [after]
        if merchant is not None:
            where.append("o.merchant = ?")
            args.append(merchant)
        if active_only:
            where.append("o.withdrawn_seq IS NULL AND (o.valid_until = 0 OR o.valid_until >= ?)")
            args.append(now)
        query += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(query + " ORDER BY o.published_seq LIMIT ?", (*args, limit))
        cols = (*OFFER_COLUMNS, "merchant_name")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def insert_redemption(self, row: dict[str, Any]) -> None:
        self.insert_row("redemptions", row)

    def _redemptions(
        self, column: str, address: str, after: int, limit: int
    ) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            f"SELECT {', '.join(REDEMPTION_COLUMNS)} FROM redemptions WHERE {column} = ?"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (address, after, limit),
        )
        return [dict(zip(REDEMPTION_COLUMNS, row, strict=True)) for row in rows]

    def redemptions(self, merchant: str, after: int = -1, limit: int = -1) -> list[dict[str, Any]]:
        """The redemptions of a merchant's offers after event `after`, in log order (at most
        `limit`; -1: all)."""
        return self._redemptions("merchant", merchant, after, limit)

    def redemptions_by(self, owner: str, after: int = -1, limit: int = -1) -> list[dict[str, Any]]:
        """The redemptions an owner made after event `after`, in log order."""
        return self._redemptions("owner", owner, after, limit)

    # -- communities ------------------------------------------------------------------------

    def membership(self, community: str, member: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT joined_seq, leaderboard, pseudonym_commitment FROM community_members"
            " WHERE community = ? AND member = ?",
            (community, member),
        ).fetchone()
        if row is None:
            return None
        return {
            "community": community,
            "member": member,
            "joined_seq": int(row[0]),
            "leaderboard": bool(row[1]),
            "pseudonym_commitment": row[2],
        }

    def insert_member(
        self, community: str, member: str, seq: int, leaderboard: bool, commitment: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO community_members(community, member, joined_seq, leaderboard,"
            " pseudonym_commitment) VALUES (?, ?, ?, ?, ?)",
            (community, member, seq, int(leaderboard), commitment),
        )

    def delete_member(self, community: str, member: str) -> None:
        self.conn.execute(
            "DELETE FROM community_members WHERE community = ? AND member = ?",
            (community, member),
        )

    def communities_of(self, member: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT community FROM community_members WHERE member = ? ORDER BY joined_seq",
            (member,),
        )
        return [r[0] for r in rows]

    def _community_totals(
        self, where: str, args: tuple[Any, ...], limit: int = -1
    ) -> list[dict[str, Any]]:
        members = "SELECT member FROM community_members WHERE community = a.address"
        rows = self.conn.execute(
            "SELECT a.address, a.name, a.opened_seq,"
            " (SELECT COUNT(*) FROM community_members WHERE community = a.address),"
            # A claim counts once: as its account's, else as its (pooled) beneficiary's;
            # two indexed sums, since an OR of the two would scan every claim.
            " (SELECT COALESCE(SUM(grams), 0) FROM claims WHERE status = 'issued'"
            f"  AND account IN ({members}))"
            " + (SELECT COALESCE(SUM(grams), 0) FROM claims WHERE beneficiary != account"
            f"  AND status = 'issued' AND beneficiary IN ({members})"
            f"  AND account NOT IN ({members})),"
            " (SELECT COALESCE(SUM(amount), 0) FROM retirements WHERE owner = a.address)"
            f" FROM accounts a WHERE a.kind = 'community' {where} ORDER BY a.opened_seq LIMIT ?",
            (*args, limit),
        )
        cols = ("address", "name", "opened_seq", "members", "verified_grams", "retired_grams")
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def community(self, address: str) -> dict[str, Any] | None:
        """A community's public aggregates: its members, the grams of their claims issued
        (verified, not reversed) and the grams the community account retired; None when
        `address` is no community."""
        found = self._community_totals("AND a.address = ?", (address,))
        return found[0] if found else None

    def communities(self, after: int = -1, limit: int = -1) -> list[dict[str, Any]]:
        """The aggregates of the communities opened after event `after`, in opening order (at
        most `limit`; -1: all)."""
        return self._community_totals("AND a.opened_seq > ?", (after,), limit)

    def community_leaderboard(self, address: str) -> list[dict[str, Any]]:
        """The members who opted in to the leaderboard, most verified grams first (then the
        earliest to join), each with the commitment to its pseudonym; the pseudonyms
        themselves are in the vault (`Registry.community_leaderboard`)."""
        # Two passes over the issued claims whatever the number of members: as the claim's
        # account (a person), and as its beneficiary when that is another account (a
        # household).
        rows = self.conn.execute(
            "WITH board AS (SELECT member, pseudonym_commitment, joined_seq"
            "  FROM community_members WHERE community = ? AND leaderboard = 1),"
            " earned AS ("
            "  SELECT account AS member, grams FROM claims"
            "   WHERE status = 'issued' AND account IN (SELECT member FROM board)"
            "  UNION ALL SELECT beneficiary, grams FROM claims"
            "   WHERE status = 'issued' AND beneficiary != account"
            "   AND beneficiary IN (SELECT member FROM board))"
            " SELECT b.member, b.pseudonym_commitment, b.joined_seq, COALESCE(t.v, 0) AS v"
            " FROM board b LEFT JOIN"
            "  (SELECT member, SUM(grams) AS v FROM earned GROUP BY member) t USING (member)"
            " ORDER BY v DESC, b.joined_seq",
            (address,),
        )
        cols = ("member", "pseudonym_commitment", "joined_seq", "verified_grams")
        return [dict(zip(cols, row, strict=True)) for row in rows]
