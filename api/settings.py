"""Service settings, read from `CARBON_REGISTRY_*` environment variables (pydantic-settings).

Every variable is documented in README.md ("Running the service"). Secrets (the operator's
signing key, the operator API key) come from the environment or from files beside the
database that only their owner can read; never from the repository.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path, PurePath
from typing import Literal

from limits import parse
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from anchoring.chain import EMBEDDED_RPC_PORT
from bridge.token import DEFAULT_PUBLIC_URL
from registry.recovery import MIN_GROUP
from registry.storage import beside

KIB = 1024


class Settings(BaseSettings):
    """Configuration of `carbon-registry serve` and of `api.main.create_app`."""

    model_config = SettingsConfigDict(env_prefix="CARBON_REGISTRY_", extra="ignore")

    db: str = Field(
        default="carbon-registry.db",
        description="The registry: a SQLite file, or a postgresql:// URL (docs/postgresql.md).",
    )
    host: str = Field(default="127.0.0.1", description="Interface the API listens on.")
    port: int = Field(
        default=8080, ge=0, le=65535, description="TCP port of the API (0: any free)."
    )
    operator_api_key: SecretStr | None = Field(
        default=None,
        description="Key operator-only requests carry in X-Operator-Key; serve generates one "
        "into DB.operator-api-key when unset.",
    )
    operator_key: SecretStr | None = Field(
        default=None,
        description="Operator's secp256k1 key for checkpoints and anchors (else the key file "
        "DB.operator-key.json written by init).",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Secret the session tokens of POST /v1/sessions are HMAC-SHA256'd with (at"
        " least 32 characters). Unset: `serve` keeps one in DB.session-secret, so sessions"
        " survive a restart and every node sharing the file takes the others' tokens; a"
        " service made without either draws a random one.",
    )
    chain_explorer_tx_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]*\{tx\}[^\s]*$",
        description="A block explorer's page of a transaction, `{tx}` standing for its hash"
        " (e.g. https://etherscan.io/tx/{tx}): the explorer pages link anchors to it.",
    )
    max_body_bytes: int = Field(default=256 * KIB, ge=1 * KIB, description="Largest request body.")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="SQLite synchronous mode of the writer (FULL survives power cuts).",
    )
    group_commit_max: int = Field(
        default=256, ge=1, le=5_000, description="Most write requests committed in one transaction."
    )
    signature_worker: bool = Field(
        default=True,
        description=(
            f"Recover the signers of a write group (of {MIN_GROUP} requests or more) in a"
            " worker process, on a second core, while the group before it commits."
        ),
    )
    read_threads: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Most requests served at once on threads beside the event loop. Each such"
        " thread keeps its own database connection for the requests it serves, so on"
        " PostgreSQL a node holds at most this many read sessions, plus its writer's, its"
        " webhooks', its event loop's and its anchoring leader's (docs/postgresql.md).",
    )
    idempotency_ttl_s: int = Field(
        default=86_400, ge=60, description="How long an Idempotency-Key and its response are kept."
    )
    rate_limits: bool = Field(
        default=True, description="Limit each client's writes and expensive reads (429)."
    )
    rate_limit_writes: str = Field(
        default="100/second", description="Writes per client (`limits` notation)."
    )
    rate_limit_expensive_reads: str = Field(
        default="200/second",
        description="Proofs, consistency proofs, reserve and stream connections per client.",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client address from X-Forwarded-For (only behind a proxy that sets it).",
    )
    anchoring: bool = Field(default=True, description="Run the anchoring worker inside `serve`.")
    chain: str = Field(
        default="embedded",
        description="'embedded' (in-process EVM) or the JSON-RPC URL of a chain.",
    )
    rpc_port: int = Field(
        default=EMBEDDED_RPC_PORT,
        ge=0,
        le=65535,
        description="Port of the embedded chain's JSON-RPC server on 127.0.0.1 (0: any free"
        " port; the default stays the same across restarts, so published URLs keep working).",
    )
    token: str | None = Field(
        default=None,
        description="CarbonCredits address on a JSON-RPC chain (default: the operator's second "
        "contract; the embedded chain deploys it there).",
    )
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The API's public base URL: token metadata (`uri`, `contractURI`) and"
        " certificate links point there. Set it before the token contract is first deployed.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json`: one JSON object a line (time, level, logger, message) for log"
        " collectors.",
    )
    backup_dir: Path | None = Field(
        default=None,
        description="Folder `POST /v1/backups` writes verified copies into (default: DB.backups).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Other origins browsers may call the API from (JSON list, e.g."
        ' ["https://dapp.example"]; ["*"] for any: signed writes carry their own authority,'
        " no cookie is used). Default: none; the API's own pages are same-origin.",
    )
    public_rpc_url: str | None = Field(
        default=None,
        description="RPC URL shown to verifiers (GET /v1/chain, certificates): for a chain"
        " behind a proxy, or instead of a JSON-RPC URL that holds a key.",
    )
    anchor_max_pending: int = Field(
        default=1_000, ge=1, description="Cut a checkpoint at this many events."
    )
    anchor_max_age_s: float = Field(
        default=10.0, gt=0, description="...or when this many seconds old."
    )
    anchor_confirmations: int = Field(
        default=1, ge=1, description="Blocks deep before an anchor counts."
    )
    anchor_leader_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="On PostgreSQL, how often a node whose anchoring worker stands by tries to"
        " take over the leader's lock (bounds the takeover time after the leader dies).",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Deliveries tried per event.")
    webhook_backoff_s: float = Field(
        default=1.0, gt=0, description="First retry delay; doubles each try."
    )
    webhook_max_backoff_s: float = Field(default=300.0, gt=0, description="Longest retry delay.")
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook delivery."
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description='Networks webhooks may reach although not public, e.g. ["127.0.0.0/8"]'
        " for local use (JSON list). Default: public addresses only.",
    )
    sse_max_seconds: float = Field(
        default=3600.0, gt=0, description="An event stream closes after this; clients resume."
    )

    def webhook_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(n, strict=False) for n in self.webhook_allowed_networks]

    @field_validator("db", mode="before")
    @classmethod
    def _db_location(cls, value: object) -> object:
        return str(value) if isinstance(value, PurePath) else value

    def beside_db(self, suffix: str, setting: str | None = None) -> Path:
        """A file of the registry (`registry.storage.beside`)."""
        return beside(self.db, suffix, setting)

    @field_validator("rate_limit_writes", "rate_limit_expensive_reads")
    @classmethod
    def _limit(cls, value: str) -> str:
        parse(value)  # ValueError names the bad notation
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # ValueError names the bad one
        return value
