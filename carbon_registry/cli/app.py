"""The `carbon-registry` command group, its context, and the one place errors become text.

Every command is a thin wrapper over the library. Whatever goes wrong is printed as one
line `Error [code]: message` on stderr with exit status 1, translated here once: the
library's coded errors print their own code; a database that is not a registry, a full
disk, a file that cannot be written, input that is not JSON each get theirs. Set
CARBON_REGISTRY_DEBUG=1 to see the traceback instead.

Read commands open the database read-only (`Context.reader`): they work in a directory
they cannot write and never change the file; write commands open it writable
(`Context.registry`).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from registry.errors import NotInitialisedError, ValidationError
from registry.ledger import Private, Receipt, Registry
from registry.signing import PASSPHRASE_ENV, Signer
from registry.storage import Store, beside
from registry.storage.postgres import is_url

F = TypeVar("F", bound=Callable[..., Any])

OPERATOR_KEY_ENV = "CARBON_REGISTRY_OPERATOR_KEY"
OWNER_KEY_ENV = "CARBON_REGISTRY_KEY"
DEBUG_ENV = "CARBON_REGISTRY_DEBUG"
# The chain id of eth-tester's py-evm chain, the embedded default (a test checks it).
EMBEDDED_CHAIN_ID = 131277322940537
SAFE_INT = click.IntRange(0, 2**53 - 1)


def operator_key_path(db: str) -> Path:
    return beside(db, ".operator-key.json", OPERATOR_KEY_ENV)


def describe(exc: BaseException) -> tuple[str, str]:
    """`(code, message)` of any error a command can meet."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code, str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return "not_a_registry", f"the file is not a registry database ({text})"
        if "readonly" in text or "unable to open" in text:
            return "read_only", f"cannot write the registry database here ({text})"
        if "full" in text:
            return "disk_full", f"the disk is full ({text})"
        if "locked" in text or "busy" in text:
            return "busy", f"the database is busy; try again ({text})"
        return "database_error", text
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return "disk_full", f"{where}{reason}"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "permission_denied", f"{where}{reason}"
        if exc.errno == errno.ENOENT:
            return "not_found", f"{where}{reason}"
        return "os_error", f"{where}{reason}"
    if type(exc).__module__.startswith("httpx"):  # --api: the HTTP client's errors
        return "api_unreachable", f"cannot reach the registry API: {exc}"
    if isinstance(exc, RecursionError):
        return "too_deep", "the input nests too deep"
    if isinstance(exc, OverflowError):
        return "invalid_request", f"a number is out of range ({exc})"
    return "internal_error", f"{type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for details)"


class RegistryGroup(click.Group):
    """A click group that turns any error of its commands into one line and status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            code, message = describe(exc)
            click.echo(f"Error [{code}]: {' '.join(message.split())}", err=True)
            ctx.exit(1)


class Context:
    def __init__(self, db: str) -> None:
        self.db = db
        self._registry: Registry | None = None
        self._reader: Registry | None = None

    def close(self) -> None:
        for opened in (self._registry, self._reader):
            if opened is not None:
                opened.store.close()

    def _require_file(self) -> None:
        if not is_url(self.db) and not Path(self.db).is_file():
            raise NotInitialisedError(
                f"no registry at {self.db}: run `carbon-registry init` first (or pass --db)"
            )

    @property
    def registry(self) -> Registry:
        """The registry opened for writing."""
        if self._registry is None:
            self._require_file()
            self._registry = Registry(Store(self.db, create=False))
        return self._registry

    @property
    def reader(self) -> Registry:
        """The registry opened read-only (it never writes the file, nor its directory)."""
        if self._registry is not None:
            return self._registry
        if self._reader is None:
            self._require_file()
            self._reader = Registry(Store(self.db, read_only=True))
        return self._reader

    def operator(self) -> Signer:
        key = os.environ.get(OPERATOR_KEY_ENV)
        if key:
            return Signer(key)
        path = operator_key_path(self.db)
        if not path.exists():
            raise ValidationError(f"no operator key: set {OPERATOR_KEY_ENV} or keep {path}")
        return load_key(path)

    def submit(
        self, signer: Signer, kind: str, private: Private | None = None, /, **fields: Any
    ) -> Receipt:
        """Sign a request with `signer` and execute it; `private` is personal data beside."""
        registry = self.registry
        return registry.execute(*signer.request(registry.domain, kind, **fields), private)


pass_context = click.make_pass_decorator(Context)


def load_key(path: Path) -> Signer:
    """A key file; an encrypted one is unlocked with CARBON_REGISTRY_KEY_PASSPHRASE or, on a
    terminal, a passphrase prompt."""
    passphrase = None
    if Signer.is_keystore(path) and not os.environ.get(PASSPHRASE_ENV) and sys.stdin.isatty():
        passphrase = click.prompt(f"passphrase of {path}", hide_input=True, err=True)
    return Signer.load(path, passphrase)


def passphrase_for_new_key() -> str:
    secret = os.environ.get(PASSPHRASE_ENV)
    if secret:
        return secret
    if not sys.stdin.isatty():
        raise ValidationError(f"set {PASSPHRASE_ENV} to encrypt the key")
    return str(click.prompt("passphrase", hide_input=True, confirmation_prompt=True, err=True))


def owner_signer(key_file: str | None) -> Signer:
    if key_file:
        return load_key(Path(key_file))
    key = os.environ.get(OWNER_KEY_ENV)
    if not key:
        raise ValidationError(f"give --key-file or set {OWNER_KEY_ENV} to the owner's private key")
    return Signer(key)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def write_json(value: Any, out: str | None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if out:
        Path(out).write_text(text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


def echo_receipt(receipt: Receipt, as_json: bool) -> None:
    if as_json:
        echo_json({"seq": receipt.seq, "event": receipt.event_type, "effects": receipt.effects})
        return
    click.echo(f"event {receipt.seq} {receipt.event_type}")
    for key, value in receipt.effects.items():
        if key != "ranges":
            click.echo(f"  {key}: {value}")
    for r in receipt.effects.get("ranges", []):
        click.echo(f"  batch {r['batch_no']} serials {r['first']}-{r['last']}")


def grams_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--amount", required=True, help=help_text + " Grams, or with a unit: 2.5kg, 0.75t."
    )


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
key_file_option = click.option(
    "--key-file", default=None, help=f"Owner's key file (or env {OWNER_KEY_ENV})."
)
batch_option = click.option(
    "--batch",
    "batch_no",
    type=SAFE_INT,
    default=0,
    help="Only this batch (default 0: any batch, by the range rule).",
)


@click.group(cls=RegistryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="CARBON_REGISTRY_DB",
    default="carbon-registry.db",
    show_default=True,
    help="SQLite file of the registry (env CARBON_REGISTRY_DB).",
)
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """Carbon Registry: verifiable ledger of household carbon reductions (grams of CO2e)."""
    ctx.obj = Context(db)
    ctx.call_on_close(ctx.obj.close)


@contextmanager
def progress_bar(total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A progress line (done, rate, ETA) on stderr when it is a terminal, redrawn at most 5
    times a second and erased at the end; silent in pipes, CI and logs. Yields the function
    that advances it."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    began = last = time.monotonic()
    count = 0

    def advance(done: int) -> None:
        nonlocal count, last
        count += done
        now = time.monotonic()
        if now - last < 0.2 and count < total:
            return
        last = now
        rate = count / max(now - began, 1e-9)
        eta = (total - count) / rate if rate else 0.0
        sys.stderr.write(f"\r{count:,}/{total:,} {unit}  {rate:,.0f} {unit}/s  ETA {eta:,.0f} s")
        sys.stderr.flush()

    advance(0)
    try:
        yield advance
    finally:
        sys.stderr.write("\r\x1b[K")  # erase the line: only the verdict stays
        sys.stderr.flush()
