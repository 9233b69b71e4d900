"""Proof of reserve for exchanges: tokens on chain against grams locked in the anchored log."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from api.schemas import ClassReserveModel, ReserveModel
from bridge.reserve import check_reserve

router = APIRouter(prefix="/v1/reserve", tags=["tokens"], responses=problem_responses())

EXAMPLE = {
    "token_contract": "0x8464135c8F25Da09e49BC8782676a84730C318bC",
    "chain_id": 131277322940537,
    "tree_size": 91,
    "ok": True,
    "classes": [
        {
            "asset_class": "BJ_METRO-1.0-2026-110000",
            "token_id": "5405206335553213410453545093546010484112530346047069389391373812426812436211",
            "locked_in_log": 750,
            "unminted_locks": 0,
            "burns_not_in_log": 0,
            "expected_supply": 750,
            "total_supply": 750,
            "ok": True,
        }
    ],
}


@router.get(
    "",
    response_model=ReserveModel,
    summary="Proof of reserve: per asset class, locked grams in the anchored log = token supply",
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}}},
)
def get_reserve(service: ServiceDep) -> ReserveModel:
    """Reads the event log up to the latest anchored tree size, checks it against the root
    the anchoring contract holds, and compares each class's locked grams (less locks not
    minted yet and burns not recorded yet) with `totalSupply` of its token on chain."""
    runtime = service.anchoring
    token = runtime.token if runtime is not None else None
    if runtime is None or token is None:
        raise ApiError(
            "no_token_contract", "the bridge runs with the anchoring worker, which is off"
        )
    report = check_reserve(service.reader().store, runtime.chain, token)
    classes = [
        ClassReserveModel(
            asset_class=c.asset_class,
            token_id=str(c.token_id),
            locked_in_log=c.locked_in_log,
            unminted_locks=c.unminted_locks,
            burns_not_in_log=c.burns_not_in_log,
            expected_supply=c.expected_supply,
            total_supply=c.total_supply,
            ok=c.ok,
        )
        for c in report.classes
    ]
    return ReserveModel(
        token_contract=token.address,
        chain_id=runtime.chain.chain_id,
        tree_size=report.tree_size,
        ok=report.ok,
        classes=classes,
    )
