"""Sign-in for personal reads: an EIP-712 `SignIn` message in, a stateless session token out.

A person, a household, a platform or the operator proves control of an account by signing

    SignIn(address account,string audience,uint64 issuedAt,uint64 expiry,uint256 nonce)

in the registry's own EIP-712 domain (`GET /v1/eip712`), the typed-data form of EIP-4361
("Sign-In with Ethereum"): `audience` is the registry's log id, `issuedAt` and `expiry` are
Unix seconds, at most `MAX_SESSION_S` apart, and `nonce` is random. `POST /v1/sessions`
checks it and answers a token

    v1.<account>.<expiry>.<hex HMAC-SHA256(secret, "carbon-registry-session/v1|<log id>|<account>|<expiry>")>

that the caller sends as `Authorization: Bearer <token>` until `expiry`. The message's nonce
is taken once (kept in the database until the message expires, so that a captured message
cannot sign in again at any node); nothing else is stored: the token is checked against the
server's secret (`CARBON_REGISTRY_SESSION_SECRET`; else `serve` keeps one in the registry's
file `DB.session-secret`, so that every node of one registry, and a restarted one, checks
the tokens of the others; a service made without either draws a random one, which a
restart forgets). A SignIn request is never logged and is no write: it is not in the
catalogue of signed requests (`registry.messages`).

A browser wallet may sign in with the text form instead, an EIP-4361 message signed with
`personal_sign` (EIP-191), which wallets show to the person as a sign-in: `sign_in_siwe`
checks its domain (the host of the registry's configured public URL,
`CARBON_REGISTRY_PUBLIC_URL`, never the request's Host header), URI, version, chain id (the
registry's), nonce, issued-at and expiration time, and answers the same token. Its nonce is
chosen by the page; each one is accepted once until its message expires, kept in the
database (`api_sign_in_nonces`, pruned as they expire), so a message read off a screen cannot
be replayed, to this node, to another node of the registry, or after a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from api.errors import ApiError
from registry.eip712 import Domain, StructType, checksum_address, keccak, recover_signer

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
    "nonce": "A random number, accepted once (until the message expires): a message signs in once.",
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
    nonces: NonceLedger,
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
    expiry = message["expiry"]
    _check_window(message["issuedAt"], expiry, now, ("issuedAt", "expiry"))
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
    # Last: a refused message spends no nonce. The prefix keeps apart the text form's nonces.
    if not nonces.take(f"eip712:{message['nonce']}", expiry, now):
        raise ApiError(
            "sign_in_nonce_used",
            f"the nonce {message['nonce']} signed in already: sign a new message",
        )
    return Session(account, expiry)


# -- EIP-4361 "Sign-In with Ethereum", the text form -----------------------------------------

_SIWE = re.compile(
    r"^(?P<domain>[^\s/]{1,255}) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n\n"
    r"(?:(?P<statement>[^\n]{1,500})\n\n)?"
    r"URI: (?P<uri>[^\s]{1,500})\n"
    r"Version: (?P<version>[0-9]{1,3})\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,20})\n"
    r"Nonce: (?P<nonce>[0-9A-Za-z]{8,64})\n"
    r"Issued At: (?P<issued_at>[0-9TZ:.+-]{20,40})"
    r"(?:\nExpiration Time: (?P<expiration>[0-9TZ:.+-]{20,40}))?"
    r"(?:\nNot Before: (?P<not_before>[0-9TZ:.+-]{20,40}))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]{0,200}))?"
    r"(?:\nResources:(?P<resources>(?:\n- [^\s]{1,500}){0,20}))?$"
)
SIWE_MAX_CHARS = 4_000


def siwe_message(
    domain: str, address: str, uri: str, chain_id: int, nonce: str, issued: int, expiry: int
) -> str:
    """An EIP-4361 message as the /me page builds it (tests and clients use this too)."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n"
        f"{SIWE_STATEMENT}\n\nURI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\n"
        f"Issued At: {_rfc3339(issued)}\nExpiration Time: {_rfc3339(expiry)}"
    )


SIWE_STATEMENT = "登录碳账户，只读个人数据。Sign in to read my carbon account."


def _rfc3339(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix(text: str, field: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError("sign_in_malformed", f"{field} {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ApiError("sign_in_malformed", f"{field} {text!r} has no time zone")
    return int(moment.timestamp())


def personal_digest(text: str) -> bytes:
    """EIP-191 version 0x45: what `personal_sign` signs."""
    data = text.encode("utf-8")
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


class NonceLedger(Protocol):
    """Where the SIWE nonces that signed in are kept until their message expires
    (`registry.storage.service.SignInNonceTable`: in the database, shared by every node)."""

    def take(self, nonce: str, expires_at: int, now: float) -> bool:
        """Record the nonce; False when it signed in already and its message has not expired."""
        ...


def sign_in_siwe(
    text: str,
    signature: str,
    *,
    host: str,
    chain_id: int,
    nonces: NonceLedger,
    account_exists: Callable[[str], bool],
    now: float | None = None,
) -> Session:
    """Check an EIP-4361 message signed with personal_sign; every field is checked."""
    now = time.time() if now is None else now
    if len(text) > SIWE_MAX_CHARS:
        raise ApiError("sign_in_malformed", f"the message is over {SIWE_MAX_CHARS} characters")
    match = _SIWE.fullmatch(text)
    if match is None:
        raise ApiError(
            "sign_in_malformed",
            "the message is not an EIP-4361 sign-in (domain line, address, URI, Version,"
            " Chain ID, Nonce of 8+ letters and digits, Issued At, Expiration Time)",
        )
    f = match.groupdict()
    if f["domain"] != host:
        raise ApiError(
            "sign_in_wrong_audience",
            f"the message signs in to {f['domain']!r}; this registry is served at {host!r}",
        )
    if not (f["uri"].startswith((f"https://{host}/", f"http://{host}/")) or
            f["uri"] in (f"https://{host}", f"http://{host}")):  # fmt: skip
        raise ApiError("sign_in_wrong_audience", f"URI {f['uri']!r} is not on {host!r}")
    if f["version"] != "1":
        raise ApiError("sign_in_malformed", f"Version {f['version']} is not 1")
    if int(f["chain_id"]) != chain_id:
        raise ApiError(
            "sign_in_wrong_audience",
            f"Chain ID {f['chain_id']} is not this registry's chain {chain_id}",
        )
    address = f["address"]
    if checksum_address(address[2:].lower()) != address:
        raise ApiError("sign_in_malformed", f"{address} is not an EIP-55 checksummed address")
    if f["expiration"] is None:
        raise ApiError("sign_in_validity", "the message needs an Expiration Time")
    issued = _unix(f["issued_at"], "Issued At")
    expiry = _unix(f["expiration"], "Expiration Time")
    not_before = None if f["not_before"] is None else _unix(f["not_before"], "Not Before")
    _check_window(issued, expiry, now, ("Issued At", "Expiration Time"), not_before)
    recovered = recover_signer(personal_digest(text), signature)  # bad_signature
    if recovered != address:
        raise ApiError(
            "sign_in_wrong_signer",
            f"the signature recovers to {recovered}, not {address}: sign the message"
            " with personal_sign and the account's key",
            expected=address,
            recovered=recovered,
        )
    if not account_exists(address):
        raise ApiError("sign_in_unknown_account", f"no account {address} in this registry")
    if not nonces.take(f["nonce"], expiry, now):  # last: a refused message spends no nonce
        raise ApiError(
            "sign_in_nonce_used", f"the nonce {f['nonce']} signed in already: sign a new message"
        )
    return Session(address, expiry)


def _check_window(
    issued: int, expiry: int, now: float, names: tuple[str, str], not_before: int | None = None
) -> None:
    """A sign-in message's validity window, checked in this order (the first that fails is
    the error): its length, its start (and Not Before) not ahead of now, its end not past.
    `names` are the two fields as the message calls them."""
    issued_name, expiry_name = names
    if not 0 < expiry - issued <= MAX_SESSION_S:
        raise ApiError(
            "sign_in_validity",
            f"{expiry_name} - {issued_name} is {expiry - issued} s; it must be 1 to"
            f" {MAX_SESSION_S} s",
        )
    if issued > now + CLOCK_SKEW_S:
        raise ApiError("sign_in_not_yet_valid", f"{issued_name} {issued} is after now ({int(now)})")
    if not_before is not None and not_before > now + CLOCK_SKEW_S:
        raise ApiError("sign_in_not_yet_valid", "the message's Not Before is still ahead")
    if expiry <= now:
        raise ApiError(
            "sign_in_expired", f"the message expired at {expiry}; now is {int(now)}", expiry=expiry
        )
