"""The low-carbon credit rating (低碳信用): a per-account score from the log alone.

Formula `carbon-rating/1` (docs/RATING.md), integers only, 0 to 1000:

    reductions  = min(300, verified grams // 500)          1 point per 500 g, 150 kg caps it
    regularity  = 25 x active months in the last 12         (at most 12: 300)
    diversity   = min(200, 50 x distinct methodologies)     4 methodologies cap it
    retirements = min(200, retired grams // 250)            1 point per 250 g, 50 kg caps it
    penalty     = 100 x reversed claims
    score       = max(0, reductions + regularity + diversity + retirements - penalty)

A verified reduction is a claim of the account (the `account` of its activity record) that
a verifier approved and an issuance run issued, and that was not reversed since; its month
is the China Standard Time month of the run's event. Retired grams are those the account
retired in the registry (`CreditsRetired` signed by it). Credits received by transfer or
issued outside MRV earn nothing. "The last 12 months" are the reference month and the 11
before it; the reference is the time of the last event of the log prefix rated, never the
clock, so anyone holding the same prefix computes the same score.

`rate` reads the account's claims and retirements from events in log order (a verifier,
from the public log); the registry reads the same facts from its tables by index. Both
score them with `rate_facts`.

A score statement is the registry's signature over the rating of one account at one
signed tree size; `verify_rating_statement` checks it against a trust anchor, and with the
public log recomputes the score from the entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon_verifier.canonical import CanonicalError, canonical_bytes
from carbon_verifier.crypto import SignatureError, keccak, recover_signer
from carbon_verifier.errors import CodedError
from carbon_verifier.jsonsafe import loads
from carbon_verifier.merkle.hasher import leaf_hashes
from carbon_verifier.reserve import root_of
from carbon_verifier.tiles import Fetch, http_fetch, read_entries
from carbon_verifier.trust import TrustAnchor

FORMULA = "carbon-rating/1"
STATEMENT_TYPE = "carbon-rating-statement/1"
# Signed digest = keccak256(context || RFC 8785 statement). EIP-712 digests (checkpoints,
# requests) hash bytes starting 0x1901, so no statement digest can be one of theirs.
STATEMENT_CONTEXT = b"carbon-registry/rating-statement/1\n"

GRAMS_PER_REDUCTION_POINT = 500
MAX_REDUCTION_POINTS = 300
POINTS_PER_ACTIVE_MONTH = 25
REGULARITY_MONTHS = 12
POINTS_PER_METHODOLOGY = 50
MAX_DIVERSITY_POINTS = 200
GRAMS_PER_RETIREMENT_POINT = 250
MAX_RETIREMENT_POINTS = 200
PENALTY_PER_REVERSAL = 100
MAX_SCORE = 1000

CST = timedelta(hours=8)
READMITTED = re.compile(r"C([0-9]{1,16})-([0-9]{1,16})")
EVENT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
STATEMENT_FIELDS = frozenset(
    ("type", "account", "score", "formula", "inputs", "asOf", "logId", "treeSize", "rootHash",
     "issuedAt")
)  # fmt: skip


class RatingLogError(CodedError, ValueError):
    """An event the rating reads is not in the log's format."""

    code = "rating_log"
    status = 422
    title = "The log holds an event the rating cannot read"


class RatingStatementError(CodedError, ValueError):
    """A score statement that is malformed, or fails a check."""

    code = "bad_rating_statement"
    status = 422
    title = "The score statement does not verify"


@dataclass(frozen=True)
class IssuedClaim:
    """A claim of the account as the rating sees it: issued by the run logged at `issued`
    (an event time), and reversed at `reversed` if it was."""

    methodology: str
    grams: int
    issued: str
    reversed: str | None = None


@dataclass(frozen=True)
class Retired:
    """Grams the account retired, in the event logged at `time`."""

    time: str
    grams: int


@dataclass
class _Claim:
    methodology: str
    grams: int
    status: str = "pending"
    issued: str | None = None  # the time of the run that issued it
    reversed: str | None = None  # the time of its reversal


@dataclass
class EventReader:
    """The account's claims and retirements, read from events in log order."""

    account: str
    claims: dict[str, _Claim] = field(default_factory=dict)
    refused: dict[tuple[int, int], str] = field(default_factory=dict)  # (seq, idx) -> method
    retirements: list[Retired] = field(default_factory=list)

    def read(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind not in _READERS:
            return
        seq, time = _integer(event["seq"], "seq"), event["time"]
        month_of(time)  # refuses a malformed time here, with its event
        payload = event["payload"]
        _READERS[kind](self, seq, time, payload["request"], payload["effects"])

    def _submitted(self, seq: int, time: str, request: Any, effects: Any) -> None:
        records, outcomes = request["records"], effects["outcomes"]
        for index, (record, outcome) in enumerate(zip(records, outcomes, strict=True)):
            if _address(record["account"]) != self.account:
                continue
            if "claim" in outcome:
                self.claims[_text(outcome["claim"], "claim")] = _Claim(
                    _text(record["methodology"], "methodology"), _integer(outcome["grams"], "grams")
                )
            else:  # a later rejection of one of its claims may readmit it (first release)
                self.refused[(seq, index)] = _text(record["methodology"], "methodology")

    def _attested(self, seq: int, time: str, request: Any, effects: Any) -> None:
        status = "approved" if effects["status"] == "approved" else "rejected"
        for claim_id in request["claims"]:
            claim = self.claims.get(_text(claim_id, "claim"))
            if claim is not None:
                claim.status = status
        for item in effects.get("recredited", []):
            claim_id, grams = _text(item["claim"], "claim"), _integer(item["grams"], "grams")
            if item.get("readmitted") is True:
                record = READMITTED.fullmatch(claim_id)
                if record is None:
                    raise RatingLogError(f"{claim_id!r} is no claim id of a record (C<seq>-<i>)")
                methodology = self.refused.pop((int(record[1]), int(record[2])), None)
                if methodology is not None:
                    self.claims[claim_id] = _Claim(methodology, grams)
            elif claim_id in self.claims:
                self.claims[claim_id].grams += grams

    def _issued(self, seq: int, time: str, request: Any, effects: Any) -> None:
        for claim in self.claims.values():  # a run issues every approved claim
            if claim.status == "approved":
                claim.status, claim.issued = "issued", time

    def _reversed(self, seq: int, time: str, request: Any, effects: Any) -> None:
        claim = self.claims.get(_text(request["claimId"], "claimId"))
        if claim is not None and claim.status == "issued":
            claim.status, claim.reversed = "reversed", time

    def _retired(self, seq: int, time: str, request: Any, effects: Any) -> None:
        if _address(request["owner"]) == self.account:
            self.retirements.append(Retired(time, _integer(request["amount"], "amount")))

    def issued_claims(self) -> list[IssuedClaim]:
        return [
            IssuedClaim(c.methodology, c.grams, c.issued, c.reversed)
            for c in self.claims.values()
            if c.issued is not None
        ]


_READERS: dict[str, Callable[[EventReader, int, str, Any, Any], None]] = {
    "ActivitiesSubmitted": EventReader._submitted,
    "ClaimsAttested": EventReader._attested,
    "IssuanceRun": EventReader._issued,
    "ClaimReversed": EventReader._reversed,
    "CreditsRetired": EventReader._retired,
}
RATED_EVENT_TYPES = frozenset(_READERS)


def points(inputs: dict[str, Any]) -> dict[str, int]:
    """Each component's points (the penalty as a positive number) and the score."""
    reductions = min(MAX_REDUCTION_POINTS, inputs["verifiedGrams"] // GRAMS_PER_REDUCTION_POINT)
    regularity = POINTS_PER_ACTIVE_MONTH * min(REGULARITY_MONTHS, inputs["activeMonths"])
    diversity = min(MAX_DIVERSITY_POINTS, POINTS_PER_METHODOLOGY * len(inputs["methodologies"]))
    retirements = min(MAX_RETIREMENT_POINTS, inputs["retiredGrams"] // GRAMS_PER_RETIREMENT_POINT)
    penalty = PENALTY_PER_REVERSAL * inputs["reversedClaims"]
    score = max(0, reductions + regularity + diversity + retirements - penalty)
    return {
        "reductions": reductions,
        "regularity": regularity,
        "diversity": diversity,
        "retirements": retirements,
        "reversalPenalty": penalty,
        "score": min(MAX_SCORE, score),
    }


def rate(account: str, events: Iterable[dict[str, Any]], as_of: str) -> dict[str, Any]:
    """The rating of `account` from `events` (in log order), as of `as_of`, the time of the
    last event of the prefix they come from. RatingLogError for an event it cannot read."""
    reader = EventReader(_address(account))
    for event in events:
        try:
            reader.read(event)
        except RatingLogError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RatingLogError(f"event {event.get('seq')!r} cannot be read: {exc!r}") from exc
    return rate_facts(account, reader.issued_claims(), reader.retirements, as_of)


def rate_facts(
    account: str, claims: Iterable[IssuedClaim], retirements: Iterable[Retired], as_of: str
) -> dict[str, Any]:
    """The rating from the account's issued claims and retirements in a log prefix whose
    last event is dated `as_of`: what `rate` reads from events, and what the registry reads
    from its tables (a claim's grams are final once issued, so both agree)."""
    dated = [
        (
            c.methodology,
            c.grams,
            month_of(c.issued),
            None if c.reversed is None else month_of(c.reversed),
        )
        for c in claims
    ]
    retired = [(month_of(r.time), r.grams) for r in retirements]

    def inputs_at(month: int, everything: bool) -> dict[str, Any]:
        """As of the end of CST month `month` (all facts when `everything`: the whole
        prefix rated, whatever its events' times)."""

        def by(at: int | None) -> bool:
            return at is not None and (everything or at <= month)

        verified = [(m, g, i) for m, g, i, r in dated if by(i) and not by(r)]
        active = {i for _, _, i in verified}
        return {
            "verifiedGrams": sum(g for _, g, _ in verified),
            "activeMonths": sum(1 for i in active if month - REGULARITY_MONTHS < i <= month),
            "methodologies": sorted({m for m, _, _ in verified}),
            "retiredGrams": sum(g for m, g in retired if by(m)),
            "reversedClaims": sum(1 for _, _, _, r in dated if by(r)),
        }

    now = month_of(as_of)
    inputs = inputs_at(now, everything=True)
    scored = points(inputs)
    history = []
    months = [i for _, _, i, _ in dated] + [m for m, _ in retired]
    if months:
        for month in range(min(*months, now), now):
            history.append(
                {"month": month_name(month), "score": points(inputs_at(month, False))["score"]}
            )
        history.append({"month": month_name(now), "score": scored["score"]})
    return {
        "account": account,
        "formula": FORMULA,
        "asOf": as_of,
        "score": scored.pop("score"),
        "inputs": inputs,
        "points": scored,
        "history": history,
    }


def month_of(time: str) -> int:
    """The China Standard Time month of an event time (`2026-05-31T16:00:00.000Z` is in
    June), as year x 12 + month - 1."""
    if not isinstance(time, str) or not EVENT_TIME.fullmatch(time):
        raise RatingLogError(f"{time!r} is not an event time (YYYY-MM-DDTHH:MM:SS.mmmZ)")
    try:
        moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) + CST
    except ValueError as exc:
        raise RatingLogError(f"{time!r} is not an event time") from exc
    return moment.year * 12 + moment.month - 1


def month_name(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _integer(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value <= 2**53 - 1:
        raise RatingLogError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RatingLogError(f"{name} must be text, not {value!r}")
    return value


def _address(value: Any) -> str:
    if not isinstance(value, str):
        raise RatingLogError(f"an address must be text, not {value!r}")
    return value.lower()


# -- score statements ------------------------------------------------------------------------


def statement_digest(statement: dict[str, Any]) -> bytes:
    """What the registry signs: keccak256(STATEMENT_CONTEXT || RFC 8785 bytes)."""
    return keccak(STATEMENT_CONTEXT + canonical_bytes(statement))


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class StatementReport:
    checks: list[Check] = field(default_factory=list)
    signer: str | None = None

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def verify_rating_statement(
    document: Any, trust: TrustAnchor, log: str | Fetch | None = None
) -> StatementReport:
    """Check a score statement `{statement, signature}`: its form, its signature by a
    signer the trust anchor pins, its log id; with `log` (the public log's URL, e.g.
    https://registry.example/log, or a Fetch of its files), that the log's first `treeSize`
    entries hash to its root and give its score and inputs again."""
    fetch = http_fetch(log) if isinstance(log, str) else log
    report = StatementReport()
    try:
        statement, signature = _statement_parts(document)
    except RatingStatementError as exc:
        report.add("form", False, str(exc))
        return report
    report.add("form", True, f"{STATEMENT_TYPE} of {statement['account']}")
    expected = points(statement["inputs"])["score"]
    report.add(
        "formula",
        expected == statement["score"],
        f"{FORMULA} gives {expected} from the statement's inputs"
        + ("" if expected == statement["score"] else f", not {statement['score']}"),
    )
    try:
        signer = recover_signer(statement_digest(statement), signature)
    except (SignatureError, CanonicalError) as exc:
        report.add("signature", False, f"the signature does not verify: {exc}")
        return report
    report.signer = signer
    if not trust.signers:
        report.add("signature", False, "the trust anchor pins no signer to check it against")
    else:
        pinned = {s.lower() for s in trust.signers}
        report.add(
            "signature",
            signer.lower() in pinned,
            f"signed by {signer}"
            + ("" if signer.lower() in pinned else ", which the trust anchor does not pin"),
        )
    report.add(
        "log",
        statement["logId"] == trust.log_id,
        f"log {statement['logId']!r}"
        + (
            ""
            if statement["logId"] == trust.log_id
            else f", the trust anchor's is {trust.log_id!r}"
        ),
    )
    if fetch is not None:
        _recompute(report, statement, fetch)
    return report


def _recompute(report: StatementReport, statement: dict[str, Any], fetch: Fetch) -> None:
    size, root = statement["treeSize"], bytes.fromhex(statement["rootHash"].removeprefix("0x"))
    try:
        entries = read_entries(fetch, size)
    except (CodedError, ValueError) as exc:
        report.add("log entries", False, f"the log's first {size} entries cannot be read: {exc}")
        return
    if root_of(leaf_hashes(entries)) != root:
        report.add("log entries", False, f"the log's first {size} entries do not hash to rootHash")
        return
    report.add("log entries", True, f"the log's first {size} entries hash to rootHash")
    try:
        events = [loads(body, what=f"event {seq}") for seq, body in enumerate(entries)]
        rating = rate(statement["account"], events, events[-1]["time"])
    except (RatingLogError, ValueError, KeyError, TypeError) as exc:
        report.add("recomputed", False, f"the rating cannot be recomputed: {exc}")
        return
    same = (
        rating["score"] == statement["score"]
        and rating["inputs"] == statement["inputs"]
        and rating["asOf"] == statement["asOf"]
    )
    report.add(
        "recomputed",
        same,
        f"the log gives score {rating['score']} with {rating['inputs']} as of {rating['asOf']}"
        + ("" if same else f"; the statement says {statement['score']}"),
    )


def _statement_parts(document: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(document, dict) or set(document) != {"statement", "signature"}:
        raise RatingStatementError("a score statement is {statement, signature}")
    statement, signature = document["statement"], document["signature"]
    if not isinstance(statement, dict) or set(statement) != STATEMENT_FIELDS:
        missing = sorted(STATEMENT_FIELDS - set(statement or ()))
        extra = sorted(set(statement or ()) - STATEMENT_FIELDS)
        raise RatingStatementError(f"statement fields: missing {missing}, unexpected {extra}")
    if statement["type"] != STATEMENT_TYPE:
        raise RatingStatementError(f"statement.type must be {STATEMENT_TYPE!r}")
    if statement["formula"] != FORMULA:
        raise RatingStatementError(f"statement.formula {statement['formula']!r} is not {FORMULA}")
    for name in ("account", "logId", "rootHash", "asOf", "issuedAt"):
        if not isinstance(statement[name], str):
            raise RatingStatementError(f"statement.{name} must be text")
    for name in ("score", "treeSize"):
        value = statement[name]
        if type(value) is not int or not 0 <= value <= 2**53 - 1:
            raise RatingStatementError(f"statement.{name} must be a non-negative integer")
    if statement["treeSize"] < 1:
        raise RatingStatementError("statement.treeSize must be at least 1")
    root = statement["rootHash"].removeprefix("0x")
    if len(root) != 64 or any(c not in "0123456789abcdef" for c in root):
        raise RatingStatementError("statement.rootHash must be 32 bytes of lowercase hex")
    _check_inputs(statement["inputs"])
    if not isinstance(signature, str):
        raise RatingStatementError("signature must be 0x-prefixed hex")
    return statement, signature


INPUT_COUNTS = ("verifiedGrams", "activeMonths", "retiredGrams", "reversedClaims")


def _check_inputs(inputs: Any) -> None:
    if not isinstance(inputs, dict) or set(inputs) != {*INPUT_COUNTS, "methodologies"}:
        raise RatingStatementError(
            f"statement.inputs must hold exactly {sorted((*INPUT_COUNTS, 'methodologies'))}"
        )
    for name in INPUT_COUNTS:
        if type(inputs[name]) is not int or not 0 <= inputs[name] <= 2**53 - 1:
            raise RatingStatementError(f"statement.inputs.{name} must be a non-negative integer")
    methodologies = inputs["methodologies"]
    if not isinstance(methodologies, list) or not all(isinstance(m, str) for m in methodologies):
        raise RatingStatementError("statement.inputs.methodologies must be a list of ids")
