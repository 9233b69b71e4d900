"""Named errors of the registry.

Each error says what was wrong in words a user can act on. The API layer maps
`code` to an HTTP status in one place; the CLI prints the message.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: a request was refused and nothing was changed."""

    code = "registry_error"


class ValidationError(RegistryError):
    """A field of a request is malformed (address, amount, hex, text)."""

    code = "invalid_request"


class NotInitialisedError(RegistryError):
    code = "not_initialised"


class SchemaVersionError(RegistryError):
    """The file's schema is older or newer than this program's: migrate, or upgrade."""

    code = "schema_version"


class AlreadyInitialisedError(RegistryError):
    code = "already_initialised"


class SignatureError(RegistryError):
    """The signature is malformed or does not recover to a key."""

    code = "bad_signature"


class WrongSignerError(SignatureError):
    """The signature is valid but made by a key other than the one that must authorise."""

    code = "wrong_signer"

    def __init__(self, expected: str, recovered: str) -> None:
        super().__init__(f"signed by {recovered}, but only {expected} may authorise this")
        self.expected = expected
        self.recovered = recovered


class SignatureExpiredError(RegistryError):
    code = "signature_expired"

    def __init__(self, expiry: int, now: int) -> None:
        super().__init__(f"the signed request expired at {expiry} (now {now})")
        self.expiry = expiry
        self.now = now


class NonceReplayedError(RegistryError):
    code = "nonce_replayed"

    def __init__(self, signer: str, nonce: int) -> None:
        super().__init__(f"nonce {nonce} of {signer} was already used: replayed request")
        self.signer = signer
        self.nonce = nonce


class NotAuthorisedError(RegistryError):
    """The signer lacks the role the operation needs."""

    code = "not_authorised"


class UnknownAccountError(RegistryError):
    code = "unknown_account"

    def __init__(self, address: str) -> None:
        super().__init__(f"no account {address} in this registry")
        self.address = address


class AccountExistsError(RegistryError):
    code = "account_exists"


class UnknownAssetClassError(RegistryError):
    code = "unknown_asset_class"

    def __init__(self, asset_class: str) -> None:
        super().__init__(f"no asset class {asset_class!r} in this registry")
        self.asset_class = asset_class


class AssetClassExistsError(RegistryError):
    code = "asset_class_exists"


class UnknownBatchError(RegistryError):
    code = "unknown_batch"


class UnknownCertificateError(RegistryError):
    code = "unknown_certificate"


class InsufficientBalanceError(RegistryError):
    """Fewer active grams than requested in the chosen asset class or batch."""

    code = "insufficient_balance"

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


class CreditsLockedError(InsufficientBalanceError):
    """The grams asked for are locked for bridging and cannot move in the registry."""

    code = "credits_locked"


class DuplicateClaimError(RegistryError):
    code = "duplicate_claim"


class DuplicateChainEventError(RegistryError):
    """This on-chain event (transaction and log index) is already recorded."""

    code = "duplicate_chain_event"


class ReplayMismatchError(RegistryError):
    """An event of the log cannot be applied to the state rebuilt so far."""

    code = "replay_mismatch"


class BatchConflictError(RegistryError):
    """A platform reused a batch id for different records: a batch id names one batch."""

    code = "batch_conflict"

    def __init__(self, platform: str, batch_id: str) -> None:
        super().__init__(
            f"{platform} already submitted batch {batch_id!r} with other records;"
            " a corrected batch needs a new batch id"
        )
        self.platform = platform
        self.batch_id = batch_id


class UnknownClaimError(RegistryError):
    code = "unknown_claim"

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"no claim {claim_id!r} in this registry")
        self.claim_id = claim_id


class ClaimStatusError(RegistryError):
    """The claim is not in the state the operation needs (e.g. attesting an issued claim)."""

    code = "claim_status"

    def __init__(self, claim_id: str, status: str, needed: str) -> None:
        super().__init__(f"claim {claim_id} is {status}; this needs a {needed} claim")
        self.claim_id = claim_id
        self.status = status
        self.needed = needed


class AttestationExistsError(RegistryError):
    code = "attestation_exists"


class IssuanceRunExistsError(RegistryError):
    code = "issuance_run_exists"


class NothingToIssueError(RegistryError):
    """An issuance run found no approved claim: no event is written for an empty run."""

    code = "nothing_to_issue"


class BufferShortfallError(RegistryError):
    """A reversal needs more grams from the buffer pool than the pool holds active."""

    code = "buffer_shortfall"

    def __init__(self, pool: str, asset_class: str, needed: int, active: int) -> None:
        super().__init__(
            f"buffer pool {pool} holds {active} g active of {asset_class}, the reversal needs"
            f" {needed} g"
        )
        self.pool = pool
        self.asset_class = asset_class
        self.needed = needed
        self.active = active
