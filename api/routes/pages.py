"""Pages that verify in the browser: `/verify` and the script the certificate pages load.

Both run the JavaScript light verifier (`verifier-js/dist/carbon-verifier.js`, served at
`/verifier/carbon-verifier.js`) in the reader's browser against the chain's JSON-RPC,
pinned to this registry's trust anchor (`GET /v1/trust`): the registry's server only hands
out files, it takes no part in the verdict.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.errors import ApiError

router = APIRouter(tags=["verification pages"], include_in_schema=False)  # pages, not API

DIST = Path(__file__).resolve().parents[2] / "verifier-js" / "dist" / "carbon-verifier.js"

# The script both pages share: verify `bundle` and render each check into `target`.
VERIFY_SCRIPT = """
import { Rpc, TrustAnchor, parseJson, verifyBundle } from "/verifier/carbon-verifier.js";
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
export async function verifyInto(text, rpcUrl, target) {
  target.innerHTML = "<p>验证中… Verifying…</p>";
  try {
    const trust = TrustAnchor.fromJson(parseJson(await (await fetch("/v1/trust")).text()));
    const report = await verifyBundle(parseJson(text), new Rpc(rpcUrl), { trust });
    const rows = report.checks.map((c) =>
      `<li class="${c.ok ? "ok" : "fail"}"><b>${c.ok ? "✓" : "✗"} ${escape(c.name)}</b>: ` +
      `${escape(c.detail)}</li>`).join("");
    const verdict = report.verified
      ? '<p class="verdict ok" data-verdict="verified">已验证 VERIFIED</p>'
      : '<p class="verdict fail" data-verdict="failed">未通过 NOT VERIFIED</p>';
    target.innerHTML = verdict + `<ul>${rows}</ul>`;
  } catch (err) {
    target.innerHTML = '<p class="verdict fail" data-verdict="error">无法验证 Cannot verify: ' +
      escape(err.message ?? err) + "</p>";
  }
}
export async function defaultRpc() {
  const chain = await (await fetch("/v1/chain")).json();
  return chain.rpc_url ?? "";
}
"""

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 52rem;
       margin: 2rem auto; color: #1b2b1b; padding: 0 1rem; }
textarea, input { width: 100%; font-family: monospace; }
.ok { color: #1b5e20; } .fail { color: #b71c1c; } .verdict { font-size: 1.3rem; font-weight: bold; }
li { margin: .3rem 0; }
"""

VERIFY_PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>验证证明 · Verify a proof</title><style>{STYLE}</style></head>
<body><main>
<h1>验证证明 <small>Verify a proof bundle</small></h1>
<p>在您的浏览器中验证：本页面不信任登记处服务器，只读取区块链。
Verified in your browser against the chain: the registry's server takes no part.</p>
<form id="form">
<label for="bundle">证明包 JSON · Proof bundle (paste, or drop a file)</label>
<textarea id="bundle" rows="12" required></textarea>
<label for="seq">或事件序号 · or an event number</label>
<input id="seq" inputmode="numeric" pattern="[0-9]*">
<label for="rpc">区块链 RPC · Chain JSON-RPC URL</label>
<input id="rpc" type="url">
<p><button type="submit">验证 Verify</button></p>
</form>
<section id="result" aria-live="polite"></section>
</main>
<script type="module">
import {{ verifyInto, defaultRpc }} from "/verifier/verify.js";
const $ = (id) => document.getElementById(id);
$("rpc").value = await defaultRpc();
const area = $("bundle");
area.addEventListener("dragover", (e) => e.preventDefault());
area.addEventListener("drop", async (e) => {{
  e.preventDefault();
  area.value = await e.dataTransfer.files[0].text();
}});
async function load(seq) {{
  area.value = await (await fetch(`/v1/events/${{seq}}/proof`)).text();
}}
$("seq").addEventListener("change", () => load($("seq").value));
$("form").addEventListener("submit", async (e) => {{
  e.preventDefault();
  await verifyInto(area.value, $("rpc").value, $("result"));
}});
const wanted = new URLSearchParams(location.search).get("seq");
if (wanted !== null && /^[0-9]+$/.test(wanted)) {{
  $("seq").value = wanted;
  await load(wanted);
  await verifyInto(area.value, $("rpc").value, $("result"));
}}
</script></body></html>
"""


WALLET_PAGE = rf"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>钱包签名 · Sign with your wallet</title><style>{STYLE}</style></head>
<body><main>
<h1>钱包签名 <small>Sign with your wallet</small></h1>
<p>用您自己的钱包（MetaMask 等）签名转让、注销或锁定。
Sign a transfer, retirement or lock with your own wallet (EIP-1193, eth_signTypedData_v4):
the key never leaves it.</p>
<p><button id="connect" disabled>连接钱包 Connect wallet</button> <span id="account"></span></p>
<form id="form" hidden>
<label for="kind">操作 · Request</label>
<select id="kind"><option>Transfer</option><option>Retire</option><option>Lock</option></select>
<div id="fields"></div>
<p><button type="submit">签名并提交 Sign and send</button></p>
</form>
<pre id="receipt" aria-live="polite"></pre>
<section id="verify-result" aria-live="polite"></section>
</main>
<script type="module">
import {{ verifyInto }} from "/verifier/verify.js";
import {{ RegistryClient, walletSigner }} from "/verifier/carbon-verifier.js";
const $ = (id) => document.getElementById(id);
const client = new RegistryClient(location.origin);
const eip712 = await client.eip712();
const chain = await (await fetch("/v1/chain")).json();
let account = null;
const hidden = (kind, f) => f.name === "nonce" || f.name === "expiry" ||
  f.name === eip712.requests[kind].signer;
function render() {{
  const kind = $("kind").value;
  $("fields").innerHTML = eip712.requests[kind].fields.filter((f) => !hidden(kind, f))
    .map((f) => `<label for="f-${{f.name}}">${{f.name}}: ${{f.doc}}</label>` +
      `<input id="f-${{f.name}}" name="${{f.name}}" value="${{f.default ?? ""}}">`).join("") +
    (kind === "Retire" ? '<label for="f-name">受益人 Beneficiary name (optional)</label>' +
      '<input id="f-name">' : "");
}}
$("kind").addEventListener("change", render);
$("connect").addEventListener("click", async () => {{
  [account] = await window.ethereum.request({{ method: "eth_requestAccounts" }});
  if (chain.rpc_url) {{
    try {{
      await window.ethereum.request({{ method: "wallet_addEthereumChain", params: [{{
        chainId: "0x" + chain.chain_id.toString(16), chainName: "Carbon Registry chain",
        rpcUrls: [chain.rpc_url], nativeCurrency: {{ name: "Ether", symbol: "ETH", decimals: 18 }},
      }}] }});
    }} catch (err) {{ /* the wallet may refuse: signing needs no network switch */ }}
  }}
  $("account").textContent = account;
  $("form").hidden = false;
  render();
}});
// Enabled only now: a click before the request types and the chain were read would be lost.
$("connect").disabled = false;
const hex = (bytes) => "0x" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
$("form").addEventListener("submit", async (e) => {{
  e.preventDefault();
  const kind = $("kind").value;
  const fields = {{}};
  const beside = {{}};
  for (const f of eip712.requests[kind].fields.filter((f) => !hidden(kind, f))) {{
    const raw = $(`f-${{f.name}}`).value.trim();
    fields[f.name] = f.type.startsWith("uint") ? Number(raw) : f.type === "bool" ? raw === "true" : raw;
  }}
  const name = kind === "Retire" ? $("f-name").value.trim() : "";
  if (name) {{  // only a salted commitment to the name is signed and logged
    const salt = crypto.getRandomValues(new Uint8Array(32));
    const data = new Uint8Array([...salt, ...new TextEncoder().encode(name)]);
    fields.beneficiaryCommitment = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
    beside.beneficiary_name = {{ salt: hex(salt).slice(2), value: name }};
  }}
  let receipt;
  try {{  // the client builds the typed data from /v1/eip712; the wallet signs it
    receipt = await client.send(kind, fields, walletSigner(window.ethereum, account), beside);
  }} catch (err) {{
    $("receipt").textContent = JSON.stringify(err.problem ?? String(err), null, 2);
    return;
  }}
  $("receipt").textContent = JSON.stringify(receipt, null, 2);
  $("verify-result").innerHTML = "<p>等待锚定… Waiting for the anchor…</p>";
  for (;;) {{
    const bundle = await (await fetch(`/v1/events/${{receipt.seq}}/proof`)).text();
    if (JSON.parse(bundle).anchor) {{ await verifyInto(bundle, chain.rpc_url, $("verify-result")); break; }}
    await new Promise((r) => setTimeout(r, 1000));
  }}
}});
</script></body></html>
"""


@router.get("/wallet", response_class=HTMLResponse, summary="Sign requests with a browser wallet")
def wallet_page() -> HTMLResponse:
    return HTMLResponse(WALLET_PAGE)


@router.get("/verify", response_class=HTMLResponse, summary="Verify a proof bundle in the browser")
def verify_page() -> HTMLResponse:
    return HTMLResponse(VERIFY_PAGE)


@router.get("/verifier/verify.js", summary="The verification pages' script (ES module)")
def verify_script() -> Response:
    return Response(VERIFY_SCRIPT, media_type="text/javascript")


@router.get(
    "/verifier/carbon-verifier.js",
    response_class=FileResponse,
    summary="The JavaScript light verifier (ES module, verifier-js/dist)",
)
def verifier_module() -> FileResponse:
    if not DIST.is_file():
        raise ApiError(
            "not_found", f"{DIST} is missing: build it with npm run build in verifier-js"
        )
    return FileResponse(DIST, media_type="text/javascript")
