"""Pages that verify in the browser: `/verify` and the script the certificate pages load.

Both run the JavaScript light verifier (`verifier-js/dist/carbon-verifier.js`, served at
`/verifier/carbon-verifier.js`) in the reader's browser against the chain's JSON-RPC,
pinned to this registry's trust anchor (`GET /v1/trust`): the registry's server only hands
out files, it takes no part in the verdict.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

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


@router.get("/verify", response_class=HTMLResponse, summary="Verify a proof bundle in the browser")
def verify_page() -> HTMLResponse:
    return HTMLResponse(VERIFY_PAGE)


@router.get("/verifier/verify.js", summary="The verification pages' script (ES module)")
def verify_script() -> HTMLResponse:
    return HTMLResponse(VERIFY_SCRIPT, media_type="text/javascript")


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
