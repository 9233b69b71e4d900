"""Signing checkpoints: the operator's side of `carbon_verifier.checkpoint`."""

from __future__ import annotations

from carbon_verifier.checkpoint import Checkpoint, CheckpointSignatureError, SignedCheckpoint
from registry.eip712 import Domain, sign_digest

__all__ = ["Checkpoint", "CheckpointSignatureError", "SignedCheckpoint", "sign_checkpoint"]


def sign_checkpoint(
    checkpoint: Checkpoint, private_key: bytes, domain: Domain, signer: str
) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint, signer, sign_digest(private_key, checkpoint.digest(domain)))
