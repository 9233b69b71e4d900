"""Trust anchors: which log, chain, contract and signers a verifier accepts.

A bundle names its own contract and signer; on its own it proves only that *some* log
anchored on *some* contract holds the event. A trust anchor pins the registry the verifier
means, like a C2SP note verifier key: a bundle from another log, chain, contract or signer
fails with a message saying which. The registry publishes its anchor at `GET /v1/trust` and
in its README; verifiers keep it in a small JSON file:

    {"log_id": "...", "chain_id": 131277322940537, "contract": "0x...",
     "signers": ["0x..."], "token": "0x..."}

`signers` is optional: without it, any key that held the anchoring contract's
ANCHORER_ROLE when the checkpoint was anchored is accepted (keys rotate on chain).
`token` (the CarbonCredits contract) is optional and used by the reserve check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon_verifier.bundle import BundleFormatError, address, fields_of, integer, text
from carbon_verifier.jsonsafe import loads


@dataclass(frozen=True)
class TrustAnchor:
    log_id: str
    chain_id: int
    contract: str
    signers: tuple[str, ...] = ()
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> TrustAnchor:
        """Read a trust anchor; BundleFormatError names a malformed field (`trust.chain_id`)."""
        data = fields_of(
            value, "trust", ("log_id", "chain_id", "contract"), ("signers", "token", "note")
        )
        signers = data.get("signers", [])
        if not isinstance(signers, list) or len(signers) > 64:
            raise BundleFormatError("trust.signers", "must be a list of addresses")
        return cls(
            text(data["log_id"], "trust.log_id"),
            integer(data["chain_id"], "trust.chain_id", 1),
            address(data["contract"], "trust.contract"),
            tuple(address(s, f"trust.signers[{i}]") for i, s in enumerate(signers)),
            None if data.get("token") is None else address(data["token"], "trust.token"),
        )

    @classmethod
    def load(cls, path: str | Path) -> TrustAnchor:
        return cls.from_json(loads(Path(path).read_bytes(), what=str(path)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "log_id": self.log_id,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "signers": list(self.signers),
        }
        if self.token is not None:
            out["token"] = self.token
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def note_key(self) -> str:
        """One line in the spirit of a C2SP note verifier key: `<log id>+<chain>+<contract>`."""
        return f"{self.log_id}+{self.chain_id}+{self.contract}"
