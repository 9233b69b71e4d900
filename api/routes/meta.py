"""The registry itself: identity and EIP-712 domain, the chain, problem types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api import examples as ex
from api.deps import ServiceDep
from api.errors import PROBLEMS, ApiError
from api.routes import problem_responses
from api.schemas import (
    Anchoring,
    ChainInfo,
    Eip712Domain,
    Eip712Types,
    Health,
    LoopState,
    ProblemType,
    RegistryInfo,
    TrustInfo,
)
from api.sessions import SIGN_IN
from api.sessions import describe as describe_sign_in
from registry.eip712 import DOMAIN_TYPE, contract_address_of
from registry.messages.catalog import MESSAGES

router = APIRouter(prefix="/v1", tags=["registry"], responses=problem_responses())
metrics_router = APIRouter(tags=["operations"], responses=problem_responses())

LINKS = {
    "docs": "/docs",
    "openapi": "/openapi.json",
    "accounts": "/v1/accounts",
    "asset_classes": "/v1/asset-classes",
    "batches": "/v1/batches",
    "transfers": "/v1/transfers",
    "retirements": "/v1/retirements",
    "events": "/v1/events",
    "event_stream": "/v1/events/stream",
    "checkpoints": "/v1/checkpoints",
    "anchors": "/v1/anchors",
    "chain": "/v1/chain",
    "methodologies": "/v1/methodologies",
    "activity_batches": "/v1/activity-batches",
    "claims": "/v1/claims",
    "attestations": "/v1/attestations",
    "issuance_runs": "/v1/issuance-runs",
    "problems": "/v1/problems",
    "health": "/v1/health",
    "trust": "/v1/trust",
    "eip712": "/v1/eip712",
    "sessions": "/v1/sessions",
}


@router.get(
    "",
    response_model=RegistryInfo,
    summary="The registry: log id, operator and the EIP-712 domain to sign requests in",
    responses=ex.ok(
        {
            "log_id": "carbon-registry.demo/shenzhen-pilot",
            "operator": ex.OPERATOR,
            "domain": {
                "name": "CarbonRegistry",
                "version": "1",
                "chainId": 131277322940537,
                "verifyingContract": ex.CONTRACT,
            },
            "range_rule": 2,
            "events": 44,
            "links": {"docs": "/docs"},
        }
    ),
)
def registry_info(service: ServiceDep) -> RegistryInfo:
    store = service.reader().store
    return RegistryInfo(
        log_id=service.log_id,
        operator=service.operator,
        domain=Eip712Domain.model_validate(service.domain.as_dict()),
        range_rule=store.range_rule,
        events=store.event_count(),
        links=LINKS,
    )


@router.get(
    "/eip712",
    response_model=Eip712Types,
    summary="EIP-712 domain and types of every signed request, for wallets (ethers, viem)",
    description="Sign `{domain, types: {EIP712Domain, <primaryType>}, primaryType, message}`"
    " with `eth_signTypedData_v4` (ethers `signTypedData(domain, {T: types[T]}, message)`) and"
    " POST `{message, signature}` to the request's route. Fields are signed in the order"
    " listed; `uint` fields are JSON integers; addresses are checksummed (EIP-55). `SignIn`"
    " (in `types`, described under `sign_in`) is no write: POST it to /v1/sessions for a"
    " session token that personal reads need.",
    responses=ex.ok(
        {
            "domain": {
                "name": "CarbonRegistry",
                "version": "1",
                "chainId": 131277322940537,
                "verifyingContract": ex.CONTRACT,
            },
            "types": {"Transfer": [{"name": "from", "type": "address"}]},
            "requests": {"Transfer": {"primaryType": "Transfer", "route": "/v1/transfers"}},
        }
    ),  # fmt: skip
)
def eip712_types(service: ServiceDep) -> Eip712Types:
    types = {"EIP712Domain": DOMAIN_TYPE.eip712_types()}
    types |= {name: message.typed_data_types() for name, message in MESSAGES.items()}
    types[SIGN_IN.name] = SIGN_IN.eip712_types()  # no write request: not in `requests`
    return Eip712Types.model_validate(
        {
            "domain": service.domain.as_dict(),
            "types": types,
            "requests": {name: message.describe() for name, message in MESSAGES.items()},
            "sign_in": describe_sign_in(service.log_id),
        }
    )


@router.get(
    "/chain",
    response_model=ChainInfo,
    summary="The anchoring chain: chain id, contract, RPC URL for verifiers, worker status",
    responses=ex.ok(
        {
            "kind": "embedded",
            "chain_id": 131277322940537,
            "contract": ex.CONTRACT,
            "rpc_url": "http://127.0.0.1:8545",
            "anchoring": {"running": True, "latest_confirmed_size": 64, "error": None},
            "verify_command": "carbon-registry verify bundle.json --rpc http://127.0.0.1:8545",
        }
    ),
)
def chain_info(service: ServiceDep) -> ChainInfo:
    status = service.chain_status()
    latest = service.reader().checkpoints.latest_confirmed()
    command = (
        f"carbon-registry verify BUNDLE.json --rpc {status.rpc_url}" if status.rpc_url else None
    )
    return ChainInfo(
        kind=status.kind,  # type: ignore[arg-type]
        chain_id=service.domain.chain_id,
        contract=service.domain.verifying_contract,
        rpc_url=status.rpc_url,
        anchoring=Anchoring(
            running=status.running,
            latest_confirmed_size=latest.tree_size if latest else 0,
            error=status.error,
        ),
        verify_command=command,
    )


@router.get(
    "/trust",
    response_model=TrustInfo,
    summary="The trust anchor: log id, chain id, contract and signers a verifier pins",
    description="Save it as trust.json and pass it to a verifier (`carbon-verify bundle "
    "B.json --rpc URL --trust trust.json`): a bundle of another log, chain, contract or signer "
    "then fails. The same file is published in the README of a deployment.",
    responses=ex.ok(
        {
            "log_id": "carbon-registry.demo/shenzhen-pilot",
            "chain_id": 131277322940537,
            "contract": ex.CONTRACT,
            "signers": [ex.OPERATOR],
            "token": ex.CONTRACT,
            "note": "pin this file when verifying bundles of this registry",
        }
    ),
)
def trust(service: ServiceDep) -> TrustInfo:
    return TrustInfo(
        log_id=service.log_id,
        chain_id=service.domain.chain_id,
        contract=service.domain.verifying_contract,
        signers=service.reader().checkpoints.signers() or [service.operator],
        token=service.settings.token or contract_address_of(service.operator, 1),
        note="pin this file when verifying bundles of this registry (--trust trust.json)",
    )


@router.get(
    "/health",
    response_model=Health,
    summary="Liveness and readiness, with the state of every background loop",
    description="200 when every loop (writer, webhook dispatcher, anchoring worker) runs; 503 "
    "when one is retrying after errors or has stopped, with its last error. The anchoring "
    "worker's `leader` says whether this node anchors (on PostgreSQL one node leads, the others "
    "stand by and are ready).",
    responses=ex.ok(
        {
            "live": True,
            "ready": True,
            "loops": {
                "writer": {
                    "state": "running",
                    "consecutive_failures": 0,
                    "last_error": None,
                    "last_error_at": None,
                    "last_ok_at": 1_795_000_000.0,
                    "retry_at": None,
                    "leader": None,
                },
                "anchoring": {
                    "state": "running",
                    "consecutive_failures": 0,
                    "last_error": None,
                    "last_error_at": None,
                    "last_ok_at": 1_795_000_000.0,
                    "retry_at": None,
                    "leader": True,
                },
            },
        }
    ),
)
def health(service: ServiceDep) -> JSONResponse:
    loops = {h.name: LoopState.model_validate(h.as_dict()) for h in service.loops()}
    ready = all(loop.state == "running" for loop in loops.values())
    body = Health(live=True, ready=ready, loops=loops)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@metrics_router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics: writes, group commits, queue, anchoring lag, chain, webhooks",
    responses={200: {"content": {"text/plain": {"example": "carbon_registry_events 44.0\n"}}}},
)
def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/problems",
    response_model=list[ProblemType],
    summary="Every problem code with its HTTP status",
    responses=ex.ok(
        [
            {
                "code": "insufficient_balance",
                "status": 409,
                "title": "Fewer active grams than requested",
            }
        ]
    ),
)
def problem_types() -> list[ProblemType]:
    return [ProblemType(code=c, status=s, title=t) for c, (s, t) in PROBLEMS.items()]


@router.get(
    "/problems/{code}",
    response_model=ProblemType,
    summary="One problem code: what it means and its HTTP status",
    responses=ex.ok(
        {"code": "nonce_replayed", "status": 409, "title": "This signed request was already used"}
    ),
)
def problem_type(code: Annotated[str, Path(max_length=64)]) -> ProblemType:
    if code not in PROBLEMS:
        raise ApiError("not_found", f"no problem type {code!r}")
    status, title = PROBLEMS[code]
    return ProblemType(code=code, status=status, title=title)
