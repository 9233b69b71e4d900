"""Gas of CarbonCredits on the embedded chain: proof-verified mint, on-chain retirement, and a
plain OpenZeppelin ERC-1155 mint for comparison.

    .venv/bin/python bench/gas.py

The locks are those of the 10^9-leaf tree of tests/vectors/locks.json (every leaf but the locks
holds one filler event), so their inclusion proofs have the length of a real log of that size.
The contract cannot tell the difference: it checks a genuine proof against a genuine root.

Minted in order, each to a fresh recipient:
1. the first lock of the asset class (leaf 123,456,789, 30 hashes): it also creates the class's
   supply, so it is reported apart;
2. the last leaf (21 hashes, about the proof of a lock anchored soon after it was logged),
   the first lock of its word of the minted-lock bitmap (256 lock numbers a word): 17,100 gas
   more, an SSTORE from zero;
3. its neighbour (21 hashes), whose bitmap word is now in use: the headline figure. The
   registry numbers locks densely (`lock_no` 0, 1, 2...), so 255 of every 256 mints are in
   this case; `proof_overhead_gas_average` spreads the fresh word's cost over its 256 locks.
The plain mint gives the same amount of the same id to a fresh holder. Figures are whole
transactions: 21,000 + calldata + execution.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_account import Account  # noqa: E402

from anchoring.chain import Chain, load_artifact  # noqa: E402
from registry.commitments import commit_text  # noqa: E402
from registry.signing import Signer  # noqa: E402
from tests.vectors import generate_lock_vectors as vectors  # noqa: E402

BASE_URI = "https://registry.example/v1/tokens/{id}"
CONTRACT_URI = "https://registry.example/v1/tokens/contract"
OVERHEAD_TARGET = 60_000


class Bench:
    """The three contracts on a fresh embedded chain, and a funded operator who calls them."""

    def __init__(self) -> None:
        self.chain = Chain.create_embedded()
        operator = Signer.generate()
        self.operator = operator.address
        self.key = bytes.fromhex(operator.private_key_hex[2:])
        self.chain.fund(self.operator)
        anchor = self.chain.deploy_anchor(self.key, self.operator, self.operator)
        self.credits = self._contract(
            "CarbonCredits",
            self.chain.deploy(
                "CarbonCredits", self.key, self.operator, anchor, BASE_URI, CONTRACT_URI
            ),
        )
        self.plain = self._contract("PlainERC1155", self.chain.deploy("PlainERC1155", self.key))

    def _contract(self, name: str, address: str) -> Any:
        return self.chain.w3.eth.contract(address=address, abi=load_artifact(name)["abi"])

    def anchor(self, tree_size: int, root: str) -> None:
        raw, tx_hash = self.chain.anchor_transaction(
            self.key,
            self.chain.nonce(self.operator),
            tree_size,
            bytes.fromhex(root[2:]),
            bytes(32),
            [],
        )
        self.chain.broadcast(raw)
        assert self.chain.wait_receipt(tx_hash)["status"] == 1

    def gas(self, call: Any, key: bytes | None = None) -> int:
        """Gas used by a transaction sending `call` from `key`'s account (default: the operator's)."""
        key = key or self.key
        sender = Account.from_key(key).address
        tx = call.build_transaction(
            {"from": sender, "nonce": self.chain.nonce(sender), "gas": 1_000_000}
        )
        raw, tx_hash = self.chain.sign_transaction(key, dict(tx))
        self.chain.broadcast(raw)
        receipt = self.chain.wait_receipt(tx_hash)
        assert receipt["status"] == 1, call.fn_name
        return int(receipt["gasUsed"])

    def mint_with_proof(self, case: dict[str, Any]) -> int:
        lock = {**case["fields"], "signature": bytes.fromhex(case["fields"]["signature"][2:])}
        proof = [bytes.fromhex(value[2:]) for value in case["proof"]]
        return self.gas(self.credits.functions.mintWithProof(lock, case["tree_size"], proof))


def gas_figures() -> dict[str, object]:
    large_tree = json.loads(vectors.OUTPUT.read_text(encoding="utf-8"))["large_tree"]
    first, fresh_word, used_word = large_tree["locks"]
    assert fresh_word["index"] // 256 == used_word["index"] // 256 != first["index"] // 256
    bench = Bench()
    bench.anchor(large_tree["tree_size"], large_tree["root"])
    fields = fresh_word["fields"]
    token_id = bench.credits.functions.tokenIdOf(fields["assetClass"]).call()

    first_gas = bench.mint_with_proof(first)
    plain_gas = bench.gas(
        bench.plain.functions.mint(fields["recipient"], token_id, fields["amount"])
    )
    fresh_word_gas = bench.mint_with_proof(fresh_word)
    used_word_gas = bench.mint_with_proof(used_word)

    # The first lock's recipient retires part of its credits, then returns some to the registry.
    holder_key = vectors.private_key(f"recipient {vectors.large_tree_label(first['index'])}")
    holder = Account.from_key(holder_key).address
    assert holder == first["fields"]["recipient"]
    bench.chain.fund(holder)
    _, beneficiary = commit_text("Li Wei")  # the chain holds a commitment, never the name
    retire = bench.credits.functions.retire(
        token_id, 1_000, bytes.fromhex(beneficiary[2:]), "2026 commute offset, Shenzhen"
    )
    retire_gas = bench.gas(retire, holder_key)
    give_back = bench.credits.functions.returnToRegistry(token_id, 1_000, bench.operator)
    return_gas = bench.gas(give_back, holder_key)
    return {
        "mint_with_proof_gas": used_word_gas,
        "retire_onchain_gas": retire_gas,
        "plain_mint_gas": plain_gas,
        "proof_overhead_gas": used_word_gas - plain_gas,
        "proof_overhead_target_gas": OVERHEAD_TARGET,
        "proof_overhead_gas_average": round(
            used_word_gas + (fresh_word_gas - used_word_gas) / 256 - plain_gas
        ),
        "proof_hashes": len(used_word["proof"]),
        "tree_size": large_tree["tree_size"],
        "mint_with_proof_gas_fresh_bitmap_word": fresh_word_gas,
        "proof_overhead_gas_fresh_bitmap_word": fresh_word_gas - plain_gas,
        "mint_with_proof_gas_first_lock_of_class": first_gas,
        "proof_hashes_first_lock_of_class": len(first["proof"]),
        "return_to_registry_gas": return_gas,
    }


if __name__ == "__main__":
    print(json.dumps(gas_figures()))
