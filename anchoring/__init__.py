"""Anchoring: the Merkle log of registry events, checkpoints, chain clients, the verifier."""
