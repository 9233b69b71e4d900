"""The API's request and response bodies (pydantic), apart from how the registry stores them.

Requests: every state change is `{"message": {...EIP-712 fields...}, "signature": "0x..."}`;
the message models check shapes strictly (a JSON string is never taken for a number), and the
registry then checks everything again and decides (`registry.messages.normalise`). Amounts
are integer grams everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SAFE = 2**53 - 1


class LockRecord(BaseModel):
    """A lock: grams held for minting as tokens by `recipient` on chain."""

    lock_no: int
    seq: int
    owner: str
    recipient: str
    asset_class: str
    amount: int
    status: Literal["locked", "minted", "released"]
    minted_seq: int | None = Field(description="The CreditsMinted event, once minted.")
    released_seq: int | None = Field(description="The LockReleased event, once released.")
    mint_deadline: int = Field(
        description="Last second (Unix time) the token contract mints it: the lock request's"
        " expiry plus 7 days. After it, the owner can release the grams."
    )
    proof_url: str


class ReleaseEvidence(BaseModel):
    """A block of the token's chain that shows the lock unminted past its deadline: the
    chain fields of a `ReleaseLock` request."""

    model_config = ConfigDict(populate_by_name=True)

    chain_height: int = Field(alias="chainHeight")
    block_hash: str = Field(alias="blockHash")
    block_time: int = Field(alias="blockTime")


class LockDetail(LockRecord):
    release: ReleaseEvidence | None = Field(
        description="Fields to sign a ReleaseLock with, when the lock can be released now."
    )
    release_refused: str | None = Field(description="Why it cannot be released now.")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, Field(pattern=r"^https?://[^\s]{1,2000}$", max_length=2048)]
    event_types: list[Annotated[str, Field(pattern=r"^[A-Za-z]{1,64}$")]] = Field(
        default_factory=list, max_length=32, description="Empty: every event type."
    )
    from_seq: Annotated[int, Field(ge=-1, le=MAX_SAFE)] | None = Field(
        None, description="Deliver events after this seq (default: only new events)."
    )


# -- responses ------------------------------------------------------------------------------

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_after` as `after` for the next page (null: the end)."""

    items: list[T]
    next_after: int | None


class Receipt(BaseModel):
    """What an accepted signed request did: its event and effects."""

    seq: int
    event_type: str
    effects: dict[str, Any]
    event_url: str
    proof_url: str
    certificate_id: str | None = None
    certificate_url: str | None = None


class Eip712Domain(BaseModel):
    name: str
    version: str
    chainId: int  # noqa: N815
    verifyingContract: str  # noqa: N815


class TypedDataField(BaseModel):
    name: str
    type: str


class Eip712Types(BaseModel):
    """What a wallet needs to sign any request (`eth_signTypedData_v4`): the domain, the
    struct types with their fields in signing order, and per request type its route, who
    signs it, its fields' meaning, JSON Schema and defaults. `sign_in` describes the
    `SignIn` type (also in `types`), which is no write request: it opens a read session."""

    domain: Eip712Domain
    types: dict[str, list[TypedDataField]]
    requests: dict[str, dict[str, Any]]
    sign_in: dict[str, Any] | None = None


class SignInMessage(BaseModel):
    """EIP-712 `SignIn(address account,string audience,uint64 issuedAt,uint64 expiry,
    uint256 nonce)` in the registry's domain."""

    model_config = ConfigDict(extra="forbid", strict=True)

    account: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="The account signing in.")
    audience: str = Field(max_length=200, description="The registry's log id (GET /v1).")
    issuedAt: int = Field(ge=0, le=2**53 - 1, description="Unix seconds.")  # noqa: N815
    expiry: int = Field(ge=0, le=2**53 - 1, description="Unix seconds, <= issuedAt + 3600.")
    nonce: int = Field(ge=0, le=2**53 - 1, description="Random.")


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: SignInMessage
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class SiweSignInRequest(BaseModel):
    """EIP-4361 "Sign-In with Ethereum": the message text and its personal_sign signature."""

    model_config = ConfigDict(extra="forbid")

    siwe: str = Field(max_length=4_000, description="The EIP-4361 message, as signed.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class SessionToken(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    account: str
    expires_at: int = Field(description="Unix seconds: sign in again after this.")


class RegistryInfo(BaseModel):
    log_id: str
    operator: str
    domain: Eip712Domain
    range_rule: int = Field(
        description="The serial-range rule the genesis fixed (docs/spec.md §2): which of an"
        " owner's holdings a transfer, retirement, cancellation or lock takes."
    )
    events: int
    links: dict[str, str]


class Balance(BaseModel):
    asset_class: str
    active: int
    retired: int
    cancelled: int
    locked: int


class Account(BaseModel):
    address: str
    kind: str
    name: str | None = Field(
        description="Display name; null when withheld (a person's or household's, to a"
        " caller other than them, their household and the operator)."
    )
    household: str | None = Field(
        description="The household a person belongs to; null when none, or withheld."
    )
    opened_seq: int
    roles: list[str]
    withheld: list[str] = Field(
        default_factory=list,
        description="Personal fields withheld from this caller (sign in as the account, its"
        " household or the operator to read them).",
    )


class AccountDetail(Account):
    balances: list[Balance]


class Holding(BaseModel):
    asset_class: str
    batch_no: int
    first: int
    last: int
    amount: int
    status: Literal["active", "retired", "cancelled", "locked"]
    ref: str | None
    serials: str


class Supply(BaseModel):
    """issued = active + retired + cancelled + locked; buffer: issued to buffer pools."""

    issued: int
    active: int
    retired: int
    cancelled: int
    locked: int
    buffer: int


class AssetClass(BaseModel):
    id: str
    methodology: str
    methodology_version: str
    vintage: int
    region: str
    registered_seq: int
    batches: int
    supply: Supply


class Batch(BaseModel):
    batch_no: int
    asset_class: str
    amount: int
    issued_to: str
    reference: str
    issued_seq: int
    buffer: bool
    serials: str
    supply: Supply


class BatchHolding(Holding):
    owner: str


class BatchDetail(Batch):
    holdings: list[BatchHolding]


class Transfer(BaseModel):
    seq: int
    time: str
    from_: str = Field(alias="from")
    to: str
    asset_class: str
    amount: int
    serials: list[str]

    model_config = ConfigDict(populate_by_name=True)


class Retirement(BaseModel):
    certificate_id: str
    seq: int
    time: str
    owner: str
    asset_class: str
    amount: int
    beneficiary_name: str | None = Field(
        description="The beneficiary's name while it is disclosed (kept off the log; erasable)."
    )
    beneficiary_commitment: str | None = Field(
        description="What the log holds instead of the name: 0x SHA-256(salt || UTF-8 name)."
    )
    beneficiary_salt: str | None = Field(
        None, description="The salt, shown with the name so anyone can check the commitment."
    )
    beneficiary: str
    beneficiary_public_name: str | None = Field(
        None,
        description="The public name of a beneficiary that is an organisation (a merchant,"
        " a community, a company): its account's name (certificates only).",
    )
    reason: str
    jurisdiction: str
    serials: list[str]
    certificate_url: str
    html_url: str


class Inclusion(BaseModel):
    tree_size: int
    path: list[str]


class CheckpointJson(BaseModel):
    log_id: str
    tree_size: int
    root_hash: str
    timestamp: int
    signer: str
    signature: str


class AnchorJson(BaseModel):
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_hash: str


class Pending(BaseModel):
    status: str
    detail: str
    expected_by: str


class ProofBundle(BaseModel):
    """Proof bundle version 1 (DESIGN.md); `anchor` null and `pending` set until anchored."""

    version: int
    event: dict[str, Any]
    leaf_index: int
    inclusion: Inclusion | None
    checkpoint: CheckpointJson | None
    anchor: AnchorJson | None
    pending: Pending | None = None


class Certificate(Retirement):
    """A retirement certificate with the proof bundle of its event (byte for byte as
    `GET /v1/events/{seq}/proof` serves it: `carbon-verify certificate` checks both)."""

    proof: dict[str, Any] = Field(description="The proof bundle of the event (ProofBundle).")
    verify: dict[str, str]


class Cancellation(BaseModel):
    seq: int
    holder: str
    asset_class: str
    amount: int
    reason: str
    evidence_hash: str
    serials: list[str]


class Signature(BaseModel):
    signer: str
    signature: str


class Event(BaseModel):
    seq: int
    type: str
    time: str
    payload: dict[str, Any]
    signatures: list[Signature] | None = None


class Checkpoint(BaseModel):
    log_id: str
    tree_size: int
    root_hash: str
    timestamp: int
    signer: str
    signature: str
    status: Literal["signed", "sent", "confirmed"]
    anchor: AnchorJson | None
    note: str


class ConsistencySide(BaseModel):
    checkpoint: CheckpointJson
    anchor: AnchorJson


class ConsistencyProof(BaseModel):
    version: int
    old: ConsistencySide
    new: ConsistencySide
    proof: list[str]


class Anchoring(BaseModel):
    running: bool
    latest_confirmed_size: int
    error: str | None


class LoopState(BaseModel):
    """One background loop: `running`, `retrying` after errors (it recovers by itself),
    `failed` (it stopped; `last_error` says why), `starting` or `stopped`."""

    state: Literal["starting", "running", "retrying", "failed", "stopped"]
    consecutive_failures: int
    last_error: str | None
    last_error_at: float | None
    last_ok_at: float | None
    retry_at: float | None
    leader: bool | None = Field(
        default=None,
        description="The anchoring worker: true on the node that anchors, false on a node that"
        " stands by (on PostgreSQL one node leads); null for the other loops.",
    )


class Health(BaseModel):
    """Liveness (the process answers) and readiness (every loop running)."""

    live: bool
    ready: bool
    loops: dict[str, LoopState]


class TrustInfo(BaseModel):
    """The trust anchor of this registry: the log, chain, contract and signers a verifier pins
    (`carbon-verify ... --trust trust.json`, or the JavaScript verifier's `TrustAnchor`)."""

    log_id: str
    chain_id: int
    contract: str
    signers: list[str]
    token: str
    note: str


class ChainInfo(BaseModel):
    kind: Literal["embedded", "json-rpc", "none"]
    chain_id: int
    contract: str
    rpc_url: str | None
    anchoring: Anchoring
    verify_command: str | None


class MethodologySummary(BaseModel):
    id: str
    version: str
    family: str
    region: str
    title_en: str
    title_zh: str
    hash: str


class Factor(BaseModel):
    mg_per_unit: str
    unit: str
    source: str


class MethodologyDetail(MethodologySummary):
    source: str
    quantities: dict[str, str]
    factors: dict[str, Factor]
    parameters: dict[str, Any]


class ActivityBatch(BaseModel):
    platform: str
    batch_id: str
    records_hash: str
    records: int
    accepted: int
    rejected: int
    grams: int
    seq: int


class ActivityBatchDetail(ActivityBatch):
    outcomes: list[dict[str, Any]]


class Activity(BaseModel):
    """One of a person's activities as the vault holds it (never logged): the details the
    platform sent, the batch that committed to them, and the outcome."""

    seq: int = Field(description="The ActivitiesSubmitted event that committed to it.")
    index: int = Field(description="Its record's index in that batch.")
    platform: str
    methodology: str
    version: str
    region: str
    commitment: str
    activity_id: str = Field(description="The platform's id of the activity.")
    start: int = Field(description="Unix seconds (UTC).")
    end: int = Field(description="Unix seconds (UTC).")
    quantities: dict[str, int]
    outcome: dict[str, Any] = Field(
        description="`{claim, class, grams[, capped]}` or `{reason, detail}`."
    )


class Claim(BaseModel):
    """A claim. A claim of a committed batch has no times in state (`start_s`, `end_s` and
    `day` are null; the person reads them at `/v1/accounts/{a}/activities`), its
    `activity_id` is its claim id and `evidence_hash` the record's commitment."""

    claim_id: str
    seq: int
    idx: int
    platform: str
    activity_id: str
    account: str
    beneficiary: str
    methodology: str
    version: str
    methodology_hash: str
    family: str
    start_s: int | None
    end_s: int | None
    day: str | None
    asset_class: str
    grams: int
    evidence_hash: str

    @model_validator(mode="before")
    @classmethod
    def _no_times_when_committed(cls, values: Any) -> Any:
        """State keeps 0, 0 and "" for the times a committed batch does not log."""
        if isinstance(values, dict) and values.get("day") == "":
            return {**values, "start_s": None, "end_s": None, "day": None}
        return values

    status: Literal["pending", "approved", "rejected", "issued", "reversed"]
    attested_seq: int | None
    verdict: str | None
    issued_seq: int | None
    reversed_seq: int | None


class Rejection(BaseModel):
    seq: int
    idx: int
    platform: str
    activity_id: str
    account: str
    methodology: str
    version: str
    start_s: int
    end_s: int
    reason: str
    detail: str


class ClaimCount(BaseModel):
    claims: int
    grams: int


class ClaimSummary(BaseModel):
    claims: dict[str, ClaimCount]
    rejected: dict[str, int]


class Attestation(BaseModel):
    seq: int
    attestation_id: str
    verifier: str
    approve: bool
    reason: str
    claims: int
    claims_hash: str


class IssuanceRun(BaseModel):
    seq: int
    run_id: str
    buffer_pool: str
    buffer_basis_points: int
    claims: int
    grams: int
    issued_grams: int
    buffer_grams: int
    batches: int


class Webhook(BaseModel):
    id: int
    url: str
    event_types: list[str]
    active: bool
    cursor: int
    created_at: float


class WebhookCreated(Webhook):
    secret: str = Field(
        description="HMAC-SHA256 key of the X-Registry-Signature header; shown once."
    )


class WebhookDelivery(BaseModel):
    seq: int
    attempt: int
    status_code: int | None
    error: str | None
    outcome: Literal["delivered", "retry", "gave_up"]
    time: float


class ProblemType(BaseModel):
    code: str
    status: int
    title: str


class Problem(BaseModel):
    """RFC 9457 problem details with the registry's stable error `code`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


class ClassReserveModel(BaseModel):
    asset_class: str
    token_id: str = Field(description="ERC-1155 id, decimal (uint256 exceeds JSON integers).")
    locked_in_log: int = Field(description="Grams locked in the log, net of burns and releases.")
    unminted_locks: int = Field(
        description="Grams of locks neither minted nor released in the log."
    )
    mints_not_in_log: int = Field(description="Grams minted on chain, not yet recorded.")
    burns_not_in_log: int = Field(description="Grams burned on chain, not yet recorded.")
    expected_supply: int
    total_supply: int = Field(description="The token's totalSupply(id) on chain.")
    ok: bool


class ReserveModel(BaseModel):
    token_contract: str
    chain_id: int
    log_size: int = Field(description="Events of the log the figures come from.")
    block: int = Field(description="Chain block the supply and token events were read at.")
    ok: bool
    problems: list[str] = Field(description="What does not hold; empty when ok.")
    classes: list[ClassReserveModel]


# -- merchants' offers and communities ---------------------------------------------------------


class Offer(BaseModel):
    """A merchant's offer: what `grams` of CO2e buy (public)."""

    merchant: str
    merchant_name: str = Field(description="The merchant's public name.")
    offer_id: str
    title: str
    grams: int
    valid_until: int = Field(description="Last Unix second it can be redeemed (0: no end).")
    published_seq: int
    withdrawn_seq: int | None = Field(description="The OfferWithdrawn event, once withdrawn.")
    active: bool = Field(description="Redeemable now: not withdrawn, not past its end.")


class Redemption(BaseModel):
    """An offer redeemed: the grams moved to the merchant (transfer) or retired for it
    (retire, with a certificate)."""

    seq: int
    time: str
    merchant: str
    offer_id: str
    owner: str
    asset_class: str
    grams: int
    mode: Literal["transfer", "retire"]
    certificate_id: str | None = Field(description="The certificate of a retirement.")
    certificate_url: str | None
    serials: list[str]


class Community(BaseModel):
    """A community's public aggregates: no member is named."""

    address: str
    name: str
    opened_seq: int
    members: int
    verified_grams: int = Field(
        description="Grams of the members' claims issued (verified, not reversed)."
    )
    retired_grams: int = Field(description="Grams the community account retired (pooled).")
    leaderboard_url: str


class LeaderboardEntry(BaseModel):
    """A member who opted in, by pseudonym only."""

    rank: int
    pseudonym: str
    verified_grams: int
