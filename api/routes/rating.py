"""The low-carbon credit rating (低碳信用) of an account, and the score statements its
person chooses to disclose (docs/RATING.md).

Both routes answer only the person's own session. The rating adds up public events (anyone
holding the log and the address could do the same), but the registry serves it to the
person alone: it is theirs to show, as a statement, to whom they choose. A statement is
signed with the key that signs the log's checkpoints, over the rating at the
latest anchored checkpoint; nothing is logged when one is issued.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api import examples as ex
from api.deps import ServiceDep, SignedInDep
from api.errors import ApiError
from api.routes import problem_responses
from api.service import operator_signing_key
from carbon_verifier.rating import FORMULA, STATEMENT_TYPE, statement_digest
from registry import messages
from registry.eip712 import sign_digest
from registry.errors import UnknownAccountError, ValidationError
from registry.rating import account_rating
from registry.times import format_time

router = APIRouter(prefix="/v1/accounts", tags=["rating"], responses=problem_responses())

AddressPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed 20-byte hex address")
]


class RatingInputs(BaseModel):
    verifiedGrams: int = Field(description="Grams of the account's issued, unreversed claims")
    activeMonths: int = Field(description="CST months of the last 12 with a claim issued")
    methodologies: list[str] = Field(description="Methodology ids of those claims")
    retiredGrams: int = Field(description="Grams the account retired")
    reversedClaims: int = Field(description="The account's claims reversed after issuance")


class RatingPoints(BaseModel):
    reductions: int
    regularity: int
    diversity: int
    retirements: int
    reversalPenalty: int


class RatingMonth(BaseModel):
    month: str = Field(description="CST month, YYYY-MM")
    score: int = Field(description="The score as of the end of the month (so far, the last)")


class Rating(BaseModel):
    account: str
    formula: str
    asOf: str = Field(description="Time of the last event of the log prefix rated")
    treeSize: int = Field(description="Events of the log the rating is computed from")
    score: int = Field(ge=0, le=1000)
    inputs: RatingInputs
    points: RatingPoints
    history: list[RatingMonth]


class RatingStatement(BaseModel):
    type: str
    account: str
    score: int
    formula: str
    inputs: RatingInputs
    asOf: str
    logId: str
    treeSize: int
    rootHash: str
    issuedAt: str


class SignedRatingStatement(BaseModel):
    statement: RatingStatement
    signature: str = Field(
        description="0x r||s||v over keccak256('carbon-registry/rating-statement/1\\n' ||"
        " RFC 8785 statement), by a checkpoint signer of GET /v1/trust"
    )


INPUTS = {
    "verifiedGrams": 61_250,
    "activeMonths": 3,
    "methodologies": ["SZ_TRANSIT"],
    "retiredGrams": 2_000,
    "reversedClaims": 0,
}
RATING = {
    "account": ex.ALICE,
    "formula": FORMULA,
    "asOf": ex.TIME,
    "treeSize": 4_812,
    "score": 255,
    "inputs": INPUTS,
    "points": {
        "reductions": 122,
        "regularity": 75,
        "diversity": 50,
        "retirements": 8,
        "reversalPenalty": 0,
    },
    "history": [{"month": "2026-09", "score": 80}, {"month": "2026-10", "score": 170},
                {"month": "2026-11", "score": 255}],
}  # fmt: skip
STATEMENT = {
    "statement": {
        "type": STATEMENT_TYPE,
        "account": ex.ALICE,
        "score": 255,
        "formula": FORMULA,
        "inputs": INPUTS,
        "asOf": ex.TIME,
        "logId": "carbon-registry.demo/shenzhen-pilot",
        "treeSize": 4_800,
        "rootHash": ex.HASH,
        "issuedAt": "2026-11-23T08:31:02.000Z",
    },
    "signature": ex.SIGNATURE,
}


def _own(service: ServiceDep, caller: SignedInDep, address: str) -> str:
    """The account, if it exists and the session is its own."""
    account = messages.address(address, "address")
    if service.reader().store.account(account) is None:
        raise UnknownAccountError(account)
    if caller.account != account:
        raise ApiError(
            "read_forbidden", f"the rating of {account} is shown only to its own session"
        )
    return account


@router.get(
    "/{address}/rating",
    response_model=Rating,
    summary="The account's low-carbon credit rating: score, inputs, points, monthly history",
    description="Formula `carbon-rating/1` (docs/RATING.md), computed from the whole log as it"
    " stands. Only the account's own session may read it.",
    responses=ex.ok(RATING),
)
def get_rating(service: ServiceDep, caller: SignedInDep, address: AddressPath) -> Rating:
    account = _own(service, caller, address)
    store = service.reader().store
    return Rating.model_validate(account_rating(store, account, store.event_count()))


@router.post(
    "/{address}/rating/statements",
    response_model=SignedRatingStatement,
    summary="A signed score statement, to disclose the rating to a bank or a merchant",
    description="The rating at the latest anchored checkpoint (its tree size and root), signed"
    " with the checkpoint key: `carbon-verify rating STATEMENT.json --trust trust.json [--log"
    " URL]` checks it, and with the log recomputes the score, without the activities. Only"
    " the account's own session may ask for one; nothing is logged.",
    responses=ex.ok(STATEMENT),
)
def create_statement(
    service: ServiceDep, caller: SignedInDep, address: AddressPath
) -> SignedRatingStatement:
    account = _own(service, caller, address)
    reader = service.reader()
    checkpoint = reader.checkpoints.latest_confirmed()
    if checkpoint is None:
        raise ApiError("no_anchored_checkpoint", "no checkpoint is anchored yet")
    try:
        key = operator_signing_key(service.settings)
    except ValidationError as exc:
        raise ApiError("statement_key_unavailable", str(exc)) from exc
    cp = checkpoint.signed.checkpoint
    rating = account_rating(reader.store, account, cp.tree_size)
    statement = {
        "type": STATEMENT_TYPE,
        "account": account,
        "score": rating["score"],
        "formula": rating["formula"],
        "inputs": rating["inputs"],
        "asOf": rating["asOf"],
        "logId": cp.log_id,
        "treeSize": cp.tree_size,
        "rootHash": "0x" + cp.root_hash.hex(),
        "issuedAt": format_time(time.time()),
    }
    signature = sign_digest(bytes.fromhex(key.private_key_hex[2:]), statement_digest(statement))
    return SignedRatingStatement.model_validate({"statement": statement, "signature": signature})
