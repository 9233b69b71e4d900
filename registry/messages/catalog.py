"""Every signed request of the registry, declared once (see `declaration.py`).

Grouped as the handlers are: accounts and roles, asset classes, credits, MRV, the bridge,
merchants' offers and communities.
"""

from __future__ import annotations

from typing import Any

from registry.commitments import NO_COMMITMENT, address_bytes
from registry.errors import ValidationError
from registry.messages.declaration import (
    GENERATED,
    SIGNER,
    Attached,
    Field,
    Message,
    PrivateField,
    different,
    not_zero,
)
from registry.messages.fields import (
    ADDRESS,
    BOOL,
    CHAIN_EVENT_PATTERN,
    CLAIM_ID_PATTERN,
    GRAMS,
    HEX32,
    METHODOLOGY_PATTERN,
    OPTIONAL_TEXT,
    REF,
    REGION_PATTERN,
    TEXT,
    TOKEN_ASSET_CLASS_PATTERN,
    VERSION_PATTERN,
    ZERO_ADDRESS,
    address,
    choice,
    pattern_kind,
    uint_kind,
)
from registry.messages.records import (
    MAX_ATTESTED,
    MAX_RECORDS,
    digest_of,
    normalise_claim_ids,
    normalise_committed,
    normalise_records,
    records_digest,
)

ACCOUNT_KINDS = (
    "person",
    "household",
    "company",
    "platform",
    "verifier",
    "exchange",
    "operator",
    "merchant",  # 个体经营商户 and small businesses that take points: an organisation
    "community",  # 社区: a residential compound or a company's staff, with a public name
)
ROLES = ("operator", "platform", "verifier", "exchange")
MAX_BUFFER_BASIS_POINTS = 5_000  # a buffer above half of every issuance is a typo
MAX_SAFE = 2**53 - 1

ASSET_CLASS = Field(
    "assetClass", TEXT, "The asset class, e.g. SZ_TRANSIT-1.0-2026-440300.", cli="--class"
)
BATCH_NO = Field(
    "batchNo",
    uint_kind("uint256", MAX_SAFE),
    "Only grams of this batch; 0 takes any batch of the class, by the range rule.",
    default=0,
    cli="--batch",
)
AMOUNT = Field("amount", GRAMS, "Grams of CO2e.")
CLAIM_ID = pattern_kind(CLAIM_ID_PATTERN, "a claim id like C42-7", "C42-7")
CHAIN_EVENT = Field(
    "chainEvent",
    pattern_kind(
        CHAIN_EVENT_PATTERN, "<chain id>:0x<tx hash>:<log index>", "31337:0x" + "ab" * 32 + ":0"
    ),
    "The on-chain event: chain id, transaction hash and log index.",
)

# -- accounts and roles ----------------------------------------------------------------------

_ACCOUNT = Field("account", ADDRESS, "The new account's address.", cli="")
_KIND = Field("kind", choice(ACCOUNT_KINDS), "What the account is.")
_HOUSEHOLD = Field(
    "household",
    ADDRESS,
    "The household a person belongs to (the zero address: none).",
    default=ZERO_ADDRESS,
)
_NAME_COMMITMENT = Field(
    "nameCommitment",
    HEX32,
    "0x SHA-256(salt || UTF-8 name) of a person's or household's name, sent beside the"
    " request with its salt (zero: no name).",
    default=NO_COMMITMENT,
)
_PERSONAL_NAME = PrivateField(
    "personal_name",
    "nameCommitment",
    "A person's or household's name, shown to them and the operator until erased (optional).",
    "account",
)
PERSONAL_KINDS = ("person", "household")
# The first release logged every account's name; its events replay with this.
OPEN_ACCOUNT_IN_CLEAR = Message(
    "OpenAccount",
    "AccountOpened",
    "Open an account with its name in the log (first release; replay only).",
    (_ACCOUNT, _KIND, Field("name", OPTIONAL_TEXT, "A display name.", default=""), _HOUSEHOLD),
    "role:operator",
    "",
)


def _no_personal_name_in_clear(message: dict[str, Any]) -> None:
    if message["kind"] in PERSONAL_KINDS and message["name"]:
        raise ValidationError(
            f"a {message['kind']}'s name is personal data: send it as personal_name beside the"
            " request (--personal-name on the command line); only its commitment,"
            " nameCommitment, is logged"
        )


_ORGANISATION_NAME = Field(
    "name",
    OPTIONAL_TEXT,
    "An organisation's public display name (empty for a person or household).",
    default="",
)
# The second release committed to names but logged a person's household in clear (a
# family's structure in the public log); its events replay with this.
OPEN_ACCOUNT_WITH_HOUSEHOLD = Message(
    "OpenAccount",
    "AccountOpened",
    "Open an account with its household in the log (second release; replay only).",
    (_ACCOUNT, _KIND, _ORGANISATION_NAME, _NAME_COMMITMENT, _HOUSEHOLD),
    "role:operator",
    "",
    rules=(_no_personal_name_in_clear,),
    private=(_PERSONAL_NAME,),
)


def _household_only_for_a_person(message: dict[str, Any]) -> None:
    if message["householdCommitment"] != NO_COMMITMENT and message["kind"] != "person":
        raise ValidationError("only a person can be a member of a household")


OPEN_ACCOUNT = Message(
    "OpenAccount",
    "AccountOpened",
    "Open an account (operator). An organisation's name is public; a person's or household's"
    " name, and the household a person belongs to, stay off the log: the request commits to"
    " them.",
    (
        _ACCOUNT,
        _KIND,
        _ORGANISATION_NAME,
        _NAME_COMMITMENT,
        Field(
            "householdCommitment",
            HEX32,
            "0x SHA-256(salt || the 20 bytes of the household's address) of the household a"
            " person belongs to, sent beside the request with its salt (zero: none).",
            default=NO_COMMITMENT,
        ),
    ),
    "role:operator",
    "/v1/accounts",
    operator_key=True,
    rules=(_no_personal_name_in_clear, _household_only_for_a_person),
    legacy=(OPEN_ACCOUNT_WITH_HOUSEHOLD, OPEN_ACCOUNT_IN_CLEAR),
    private=(
        _PERSONAL_NAME,
        PrivateField(
            "household",
            "householdCommitment",
            "The household a person belongs to: its address (needed when householdCommitment"
            " is not zero); shown to the person, the household and the operator until erased.",
            "account",
            data=lambda value, field: address_bytes(address(value, field)),
            decides=True,
        ),
    ),
    superseded={
        "household": "a person's household is personal data (it shows a family): send its"
        " address as the private field household beside the request (--household on the"
        " command line), and log only its commitment, householdCommitment"
    },
)
GRANT_ROLE = Message(
    "GrantRole",
    "RoleGranted",
    "Grant a role to an account (operator).",
    (
        Field("account", ADDRESS, "The account.", cli=""),
        Field("role", choice(ROLES), "The role.", cli=""),
    ),
    "role:operator",
    "/v1/accounts/{account}/roles",
    operator_key=True,
)

REVOKE_ROLE = Message(
    "RevokeRole",
    "RoleRevoked",
    "Revoke a role from an account (operator), e.g. a rotated-out or leaked operator key; the"
    " last operator cannot be revoked.",
    (
        Field("account", ADDRESS, "The account.", cli=""),
        Field("role", choice(ROLES), "The role.", cli=""),
    ),
    "role:operator",
    "/v1/accounts/{account}/roles/revoke",
    operator_key=True,
)

# -- asset classes ---------------------------------------------------------------------------

REGISTER_ASSET_CLASS = Message(
    "RegisterAssetClass",
    "AssetClassRegistered",
    "Register an asset class: methodology x version x vintage x region (operator).",
    (
        Field(
            "methodology",
            pattern_kind(METHODOLOGY_PATTERN, "1-40 of A-Z, 0-9, _", "SZ_TRANSIT"),
            "Methodology id.",
        ),
        Field(
            "methodologyVersion",
            pattern_kind(VERSION_PATTERN, "a version like 1, 1.0 or 1.0.2", "1.0"),
            "Methodology version.",
            cli="--version",
        ),
        Field(
            "vintage",
            uint_kind("uint16", 9999, 2000, example=2026),
            "Vintage year of the reductions (from 2000).",
        ),
        Field(
            "region",
            pattern_kind(REGION_PATTERN, "a 6-digit GB/T 2260 division code or CN", "440300"),
            "Region (GB/T 2260 code).",
        ),
    ),
    "role:operator",
    "/v1/asset-classes",
    operator_key=True,
)

# -- credits ---------------------------------------------------------------------------------

ISSUE = Message(
    "Issue",
    "CreditsIssued",
    "Issue a new batch of serial-numbered grams (operator).",
    (
        Field("to", ADDRESS, "The receiving account."),
        ASSET_CLASS,
        AMOUNT,
        Field("claimId", TEXT, "Id of the attested claim being issued."),
    ),
    "role:operator",
    "/v1/batches",
    operator_key=True,
)
TRANSFER = Message(
    "Transfer",
    "CreditsTransferred",
    "Transfer grams to another account, by the range rule (owner-signed).",
    (
        Field("from", ADDRESS, "The owner of the grams; signs the request.", from_signer=True),
        Field("to", ADDRESS, "The receiving account."),
        ASSET_CLASS,
        BATCH_NO,
        AMOUNT,
    ),
    "from",
    "/v1/transfers",
    rules=(different("from", "to", "a transfer needs two different accounts"),),
)
_OWNER = Field("owner", ADDRESS, "The owner of the grams; signs the request.", from_signer=True)
_BENEFICIARY = Field(
    "beneficiary", ADDRESS, "The beneficiary's address (the owner's if none).", default=SIGNER
)
_REASON = Field("reason", TEXT, "Why, e.g. 'offset 2026 commuting' (public: no personal data).")
_JURISDICTION = Field("jurisdiction", TEXT, "Where the claim is made, e.g. CN-GD.")
# The first release logged the beneficiary's name itself; its events replay with this.
RETIRE_WITH_NAME = Message(
    "Retire",
    "CreditsRetired",
    "Retire grams for a named beneficiary (first release; replay only).",
    (
        _OWNER,
        ASSET_CLASS,
        BATCH_NO,
        AMOUNT,
        Field("beneficiaryName", TEXT, "On whose behalf the grams are retired."),
        _BENEFICIARY,
        _REASON,
        _JURISDICTION,
    ),
    "owner",
    "",
)
RETIRE = Message(
    "Retire",
    "CreditsRetired",
    "Retire grams for a beneficiary (owner-signed); the receipt names the certificate. The"
    " beneficiary's name stays off the log: the request commits to it.",
    (
        _OWNER,
        ASSET_CLASS,
        BATCH_NO,
        AMOUNT,
        Field(
            "beneficiaryCommitment",
            HEX32,
            "0x SHA-256(salt || UTF-8 name) of the beneficiary's name, sent beside the request"
            " with its salt (zero: no name).",
            default=NO_COMMITMENT,
        ),
        _BENEFICIARY,
        _REASON,
        _JURISDICTION,
    ),
    "owner",
    "/v1/retirements",
    legacy=(RETIRE_WITH_NAME,),
    private=(
        PrivateField(
            "beneficiary_name",
            "beneficiaryCommitment",
            "The beneficiary's name, shown on the certificate until erased (optional).",
            "beneficiary",
        ),
    ),
)
CANCEL = Message(
    "Cancel",
    "CreditsCancelled",
    "Cancel grams with a reason and the hash of the evidence (operator).",
    (
        Field("holder", ADDRESS, "The account whose grams are cancelled."),
        ASSET_CLASS,
        BATCH_NO,
        AMOUNT,
        Field("reason", TEXT, "Why the grams are cancelled."),
        Field("evidenceHash", HEX32, "0x SHA-256 of the linked evidence."),
    ),
    "role:operator",
    "/v1/cancellations",
    operator_key=True,
)

# -- MRV -------------------------------------------------------------------------------------

_RECORD_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_RECORDS,
    "items": {"type": "object", "description": "an activity record (docs/spec.md)"},
}
_COMMITTED_SCHEMA: dict[str, Any] = {
    **_RECORD_SCHEMA,
    "items": {
        "type": "object",
        "description": "a committed activity record (docs/spec.md)",
        "required": ["account", "methodology", "version", "region", "commitment"],
        "additionalProperties": False,
        "properties": {
            "account": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"},
            "methodology": {"type": "string", "pattern": METHODOLOGY_PATTERN},
            "version": {"type": "string", "pattern": VERSION_PATTERN},
            "region": {"type": "string", "pattern": REGION_PATTERN},
            "commitment": {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"},
        },
    },
}
# The first release logged every record whole (times, quantities, activity ids); its
# events replay with this declaration, and new batches may not use it.
SUBMIT_ACTIVITIES_IN_CLEAR = Message(
    "SubmitActivities",
    "ActivitiesSubmitted",
    "Submit a batch of activity records in clear (first release; replay only).",
    (
        Field("platform", ADDRESS, "The platform; signs the request.", from_signer=True),
        Field("batchId", REF, "The platform's id of this batch."),
        Field("recordCount", uint_kind("uint256", MAX_RECORDS, 1), "Records in the batch."),
        Field("recordsHash", HEX32, "0x SHA-256 of the records' RFC 8785 bytes."),
    ),
    "platform",
    "",
    attached=Attached(
        "records", normalise_records, "recordCount", "recordsHash", records_digest, _RECORD_SCHEMA
    ),
)


def _declared_not_claimed_elsewhere(message: dict[str, Any]) -> None:
    if not message["notClaimedElsewhere"]:
        raise ValidationError(
            "notClaimedElsewhere must be true: a reduction claimed under another scheme may"
            " not be claimed here (DB11/T 3043-2024, no double claiming)"
        )


SUBMIT_ACTIVITIES = Message(
    "SubmitActivities",
    "ActivitiesSubmitted",
    "Submit a batch of committed activity records (platform-signed); the struct signs their"
    " count and the SHA-256 of their RFC 8785 bytes. Each record commits to its activity's"
    " details, which travel beside the request and are never logged.",
    (
        Field("platform", ADDRESS, "The platform; signs the request.", from_signer=True),
        Field("batchId", REF, "The platform's id of this batch."),
        Field("recordCount", uint_kind("uint256", MAX_RECORDS, 1), "Records in the batch."),
        Field("recordsHash", HEX32, "0x SHA-256 of the records' RFC 8785 bytes."),
        Field(
            "notClaimedElsewhere",
            BOOL,
            "The platform declares that none of these reductions is claimed under another"
            " scheme (must be true).",
        ),
    ),
    "platform",
    "/v1/activity-batches",
    rules=(_declared_not_claimed_elsewhere,),
    attached=Attached(
        "records",
        normalise_committed,
        "recordCount",
        "recordsHash",
        records_digest,
        _COMMITTED_SCHEMA,
    ),
    legacy=(SUBMIT_ACTIVITIES_IN_CLEAR,),
)


def _reason_when_rejecting(message: dict[str, Any]) -> None:
    if not message["approve"] and not message["reason"]:
        raise ValidationError("reason must not be empty when claims are rejected")


ATTEST_CLAIMS = Message(
    "AttestClaims",
    "ClaimsAttested",
    "Approve or reject pending claims (verifier-signed).",
    (
        Field("verifier", ADDRESS, "The verifier; signs the request.", from_signer=True),
        Field("attestationId", REF, "The verifier's id of this attestation.", default=GENERATED),
        Field("approve", BOOL, "Approve (true) or reject (false)."),
        Field("reason", OPTIONAL_TEXT, "Why; required when rejecting.", default=""),
        Field("claimCount", uint_kind("uint256", MAX_ATTESTED, 1), "Claims attested."),
        Field("claimsHash", HEX32, "0x SHA-256 of the sorted claim ids' RFC 8785 bytes."),
    ),
    "verifier",
    "/v1/attestations",
    rules=(_reason_when_rejecting,),
    attached=Attached(
        "claims",
        normalise_claim_ids,
        "claimCount",
        "claimsHash",
        digest_of,
        {"type": "array", "minItems": 1, "maxItems": MAX_ATTESTED, "items": CLAIM_ID.schema},
    ),
)
_RUN_ID = Field("runId", REF, "The id of this run.", default=GENERATED)
_BUFFER_POOL = Field("bufferPool", ADDRESS, "The account receiving the buffer share.")
_BUFFER_BASIS_POINTS = Field(
    "bufferBasisPoints",
    uint_kind("uint16", MAX_BUFFER_BASIS_POINTS, example=500),
    "Buffer share in basis points (500 = 5%).",
    default=500,
    cli="--buffer-bp",
)
# Until issue 11 a run pooled an opted-in member's credits to their household: its batch
# `to` the household, matched with the member's logged claims, showed the link. Such runs
# replay with this.
RUN_ISSUANCE_POOLED = Message(
    "RunIssuance",
    "IssuanceRun",
    "Issue every approved claim, a member's pooled to their household (replay only).",
    (_RUN_ID, _BUFFER_POOL, _BUFFER_BASIS_POINTS),
    "role:operator",
    "",
)
CREDITS_TO = ("account",)  # the one rule a new run may name
RUN_ISSUANCE = Message(
    "RunIssuance",
    "IssuanceRun",
    "Issue every approved claim: a batch per claim account and class, plus the buffer"
    " (operator). The request names the rule: credits go to each claim's own account.",
    (
        _RUN_ID,
        _BUFFER_POOL,
        _BUFFER_BASIS_POINTS,
        Field(
            "creditsTo",
            choice(CREDITS_TO),
            "Whom a claim's credits go to: its own account (never its household, whose"
            " batch would show the member's link in the log).",
            default="account",
        ),
    ),
    "role:operator",
    "/v1/issuance-runs",
    operator_key=True,
    legacy=(RUN_ISSUANCE_POOLED,),
    introduced={
        "creditsTo": 'a run now names whom credits go to: creditsTo must be "account" (each'
        " claim's own account); runs that pooled a member's credits to the household are"
        " taken no more (they replay only)"
    },
)
REVERSE_CLAIM = Message(
    "ReverseClaim",
    "ClaimReversed",
    "Reverse an issued claim: cancel its grams from the holder, else the buffer (operator).",
    (
        Field("claimId", CLAIM_ID, "The claim.", cli=""),
        Field("reason", TEXT, "Why the claim is reversed."),
        Field("evidenceHash", HEX32, "0x SHA-256 of the linked evidence."),
    ),
    "role:operator",
    "/v1/claims/{claimId}/reversal",
    operator_key=True,
)

# -- the bridge ------------------------------------------------------------------------------

LOCK = Message(
    "Lock",
    "CreditsLocked",
    "Lock grams for minting as tokens to a chain address (owner-signed).",
    (
        Field("owner", ADDRESS, "The owner of the grams; signs the request.", from_signer=True),
        Field(
            "assetClass",
            pattern_kind(
                TOKEN_ASSET_CLASS_PATTERN, "1-80 of A-Z, 0-9, _ . -", "SZ_TRANSIT-1.0-2026-440300"
            ),
            "The asset class (characters the token contract rebuilds).",
            cli="--class",
        ),
        BATCH_NO,
        AMOUNT,
        Field("recipient", ADDRESS, "The chain address the tokens are minted to."),
    ),
    "owner",
    "/v1/locks",
    rules=(not_zero("recipient", "recipient must not be the zero address"),),
)
RECORD_RETURN = Message(
    "RecordReturn",
    "CreditsReturned",
    "Record tokens burnt on chain back into a registry account (operator, from the chain).",
    (
        CHAIN_EVENT,
        Field("holder", ADDRESS, "The chain address whose tokens were burnt."),
        Field("account", ADDRESS, "The registry account credited."),
        Field("assetClass", TEXT, "The asset class."),
        AMOUNT,
    ),
    "role:operator",
    "",
)
RECORD_CHAIN_RETIREMENT = Message(
    "RecordChainRetirement",
    "CreditsRetiredOnChain",
    "Record tokens retired on chain, with a certificate (operator, from the chain).",
    (
        CHAIN_EVENT,
        Field("holder", ADDRESS, "The chain address whose tokens were retired."),
        Field("assetClass", TEXT, "The asset class."),
        AMOUNT,
        Field(
            "beneficiaryCommitment",
            HEX32,
            "The commitment to the beneficiary's name given on chain (zero: none).",
        ),
        Field("reason", OPTIONAL_TEXT, "As given on chain."),
    ),
    "role:operator",
    "",
)

LOCK_SEQ = Field(
    "lockSeq", uint_kind("uint256", MAX_SAFE), "The seq of the lock's CreditsLocked event.", cli=""
)
RECORD_MINT = Message(
    "RecordMint",
    "CreditsMinted",
    "Record the tokens of a lock minted on chain (operator, from the chain).",
    (
        CHAIN_EVENT,
        LOCK_SEQ,
        Field("recipient", ADDRESS, "The chain address the tokens were minted to."),
        Field("assetClass", TEXT, "The asset class."),
        AMOUNT,
    ),
    "role:operator",
    "",
)
RELEASE_LOCK = Message(
    "ReleaseLock",
    "LockReleased",
    "Give back the grams of a lock that can no longer be minted: the token contract refuses"
    " it after its mint deadline (the lock request's expiry plus 7 days), and the cited block,"
    " past the deadline and deep enough, shows it unminted (its owner or the operator signs).",
    (
        Field("owner", ADDRESS, "The lock's owner, who gets the grams back.", default=SIGNER),
        LOCK_SEQ,
        Field(
            "chainHeight",
            uint_kind("uint256", MAX_SAFE),
            "A block of the token's chain past the lock's mint deadline.",
        ),
        Field("blockHash", HEX32, "That block's hash."),
        Field("blockTime", uint_kind("uint64", MAX_SAFE), "That block's time (Unix seconds)."),
    ),
    "owner",
    "/v1/locks/{lockSeq}/release",
)

# -- merchants' offers -----------------------------------------------------------------------

MERCHANT_KIND = "merchant"
COMMUNITY_KIND = "community"
REDEEM_MODES = ("transfer", "retire")
_MERCHANT_SIGNS = Field("merchant", ADDRESS, "The merchant; signs the request.", from_signer=True)
_OFFER_ID = Field("offerId", REF, "The merchant's id of the offer.", cli="")
PUBLISH_OFFER = Message(
    "PublishOffer",
    "OfferPublished",
    "Publish an offer: grams of CO2e a person pays for something (merchant-signed); the"
    " title is public.",
    (
        _MERCHANT_SIGNS,
        _OFFER_ID,
        Field("title", TEXT, "What the grams buy, e.g. '咖啡券 coffee voucher' (public)."),
        Field("grams", GRAMS, "Grams of CO2e the offer costs."),
        Field(
            "validUntil",
            uint_kind("uint64", MAX_SAFE, example=1_798_761_599),
            "Last Unix second the offer can be redeemed (0: no end).",
            default=0,
        ),
    ),
    "merchant",
    "/v1/offers",
)
WITHDRAW_OFFER = Message(
    "WithdrawOffer",
    "OfferWithdrawn",
    "Withdraw an offer: it can no longer be redeemed (merchant-signed).",
    (_MERCHANT_SIGNS, _OFFER_ID),
    "merchant",
    "/v1/offers/{merchant}/{offerId}/withdrawal",
)
REDEEM_OFFER = Message(
    "RedeemOffer",
    "OfferRedeemed",
    "Redeem a merchant's offer with credits of any asset class (owner-signed): its grams"
    " move to the merchant (transfer), or are retired with the merchant as beneficiary"
    " (retire), with a certificate.",
    (
        _OWNER,
        Field("merchant", ADDRESS, "The merchant whose offer is redeemed."),
        Field("offerId", REF, "The merchant's id of the offer."),
        ASSET_CLASS,
        BATCH_NO,
        Field("mode", choice(REDEEM_MODES), "transfer the grams, or retire them."),
    ),
    "owner",
    "/v1/offers/{merchant}/{offerId}/redemptions",
    rules=(different("owner", "merchant", "a merchant cannot redeem its own offer"),),
)

# -- communities -----------------------------------------------------------------------------

_MEMBER = Field("member", ADDRESS, "The person or household; signs the request.", from_signer=True)
_COMMUNITY = Field("community", ADDRESS, "The community account.", cli="")


def _pseudonym_for_leaderboard(message: dict[str, Any]) -> None:
    if message["leaderboard"] and message["pseudonymCommitment"] == NO_COMMITMENT:
        raise ValidationError(
            "the leaderboard shows members by pseudonym: send one beside the request"
            " (pseudonym; --pseudonym on the command line) to opt in"
        )


JOIN_COMMUNITY = Message(
    "JoinCommunity",
    "CommunityJoined",
    "Join a community (a person or household signs); opt in to its public leaderboard under"
    " a pseudonym, which stays off the log: the request commits to it.",
    (
        _MEMBER,
        _COMMUNITY,
        Field("leaderboard", BOOL, "Appear on the community's public leaderboard.", default=False),
        Field(
            "pseudonymCommitment",
            HEX32,
            "0x SHA-256(salt || UTF-8 pseudonym) of the leaderboard pseudonym, sent beside the"
            " request with its salt (zero: none).",
            default=NO_COMMITMENT,
        ),
    ),
    "member",
    "/v1/communities/{community}/join",
    rules=(_pseudonym_for_leaderboard,),
    private=(
        PrivateField(
            "pseudonym",
            "pseudonymCommitment",
            "The name shown on the community's leaderboard until erased (needed to opt in).",
            "member",
        ),
    ),
)
LEAVE_COMMUNITY = Message(
    "LeaveCommunity",
    "CommunityLeft",
    "Leave a community (the member signs).",
    (_MEMBER, _COMMUNITY),
    "member",
    "/v1/communities/{community}/leave",
)

MESSAGES: dict[str, Message] = {
    m.name: m
    for m in (
        OPEN_ACCOUNT,
        GRANT_ROLE,
        REVOKE_ROLE,
        REGISTER_ASSET_CLASS,
        ISSUE,
        TRANSFER,
        RETIRE,
        CANCEL,
        SUBMIT_ACTIVITIES,
        ATTEST_CLAIMS,
        RUN_ISSUANCE,
        REVERSE_CLAIM,
        LOCK,
        RECORD_RETURN,
        RECORD_CHAIN_RETIREMENT,
        RECORD_MINT,
        RELEASE_LOCK,
        PUBLISH_OFFER,
        WITHDRAW_OFFER,
        REDEEM_OFFER,
        JOIN_COMMUNITY,
        LEAVE_COMMUNITY,
    )
}
