"""Retirements: owner-signed, each with a certificate (JSON and a printable page) that
carries the proof bundle of its event."""

from __future__ import annotations

import html
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api import examples as ex
from api.deps import After, Limit, ServiceDep
from api.routes import next_after, problem_responses
from api.schemas import Certificate, Page, ProofBundle, Retirement
from api.service import RegistryService
from registry import messages
from registry.commitments import NO_COMMITMENT
from registry.errors import UnknownCertificateError
from registry.messages import PERSONAL_KINDS
from registry.personal import BENEFICIARY_NAME, Vault
from registry.units import format_grams

router = APIRouter(prefix="/v1/retirements", tags=["retirements"], responses=problem_responses())

CertificatePath = Annotated[str, Path(pattern=r"^CERT-[0-9]{10}$", examples=["CERT-0000000043"])]


def retirement_model(row: dict[str, Any], vault: Vault | None = None) -> Retirement:
    """A retirement as the API shows it; with the vault, the beneficiary's name (and its
    salt) while it is disclosed, for certificates."""
    cert = row["certificate_id"]
    disclosed: dict[str, Any] = {}
    commitment = row.get("beneficiary_commitment")
    if vault is not None and commitment and commitment != NO_COMMITMENT:
        piece = vault.get(BENEFICIARY_NAME, commitment, int(row["seq"]))
        if piece is not None:
            disclosed = {
                "beneficiary_name": piece.data.decode("utf-8"),
                "beneficiary_salt": piece.salt.hex(),
            }
    return Retirement(
        **{k: v for k, v in row.items() if k != "serials"} | disclosed,
        serials=str(row["serials"]).split(),
        certificate_url=f"/v1/retirements/{cert}",
        html_url=f"/v1/retirements/{cert}/certificate.html",
    )


def certificate(service: RegistryService, certificate_id: str) -> Certificate:
    row = service.reader().store.retirement(certificate_id)
    if row is None:
        raise UnknownCertificateError(f"no retirement certificate {certificate_id}")
    retirement = retirement_model(row, service.reader().registry.vault)
    beneficiary = service.reader().store.account(row["beneficiary"])
    if beneficiary is not None and beneficiary["kind"] not in PERSONAL_KINDS:
        # An organisation (a merchant, a community) is named publicly by its account.
        retirement.beneficiary_public_name = beneficiary["name"] or None
    rpc_url = service.chain_status().rpc_url
    verify = {
        "bundle": "the `proof` member of this certificate, saved as bundle.json",
        "command": f"carbon-registry verify bundle.json --rpc {rpc_url or 'CHAIN_RPC_URL'}",
    }
    if rpc_url:
        verify["rpc_url"] = rpc_url
    return Certificate(
        **retirement.model_dump(),
        proof=service.bundle(row["seq"]),
        verify=verify,
    )


@router.get(
    "",
    response_model=Page[Retirement],
    summary="Retirements in log order",
    responses=ex.ok(ex.page(ex.RETIREMENT)),
)
def list_retirements(
    service: ServiceDep,
    after: After = -1,
    limit: Limit = 100,
    owner: Annotated[
        str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="Only this owner's.")
    ] = None,
) -> Page[Retirement]:
    who = None if owner is None else messages.address(owner, "owner")
    rows = service.reader().store.retirements_page(after, limit, owner=who)
    return Page(
        items=[retirement_model(r) for r in rows],
        next_after=next_after(rows, limit, rows[-1]["seq"] if rows else after),
    )


@router.get(
    "/{certificate_id}",
    response_model=Certificate,
    summary="A retirement certificate with the proof bundle of its event",
    responses=ex.ok(
        {
            **ex.RETIREMENT,
            "proof": ex.BUNDLE,
            "verify": {"command": "carbon-registry verify bundle.json --rpc http://127.0.0.1:8545"},
        }
    ),
)
def get_certificate(service: ServiceDep, certificate_id: CertificatePath) -> Certificate:
    return certificate(service, certificate_id)


@router.get(
    "/{certificate_id}/certificate.html",
    response_class=HTMLResponse,
    response_model=None,
    summary="The printable retirement certificate (HTML) with its embedded proof bundle",
    responses=ex.ok(
        "<!doctype html><html><head><title>CERT-0000000043</title></head>...</html>",
        media_type="text/html",
    ),
)
def get_certificate_html(service: ServiceDep, certificate_id: CertificatePath) -> HTMLResponse:
    return HTMLResponse(render_certificate(certificate(service, certificate_id)))


def render_certificate(cert: Certificate) -> str:
    """A self-contained printable page; the bundle is embedded as JSON for verifiers."""
    e = html.escape
    bundle = cert.proof
    proof = ProofBundle.model_validate(bundle)
    bundle_json = json.dumps(bundle, indent=2, ensure_ascii=False)
    embedded = json.dumps(bundle, ensure_ascii=False).replace("</", "<\\/")
    anchor = proof.anchor
    if anchor is not None and proof.checkpoint is not None:
        status = (
            f"Anchored: checkpoint of {proof.checkpoint.tree_size} events, root "
            f"{e(proof.checkpoint.root_hash)}, in block {anchor.block_number} of chain "
            f"{anchor.chain_id} (transaction {e(anchor.tx_hash)}, contract {e(anchor.contract)})."
        )
    else:
        pending = proof.pending
        status = "Logged; not anchored yet" + (
            f" ({e(pending.detail)}, expected by {e(pending.expected_by)})." if pending else "."
        )
    rows = [  # (zh, en, value)
        ("证书编号", "Certificate", cert.certificate_id),
        ("注销量", "Retired", format_grams(cert.amount) + " CO2e"),
        ("资产类别", "Asset class", cert.asset_class),
        ("受益人", "Beneficiary",
         f"{cert.beneficiary_name or cert.beneficiary_public_name or '(未公开 not disclosed)'}"
         f" ({cert.beneficiary})"),
        ("原因", "Reason", cert.reason),
        ("辖区", "Jurisdiction", cert.jurisdiction),
        ("注销人", "Retired by", cert.owner),
        ("时间", "Time (UTC)", cert.time),
        ("事件", "Event", f"#{cert.seq}"),
    ]  # fmt: skip
    table = "\n".join(
        f'<tr><th scope="row">{e(zh)} <span lang="en">{e(en)}</span></th><td>{e(str(v))}</td></tr>'
        for zh, en, v in rows
    )
    serials = "\n".join(f"<li><code>{e(s)}</code></li>" for s in cert.serials)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>注销证书 Retirement certificate {e(cert.certificate_id)}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b2b1b; }}
td {{ word-break: break-all; }}
.ok {{ color: #1b5e20; }} .fail {{ color: #b71c1c; }} .verdict {{ font-size: 1.3rem; font-weight: bold; }}
h1 {{ border-bottom: 3px solid #2e7d32; padding-bottom: .4rem; }}
th {{ text-align: left; padding: .3rem 1rem .3rem 0; vertical-align: top; }}
td {{ padding: .3rem 0; }}
.proof {{ background: #f1f8e9; padding: 1rem; border-radius: .4rem; }}
pre {{ white-space: pre-wrap; word-break: break-all; font-size: .75rem; }}
@media print {{ details, nav {{ display: none; }} }}
</style></head>
<body>
<nav aria-label="登记处 Registry"><a href="/">碳普惠登记处 Carbon Registry</a> ·
<a href="/explorer/retirements">注销与证书 Retirements</a></nav>
<main>
<h1>碳普惠注销证书 <span lang="en">Carbon Registry retirement certificate</span></h1>
<p>{e(format_grams(cert.amount))} 经核证的减排量已注销，永不再转让。
<span lang="en">{e(format_grams(cert.amount))} of verified household carbon reductions were
retired and can never be transferred again.</span></p>
<table>{table}</table>
<h2>序列号 <span lang="en">Serial numbers</span></h2><ul>{serials}</ul>
<div class="proof"><h2>证明 <span lang="en">Proof</span></h2><p lang="en">{status}</p>
<p>任何人都可以不信任登记处而核对本证书。<span lang="en">Anyone can check this certificate
without trusting the registry: save the proof bundle below as <code>bundle.json</code> and
run <code>{e(cert.verify["command"])}</code>.</span></p></div>
<div class="proof"><h2>在浏览器中验证 · Verified in this browser</h2>
<div id="verify-result"><p>需要 JavaScript · Needs JavaScript (or use the command above)</p></div>
<p><a href="/verify?seq={cert.seq}">验证页面 · Verification page</a></p></div>
<details><summary>证明包 Proof bundle (version 1)</summary><pre>{e(bundle_json)}</pre></details>
</main>
<script type="application/json" id="proof-bundle">{embedded}</script>
<script type="module">
import {{ verifyInto, defaultRpc }} from "/verifier/verify.js";
const bundle = document.getElementById("proof-bundle").textContent;
await verifyInto(bundle, await defaultRpc(), document.getElementById("verify-result"));
</script>
</body></html>
"""
