"""Carbon Registry's light verifier: proof bundles, consistency proofs and certificates,
checked with nothing but the bundle and a chain's JSON-RPC."""
