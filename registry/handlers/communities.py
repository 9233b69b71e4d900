"""Handlers: joining and leaving communities. Pooled retirements need no request of their
own: members Transfer to the community account, which retires with Retire."""

from __future__ import annotations

from typing import Any

from registry import messages as m
from registry.errors import MembershipError
from registry.handlers.common import Effects, require_account_kind, require_signer
from registry.storage import Store


def decide_join_community(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["member"], signer)
    require_account_kind(store, req["member"], m.PERSONAL_KINDS, "join a community")
    require_account_kind(store, req["community"], (m.COMMUNITY_KIND,), "be joined")
    membership = store.membership(req["community"], req["member"])
    if membership is not None:
        raise MembershipError(
            f"{req['member']} is already a member of {req['community']}"
            f" (since event {membership['joined_seq']})"
        )
    return {}


def apply_join_community(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.insert_member(
        req["community"], req["member"], seq, req["leaderboard"], req["pseudonymCommitment"]
    )


def decide_leave_community(store: Store, req: dict[str, Any], signer: str, seq: int) -> Effects:
    require_signer(req["member"], signer)
    if store.membership(req["community"], req["member"]) is None:
        raise MembershipError(f"{req['member']} is not a member of {req['community']}")
    return {}


def apply_leave_community(
    store: Store, req: dict[str, Any], fx: Effects, signer: str, seq: int, time: str
) -> None:
    store.delete_member(req["community"], req["member"])
