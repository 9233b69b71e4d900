"""Sign-in: an EIP-712 `SignIn` message for a session token that personal reads need."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter

from api import examples as ex
from api.deps import ServiceDep
from api.routes import problem_responses
from api.schemas import SessionToken, SignInRequest, SiweSignInRequest
from api.sessions import MAX_SESSION_S, sign_in, sign_in_siwe
from registry import messages

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=problem_responses())

SIGN_IN_EXAMPLE = {
    "message": {
        "account": ex.ALICE,
        "audience": "carbon-registry.demo/shenzhen-pilot",
        "issuedAt": 1_795_000_000,
        "expiry": 1_795_003_600,
        "nonce": 4_503_599_627_370_495,
    },
    "signature": "0x" + "ab" * 64 + "1b",
}


@router.post(
    "",
    response_model=SessionToken,
    summary="Sign in (EIP-712 SignIn, or EIP-4361 text): a session token for personal reads",
    description="Sign `SignIn(address account,string audience,uint64 issuedAt,uint64 expiry,"
    "uint256 nonce)` (types and audience in `GET /v1/eip712`, under `sign_in`) in the"
    " registry's domain with the account's key, the typed-data form of EIP-4361. `audience`"
    f" is the log id, `expiry` at most {MAX_SESSION_S} s after `issuedAt` and not past. The"
    " token is valid until `expires_at`; send it as `Authorization: Bearer <token>`. Nothing"
    " is logged; every node of the registry takes a token any of them issued."
    ' Or send `{"siwe": <EIP-4361 message>, "signature": <personal_sign>}`: its domain'
    " must be the Host this request was sent to, its URI on that host, Version 1, Chain ID"
    " the registry's (`GET /v1/eip712`), Nonce 8-64 letters and digits not used before"
    f" (by any node of the registry, until the message expires), Expiration Time at most {MAX_SESSION_S} s"
    " after Issued At.",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"example": SIGN_IN_EXAMPLE}},
        }
    },
    responses=ex.ok(
        {
            "token": "v1." + ex.ALICE + ".1795003600." + "0" * 64,
            "account": ex.ALICE,
            "expires_at": 1_795_003_600,
        }
    ),  # fmt: skip
)
def create_session(service: ServiceDep, body: SignInRequest | SiweSignInRequest) -> SessionToken:
    reader = service.reader()
    store = reader.store
    if isinstance(body, SiweSignInRequest):
        session = sign_in_siwe(
            body.siwe,
            body.signature,
            # The configured public address, never the request's Host header: a phishing
            # site's own domain, sent as Host, would otherwise pass for the registry's.
            host=urlsplit(service.settings.public_url).netloc,
            chain_id=service.domain.chain_id,
            nonces=reader.sign_in_nonces,
            account_exists=lambda account: store.account(account) is not None,
        )
        token = service.sessions.issue(session.account, session.expiry)
        return SessionToken(token=token, account=session.account, expires_at=session.expiry)
    message = body.message.model_dump()
    message["account"] = messages.address(message["account"], "account")
    session = sign_in(
        service.domain,
        service.sessions,
        message,
        body.signature,
        lambda account: store.account(account) is not None,
        reader.sign_in_nonces,
    )
    token = service.sessions.issue(session.account, session.expiry)
    return SessionToken(token=token, account=session.account, expires_at=session.expiry)
