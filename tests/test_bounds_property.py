"""Whatever the ledger accepts, replay accepts: requests with every field at or beyond its
bounds are either refused with a named error or logged as events that replay cleanly.

(The reported defect: an expiry of 2^64 - 1 was accepted, and replay then stopped at that
event because its own canonical check refuses integers above 2^53 - 1.)
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.eip712 import sign_digest
from registry.errors import RegistryError
from registry.ledger import OPERATIONS
from registry.messages import MAX_SAFE_INTEGER, ZERO_ADDRESS
from registry.replay import replay
from tests.ledger_world import CLASS, World

BOUND_INTS = st.sampled_from(
    [0, 1, 2, 9999, 10000, MAX_SAFE_INTEGER - 1, MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1,
     2**63, 2**64 - 1, 2**64, -1]
)  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(["", " ", "x" * 500, "x" * 501, "王" * 500, "\u200b", "a\u202eb"]),
    st.text(max_size=600),
)


def values(world: World) -> dict[str, st.SearchStrategy[Any]]:
    people = [world.addr(n) for n in ("alice", "bob", "carol")]
    address = st.sampled_from([*people, ZERO_ADDRESS, world.operator.address])
    return {
        "address": address,
        "string": st.one_of(TEXT, st.just(CLASS)),
        "uint256": BOUND_INTS,
        "uint64": BOUND_INTS,
        "uint16": BOUND_INTS,
        "bool": st.booleans(),
        "bytes32": st.sampled_from(["0x" + "ab" * 32, "0x" + "AB" * 32, "0x" + "00" * 31]),
    }


KINDS = sorted(OPERATIONS)  # every signed request type
ATTACHED = st.sampled_from([[], ["C1-0"], ["C1-0", "C1-0"], [{"id": "x"}]])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_accepted_request_at_any_bound_replays(tmp_path: Path, data: st.DataObject) -> None:
    world = World.create(Path(tempfile.mkdtemp(dir=tmp_path)) / "r.db")
    world.issue("alice", 10_000)
    strategies = values(world)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(KINDS))
        struct = OPERATIONS[kind].struct
        message = {name: data.draw(strategies[sol]) for name, sol in struct.fields}
        attached = OPERATIONS[kind].message.attached
        if attached is not None:
            message[attached.name] = data.draw(ATTACHED)
        if data.draw(st.booleans()):  # a realistic expiry half of the time
            message["expiry"] = 2**40
        signer = data.draw(st.sampled_from([world.operator, *world.people.values()]))
        signature = "0x" + "00" * 65
        try:
            digest = world.registry.domain.digest(struct, message)
            signature = sign_digest(bytes.fromhex(signer.private_key_hex[2:]), digest)
        except (ValueError, OverflowError):
            pass  # unencodable for EIP-712 at all: the registry must refuse it too
        with contextlib.suppress(RegistryError):  # a refusal is fine; a logged event must replay
            world.registry.execute(kind, message, signature)
    report = replay(world.store)
    assert report.clean, report.problems
    world.store.close()
