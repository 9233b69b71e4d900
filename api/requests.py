"""The API's request bodies, generated from the request declarations (`registry.messages`).

Every signed write is `{"message": {...EIP-712 fields...}, "signature": "0x..."}`; the
message model of each request type lists its fields in the EIP-712 order, with the kinds'
JSON Schema constraints, and refuses extra fields and strings posing as numbers. The
registry then checks everything again and decides: these models only give clients a
precise schema and field-located 422s.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from registry.messages import MESSAGES, Message
from registry.messages.declaration import REQUIRED
from registry.messages.declaration import Field as MessageField

SIGNATURE = Annotated[
    str,
    Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte EIP-712 signature r||s||v, low s"),
]
_PYTHON_TYPES = {"integer": int, "string": str, "boolean": bool}
_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
}
_STRICT = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ActivityRecord(BaseModel):
    """A committed activity record of a SubmitActivities batch (checked again by the
    registry): who earns, under which methodology and region, and the commitment to the
    activity's details."""

    model_config = _STRICT

    account: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
    methodology: Annotated[str, Field(pattern=r"^[A-Z0-9_]{1,40}$")]
    version: Annotated[str, Field(pattern=r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$")]
    region: Annotated[str, Field(pattern=r"^[0-9]{6}$|^CN$", description="GB/T 2260 code")]
    commitment: Annotated[
        str,
        Field(
            pattern=r"^0x[0-9a-fA-F]{64}$",
            description="0x SHA-256(salt || RFC 8785 bytes of the activity's details)",
        ),
    ]


class ActivityDetail(BaseModel):
    """One activity's details, sent beside the batch and never logged: sealed in the vault
    under the person's key, erasable."""

    model_config = _STRICT

    salt: Annotated[
        str,
        Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 fresh random bytes, 0x hex"),
    ]
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    start: Annotated[int, Field(ge=0, le=2**40, description="Unix seconds (UTC)")]
    end: Annotated[int, Field(ge=0, le=2**40, description="Unix seconds (UTC)")]
    quantities: dict[str, Annotated[int, Field(ge=0, le=2**53 - 1)]] = Field(
        min_length=1, max_length=16
    )


class PrivateValue(BaseModel):
    """Personal data sent beside a request, never logged: the request commits to
    SHA-256(salt || UTF-8 value); the registry seals the value in its erasable vault."""

    model_config = _STRICT

    salt: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$", description="32 random bytes, hex")]
    value: Annotated[str, Field(min_length=1, max_length=500)]


def _annotation(field: MessageField) -> Any:
    schema = field.kind.schema
    constraints = {_CONSTRAINTS[k]: v for k, v in schema.items() if k in _CONSTRAINTS}
    base: Any = _PYTHON_TYPES[schema["type"]]
    if "enum" in schema:
        base = Literal[tuple(schema["enum"])]
    info = Field(
        description=field.doc,
        examples=[field.kind.example],
        alias=field.name,
        **constraints,
    )
    return Annotated[base, info]


def message_model(message: Message) -> type[BaseModel]:
    """The model of `message`'s fields, in the EIP-712 order (`from` is `from_` in Python)."""
    fields: dict[str, Any] = {}
    for field in message.all_fields:
        python_name = f"{field.name}_" if field.name == "from" else field.name
        fields[python_name] = (_annotation(field), ...)
    if message.attached is not None:
        attached = message.attached
        if attached.name == "records":
            item: Any = ActivityRecord
        else:
            item = Annotated[str, Field(pattern=attached.schema["items"]["pattern"])]
        fields[attached.name] = (
            list[item],
            Field(min_length=attached.schema["minItems"], max_length=attached.schema["maxItems"]),
        )
    return create_model(f"{message.name}Message", __config__=_STRICT, __doc__=message.doc, **fields)


def request_model(message: Message) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "message": (message_model(message), ...),
        "signature": (SIGNATURE, ...),
    }
    for private in message.private:
        fields[private.name] = (PrivateValue | None, Field(None, description=private.doc))
    if message.attached is not None and message.attached.name == "records":
        fields["details"] = (
            list[ActivityDetail],
            Field(
                min_length=1,
                max_length=message.attached.schema["maxItems"],
                description="Each record's activity details with their salt, in record order;"
                " kept apart from the log (erasable), each must give its record's commitment.",
            ),
        )
    return create_model(
        f"{message.name}Request",
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=f"A signed {message.name} request: {message.doc}",
        **fields,
    )


def example_message(message: Message) -> dict[str, Any]:
    """A complete example message of `message`: every field with its kind's example."""
    return {
        f.name: f.default if f.default is not REQUIRED else f.kind.example
        for f in message.all_fields
    }


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    name: request_model(message) for name, message in MESSAGES.items() if message.route
}
