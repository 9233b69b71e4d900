"""Watch the token contract and record what it did in the registry, exactly once each.

Every poll reads the `CreditsMinted`, `CreditsReturned` and `CreditsRetiredOnChain` logs
from the next unread block up to the newest block with enough confirmations, and records
each one through the registry's own operator-signed operations (`RecordMint`,
`RecordReturn`, `RecordChainRetirement`). A chain event can be recorded only once (the
registry refuses a second record of the same chain id, transaction and log index), and the
cursor moves only after the records commit: a watcher killed between seeing an event and
recording it reads it again on restart and records it then; one killed after recording
skips it. Nothing is lost or recorded twice. The registry events it writes are anchored
like any other, so an on-chain retirement gets a proof bundle too.

What cannot happen if chain and log agree stops the watcher (and with it the anchoring
worker) with `BridgeIntegrityError`: a lock minted twice, a mint of a released lock or of
no lock, a burn the log cannot record, tokens on chain that the log does not back.
"""

from __future__ import annotations

import logging
from typing import Any

from anchoring.chain import ChainConfigError, ChainIntegrityError
from anchoring.worker import AnchorWorker
from bridge.reserve import check_state_reserve
from bridge.token import DEFAULT_PUBLIC_URL, MINTED, BridgeEvent, TokenContract
from registry.bridge import chain_event_id, token_id
from registry.eip712 import contract_address_of
from registry.errors import RegistryError
from registry.ledger import Receipt, Registry
from registry.messages import printable
from registry.signing import Signer
from registry.storage.bridge import BridgeCursor
from registry.storage.connection import Connection

log = logging.getLogger("carbon_registry.bridge")


class BridgeIntegrityError(ChainIntegrityError):
    code = "bridge_integrity"
    title = "The token contract did what the log cannot account for"


class BridgeWatcher:
    def __init__(
        self,
        registry: Registry,
        token: TokenContract,
        operator: Signer,
        *,
        confirmations: int = 1,
        conn: Connection | None = None,
    ) -> None:
        self.registry = registry
        self.token = token
        self.operator = operator
        self.confirmations = confirmations
        self.cursor = BridgeCursor(conn or registry.store.conn)

    def poll(self) -> list[Receipt]:
        """Record the confirmed token events not recorded yet, then check the reserve;
        returns the receipts of new records."""
        chain = self.token.chain
        # The embedded chain cannot reorganise and mines only when sent a transaction:
        # waiting for blocks there would wait forever.
        depth = 1 if chain.embedded else self.confirmations
        safe = chain.head() - depth + 1
        burns_from, mints_from = self.cursor.next_blocks(self.token.address)
        start = min(burns_from, mints_from)
        receipts = []
        classes = {token_id(c["id"]): c["id"] for c in self.registry.store.asset_classes()}
        for event in self.token.bridge_events(start, safe):
            if event.block_number < (mints_from if event.kind == MINTED else burns_from):
                continue
            receipt = self.record(event, classes, chain.chain_id)
            if receipt is not None:
                receipts.append(receipt)
        if safe >= start:
            self.cursor.advance(self.token.address, safe + 1)
        self.check_reserve()
        return receipts

    def check_reserve(self) -> None:
        report = check_state_reserve(self.registry.store, self.cursor, self.token)
        if not report.ok:
            raise BridgeIntegrityError(f"the reserve does not hold: {'; '.join(report.problems)}")

    def record(self, event: BridgeEvent, classes: dict[int, str], chain_id: int) -> Receipt | None:
        key = chain_event_id(chain_id, event.tx_hash, event.log_index)
        if self.registry.store.chain_event_seq(key) is not None:
            return None  # recorded before a restart
        asset_class = classes.get(event.token_id)
        if asset_class is None:
            raise BridgeIntegrityError(f"chain event {key} moves token {event.token_id}, of no"
                                       " asset class")  # fmt: skip
        fields: dict[str, Any] = {"chainEvent": key, "assetClass": asset_class,
                                     "amount": event.amount}  # fmt: skip
        if event.kind == MINTED:
            kind = "RecordMint"
            fields |= {"lockSeq": event.lock_seq, "recipient": event.holder}
        elif event.kind == "CreditsReturned":
            kind = "RecordReturn"
            fields |= {"holder": event.holder, "account": event.account}
        else:
            kind = "RecordChainRetirement"
            fields |= {"holder": event.holder, "beneficiaryCommitment": event.beneficiary,
                       "reason": printable(event.reason)}  # fmt: skip
        request = self.operator.request(self.registry.domain, kind, **fields)
        try:
            receipt = self.registry.execute(*request)
        except RegistryError as exc:  # the chain did it; a log that cannot follow is wrong
            raise BridgeIntegrityError(f"chain event {key} ({event.kind}): {exc}") from exc
        log.info("recorded %s %s as event %d", event.kind, key, receipt.seq)
        return receipt


def start_bridge(
    registry: Registry,
    worker: AnchorWorker,
    operator: Signer,
    token_address: str | None,
    public_url: str = DEFAULT_PUBLIC_URL,
) -> TokenContract | None:
    """Deploy (embedded chain) or bind CarbonCredits, and make the worker watch its burns.

    The embedded chain deploys it (once: its state persists) as the operator's second
    contract, right after RegistryAnchor; on a JSON-RPC chain it is at `token_address`
    (default: that same address), and the bridge stays off when no contract is there.
    """
    chain = worker.chain
    assert chain.anchor_address is not None, "attach the worker first"
    expected = token_address or contract_address_of(registry.operator, 1)
    if chain.embedded and not chain.has_code(expected):
        contract = TokenContract.deploy(chain, worker.key, chain.anchor_address, public_url)
        if contract.address != expected:
            raise ChainConfigError(f"CarbonCredits landed at {contract.address}, not at {expected}")
    elif chain.has_code(expected):
        contract = TokenContract(chain, expected)
    else:
        log.warning("no CarbonCredits contract at %s: the bridge is off", expected)
        return None
    log.info("CarbonCredits token at %s; watching its burns", contract.address)
    watcher = BridgeWatcher(
        registry, contract, operator, confirmations=worker.policy.confirmations, conn=worker.conn
    )
    worker.watchers.append(watcher.poll)
    return contract
