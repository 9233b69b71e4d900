"""Proof of reserve: every token in circulation is backed by grams locked in the log.

Per asset class, at one chain block,

    locked in the log - locks neither minted nor released in the log
        + mints on chain not recorded in the log yet - burns on chain not recorded yet
        == totalSupply(token id)

and no lock is minted twice, minted after its release, or minted without being a lock. A
chain that lost tokens (reset, another chain at the same address) shows a supply below
what the log says was minted.

An exchange runs this from the public log and the chain alone (`check_public_reserve`):
the entry bundles up to the tree size anchored on chain, whose leaf hashes must give the
anchored root (so no event was left out or changed), then the token's events and supply
read over JSON-RPC. The registry runs the same comparison on its own tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from carbon_verifier.crypto import keccak
from carbon_verifier.errors import CodedError
from carbon_verifier.merkle.hasher import HASH_SIZE, leaf_hashes, parent_hashes
from carbon_verifier.merkle.proof import tree_root
from carbon_verifier.rpc import Rpc, selector
from carbon_verifier.tiles import Fetch, read_entries
from carbon_verifier.trust import TrustAnchor

OPEN, MINTED, RELEASED = "open", "minted", "released"
BRIDGE_EVENTS = frozenset(
    ("CreditsLocked", "CreditsMinted", "LockReleased", "CreditsReturned", "CreditsRetiredOnChain")
)
MINT = "CreditsMinted"
_TOTAL_SUPPLY = selector("totalSupply(uint256)")
_TOPICS = {
    MINT: keccak(b"CreditsMinted(uint256,address,uint256,uint256)"),
    "CreditsReturned": keccak(b"CreditsReturned(address,address,uint256,uint256)"),
    "CreditsRetiredOnChain": keccak(
        b"CreditsRetiredOnChain(address,uint256,uint256,bytes32,string)"
    ),
}


class ReserveLogError(CodedError):
    """The log read is not the log anchored on chain."""

    code = "reserve_log"
    status = 422
    title = "The log does not hash to the root anchored on chain"


def token_id(asset_class: str) -> int:
    """ERC-1155 token id of an asset class: uint256(keccak256(bytes(assetClass)))."""
    return int.from_bytes(keccak(asset_class.encode("utf-8")), "big")


def chain_event_id(chain_id: int, tx_hash: bytes, log_index: int) -> str:
    return f"{chain_id}:0x{tx_hash.hex()}:{log_index}"


@dataclass(frozen=True)
class ChainEvent:
    """A mint or a burn (return, on-chain retirement) of the token contract."""

    kind: str
    token_id: int
    amount: int
    lock_seq: int | None
    tx_hash: bytes
    log_index: int


class ChainSide(Protocol):
    """What the check reads of the chain."""

    @property
    def chain_id(self) -> int: ...

    def bridge_events(self, from_block: int, to_block: int) -> list[ChainEvent]: ...

    def total_supply(self, token: int, block: int) -> int: ...


class LogSide(Protocol):
    """The log's side of the reserve, at one state of the log."""

    @property
    def size(self) -> int: ...

    @property
    def locked(self) -> dict[str, int]:
        """Grams locked per class (net of burns and releases)."""

    @property
    def unminted(self) -> dict[str, int]:
        """Grams of the locks neither minted nor released, per class."""

    @property
    def scan_from(self) -> int:
        """Every chain event before this block is recorded in the log."""

    def lock_status(self, seq: int) -> str | None: ...

    def recorded(self, chain_event: str) -> bool: ...


@dataclass(frozen=True)
class ClassReserve:
    asset_class: str
    token_id: int
    locked_in_log: int
    unminted_locks: int
    mints_not_in_log: int
    burns_not_in_log: int
    total_supply: int

    @property
    def expected_supply(self) -> int:
        return (
            self.locked_in_log - self.unminted_locks + self.mints_not_in_log - self.burns_not_in_log
        )

    @property
    def ok(self) -> bool:
        return self.expected_supply == self.total_supply


@dataclass(frozen=True)
class ReserveReport:
    log_size: int  # events the log's figures come from
    block: int  # chain block the supply and events were read at
    classes: list[ClassReserve]
    problems: list[str]  # empty when the reserve holds

    @property
    def ok(self) -> bool:
        return not self.problems


def root_of(leaves: list[bytes]) -> bytes:
    """RFC 9162 root of these leaf hashes."""
    levels = [b"".join(leaves)]
    while len(levels[-1]) >= 2 * HASH_SIZE:
        levels.append(parent_hashes(levels[-1]))

    def node(level: int, index: int) -> bytes:
        return levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]

    return tree_root(len(leaves), node)


@dataclass
class LogFigures:
    """The log's side, replayed from its events (those up to an anchored tree size)."""

    size: int = 0
    locked: dict[str, int] = field(default_factory=dict)
    unminted: dict[str, int] = field(default_factory=dict)
    scan_from: int = 0  # the whole chain: the log holds every event since the start
    locks: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # class, grams, status
    chain_events: set[str] = field(default_factory=set)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes], size: int, root: bytes) -> LogFigures:
        """Raises ReserveLogError unless the first `size` entries hash to `root`."""
        bodies = list(entries)
        if len(bodies) != size or root_of(leaf_hashes(bodies)) != root:
            raise ReserveLogError(f"the log's first {size} events do not hash to the anchored root")
        figures = cls(size=size)
        for seq, body in enumerate(bodies):
            event = json.loads(body)
            if event.get("type") in BRIDGE_EVENTS:
                figures._apply(seq, event["type"], event["payload"]["request"])
        for asset_class, grams, status in figures.locks.values():
            if status == OPEN:
                figures.unminted[asset_class] = figures.unminted.get(asset_class, 0) + grams
        return figures

    def _apply(self, seq: int, event_type: str, request: dict[str, object]) -> None:
        if event_type == "CreditsLocked":
            asset_class, grams = str(request["assetClass"]), _integer(request["amount"], seq)
            self.locks[seq] = (asset_class, grams, OPEN)
            self.locked[asset_class] = self.locked.get(asset_class, 0) + grams
        elif event_type in ("CreditsMinted", "LockReleased"):
            lock_seq = _integer(request["lockSeq"], seq)
            if lock_seq not in self.locks:
                raise ReserveLogError(f"event {seq} names lock {lock_seq}, which is no lock")
            asset_class, grams, _ = self.locks[lock_seq]
            status = MINTED if event_type == "CreditsMinted" else RELEASED
            self.locks[lock_seq] = (asset_class, grams, status)
            if status == RELEASED:
                self.locked[asset_class] -= grams
        else:
            asset_class = str(request["assetClass"])
            amount = _integer(request["amount"], seq)
            self.locked[asset_class] = self.locked.get(asset_class, 0) - amount
        if "chainEvent" in request:
            self.chain_events.add(str(request["chainEvent"]))

    def lock_status(self, seq: int) -> str | None:
        lock = self.locks.get(seq)
        return None if lock is None else lock[2]

    def recorded(self, chain_event: str) -> bool:
        return chain_event in self.chain_events


def _integer(value: object, seq: int) -> int:
    """A plain JSON integer of the log (what the registry writes), else ReserveLogError."""
    if type(value) is not int or not 0 <= value <= 2**53 - 1:
        raise ReserveLogError(f"event {seq} holds {value!r} where the log has an integer")
    return value


@dataclass(frozen=True)
class RpcToken:
    """The token contract read over JSON-RPC (no web3)."""

    rpc: Rpc
    address: str
    chain_id: int

    def bridge_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        found = []
        for kind, topic in _TOPICS.items():
            for log in self.rpc.logs(self.address, topic, from_block, to_block):
                topics, data = log["topics"], log["data"]
                word = int.from_bytes
                if kind == MINT:
                    event = ChainEvent(
                        kind,
                        word(topics[3], "big"),
                        word(data[:32], "big"),
                        word(topics[1], "big"),
                        log["tx_hash"],
                        log["log_index"],
                    )
                elif kind == "CreditsReturned":
                    event = ChainEvent(
                        kind,
                        word(topics[3], "big"),
                        word(data[:32], "big"),
                        None,
                        log["tx_hash"],
                        log["log_index"],
                    )
                else:
                    event = ChainEvent(kind, word(topics[2], "big"), word(data[:32], "big"),
                                       None, log["tx_hash"], log["log_index"])  # fmt: skip
                found.append((log["block"], log["log_index"], event))
        return [event for _, _, event in sorted(found, key=lambda f: (f[0], f[1]))]

    def total_supply(self, token: int, block: int) -> int:
        out = self.rpc.eth_call(self.address, _TOTAL_SUPPLY + token.to_bytes(32, "big"), block)
        return int.from_bytes(out[:32], "big")


def compare(figures: LogSide, chain: ChainSide, block: int) -> ReserveReport:
    """The reserve at chain block `block` against the log's figures."""
    pending_mints: dict[int, int] = {}
    pending_burns: dict[int, int] = {}
    problems = []
    minted_now: set[int] = set()
    for event in chain.bridge_events(figures.scan_from, block):
        key = chain_event_id(chain.chain_id, event.tx_hash, event.log_index)
        if figures.recorded(key):
            continue
        if event.kind != MINT:
            pending_burns[event.token_id] = pending_burns.get(event.token_id, 0) + event.amount
            continue
        assert event.lock_seq is not None
        status = figures.lock_status(event.lock_seq)
        if status is None:
            problems.append(f"chain event {key} mints event {event.lock_seq}, which is no lock")
        elif status == RELEASED:
            problems.append(f"chain event {key} mints lock {event.lock_seq}, released in the log")
        elif status == MINTED or event.lock_seq in minted_now:
            problems.append(f"chain event {key} mints lock {event.lock_seq} a second time")
        minted_now.add(event.lock_seq)
        pending_mints[event.token_id] = pending_mints.get(event.token_id, 0) + event.amount
    classes = []
    for asset_class in sorted(set(figures.locked) | set(figures.unminted)):
        tid = token_id(asset_class)
        c = ClassReserve(
            asset_class,
            tid,
            figures.locked.get(asset_class, 0),
            figures.unminted.get(asset_class, 0),
            pending_mints.get(tid, 0),
            pending_burns.get(tid, 0),
            chain.total_supply(tid, block),
        )
        classes.append(c)
        if not c.ok:
            problems.append(
                f"{asset_class}: the log backs {c.expected_supply:,} g, the chain holds"
                f" {c.total_supply:,}"
            )
    return ReserveReport(figures.size, block, classes, problems)


def check_public_reserve(fetch: Fetch, rpc: Rpc, trust: TrustAnchor) -> ReserveReport:
    """The reserve from the public log (`fetch`: its entry bundles) and the chain alone:
    the events up to the tree size anchored in the trusted contract, checked against the
    anchored root, against the trusted token contract's events and supply."""
    if trust.token is None:
        raise ReserveLogError("the trust anchor names no token contract")
    chain_id = rpc.chain_id()
    if chain_id != trust.chain_id:
        raise ReserveLogError(f"the RPC serves chain {chain_id}, the trust anchor {trust.chain_id}")
    block = rpc.head()
    size, root = rpc.latest(trust.contract, block)  # the anchor and the supply at one block
    figures = LogFigures.from_entries(read_entries(fetch, size), size, root)
    return compare(figures, RpcToken(rpc, trust.token, chain_id), block)
