"""The stored log's own error; the proof errors are `carbon_verifier.merkle.errors`."""

from __future__ import annotations

from carbon_verifier.merkle.errors import MerkleError


class StoreError(MerkleError):
    """The SQLite store cannot serve the request: its tables are inconsistent, or the
    connection is inside a transaction that the log does not own."""

    code = "merkle_store"
    status = 500
    title = "The stored Merkle log is inconsistent"
