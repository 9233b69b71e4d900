"""Sign-in for personal reads: an EIP-712 `SignIn` message in, a stateless session token out.

A person, a household, a platform or the operator proves control of an account by signing

    SignIn(address account,string audience,uint64 issuedAt,uint64 expiry,uint256 nonce)

in the registry's own EIP-712 domain (`GET /v1/eip712`), the typed-data form of EIP-4361
("Sign-In with Ethereum"): `audience` is the registry's log id, `issuedAt` and `expiry` are
Unix seconds, at most `MAX_SESSION_S` apart, and `nonce` is random. `POST /v1/sessions`
checks it and answers a token

    v1.<account>.<expiry>.<hex HMAC-SHA256(secret, "carbon-registry-session/v1|<log id>|<account>|<expiry>")>

that the caller sends as `Authorization: Bearer <token>` until `expiry`. Nothing is stored:
the token is checked against the server's secret (`CARBON_REGISTRY_SESSION_SECRET`, else a
random one drawn at start-up, so a restart ends every session). A SignIn request is never
logged and is no write: it is not in the catalogue of signed requests (`registry.messages`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from registry.eip712 import Domain, StructType, recover_signer

SIGN_IN = StructType(
    "SignIn",
    (
        ("account", "address"),
        ("audience", "string"),
        ("issuedAt", "uint64"),
        ("expiry", "uint64"),
        ("nonce", "uint256"),
    ),
)
MAX_SESSION_S = 3600  # a sign-in gives a session of at most an hour
CLOCK_SKEW_S = 60  # an issuedAt this far ahead of the server's clock is still accepted
TOKEN_VERSION = "v1"
_TOKEN = re.compile(r"^v1\.(0x[0-9a-fA-F]{40})\.([0-9]{1,16})\.([0-9a-f]{64})$")

FIELD_DOCS = {
    "account": "The account signing in (its key signs the message).",
    "audience": "The registry's log id (`GET /v1`): a sign-in for another registry is refused.",
    "issuedAt": "Unix seconds when the message was made (not in the future).",
    "expiry": f"Unix seconds when the session ends: after issuedAt, at most {MAX_SESSION_S} s.",
    "nonce": "A random number, so that no two sign-ins look alike.",
}


def describe(log_id: str) -> dict[str, Any]:
    """What `GET /v1/eip712` publishes about SignIn beside the write requests."""
    return {
        "primaryType": SIGN_IN.name,
        "route": "/v1/sessions",
        "audience": log_id,
        "max_session_s": MAX_SESSION_S,
        "fields": [
            {"name": name, "type": sol_type, "doc": FIELD_DOCS[name]}
            for name, sol_type in SIGN_IN.fields
        ],
        "token": "send the answer's token as `Authorization: Bearer <token>` on reads",
    }


@dataclass(frozen=True)
class Session:
    account: str
    expiry: int


class SessionKeys:
    """Issues and checks the tokens of one service (one secret, one log id)."""

    def __init__(self, secret: bytes | None, log_id: str) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.log_id = log_id

    def _mac(self, account: str, expiry: int) -> str:
        text = f"carbon-registry-session/{TOKEN_VERSION}|{self.log_id}|{account}|{expiry}"
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, account: str, expiry: int) -> str:
        return f"{TOKEN_VERSION}.{account}.{expiry}.{self._mac(account, expiry)}"

    def check(self, token: str, now: float | None = None) -> Session:
        """The session a token stands for; refuses a malformed, forged or expired one."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ApiError("session_invalid", "the bearer token is not a session token")
        account, expiry_text, mac = match.groups()
        expiry = int(expiry_text)
        if not hmac.compare_digest(mac, self._mac(account, expiry)):
            raise ApiError(
                "session_invalid",
                "the session token was not issued by this service (or it restarted"
                " without CARBON_REGISTRY_SESSION_SECRET): sign in again",
            )
        now = time.time() if now is None else now
        if expiry <= now:
            raise ApiError("session_expired", f"the session ended at {expiry}: sign in again")
        return Session(account, expiry)


def sign_in(
    domain: Domain,
    keys: SessionKeys,
    message: dict[str, Any],
    signature: str,
    account_exists: Callable[[str], bool],
    now: float | None = None,
) -> Session:
    """Check a signed SignIn message (`message` validated by the route's model)."""
    now = time.time() if now is None else now
    account = message["account"]
    if message["audience"] != keys.log_id:
        raise ApiError(
            "sign_in_wrong_audience",
            f"the message signs in to {message['audience']!r}; this registry is {keys.log_id!r}",
        )
    issued, expiry = message["issuedAt"], message["expiry"]
    if not 0 < expiry - issued <= MAX_SESSION_S:
        raise ApiError(
            "sign_in_validity",
            f"expiry - issuedAt is {expiry - issued} s; it must be 1 to {MAX_SESSION_S} s",
        )
    if issued > now + CLOCK_SKEW_S:
        raise ApiError("sign_in_not_yet_valid", f"issuedAt {issued} is after now ({int(now)})")
    if expiry <= now:
        raise ApiError(
            "sign_in_expired", f"the message expired at {expiry}; now is {int(now)}", expiry=expiry
        )
    recovered = recover_signer(domain.digest(SIGN_IN, message), signature)  # bad_signature
    if recovered != account:
        raise ApiError(
            "sign_in_wrong_signer",
            f"the signature recovers to {recovered}, not {account}: sign with the account's"
            " key in this registry's domain (GET /v1/eip712)",
            expected=account,
            recovered=recovered,
        )
    if not account_exists(account):
        raise ApiError("sign_in_unknown_account", f"no account {account} in this registry")
    return Session(account, expiry)
