"""The database connection as the storage uses it, for both backends.

A sqlite3 connection in autocommit mode (`isolation_level=None`) has these calls; so has
`postgres.PgConnection`, which offers them on PostgreSQL. Code that holds a Store's `.conn`
is typed with `Connection`, so that a call outside this subset (sqlite3's
`set_trace_callback`, `backup`...) is a type error, not a failure on PostgreSQL alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Cursor(Protocol):
    """What the storage reads of a statement's result (sqlite3's cursor, or PgCursor)."""

    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The calls the storage makes on a database connection: a sqlite3 connection in
    autocommit mode, or a PgConnection (`postgres.py`) that offers the same on PostgreSQL."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...
    def close(self) -> None: ...
