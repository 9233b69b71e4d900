"""Python client of the registry API.

    from api.client import RegistryClient
    from registry.signing import DEFAULT_TTL_S, Signer, new_nonce

    with RegistryClient("http://127.0.0.1:8080") as registry:
        alice = Signer.load(Path("alice.key"))
        receipt = registry.transfer(alice, to=bob, asset_class=CLASS, amount=5_000)
        bundle = registry.wait_for_anchor(receipt.seq)
        checks = registry.verify_proof(bundle)       # the standalone verifier, against the chain

Requests are signed locally with the caller's key (EIP-712, in the domain `GET /v1`
names); the server only ever sees signatures. Personal reads (claims, refused records, a
batch's outcomes, people's names) need a session: `registry.sign_in(alice)` signs an
EIP-712 SignIn and keeps the token, which every later read sends (signing in again shortly
before it expires); a client given the operator API key and not signed in reads as the
operator. Every POST carries a fresh Idempotency-Key,
and a request that failed in transit is retried with the same key, so a retry never takes
effect twice. Refusals raise `ApiProblem` with the registry's stable error `code`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from api import schemas as s
from registry import messages
from registry.eip712 import Domain, StructType
from registry.errors import LockStateError
from registry.messages import message_of
from registry.messages.declaration import GENERATED, SIGNER
from registry.receipt import Receipt as LedgerReceipt
from registry.signing import DEFAULT_TTL_S, Signer, new_nonce

if TYPE_CHECKING:
    from carbon_verifier.verify import Check

M = TypeVar("M", bound=BaseModel)
SIGNER_DEFAULT = repr(SIGNER)  # how GET /v1/eip712 describes the defaults it does not give
GENERATED_DEFAULT = repr(GENERATED)

OPERATOR_KEY_HEADER = "X-Operator-Key"


class ApiProblem(Exception):
    """An RFC 9457 problem returned by the API."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code = str(problem.get("code", "unknown"))
        self.detail = str(problem.get("detail", ""))
        super().__init__(f"[{self.code}] {self.detail}")


def _retry_after(response: httpx.Response, default_s: float) -> float:
    """Seconds to wait before retrying: the server's Retry-After (capped), else `default_s`."""
    try:
        return min(max(float(response.headers["Retry-After"]), 0.0), 30.0)
    except (KeyError, ValueError):
        return default_s


class RegistryClient:
    """Typed methods over the /v1 API; one instance per thread (httpx.Client is not shared)."""

    def __init__(
        self,
        base_url: str,
        *,
        operator_api_key: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operator_api_key = operator_api_key
        self.retries = retries
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)
        self._published: dict[str, Any] | None = None
        self._domain: Domain | None = None
        self._session_signer: Signer | None = None
        self.session: s.SessionToken | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _answer(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"code": "http_error", "detail": response.text[:500]}
            raise ApiProblem(response.status_code, problem)
        return response.json()

    def read_headers(self) -> dict[str, str]:
        """The headers that say who reads: the session token (renewed when it is about to
        end), else the operator API key, else none (public reads only)."""
        if self.session is not None:
            if self._session_signer is not None and self.session.expires_at - time.time() < 60:
                self.sign_in(self._session_signer)
            return {"Authorization": f"Bearer {self.session.token}"}
        if self.operator_api_key:
            return {OPERATOR_KEY_HEADER: self.operator_api_key}
        return {}

    def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._answer(self._http.get(path, params=query, headers=self.read_headers()))

    def sign_in(self, signer: Signer, ttl_s: int | None = None) -> s.SessionToken:
        """Sign in as `signer`'s account (an EIP-712 SignIn, from the published types) and
        send the session token on every later read; returns the session."""
        published = self.eip712()
        spec = published.get("sign_in")
        if spec is None:
            raise ValueError("this registry publishes no SignIn: it has no sessions")
        ttl = min(ttl_s or spec["max_session_s"], spec["max_session_s"])
        now = int(time.time())
        message = {
            "account": signer.address,
            "audience": spec["audience"],
            "issuedAt": now,
            "expiry": now + ttl,
            "nonce": new_nonce(),
        }
        name = spec["primaryType"]
        struct = StructType(name, tuple((t["name"], t["type"]) for t in published["types"][name]))
        body = {"message": message, "signature": signer.sign_struct(self.domain, struct, message)}
        session = s.SessionToken.model_validate(self.post(spec["route"], body))
        self.session, self._session_signer = session, signer
        return session

    def sign_out(self) -> None:
        """Forget the session (the token itself stays valid until it expires)."""
        self.session, self._session_signer = None, None

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        operator: bool = False,
        idempotency_key: str | None = None,
    ) -> Any:
        """POST with an Idempotency-Key; transport failures, 503 and 429 (after Retry-After)
        are retried with the same key."""
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        if operator:
            if not self.operator_api_key:
                raise ApiProblem(
                    401, {"code": "operator_key_required", "detail": "no operator API key"}
                )
            headers[OPERATOR_KEY_HEADER] = self.operator_api_key
        for attempt in range(self.retries + 1):
            try:
                response = self._http.post(path, json=dict(body), headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code in (429, 503) and attempt < self.retries:
                time.sleep(_retry_after(response, 0.2 * 2**attempt))
                continue
            return self._answer(response)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain of the registry (from `GET /v1/eip712`, read once)."""
        if self._domain is None:
            published = self.eip712()["domain"]
            self._domain = Domain(published["chainId"], published["verifyingContract"])
        return self._domain

    def eip712(self) -> dict[str, Any]:
        """The domain and every request's types as the registry publishes them (read once):
        the client signs from these, so a request type added to the registry needs no
        change here."""
        if self._published is None:
            self._published = dict(self.get("/v1/eip712"))
        return self._published

    def signed(self, signer: Signer, request_type: str, /, **fields: Any) -> dict[str, Any]:
        """`{"message", "signature"}` of a request signed locally with `signer`'s key, built
        from the published types: the signer's address in the field naming the signer,
        published defaults, a fresh nonce and an expiry unless given."""
        published = self.eip712()
        spec = published["requests"].get(request_type)
        if spec is None:
            raise ValueError(f"the registry publishes no request type {request_type!r}")
        known = {f["name"] for f in spec["fields"]} | (
            {spec["attached"]["name"]} if spec.get("attached") else set()
        )
        if unknown := set(fields) - known:
            raise ValueError(f"{request_type} has no fields {sorted(unknown)}")
        message: dict[str, Any] = {}
        for f in spec["fields"]:
            name = f["name"]
            if name in fields:
                message[name] = fields[name]
            elif name == spec["signer"] or f.get("default") == SIGNER_DEFAULT:
                message[name] = signer.address
            elif name == "nonce":
                message[name] = new_nonce()
            elif name == "expiry":
                message[name] = int(time.time()) + DEFAULT_TTL_S
            elif f.get("default") == GENERATED_DEFAULT:
                message[name] = f"{request_type.lower()}-{uuid.uuid4().hex[:12]}"
            elif "default" in f:
                message[name] = f["default"]
            else:
                raise ValueError(f"{request_type} needs {name}")
        struct = StructType(
            request_type, tuple((t["name"], t["type"]) for t in published["types"][request_type])
        )
        signature = signer.sign_struct(self.domain, struct, message)
        attached = spec.get("attached")
        if attached is not None and attached["name"] in fields:
            message[attached["name"]] = fields[attached["name"]]
        return {"message": message, "signature": signature}

    def _write(
        self,
        path: str,
        signer: Signer,
        request_type: str,
        /,
        *,
        operator: bool = False,
        **fields: Any,
    ) -> s.Receipt:
        body = self.signed(signer, request_type, **fields)
        return s.Receipt.model_validate(self.post(path, body, operator=operator))

    # -- writes -------------------------------------------------------------------------------

    def execute(
        self,
        signer: Signer,
        kind: str,
        private: Mapping[str, Any] | None = None,
        /,
        **fields: Any,
    ) -> LedgerReceipt:
        """Any signed request by its type name (`Transfer`, `Lock`...), sent to the route its
        declaration names, with `private` personal data beside it (`{"beneficiary_name":
        (salt, name)}`); returns the ledger's Receipt form."""
        receipt = self.send(signer, kind, private, **fields)
        return LedgerReceipt(receipt.seq, receipt.event_type, receipt.effects)

    def send(
        self,
        signer: Signer,
        kind: str,
        private: Mapping[str, Any] | None = None,
        /,
        **fields: Any,
    ) -> s.Receipt:
        """Sign a request of type `kind` and POST it to its declared route (with the operator
        key where it needs one); the API's receipt."""
        spec = self.eip712()["requests"].get(kind)
        if spec is None or not spec["route"]:
            raise ValueError(f"{kind} requests are recorded by the operator, not sent to the API")
        body = self.signed(signer, kind, **fields)
        for name, (salt, value) in (private or {}).items():
            body[name] = {"salt": salt.hex(), "value": value}
        path = spec["route"].format(**body["message"])
        return s.Receipt.model_validate(self.post(path, body, operator=spec["operator_key"]))

    def open_account(
        self,
        operator: Signer,
        account: str,
        kind: str,
        name: str = "",
        household: str = messages.ZERO_ADDRESS,
    ) -> s.Receipt:
        """Open an account; a person's or household's `name`, and a person's `household`,
        go beside the request, off the log (which holds commitments to them), an
        organisation's name into the log."""
        personal = kind in messages.PERSONAL_KINDS
        beside = {"personal_name": name if personal else "",
                  "household": "" if household == messages.ZERO_ADDRESS else household}  # fmt: skip
        fields, private = message_of("OpenAccount").fill(
            operator.address,
            {"account": account, "kind": kind, "name": "" if personal else name},
            beside,
        )
        return self.send(operator, "OpenAccount", private or None, **fields)

    def grant_role(self, operator: Signer, account: str, role: str) -> s.Receipt:
        return self._write(
            f"/v1/accounts/{account}/roles",
            operator,
            "GrantRole",
            operator=True,
            account=account,
            role=role,
        )

    def register_asset_class(
        self, operator: Signer, methodology: str, version: str, vintage: int, region: str
    ) -> s.Receipt:
        return self._write(
            "/v1/asset-classes",
            operator,
            "RegisterAssetClass",
            operator=True,
            methodology=methodology,
            methodologyVersion=version,
            vintage=vintage,
            region=region,
        )

    def issue(
        self, operator: Signer, to: str, asset_class: str, amount: int, claim_id: str
    ) -> s.Receipt:
        return self._write(
            "/v1/batches",
            operator,
            "Issue",
            operator=True,
            to=to,
            assetClass=asset_class,
            amount=amount,
            claimId=claim_id,
        )

    def transfer(
        self, owner: Signer, to: str, asset_class: str, amount: int, batch_no: int = 0
    ) -> s.Receipt:
        sender: dict[str, Any] = {"from": owner.address}  # a Python keyword as a field name
        return self._write(
            "/v1/transfers",
            owner,
            "Transfer",
            **sender,
            to=to,
            assetClass=asset_class,
            batchNo=batch_no,
            amount=amount,
        )

    def retire(
        self,
        owner: Signer,
        asset_class: str,
        amount: int,
        *,
        reason: str,
        jurisdiction: str,
        beneficiary_name: str | None = None,
        beneficiary: str | None = None,
        batch_no: int = 0,
    ) -> s.Receipt:
        """Retire grams; the beneficiary's name (optional) goes beside the request, off the
        log, which holds only a commitment to it."""
        fields, private = message_of("Retire").fill(
            owner.address,
            {
                "assetClass": asset_class,
                "batchNo": batch_no,
                "amount": amount,
                "beneficiary": beneficiary,
                "reason": reason,
                "jurisdiction": jurisdiction,
            },
            {"beneficiary_name": beneficiary_name} if beneficiary_name else None,
        )
        return self.send(owner, "Retire", private or None, **fields)

    def cancel(
        self,
        operator: Signer,
        holder: str,
        asset_class: str,
        amount: int,
        *,
        reason: str,
        evidence_hash: str,
        batch_no: int = 0,
    ) -> s.Receipt:
        return self._write(
            "/v1/cancellations",
            operator,
            "Cancel",
            operator=True,
            holder=holder,
            assetClass=asset_class,
            batchNo=batch_no,
            amount=amount,
            reason=reason,
            evidenceHash=evidence_hash,
        )

    def lock(
        self, owner: Signer, asset_class: str, amount: int, recipient: str, batch_no: int = 0
    ) -> s.Receipt:
        """Lock grams for minting as tokens to `recipient`; the receipt's seq is the event
        whose proof bundle mints them once anchored."""
        return self._write(
            "/v1/locks",
            owner,
            "Lock",
            owner=owner.address,
            assetClass=asset_class,
            batchNo=batch_no,
            amount=amount,
            recipient=recipient,
        )

    def lock_detail(self, seq: int) -> s.LockDetail:
        """Lock `seq` (its event's seq), with the chain block to cite to release it."""
        return s.LockDetail.model_validate(self.get(f"/v1/locks/{seq}"))

    def release_lock(self, signer: Signer, seq: int) -> s.Receipt:
        """Release an unminted lock past its mint deadline, citing the block the registry's
        chain offers (`signer` is the lock's owner, or the operator for it)."""
        lock = self.lock_detail(seq)
        if lock.release is None:
            raise LockStateError(f"lock {seq} cannot be released now: {lock.release_refused}")
        return self.send(signer, "ReleaseLock", None, owner=lock.owner, lockSeq=seq,
                         **lock.release.model_dump(by_alias=True))  # fmt: skip

    def submit_activities(
        self, platform: Signer, fields: dict[str, Any], details: list[dict[str, Any]]
    ) -> s.Receipt:
        """A platform's signed batch: `fields, details = messages.activity_batch(platform,
        batch id, activities)` commits to each activity with a fresh salt; the commitments
        are signed and logged, the details sent beside them. Sending the same `fields` and
        `details` again is idempotent (the first receipt comes back)."""
        body = self.signed(platform, "SubmitActivities", **fields)
        body["details"] = details
        return s.Receipt.model_validate(self.post("/v1/activity-batches", body))

    def attest(
        self,
        verifier: Signer,
        claim_ids: list[str],
        *,
        approve: bool = True,
        reason: str = "",
        attestation_id: str | None = None,
    ) -> s.Receipt:
        fields = messages.attestation(
            verifier.address,
            attestation_id or f"att-{uuid.uuid4().hex[:12]}",
            claim_ids,
            approve,
            reason,
        )
        return self._write("/v1/attestations", verifier, "AttestClaims", **fields)

    def run_issuance(
        self,
        operator: Signer,
        buffer_pool: str,
        buffer_basis_points: int = 500,
        run_id: str | None = None,
    ) -> s.Receipt:
        return self._write(
            "/v1/issuance-runs",
            operator,
            "RunIssuance",
            operator=True,
            runId=run_id or f"run-{uuid.uuid4().hex[:12]}",
            bufferPool=buffer_pool,
            bufferBasisPoints=buffer_basis_points,
            creditsTo="account",
        )

    def reverse_claim(
        self, operator: Signer, claim_id: str, *, reason: str, evidence_hash: str
    ) -> s.Receipt:
        return self._write(
            f"/v1/claims/{claim_id}/reversal",
            operator,
            "ReverseClaim",
            operator=True,
            claimId=claim_id,
            reason=reason,
            evidenceHash=evidence_hash,
        )

    # -- reads --------------------------------------------------------------------------------

    def _model(self, model: type[M], path: str, **params: Any) -> M:
        return model.model_validate(self.get(path, **params))

    def _list(self, model: type[M], path: str, **params: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(self.get(path, **params))  # type: ignore[valid-type]

    def info(self) -> s.RegistryInfo:
        return self._model(s.RegistryInfo, "/v1")

    def chain(self) -> s.ChainInfo:
        return self._model(s.ChainInfo, "/v1/chain")

    def account(self, address: str) -> s.AccountDetail:
        return self._model(s.AccountDetail, f"/v1/accounts/{address}")

    def balances(self, address: str) -> list[s.Balance]:
        return self._list(s.Balance, f"/v1/accounts/{address}/balances")

    def active_balance(self, address: str, asset_class: str) -> int:
        return sum(b.active for b in self.balances(address) if b.asset_class == asset_class)

    def holdings(self, address: str, status: str | None = None) -> list[s.Holding]:
        return self._list(s.Holding, f"/v1/accounts/{address}/holdings", status=status)

    def asset_classes(self) -> list[s.AssetClass]:
        return self._list(s.AssetClass, "/v1/asset-classes")

    def asset_class(self, class_id: str) -> s.AssetClass:
        return self._model(s.AssetClass, f"/v1/asset-classes/{class_id}")

    def batches(
        self, asset_class: str | None = None, after: int = -1, limit: int = 100
    ) -> s.Page[s.Batch]:
        data = self.get("/v1/batches", asset_class=asset_class, after=after, limit=limit)
        return s.Page[s.Batch].model_validate(data)

    def batch(self, batch_no: int) -> s.BatchDetail:
        return self._model(s.BatchDetail, f"/v1/batches/{batch_no}")

    def transfers(self, after: int = -1, limit: int = 100) -> s.Page[s.Transfer]:
        return s.Page[s.Transfer].model_validate(
            self.get("/v1/transfers", after=after, limit=limit)
        )

    def retirements(self, after: int = -1, limit: int = 100) -> s.Page[s.Retirement]:
        data = self.get("/v1/retirements", after=after, limit=limit)
        return s.Page[s.Retirement].model_validate(data)

    def certificate(self, certificate_id: str) -> s.Certificate:
        return self._model(s.Certificate, f"/v1/retirements/{certificate_id}")

    def certificate_html(self, certificate_id: str) -> str:
        response = self._http.get(
            f"/v1/retirements/{certificate_id}/certificate.html", headers=self.read_headers()
        )
        if response.status_code >= 400:
            self._answer(response)
        return response.text

    def events(self, after: int = -1, limit: int = 100, type: str | None = None) -> s.Page[s.Event]:  # noqa: A002
        data = self.get("/v1/events", after=after, limit=limit, type=type)
        return s.Page[s.Event].model_validate(data)

    def iter_events(self, after: int = -1, page_size: int = 500) -> Iterator[s.Event]:
        """Every event after `after`, page by page, until the end of the log."""
        while True:
            page = self.events(after, page_size)
            yield from page.items
            if page.next_after is None:
                return
            after = page.next_after

    def event(self, seq: int) -> s.Event:
        return self._model(s.Event, f"/v1/events/{seq}")

    def proof(self, seq: int) -> dict[str, Any]:
        """The proof bundle of event `seq` as JSON (what the verifier takes)."""
        bundle: dict[str, Any] = self.get(f"/v1/events/{seq}/proof")
        return bundle

    def wait_for_anchor(
        self, seq: int, timeout_s: float = 60.0, poll_s: float = 0.25
    ) -> dict[str, Any]:
        """Poll the proof of `seq` until it is anchored; raises TimeoutError."""
        deadline = time.monotonic() + timeout_s
        while True:
            bundle = self.proof(seq)
            if bundle.get("anchor") is not None:
                return bundle
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"event {seq} not anchored within {timeout_s} s: {bundle.get('pending')}"
                )
            time.sleep(poll_s)

    def checkpoints(self, after: int = -1, limit: int = 100) -> s.Page[s.Checkpoint]:
        data = self.get("/v1/checkpoints", after=after, limit=limit)
        return s.Page[s.Checkpoint].model_validate(data)

    def latest_checkpoint(self) -> s.Checkpoint:
        return self._model(s.Checkpoint, "/v1/checkpoints/latest")

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        bundle: dict[str, Any] = self.get(f"/v1/checkpoints/{old_size}/consistency/{new_size}")
        return bundle

    def methodologies(self) -> list[s.MethodologySummary]:
        return self._list(s.MethodologySummary, "/v1/methodologies")

    def methodology(self, methodology_id: str, version: str) -> s.MethodologyDetail:
        return self._model(s.MethodologyDetail, f"/v1/methodologies/{methodology_id}/{version}")

    def claims(
        self,
        *,
        account: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        after: int = -1,
        limit: int = 1000,
    ) -> s.Page[s.Claim]:
        data = self.get(
            "/v1/claims",
            account=account,
            status=status,
            platform=platform,
            after=after,
            limit=limit,
        )
        return s.Page[s.Claim].model_validate(data)

    def claim(self, claim_id: str) -> s.Claim:
        return self._model(s.Claim, f"/v1/claims/{claim_id}")

    def rejections(self, after: int = -1, limit: int = 1000, **filters: str) -> s.Page[s.Rejection]:
        data = self.get("/v1/claims/rejections", after=after, limit=limit, **filters)
        return s.Page[s.Rejection].model_validate(data)

    def claim_summary(self) -> s.ClaimSummary:
        return self._model(s.ClaimSummary, "/v1/claims/summary")

    def activity_batch(self, platform: str, batch_id: str) -> s.ActivityBatchDetail:
        return self._model(s.ActivityBatchDetail, f"/v1/activity-batches/{platform}/{batch_id}")

    def attestations(self, after: int = -1, limit: int = 100) -> s.Page[s.Attestation]:
        data = self.get("/v1/attestations", after=after, limit=limit)
        return s.Page[s.Attestation].model_validate(data)

    def issuance_runs(self, after: int = -1, limit: int = 100) -> s.Page[s.IssuanceRun]:
        data = self.get("/v1/issuance-runs", after=after, limit=limit)
        return s.Page[s.IssuanceRun].model_validate(data)

    # -- webhooks (operator) ------------------------------------------------------------------

    def create_webhook(self, url: str, event_types: list[str] | None = None) -> s.WebhookCreated:
        body = {"url": url, "event_types": event_types or []}
        return s.WebhookCreated.model_validate(self.post("/v1/webhooks", body, operator=True))

    def webhook_deliveries(self, webhook_id: int) -> list[s.WebhookDelivery]:
        response = self._http.get(
            f"/v1/webhooks/{webhook_id}/deliveries",
            headers={OPERATOR_KEY_HEADER: self.operator_api_key or ""},
        )
        return TypeAdapter(list[s.WebhookDelivery]).validate_python(self._answer(response))

    # -- verification -------------------------------------------------------------------------

    def verify_proof(
        self, bundle: dict[str, Any], rpc_url: str | None = None, min_confirmations: int = 1
    ) -> list[Check]:
        """Check a bundle with the light verifier against the chain at `rpc_url` (default:
        the RPC URL the registry publishes in `GET /v1/chain`). Returns the checks
        (`carbon_verifier.verify.Check`); all passed when every `check.ok`."""
        from carbon_verifier.rpc import Rpc
        from carbon_verifier.verify import verify_bundle

        url = rpc_url or self.chain().rpc_url
        if url is None:
            raise ValueError("the registry publishes no chain RPC URL: pass rpc_url")
        return verify_bundle(bundle, Rpc(url), min_confirmations=min_confirmations).checks
