"""Named errors of the registry.

Each error says what was wrong in words a user can act on, and carries on its class a
stable `code`, the HTTP `status` the API answers with and a short `title`; a test walks
every class. The API turns them into RFC 9457 problems, the CLI into one line
`Error [code]: message`, both in one place.
"""

from __future__ import annotations

from carbon_verifier.errors import CodedError

__all__ = ["CodedError"]  # the root of every coded error, from the lowest layer


class RegistryError(CodedError):
    """Base class: a request was refused and nothing was changed."""

    code = "registry_error"
    status = 400
    title = "The registry refused the request"


class ValidationError(RegistryError):
    """A field of a request is malformed (address, amount, hex, text)."""

    code = "invalid_request"
    status = 422
    title = "A field of the request is malformed"


class MethodologySupersededError(ValidationError):
    """A new batch cites a methodology version that a correction replaced."""

    code = "methodology_superseded"
    title = "The methodology version is superseded: cite its correction"


class BufferBelowFloorError(ValidationError):
    """An issuance run's buffer share is below the floor of a methodology it issues."""

    code = "buffer_below_floor"
    title = "The buffer share is below a methodology's floor"


class NotInitialisedError(RegistryError):
    code = "not_initialised"
    status = 503
    title = "The database holds no registry"


class SchemaVersionError(RegistryError):
    """The file's schema is older or newer than this program's: migrate, or upgrade."""

    code = "schema_version"
    status = 503
    title = "The database's schema does not match this program: migrate first"


class AlreadyInitialisedError(RegistryError):
    code = "already_initialised"
    status = 409
    title = "The database already holds a registry"


class SignatureError(RegistryError):
    """The signature is malformed or does not recover to a key."""

    code = "bad_signature"
    status = 401
    title = "The signature is malformed or does not recover"


class WrongSignerError(SignatureError):
    """The signature is valid but made by a key other than the one that must authorise."""

    code = "wrong_signer"
    status = 403
    title = "Signed by a key that may not authorise this request"

    def __init__(self, expected: str, recovered: str) -> None:
        super().__init__(f"signed by {recovered}, but only {expected} may authorise this")
        self.expected = expected
        self.recovered = recovered


class SignatureExpiredError(RegistryError):
    code = "signature_expired"
    status = 401
    title = "The signed request has expired"

    def __init__(self, expiry: int, now: int) -> None:
        super().__init__(f"the signed request expired at {expiry} (now {now})")
        self.expiry = expiry
        self.now = now


class NonceReplayedError(RegistryError):
    code = "nonce_replayed"
    status = 409
    title = "This signed request was already used"

    def __init__(self, signer: str, nonce: int) -> None:
        super().__init__(f"nonce {nonce} of {signer} was already used: replayed request")
        self.signer = signer
        self.nonce = nonce


class NotAuthorisedError(RegistryError):
    """The signer lacks the role the operation needs."""

    code = "not_authorised"
    status = 403
    title = "The signer lacks the role this request needs"


class UnknownAccountError(RegistryError):
    code = "unknown_account"
    status = 404
    title = "No such account"

    def __init__(self, address: str) -> None:
        super().__init__(f"no account {address} in this registry")
        self.address = address


class AccountExistsError(RegistryError):
    code = "account_exists"
    status = 409
    title = "The account is already open"


class UnknownAssetClassError(RegistryError):
    code = "unknown_asset_class"
    status = 404
    title = "No such asset class"

    def __init__(self, asset_class: str) -> None:
        super().__init__(f"no asset class {asset_class!r} in this registry")
        self.asset_class = asset_class


class AssetClassExistsError(RegistryError):
    code = "asset_class_exists"
    status = 409
    title = "The asset class is already registered"


class UnknownMethodologyError(RegistryError):
    code = "unknown_methodology"
    status = 404
    title = "No such methodology version"


class UnknownBatchError(RegistryError):
    code = "unknown_batch"
    status = 404
    title = "No such issuance batch"


class UnknownCertificateError(RegistryError):
    code = "unknown_certificate"
    status = 404
    title = "No such retirement certificate"


class InsufficientBalanceError(RegistryError):
    """Fewer active grams than requested in the chosen asset class or batch."""

    code = "insufficient_balance"
    status = 409
    title = "Fewer active grams than requested"

    def __init__(self, owner: str, scope: str, requested: int, active: int) -> None:
        super().__init__(
            f"{owner} asked to move {requested} g of {scope} but holds {active} g active"
        )
        self.owner = owner
        self.scope = scope
        self.requested = requested
        self.active = active


class CreditsRetiredError(InsufficientBalanceError):
    """The grams asked for exist only as retired ranges: retired credits never move."""

    code = "credits_retired"
    status = 409
    title = "The grams asked for are retired"


class CreditsLockedError(InsufficientBalanceError):
    """The grams asked for are locked for bridging and cannot move in the registry."""

    code = "credits_locked"
    status = 409
    title = "The grams asked for are locked for bridging"


class UnknownLockError(RegistryError):
    code = "unknown_lock"
    status = 404
    title = "No such lock"


class LockStateError(RegistryError):
    """The lock was minted, released, or can still be minted: the request cannot apply."""

    code = "lock_state"
    status = 409
    title = "The lock is not in the state this request needs"


class DuplicateClaimError(RegistryError):
    code = "duplicate_claim"
    status = 409
    title = "The claim was already issued"


class DuplicateChainEventError(RegistryError):
    """This on-chain event (transaction and log index) is already recorded."""

    code = "duplicate_chain_event"
    status = 409
    title = "This chain event is already recorded"


class ReplayMismatchError(RegistryError):
    """An event of the log cannot be applied to the state rebuilt so far."""

    code = "replay_mismatch"
    status = 500
    title = "The log and the tables disagree"


class BatchConflictError(RegistryError):
    """A platform reused a batch id for different records: a batch id names one batch."""

    code = "batch_conflict"
    status = 409
    title = "The batch id was used for other records"

    def __init__(self, platform: str, batch_id: str) -> None:
        super().__init__(
            f"{platform} already submitted batch {batch_id!r} with other records;"
            " a corrected batch needs a new batch id"
        )
        self.platform = platform
        self.batch_id = batch_id


class UnknownClaimError(RegistryError):
    code = "unknown_claim"
    status = 404
    title = "No such claim"

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"no claim {claim_id!r} in this registry")
        self.claim_id = claim_id


class ClaimStatusError(RegistryError):
    """The claim is not in the state the operation needs (e.g. attesting an issued claim)."""

    code = "claim_status"
    status = 409
    title = "The claim is not in the status this request needs"

    def __init__(self, claim_id: str, status: str, needed: str) -> None:
        super().__init__(f"claim {claim_id} is {status}; this needs a {needed} claim")
        self.claim_id = claim_id
        self.claim_status = status
        self.needed = needed


class AttestationExistsError(RegistryError):
    code = "attestation_exists"
    status = 409
    title = "The attestation id was already used"


class IssuanceRunExistsError(RegistryError):
    code = "issuance_run_exists"
    status = 409
    title = "The issuance run id was already used"


class NothingToIssueError(RegistryError):
    """An issuance run found no approved claim: no event is written for an empty run."""

    code = "nothing_to_issue"
    status = 409
    title = "No approved claim is waiting for issuance"


class BufferShortfallError(RegistryError):
    """A reversal needs more grams from the buffer pool than the pool holds active."""

    code = "buffer_shortfall"
    status = 409
    title = "The buffer pool holds too few grams for the reversal"

    def __init__(self, pool: str, asset_class: str, needed: int, active: int) -> None:
        super().__init__(
            f"buffer pool {pool} holds {active} g active of {asset_class}, the reversal needs"
            f" {needed} g"
        )
        self.pool = pool
        self.asset_class = asset_class
        self.needed = needed
        self.active = active


class AccountKindError(RegistryError):
    """An account named or signing is not of the kind the request needs (a merchant's offer,
    a community, a person or household joining one)."""

    code = "wrong_account_kind"
    status = 422
    title = "The account is not of the kind this request needs"


class UnknownOfferError(RegistryError):
    code = "unknown_offer"
    status = 404
    title = "No such offer"

    def __init__(self, merchant: str, offer_id: str) -> None:
        super().__init__(f"{merchant} has no offer {offer_id!r}")
        self.merchant = merchant
        self.offer_id = offer_id


class OfferExistsError(RegistryError):
    """An offer id names one offer of its merchant: a changed offer needs a new id."""

    code = "offer_exists"
    status = 409
    title = "The merchant already published an offer with this id"


class OfferStateError(RegistryError):
    """The offer was withdrawn or has expired: it can no longer be redeemed."""

    code = "offer_not_redeemable"
    status = 409
    title = "The offer was withdrawn or has expired"


class MembershipError(RegistryError):
    """Joining a community twice, or leaving one the account is not a member of."""

    code = "membership"
    status = 409
    title = "The account's membership does not allow this request"
