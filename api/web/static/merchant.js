// A merchant's redemptions, shown once the merchant signs in with its wallet (EIP-4361).
import { session, signIn } from "/static/wallet.js";

const $ = (id) => document.getElementById(id);
const button = $("connect");
const modes = JSON.parse($("redemptions").dataset.modes);

function cell(content) {
  const td = document.createElement("td");
  td.append(content instanceof Node ? content : document.createTextNode(String(content ?? "")));
  return td;
}

async function load() {
  if (!session.token()) return;
  const response = await fetch(`/v1/merchants/${button.dataset.merchant}/redemptions`, { headers: session.headers() });
  const body = await response.json();
  if (!response.ok) { $("signin-status").textContent = body.detail ?? body.title; return; }
  $("redemptions").tBodies[0].replaceChildren(...body.items.map((r) => {
    const tr = document.createElement("tr");
    let certificate = "";
    if (r.certificate_id) {
      certificate = document.createElement("a");
      certificate.href = `/v1/retirements/${r.certificate_id}/certificate.html`;
      certificate.textContent = r.certificate_id;
    }
    const event = document.createElement("a");
    event.href = `/explorer/events/${r.seq}`;
    event.textContent = `#${r.seq}`;
    tr.append(cell(r.time), cell(r.offer_id), cell(r.grams.toLocaleString("en")), cell(modes[r.mode] ?? r.mode), cell(certificate), cell(event));
    return tr;
  }));
  $("redemptions").hidden = false;
  document.body.dataset.loaded = "true";
}

button.addEventListener("click", async () => {
  try {
    await signIn(Number(button.dataset.chainId), location.pathname);
    await load();
  } catch (err) {
    $("signin-status").textContent = err.message ?? String(err);
  }
});
await load();
