"""One declaration per signed request: its fields, who signs it, where it is sent.

Like a regen-ledger `Msg` type (fields and `ValidateBasic` in one file), a `Message` holds
everything the layers need, declared once: the EIP-712 struct (`struct`), the validation
that returns the one canonical form (`normalise`), the API's JSON Schema and route, the
client's and the command line's fields, and the typed data wallets sign
(`GET /v1/eip712`). Handlers (what a request does to the ledger) are in
`registry.handlers`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.commitments import commitment, new_salt
from registry.eip712 import StructType
from registry.errors import ValidationError
from registry.messages.fields import EXPIRY, NONCE, Kind


class Default:
    """A default the client and the command line compute: the signer's address, a new id."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return self.description


REQUIRED: Any = Default("required")  # the client and the command line must give it
SIGNER = Default("the signer's address")
GENERATED = Default("a new unique id")


@dataclass(frozen=True)
class Field:
    """One field of a request. `cli` is the command-line option (default `--kebab-name`;
    "" for none); `from_signer` fills it with the signer's address on the command line and
    in the client; `default` applies there too."""

    name: str
    kind: Kind
    doc: str
    default: Any = REQUIRED
    cli: str | None = None
    from_signer: bool = False

    @property
    def option(self) -> str:
        if self.cli is not None:
            return self.cli
        kebab = "".join(f"-{c.lower()}" if c.isupper() else c for c in self.name)
        return f"--{kebab}"


def utf8_text(value: Any, field: str) -> bytes:
    """The bytes a committed text is: its UTF-8 (a name, a pseudonym)."""
    from registry.messages.fields import text

    return text(value, field).encode("utf-8")


@dataclass(frozen=True)
class PrivateField:
    """Personal data sent beside a request, never logged: the request logs `commits`, the
    commitment to it (`registry.commitments`); the registry seals the data in its vault,
    under the key of the person the field `subject` names. `data` checks a value and gives
    the bytes committed to and sealed (UTF-8 text unless declared otherwise); `decides`
    marks a value the request's decision needs (it reaches the handler beside the request,
    and a non-zero commitment without it is refused)."""

    name: str
    commits: str
    doc: str
    subject: str
    data: Callable[[Any, str], bytes] = utf8_text
    decides: bool = False


@dataclass(frozen=True)
class Attached:
    """A list that travels beside the struct (activity records, claim ids): the struct
    signs its length and hash, so it stays atomic-typed."""

    name: str
    normalise: Callable[[Any], list[Any]]
    count_field: str
    hash_field: str
    digest: Callable[[list[Any]], str]
    schema: dict[str, Any]


TAIL = (
    Field("nonce", NONCE, "A number the signer uses once (replays are refused)."),
    Field("expiry", EXPIRY, "Unix seconds after which the signed request is refused."),
)


@dataclass(frozen=True)
class Message:
    """A signed request type.

    `signer` names who must sign: a field of the request (its value is the signer's
    address), or a role the signer must hold (`role:operator`). `rules` check what single
    fields cannot (two accounts that must differ). `route` is the API path it is POSTed to;
    `operator_key` whether that route also needs X-Operator-Key.
    """

    name: str
    event: str
    doc: str
    fields: tuple[Field, ...]
    signer: str
    route: str
    operator_key: bool = False
    rules: tuple[Callable[[dict[str, Any]], None], ...] = ()
    attached: Attached | None = None
    # Earlier declarations of this request type: events logged under them replay with them
    # (a changed request is a new declaration; what was logged stays as it was signed).
    legacy: tuple[Message, ...] = ()
    private: tuple[PrivateField, ...] = ()
    # Fields of an earlier form that a new request may no longer carry, each with the error
    # that names the new way (the earlier form still replays, as a legacy declaration).
    superseded: Mapping[str, str] = field(default_factory=dict)
    # Fields a new request must carry that an earlier form did not, each with the error
    # that names the new way when a request leaves it out.
    introduced: Mapping[str, str] = field(default_factory=dict)
    struct: StructType = field(init=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.all_fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name} declares a field twice")
        struct = StructType(self.name, tuple((f.name, f.kind.sol_type) for f in self.all_fields))
        object.__setattr__(self, "struct", struct)

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return (*self.fields, *TAIL)

    @property
    def signed_by_field(self) -> str | None:
        return None if self.signer.startswith("role:") else self.signer

    @property
    def role(self) -> str | None:
        return self.signer.removeprefix("role:") if self.signer.startswith("role:") else None

    def normalise(self, message: Any) -> dict[str, Any]:
        """Check every field; returns the canonical form (the same request always gives the
        same digest and the same event bytes)."""
        if not isinstance(message, Mapping):
            raise ValidationError(f"{self.name} request must be an object")
        for name, error in self.superseded.items():
            if name in message:
                raise ValidationError(error)
        for name, error in self.introduced.items():
            if name not in message:
                raise ValidationError(error)
        expected = {f.name for f in self.all_fields}
        if self.attached is not None:
            expected.add(self.attached.name)
        extra, missing = set(message) - expected, expected - set(message)
        if extra or missing:
            raise ValidationError(
                f"{self.name} request fields: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        out = {f.name: f.kind.check(message[f.name], f.name) for f in self.all_fields}
        if self.attached is not None:
            attached = self.attached
            items = attached.normalise(message[attached.name])
            if out[attached.count_field] != len(items):
                raise ValidationError(
                    f"{attached.count_field} is {out[attached.count_field]},"
                    f" {attached.name} hold {len(items)}"
                )
            if attached.digest(items) != out[attached.hash_field]:
                raise ValidationError(
                    f"{attached.hash_field} is not the SHA-256 of the {attached.name}'"
                    " RFC 8785 bytes"
                )
            out[attached.name] = items
        for rule in self.rules:
            rule(out)
        return out

    def fill(
        self, signer: str, given: Mapping[str, Any], personal: Mapping[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, tuple[bytes, str]]]:
        """The request's fields (without nonce and expiry) from what a client or the command
        line gives: signer-filled fields, defaults, generated ids; and the personal data to
        send beside it, each committed to with a fresh salt. Returns (fields, personal)."""
        fields: dict[str, Any] = {}
        for f in self.fields:
            if f.from_signer:
                fields[f.name] = signer
            elif given.get(f.name) is not None:
                fields[f.name] = given[f.name]
            elif f.default is SIGNER:
                fields[f.name] = signer
            elif f.default is GENERATED:
                fields[f.name] = f"{self.name.lower()}-{uuid.uuid4().hex[:12]}"
            elif f.default is REQUIRED:
                raise ValidationError(f"{self.name} needs {f.name}")
            else:
                fields[f.name] = f.default
        sealed: dict[str, tuple[bytes, str]] = {}
        for p in self.private:
            value = (personal or {}).get(p.name)
            if value:
                salt = new_salt()
                fields[p.commits] = commitment(salt, p.data(value, p.name))
                sealed[p.name] = (salt, value)
        if self.attached is not None and self.attached.name in given:
            fields[self.attached.name] = given[self.attached.name]
        return fields, sealed

    def for_logged(self, request: Mapping[str, Any]) -> Message:
        """The declaration a logged request was made under: this one, or a legacy one with
        exactly the request's fields."""
        for declared in (self, *self.legacy):
            names = {f.name for f in declared.all_fields}
            if declared.attached is not None:
                names.add(declared.attached.name)
            if names == set(request):
                return declared
        return self

    def typed_data_types(self) -> list[dict[str, str]]:
        """The struct's fields as `eth_signTypedData_v4` lists them."""
        return self.struct.eip712_types()

    def describe(self) -> dict[str, Any]:
        """Everything a client needs to build and send this request (`GET /v1/eip712`)."""
        return {
            "primaryType": self.name,
            "event": self.event,
            "doc": self.doc,
            "route": self.route,
            "signer": self.signer,
            "operator_key": self.operator_key,
            "fields": [
                {
                    "name": f.name,
                    "type": f.kind.sol_type,
                    "doc": f.doc,
                    "schema": f.kind.schema,
                    **(
                        {}
                        if f.default is REQUIRED
                        else {
                            "default": repr(f.default)
                            if isinstance(f.default, Default)
                            else f.default
                        }
                    ),
                }
                for f in self.all_fields
            ],
            **(
                {
                    "attached": {
                        "name": self.attached.name,
                        "count_field": self.attached.count_field,
                        "hash_field": self.attached.hash_field,
                        "schema": self.attached.schema,
                    }
                }
                if self.attached
                else {}
            ),
        }


def different(first: str, second: str, what: str) -> Callable[[dict[str, Any]], None]:
    def rule(message: dict[str, Any]) -> None:
        if message[first] == message[second]:
            raise ValidationError(what)

    return rule


def not_zero(name: str, what: str) -> Callable[[dict[str, Any]], None]:
    from registry.messages.fields import ZERO_ADDRESS

    def rule(message: dict[str, Any]) -> None:
        if message[name] == ZERO_ADDRESS:
            raise ValidationError(what)

    return rule
