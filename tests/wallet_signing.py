"""Signatures made by browser-wallet libraries (ethers v6, viem) from the published types."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from registry.signing import Signer


def sign_with_wallets(
    published: dict[str, Any], signer: Signer, requests: list[dict[str, Any]]
) -> list[dict[str, str]]:
    done = subprocess.run(
        ["node", str(Path(__file__).parent / "wallets" / "sign.mjs")],
        input=json.dumps({"eip712": published, "privateKey": signer.private_key_hex,
                          "requests": requests}),
        capture_output=True, text=True, timeout=120, check=True,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    result: list[dict[str, str]] = json.loads(done.stdout)
    return result
