"""Random issue / transfer / retire / cancel sequences keep every invariant of the ledger."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from registry.errors import InsufficientBalanceError
from registry.replay import replay
from tests.ledger_world import World, check_invariants

NAMES = ("alice", "bob", "carol")
people = st.sampled_from(NAMES)
grams = st.integers(min_value=1, max_value=5_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, location: Callable[[], str]) -> None:
        super().__init__()
        self.world = World.create(location(), NAMES)
        self.expected = dict.fromkeys(NAMES, 0)
        self.issued = 0

    def teardown(self) -> None:
        self.world.store.close()

    @rule(name=people, amount=grams)
    def issue(self, name: str, amount: int) -> None:
        self.world.issue(name, amount)
        self.expected[name] += amount
        self.issued += amount

    @precondition(lambda self: self.issued > 0)
    @rule(src=people, dst=people, amount=grams)
    def transfer(self, src: str, dst: str, amount: int) -> None:
        if src == dst:
            return
        try:
            self.world.transfer(src, dst, amount)
        except InsufficientBalanceError:
            assert amount > self.expected[src]
            return
        self.expected[src] -= amount
        self.expected[dst] += amount

    @precondition(lambda self: self.issued > 0)
    @rule(name=people, amount=grams)
    def retire(self, name: str, amount: int) -> None:
        try:
            self.world.retire(name, amount)
        except InsufficientBalanceError:
            assert amount > self.expected[name]
            return
        self.expected[name] -= amount

    @precondition(lambda self: self.issued > 0)
    @rule(name=people, amount=grams)
    def cancel(self, name: str, amount: int) -> None:
        try:
            self.world.cancel(name, amount)
        except InsufficientBalanceError:
            assert amount > self.expected[name]
            return
        self.expected[name] -= amount

    @invariant()
    def balances_match_the_model(self) -> None:
        for name in NAMES:
            assert self.world.active(name) == self.expected[name]

    @invariant()
    def batches_are_conserved_and_serials_unique(self) -> None:
        check_invariants(self.world.store)

    @invariant()
    def replay_equals_the_tables(self) -> None:
        report = replay(self.world.store, verify_signatures=False)
        assert report.clean, report.problems


def test_random_sequences_keep_every_invariant(new_store_url: Callable[[], str]) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(new_store_url),
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None),
    )
