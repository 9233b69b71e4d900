"""Proof of reserve for exchanges: tokens on chain against grams locked in the log.

The log's figures come from the registry's tables, which every applied event updates, so
an answer costs a few indexed queries and one `totalSupply` call per class whatever the
log's length; it is computed once per (log size, chain block). An exchange that does not
trust the registry runs the same comparison from the anchored log itself:
`carbon-registry verify-reserve` (or the light verifier).
"""

from __future__ import annotations

import threading

from fastapi import APIRouter

from api.deps import ServiceDep
from api.errors import ApiError
from api.routes import problem_responses
from api.schemas import ClassReserveModel, ReserveModel
from bridge.reserve import ReserveReport, check_state_reserve
from registry.storage.bridge import BridgeCursor

router = APIRouter(prefix="/v1/reserve", tags=["tokens"], responses=problem_responses())

EXAMPLE = {
    "token_contract": "0x8464135c8F25Da09e49BC8782676a84730C318bC",
    "chain_id": 131277322940537,
    "log_size": 91,
    "block": 57,
    "ok": True,
    "problems": [],
    "classes": [
        {
            "asset_class": "BJ_METRO-1.0-2026-110000",
            "token_id": "5405206335553213410453545093546010484112530346047069389391373812426812436211",
            "locked_in_log": 750,
            "unminted_locks": 0,
            "mints_not_in_log": 0,
            "burns_not_in_log": 0,
            "expected_supply": 750,
            "total_supply": 750,
            "ok": True,
        }
    ],
}

_cache: dict[tuple[str, int, int], ReserveReport] = {}
_cache_lock = threading.Lock()


@router.get(
    "",
    response_model=ReserveModel,
    summary="Proof of reserve: per asset class, grams locked in the log = token supply",
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}}},
)
def get_reserve(service: ServiceDep) -> ReserveModel:
    """Per class: locked grams, less locks neither minted nor released, plus mints and less
    burns not recorded yet, against `totalSupply` of its token at the chain's newest block;
    `problems` also names any lock minted twice or after its release."""
    runtime = service.anchoring
    token = runtime.token if runtime is not None else None
    if runtime is None or token is None:
        raise ApiError(
            "no_token_contract", "the bridge runs with the anchoring worker, which is off"
        )
    store = service.reader().store
    key = (token.address, store.event_count(), token.chain.head())
    with _cache_lock:
        report = _cache.get(key)
    if report is None:
        report = check_state_reserve(store, BridgeCursor(store.conn), token)
        with _cache_lock:
            _cache.clear()  # only the newest state is asked for again
            _cache[key] = report
    classes = [
        ClassReserveModel(
            asset_class=c.asset_class,
            token_id=str(c.token_id),
            locked_in_log=c.locked_in_log,
            unminted_locks=c.unminted_locks,
            mints_not_in_log=c.mints_not_in_log,
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
        log_size=report.log_size,
        block=report.block,
        ok=report.ok,
        problems=report.problems,
        classes=classes,
    )
