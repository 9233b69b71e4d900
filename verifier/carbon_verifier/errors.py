"""The root of every error with a stable code, shared by the verifier and the registry."""

from __future__ import annotations

from typing import ClassVar


class CodedError(Exception):
    """An error with a stable `code`, the HTTP `status` an API answers with, and a `title`."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Unexpected error"
