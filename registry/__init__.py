"""Carbon Registry: the off-chain ledger of personal and household carbon reductions.

Amounts are integer grams of CO2e everywhere. Every state change is one event in an
append-only log, written in the same SQLite transaction as the change itself.
"""
