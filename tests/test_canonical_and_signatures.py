"""Canonical bytes equal RFC 8785; EIP-712 digests and signatures equal eth_account's."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from registry import messages
from registry.canonical import MAX_SAFE_INTEGER, canonical_bytes
from registry.eip712 import Domain, recover_signer
from registry.errors import ValidationError
from registry.signing import Signer

json_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | json_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=127), max_size=8), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_bytes_equal_rfc8785(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value", [1.5, 2**53, {"k": float("nan")}, {1: "x"}, {"ключ": 1}, "\ud800"]
)
def test_values_outside_the_subset_are_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        canonical_bytes(value)


DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

SAMPLES: dict[str, dict[str, Any]] = {
    "Transfer": {
        "from": ALICE,
        "to": DOMAIN.verifying_contract,
        "assetClass": "SZ_TRANSIT-1.0-2026-440300",
        "batchNo": 3,
        "amount": 12_345,
        "nonce": 7,
        "expiry": 1_900_000_000,
    },
    "Retire": {
        "owner": ALICE,
        "assetClass": "X-1-2026-CN",
        "batchNo": 0,
        "amount": 1,
        "beneficiaryCommitment": "0x" + "12" * 32,
        "beneficiary": ALICE,
        "reason": "低碳出行",
        "jurisdiction": "CN-GD",
        "nonce": 1,
        "expiry": 2,
    },
    "Cancel": {
        "holder": ALICE,
        "assetClass": "X-1-2026-CN",
        "batchNo": 0,
        "amount": 9,
        "reason": "fraud",
        "evidenceHash": "0x" + "ab" * 32,
        "nonce": 3,
        "expiry": 4,
    },
    "OpenAccount": {
        "account": ALICE,
        "kind": "person",
        "name": "",
        "nameCommitment": "0x" + "00" * 32,
        "householdCommitment": "0x" + "00" * 32,
        "nonce": 5,
        "expiry": 6,
    },
    "RegisterAssetClass": {
        "methodology": "SZ_TRANSIT",
        "methodologyVersion": "1.0",
        "vintage": 2026,
        "region": "440300",
        "nonce": 1,
        "expiry": 2,
    },
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_digest_equals_eth_account(kind: str) -> None:
    from registry.ledger import OPERATIONS

    struct = OPERATIONS[kind].struct
    message = messages.normalise(kind, SAMPLES[kind])
    signable = encode_typed_data(full_message=DOMAIN.full_message(struct, message))
    reference = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert DOMAIN.digest(struct, message) == reference


def test_a_wallet_signature_is_accepted_and_ours_is_the_wallets() -> None:
    from registry.ledger import OPERATIONS

    account = Account.create()
    struct = OPERATIONS["Transfer"].struct
    message = messages.normalise("Transfer", dict(SAMPLES["Transfer"], **{"from": account.address}))
    wallet = Account.sign_typed_data(account.key, full_message=DOMAIN.full_message(struct, message))
    assert (
        recover_signer(
            DOMAIN.digest(struct, message), "0x" + wallet.signature.hex().removeprefix("0x")
        )
        == account.address
    )
    ours = Signer(bytes(account.key)).sign(DOMAIN, "Transfer", message)
    assert bytes.fromhex(ours[2:]) == bytes(wallet.signature)
