"""`carbon-registry serve`, and `--api URL` for the write commands.

`serve` runs the HTTP API with the anchoring worker and, by default, the embedded chain
(served over JSON-RPC on loopback for verifiers). With `--api URL` (or CARBON_REGISTRY_API)
the CLI's signed write commands (accounts open/grant, classes register, issue, transfer,
retire, cancel, issue-run, reverse-claim) are signed locally as always and sent to the
registry API instead of the local database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from carbon_registry.cli.app import Context, cli
from carbon_registry.cli.ledger import init
from registry.errors import ValidationError
from registry.ledger import Private, Receipt, Registry
from registry.signing import Signer
from registry.storage import beside, display, migrate_file, registry_exists

if TYPE_CHECKING:
    from api.client import RegistryClient

API_ENV = "CARBON_REGISTRY_API"
OPERATOR_API_KEY_ENV = "CARBON_REGISTRY_OPERATOR_API_KEY"
SESSION_SECRET_ENV = "CARBON_REGISTRY_SESSION_SECRET"


def operator_api_key_path(db: str) -> Path:
    return beside(db, ".operator-api-key", OPERATOR_API_KEY_ENV)


def load_or_create_operator_api_key(db: str) -> str:
    """The operator API key: from the environment, else the key file beside the database
    (created, readable by its owner only, when missing)."""
    key = os.environ.get(OPERATOR_API_KEY_ENV)
    if key:
        return key
    return _load_or_create_secret(operator_api_key_path(db))


def session_secret_path(db: str) -> Path:
    return beside(db, ".session-secret", SESSION_SECRET_ENV)


def _load_or_create_secret(path: Path) -> str:
    """A secret kept in `path`, created (readable by its owner only) when missing; two
    processes starting together keep the one written first."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    draft = path.with_name(f"{path.name}.{os.getpid()}.new")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    try:
        os.link(draft, path)  # whole or not at all: a reader never sees half a file
    except FileExistsError:
        secret = path.read_text().strip()
    finally:
        draft.unlink()
    return secret


class RemoteContext(Context):
    """The CLI context when `--api` is given: signed writes go to the API."""

    def __init__(self, db: str, api_url: str) -> None:
        super().__init__(db)
        from api.client import RegistryClient

        key = os.environ.get(OPERATOR_API_KEY_ENV)
        if key is None and operator_api_key_path(db).exists():
            key = operator_api_key_path(db).read_text().strip()
        self.api_url = api_url
        self.client: RegistryClient = RegistryClient(api_url, operator_api_key=key)

    def close(self) -> None:
        super().close()
        self.client.close()

    @property
    def registry(self) -> Registry:
        raise ValidationError(
            "with --api only the signed write commands go through the API (accounts open/grant,"
            " classes register, issue, transfer, retire, cancel, issue-run, reverse-claim); read"
            " commands and `platform submit`/`verifier attest` use the local --db or the HTTP API"
        )

    def submit(
        self, signer: Signer, kind: str, private: Private | None = None, /, **fields: Any
    ) -> Receipt:
        import httpx

        try:  # a refusal (ApiProblem) carries the API's code: the CLI prints it as is
            return self.client.execute(signer, kind, private, **fields)
        except httpx.HTTPError as exc:
            raise ValidationError(
                f"cannot reach the registry API at {self.api_url}: {exc}"
            ) from exc


@cli.command()
@click.option("--host", default=None, help="Interface (default 127.0.0.1; CARBON_REGISTRY_HOST).")
@click.option(
    "--port",
    type=click.IntRange(0, 65_535),
    default=None,
    help="TCP port (default 8080; CARBON_REGISTRY_PORT).",
)
@click.option(
    "--chain",
    "chain_spec",
    default=None,
    help="'embedded' (default) or a JSON-RPC URL (CARBON_REGISTRY_CHAIN).",
)
@click.option(
    "--rpc-port",
    type=click.IntRange(0, 65_535),
    default=None,
    help="Port of the embedded chain's JSON-RPC.",
)
@click.option(
    "--anchor-max-age", type=float, default=None, help="Seconds before a checkpoint is cut."
)
@click.option("--no-anchoring", is_flag=True, help="Serve the API without the anchoring worker.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    chain_spec: str | None,
    rpc_port: int | None,
    anchor_max_age: float | None,
    no_anchoring: bool,
) -> None:
    """Run the registry API with the anchoring worker (embedded chain by default).

    Creates the --db registry first (like `init`) when it does not exist. Settings come from
    CARBON_REGISTRY_* variables (README); options here override them.
    """
    import uvicorn

    from api.main import create_app
    from api.settings import Settings

    obj: Context = ctx.obj
    if registry_exists(obj.db):
        _, applied = migrate_file(obj.db)
        for step in applied:
            click.echo(f"migrated {display(obj.db)}: step {step.version}, {step.description}")
    else:
        ctx.invoke(init)
    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "chain": chain_spec,
        "rpc_port": rpc_port,
        "anchor_max_age_s": anchor_max_age,
    }
    settings = Settings(db=str(obj.db), **{k: v for k, v in overrides.items() if v is not None})
    if no_anchoring:
        settings.anchoring = False
    if settings.operator_api_key is None:
        from pydantic import SecretStr

        settings.operator_api_key = SecretStr(load_or_create_operator_api_key(obj.db))
        if not os.environ.get(OPERATOR_API_KEY_ENV):
            click.echo(f"operator API key in {operator_api_key_path(obj.db)} (keep it secret)")
    if settings.session_secret is None:
        from pydantic import SecretStr

        # Every node of the registry, and a restarted one, checks the others' session tokens.
        settings.session_secret = SecretStr(_load_or_create_secret(session_secret_path(obj.db)))
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLogFormatter()
        if settings.log_format == "json"
        else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
    )
    threading.Thread(target=_announce, args=(server, app.state.service), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops cleanly, then re-raises it
        server.run()
    click.echo("registry API stopped")


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: what log collectors (Loki, Elasticsearch...) read."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _announce(server: Any, service: Any) -> None:
    """Print where everything is once the server listens."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    base = f"http://{host}:{port}"
    status = service.chain_status()
    click.echo(f"Carbon Registry API on {base} (docs {base}/docs, OpenAPI {base}/openapi.json)")
    if status.rpc_url:
        click.echo(f"chain JSON-RPC for verifiers: {status.rpc_url} ({status.kind})")
    click.echo("Ctrl-C to stop")


def install_api_option(group: click.Group) -> None:
    """Add `--api URL`: write commands then go to a running API instead of the --db file."""
    group.params.append(
        click.Option(
            ["--api"],
            envvar=API_ENV,
            default=None,
            metavar="URL",
            help=f"Send signed write commands to the registry API at URL (env {API_ENV}).",
        )
    )
    local = group.callback
    assert local is not None

    def callback(api: str | None, **kwargs: Any) -> None:
        local(**kwargs)
        if api:
            context = click.get_current_context()
            remote = RemoteContext(context.obj.db, api)
            context.obj = remote
            context.call_on_close(remote.close)

    group.callback = callback


install_api_option(cli)
