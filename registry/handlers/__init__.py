"""What each signed request does to the ledger: one handler per request type, like
regen-ledger's keeper methods, next to the declarations in `registry.messages`.

`decide(store, request, signer, seq)` checks the state and returns the request's effects
(or raises a named error); `apply(store, request, effects, signer, seq, time)` changes the
tables to match. `registry.ledger` runs them in a transaction and appends the event;
`registry.replay` runs them again over the log alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry import messages as m
from registry.handlers import accounts, bridge, communities, credits, merchants, mrv
from registry.handlers.common import Effects, Receipt
from registry.messages import Message
from registry.storage import Store


@dataclass(frozen=True)
class Operation:
    """A signed request type (its declaration) and its handler: `decide` the effects from the
    state (raising a named error when the state does not allow it), `apply` them.

    `previous`, where set, makes the operation idempotent: it returns the receipt of an
    earlier event that already did what the request asks (nothing new is written), or None.
    """

    message: Message
    decide: Callable[[Store, dict[str, Any], str, int], Effects]
    apply: Callable[[Store, dict[str, Any], Effects, str, int, str], None]
    previous: Callable[[Store, dict[str, Any], str], Receipt | None] | None = None

    @property
    def event_type(self) -> str:
        return self.message.event

    @property
    def struct(self) -> Any:
        return self.message.struct


OPERATIONS: dict[str, Operation] = {
    op.message.name: op
    for op in (
        Operation(m.OPEN_ACCOUNT, accounts.decide_open_account, accounts.apply_open_account),
        Operation(m.GRANT_ROLE, accounts.decide_grant_role, accounts.apply_grant_role),
        Operation(m.REVOKE_ROLE, accounts.decide_revoke_role, accounts.apply_revoke_role),
        Operation(
            m.REGISTER_ASSET_CLASS,
            accounts.decide_register_class,
            accounts.apply_register_class,
        ),
        Operation(m.ISSUE, credits.decide_issue, credits.apply_issue),
        Operation(m.TRANSFER, credits.decide_transfer, credits.apply_transfer),
        Operation(m.RETIRE, credits.decide_retire, credits.apply_retire),
        Operation(m.CANCEL, credits.decide_cancel, credits.apply_cancel),
        Operation(
            m.SUBMIT_ACTIVITIES,
            mrv.decide_submit_activities,
            mrv.apply_submit_activities,
            mrv.previous_activities,
        ),
        Operation(m.ATTEST_CLAIMS, mrv.decide_attest, mrv.apply_attest),
        Operation(m.RUN_ISSUANCE, mrv.decide_run_issuance, mrv.apply_run_issuance),
        Operation(m.REVERSE_CLAIM, mrv.decide_reverse_claim, mrv.apply_reverse_claim),
        Operation(m.LOCK, bridge.decide_lock, bridge.apply_lock),
        Operation(m.RECORD_RETURN, bridge.decide_record_return, bridge.apply_record_return),
        Operation(
            m.RECORD_CHAIN_RETIREMENT,
            bridge.decide_record_chain_retirement,
            bridge.apply_record_chain_retirement,
        ),
        Operation(m.RECORD_MINT, bridge.decide_record_mint, bridge.apply_record_mint),
        Operation(m.RELEASE_LOCK, bridge.decide_release_lock, bridge.apply_release_lock),
        Operation(m.PUBLISH_OFFER, merchants.decide_publish_offer, merchants.apply_publish_offer),
        Operation(
            m.WITHDRAW_OFFER, merchants.decide_withdraw_offer, merchants.apply_withdraw_offer
        ),
        Operation(m.REDEEM_OFFER, merchants.decide_redeem_offer, merchants.apply_redeem_offer),
        Operation(
            m.JOIN_COMMUNITY,
            communities.decide_join_community,
            communities.apply_join_community,
        ),
        Operation(
            m.LEAVE_COMMUNITY,
            communities.decide_leave_community,
            communities.apply_leave_community,
        ),
    )
}
BY_EVENT_TYPE = {op.event_type: op for op in OPERATIONS.values()}
