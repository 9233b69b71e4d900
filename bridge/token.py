"""The CarbonCredits token contract seen from Python: deploy, mint with proof, read, watch.

A lock is minted from the typed fields of its `CreditsLocked` event; the contract rebuilds
the event's canonical bytes from them and checks the inclusion proof against the root that
RegistryAnchor holds, so the caller (anyone) needs no trust from the contract.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from anchoring.chain import (
    Chain,
    load_artifact,
    revert_data,
)
from registry.eip712 import keccak

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"  # the API's default address
MINTED = "CreditsMinted"
SUPPLY_CACHE_SIZE = 4096


def metadata_uris(public_url: str) -> tuple[str, str]:
    """The token's ERC-1155 `uri` (with the literal `{id}` wallets substitute) and its
    ERC-7572 `contractURI`, both served by the registry API at `public_url`."""
    base = public_url.rstrip("/")
    return f"{base}/v1/tokens/{{id}}", f"{base}/v1/tokens/contract"


@dataclass(frozen=True)
class BridgeEvent:
    """What the token contract did that the registry must record: a mint, a return or an
    on-chain retirement."""

    kind: str  # "CreditsMinted", "CreditsReturned" or "CreditsRetiredOnChain"
    holder: str  # the burner, or for a mint its recipient
    token_id: int
    amount: int
    account: str | None  # registry account credited by a return
    beneficiary: str  # 0x commitment to the beneficiary's name (never the name)
    reason: str
    tx_hash: bytes
    log_index: int
    block_number: int
    lock_seq: int | None = None  # the minted lock's CreditsLocked event


def lock_fields(event: dict[str, Any]) -> tuple[Any, ...]:
    """The `LockEvent.Lock` tuple of a `CreditsLocked` event (as the registry logged it)."""
    request = event["payload"]["request"]
    (signature,) = event["signatures"]
    return (
        event["seq"],
        event["time"],
        request["owner"],
        request["recipient"],
        request["assetClass"],
        request["batchNo"],
        request["amount"],
        request["nonce"],
        request["expiry"],
        bytes.fromhex(signature["signature"][2:]),
        [[r["batch_no"], r["first"], r["last"]] for r in event["payload"]["effects"]["ranges"]],
        event["payload"]["effects"]["lock_no"],
    )


class TokenContract:
    """CarbonCredits at `address` on `chain`."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = chain.w3.to_checksum_address(address)
        self.contract = chain.w3.eth.contract(
            address=self.address, abi=load_artifact("CarbonCredits")["abi"]
        )
        self._supplies: dict[tuple[int, bytes], int] = {}

    @classmethod
    def deploy(
        cls, chain: Chain, key: bytes, anchor: str, public_url: str = DEFAULT_PUBLIC_URL
    ) -> TokenContract:
        admin = Account.from_key(key).address
        base_uri, contract_uri = metadata_uris(public_url)
        return cls(chain, chain.deploy("CarbonCredits", key, admin, anchor, base_uri, contract_uri))

    def _call(self, what: str, function: Any, block: int | str = "latest") -> Any:
        return self.chain.call(what, lambda: function.call(block_identifier=block))

    def transact(self, key: bytes, function: Any) -> dict[str, Any]:
        """Sign, send and wait for one call; a revert raises ChainError naming the
        contract's custom error (e.g. `CarbonCreditsLockAlreadyMinted`) before any gas."""
        return self.chain.transact(
            key, function, 1_500_000, lambda exc: f": {self._error_name(exc)}"
        )

    def _error_name(self, exc: Exception) -> str:
        """The custom error's name from the revert data, or the exception's own text."""
        text = " ".join(str(a) for a in (getattr(exc, "data", None), *exc.args) if a)
        data = revert_data(text)
        if data is not None:
            selector = data[:4].hex()
        else:
            found = re.search(r"0x([0-9a-fA-F]{8})", text)
            if found is None:
                return text
            selector = found.group(1).lower()
        for item in self.contract.abi:
            if item["type"] == "error":
                signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                if keccak(signature.encode())[:4].hex() == selector:
                    return str(item["name"])
        return f"{text} (custom error 0x{selector})"

    def mint_with_proof(
        self, key: bytes, event: dict[str, Any], tree_size: int, proof: Sequence[bytes]
    ) -> dict[str, Any]:
        return self.transact(
            key, self.contract.functions.mintWithProof(lock_fields(event), tree_size, list(proof))
        )

    def return_to_registry(
        self, key: bytes, token_id: int, amount: int, account: str
    ) -> dict[str, Any]:
        return self.transact(
            key, self.contract.functions.returnToRegistry(token_id, amount, account)
        )

    def retire(
        self, key: bytes, token_id: int, amount: int, beneficiary: str, reason: str
    ) -> dict[str, Any]:
        """Retire tokens on chain; `beneficiary` is a 0x commitment to a name, never a name."""
        commitment = bytes.fromhex(beneficiary.removeprefix("0x"))
        return self.transact(
            key, self.contract.functions.retire(token_id, amount, commitment, reason)
        )

    def transfer(self, key: bytes, to: str, token_id: int, amount: int) -> dict[str, Any]:
        sender = Account.from_key(key).address
        return self.transact(
            key, self.contract.functions.safeTransferFrom(sender, to, token_id, amount, b"")
        )

    def balance_of(self, holder: str, token_id: int) -> int:
        return int(self._call("balanceOf", self.contract.functions.balanceOf(holder, token_id)))

    def total_supply(self, token_id: int, block: int | str = "latest") -> int:
        """totalSupply(id) at `block`; at a numbered block it is remembered by the block's
        hash (a call costs milliseconds on the embedded chain; a block's state never changes)."""
        function = self.contract.functions.totalSupply(token_id)
        header = self.chain.block_header(block) if isinstance(block, int) else None
        if header is None:
            return int(self._call("totalSupply", function, block))
        key = (token_id, header[0])
        if key not in self._supplies:
            if len(self._supplies) >= SUPPLY_CACHE_SIZE:
                self._supplies.clear()
            self._supplies[key] = int(self._call("totalSupply", function, block))
        return self._supplies[key]

    def is_lock_minted(self, lock_no: int, block: int | str = "latest") -> bool:
        function = self.contract.functions.isLockMinted(lock_no)
        return bool(self._call("isLockMinted", function, block))

    def lock_event_bytes(self, event: dict[str, Any]) -> bytes:
        return bytes(
            self._call("lockEventBytes", self.contract.functions.lockEventBytes(lock_fields(event)))
        )

    def bridge_events(self, from_block: int, to_block: int) -> list[BridgeEvent]:
        """Mints, returns and on-chain retirements mined in [from_block, to_block], in chain
        order."""
        if to_block < from_block:
            return []
        events = self.contract.events

        def logs(event: Any) -> list[Any]:
            return list(
                self.chain.call(
                    "get logs", lambda: event.get_logs(from_block=from_block, to_block=to_block)
                )
            )

        def located(log: Any) -> dict[str, Any]:
            return {
                "tx_hash": bytes(log["transactionHash"]),
                "log_index": int(log["logIndex"]),
                "block_number": int(log["blockNumber"]),
            }

        found = [
            BridgeEvent(MINTED, log["args"]["recipient"], int(log["args"]["id"]),
                        int(log["args"]["amount"]), None, "", "",
                        lock_seq=int(log["args"]["seq"]), **located(log))
            for log in logs(events.CreditsMinted)
        ] + [
            BridgeEvent("CreditsReturned", log["args"]["holder"], int(log["args"]["id"]),
                        int(log["args"]["amount"]), log["args"]["registryAccount"], "", "",
                        **located(log))
            for log in logs(events.CreditsReturned)
        ] + [
            BridgeEvent("CreditsRetiredOnChain", log["args"]["holder"], int(log["args"]["id"]),
                        int(log["args"]["amount"]), None,
                        "0x" + bytes(log["args"]["beneficiary"]).hex(), log["args"]["reason"],
                        **located(log))
            for log in logs(events.CreditsRetiredOnChain)
        ]  # fmt: skip
        return sorted(found, key=lambda e: (e.block_number, e.log_index))
