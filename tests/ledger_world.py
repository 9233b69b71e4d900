"""A small registry world for tests: an operator, a few signers, one asset class."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry import messages
from registry.commitments import NO_COMMITMENT, commit_text
from registry.handlers.common import LATEST_RANGE_RULE
from registry.ledger import OPERATIONS, Authorised, Receipt, Registry
from registry.messages import PERSONAL_KINDS
from registry.signing import Signer, new_nonce
from registry.storage import STATE_TABLES, Store

CLASS = "SZ_TRANSIT-1.0-2026-440300"
CHAIN_ID = 31337
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@dataclass
class World:
    registry: Registry
    operator: Signer
    people: dict[str, Signer] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        path: Path | str,
        names: tuple[str, ...] = ("alice", "bob", "carol"),
        contract: str = CONTRACT,
        range_rule: int = LATEST_RANGE_RULE,
    ) -> World:
        operator = Signer.generate()
        registry = Registry.create(
            Store(path),
            chain_id=CHAIN_ID,
            verifying_contract=contract,
            operator=operator.address,
            log_id="test.local/log",
            range_rule=range_rule,
        )
        world = cls(registry, operator)
        for name in names:
            world.open(name)
        world.op(
            "RegisterAssetClass",
            methodology="SZ_TRANSIT",
            methodologyVersion="1.0",
            vintage=2026,
            region="440300",
        )
        return world

    @property
    def store(self) -> Store:
        return self.registry.store

    def open(self, name: str, kind: str = "household") -> Signer:
        """Open an account named `name`: a person's or household's name goes beside the
        request (sealed off the log), an organisation's into it."""
        signer = Signer.generate()
        self.people[name] = signer
        personal = kind in PERSONAL_KINDS
        salt, committed = commit_text(name) if personal else (b"", NO_COMMITMENT)
        request = self.operator.request(
            self.registry.domain, "OpenAccount", account=signer.address, kind=kind,
            name="" if personal else name, nameCommitment=committed, householdCommitment=NO_COMMITMENT,
        )  # fmt: skip
        self.registry.execute(*request, {"personal_name": (salt, name)} if personal else None)
        return signer

    def open_person(
        self, name: str, household: str | None = None, personal_name: str = ""
    ) -> Signer:
        """Open a person named `name` here, of `household` (an address) if given: the
        household and the name go beside the request, the log holds their commitments."""
        signer = Signer.generate()
        self.people[name] = signer
        self.registry.execute(*self.open_request(signer.address, "person", household,
                                                 personal_name))  # fmt: skip
        return signer

    def open_request(
        self, account: str, kind: str, household: str | None = None, personal_name: str = ""
    ) -> tuple[str, dict[str, Any], str, dict[str, Any] | None]:
        """A signed OpenAccount of the current form, with its personal data beside."""
        fields, sealed = messages.OPEN_ACCOUNT.fill(
            self.operator.address,
            {"account": account, "kind": kind},
            {"household": household or "", "personal_name": personal_name},
        )
        return (*self.operator.request(self.registry.domain, "OpenAccount", **fields),
                sealed or None)  # fmt: skip

    def addr(self, name: str) -> str:
        return self.people[name].address

    def op(self, kind: str, /, **fields: Any) -> Receipt:
        return self.registry.execute(*self.operator.request(self.registry.domain, kind, **fields))

    def issue(self, name: str, amount: int, claim_id: str | None = None) -> Receipt:
        claim = claim_id or f"claim-{self.store.next_seq()}"
        return self.op("Issue", to=self.addr(name), assetClass=CLASS, amount=amount, claimId=claim)

    def signed_transfer(
        self, src: str, dst: str, amount: int, batch_no: int = 0, **kw: Any
    ) -> tuple[str, dict[str, Any], str]:
        return self.people[src].request(
            self.registry.domain,
            "Transfer",
            **{"from": self.addr(src)},
            to=self.addr(dst),
            assetClass=CLASS,
            batchNo=batch_no,
            amount=amount,
            **kw,
        )

    def transfer(self, src: str, dst: str, amount: int, batch_no: int = 0) -> Receipt:
        return self.registry.execute(*self.signed_transfer(src, dst, amount, batch_no))

    def signed_retire(
        self,
        name: str,
        amount: int,
        batch_no: int = 0,
        commitment: str = NO_COMMITMENT,
        **kw: Any,
    ) -> tuple[str, dict[str, Any], str]:
        return self.people[name].request(
            self.registry.domain,
            "Retire",
            owner=self.addr(name),
            assetClass=CLASS,
            batchNo=batch_no,
            amount=amount,
            beneficiaryCommitment=commitment,
            beneficiary=self.addr(name),
            reason="offset household travel",
            jurisdiction="CN-GD",
            **kw,
        )

    def retire(self, name: str, amount: int, batch_no: int = 0, **kw: Any) -> Receipt:
        """Retire for the `name family`, whose name goes beside the request, off the log."""
        beneficiary = f"{name} family"
        salt, commitment = commit_text(beneficiary)
        signed = self.signed_retire(name, amount, batch_no, commitment, **kw)
        return self.registry.execute(*signed, {"beneficiary_name": (salt, beneficiary)})

    def cancel(self, name: str, amount: int) -> Receipt:
        return self.op(
            "Cancel",
            holder=self.addr(name),
            assetClass=CLASS,
            batchNo=0,
            amount=amount,
            reason="double reported",
            evidenceHash="0x" + "ab" * 32,
        )

    def active(self, name: str) -> int:
        return self.store.active_balance(self.addr(name), CLASS)

    def snapshot(self) -> dict[str, list[Any]]:
        tables = {t: self.store.dump(t) for t in STATE_TABLES}
        tables["events"] = list(self.store.event_rows())
        return tables


def check_invariants(store: Store) -> None:
    """Per batch: issued = active + retired + cancelled + locked; ranges tile 1..issued."""
    for batch in store.batches():
        totals = store.batch_status_totals(batch["batch_no"])
        assert batch["amount"] == sum(totals.values()), (batch, totals)
        expected_first = 1
        for holding in store.holdings_of_batch(batch["batch_no"]):
            assert holding.first == expected_first, f"gap or overlap at {holding}"
            assert holding.last >= holding.first
            expected_first = holding.last + 1
        assert expected_first == batch["amount"] + 1
    for row in store.conn.execute(
        "SELECT b.owner, b.asset_class, b.active, COALESCE(SUM(h.last - h.first + 1), 0)"
        " FROM balances b LEFT JOIN holdings h ON h.owner = b.owner"
        " AND h.asset_class = b.asset_class AND h.status = 'active'"
        " GROUP BY b.owner, b.asset_class"
    ):
        assert row[2] == row[3], f"balance table disagrees with holdings: {row}"


def legacy_batch(
    registry: Registry,
    platform: Signer,
    activities: list[dict[str, Any]],
    evidence_hash: str = "0x" + "ab" * 32,
) -> Receipt:
    """Log a batch in the first release's format, times and quantities in the log: what a
    registry upgraded from it holds. The ledger takes no such batch any more, so this
    commits it as that release did (its decision rules still replay)."""
    records = messages.normalise_records(
        [
            {
                **{k: a[k] for k in messages.RECORD_FIELDS if k != "evidenceHash"},
                "evidenceHash": evidence_hash,
            }
            for a in activities
        ]  # fmt: skip
    )
    message = {"platform": platform.address, "batchId": f"legacy-{new_nonce()}",
               "records": records, "recordCount": len(records),
               "recordsHash": messages.records_digest(records), "nonce": new_nonce(),
               "expiry": int(time.time()) + 600}  # fmt: skip
    signature = platform.sign_struct(
        registry.domain, messages.SUBMIT_ACTIVITIES_IN_CLEAR.struct, message
    )
    authorised = Authorised(OPERATIONS["SubmitActivities"], message, platform.address, signature)
    with registry.store.write():
        return registry._commit(authorised)
