"""Checkpoints: `{log_id, tree_size, root_hash, timestamp}` signed by the operator (EIP-712).

The signed struct is `Checkpoint(string logId,uint256 treeSize,bytes32 rootHash,uint64
timestamp)` in the registry's EIP-712 domain. Its digest is also the `checkpointHash` the
anchoring contract records, so the chain ties each anchored root to one signed checkpoint.
The text form follows C2SP tlog-checkpoint (origin line, decimal size, base64 root) so that
transparency-log tooling can read the body; `tiles.checkpoint_note` makes the signed note.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from carbon_verifier.crypto import Domain, SignatureError, StructType, recover_signer

CHECKPOINT = StructType(
    "Checkpoint",
    (
        ("logId", "string"),
        ("treeSize", "uint256"),
        ("rootHash", "bytes32"),
        ("timestamp", "uint64"),
    ),
)


class CheckpointSignatureError(SignatureError):
    """The checkpoint's signature does not recover to the signer it names."""

    code = "bad_checkpoint_signature"
    status = 422
    title = "The checkpoint's signature does not recover to its signer"


@dataclass(frozen=True)
class Checkpoint:
    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp: int

    def message(self) -> dict[str, Any]:
        return {
            "logId": self.log_id,
            "treeSize": self.tree_size,
            "rootHash": "0x" + self.root_hash.hex(),
            "timestamp": self.timestamp,
        }

    def digest(self, domain: Domain) -> bytes:
        """EIP-712 digest: what the operator signs and what the contract stores as checkpointHash."""
        return domain.digest(CHECKPOINT, self.message())

    def text(self) -> str:
        """C2SP tlog-checkpoint body: origin, tree size, base64 root hash."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.log_id}\n{self.tree_size}\n{root}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signer: str
    signature: str

    def verify(self, domain: Domain) -> None:
        """Raises CheckpointSignatureError unless `signer` signed this checkpoint in `domain`."""
        recovered = recover_signer(self.checkpoint.digest(domain), self.signature)
        if recovered != self.signer:
            raise CheckpointSignatureError(
                f"checkpoint signature recovers to {recovered}, not {self.signer}"
            )

    def to_json(self) -> dict[str, Any]:
        """The `checkpoint` object of a proof bundle (docs/spec.md)."""
        cp = self.checkpoint
        return {
            "log_id": cp.log_id,
            "tree_size": cp.tree_size,
            "root_hash": cp.root_hash.hex(),
            "timestamp": cp.timestamp,
            "signer": self.signer,
            "signature": self.signature,
        }
