// My carbon account: EIP-4361 sign-in with the browser wallet (EIP-1193 personal_sign),
// the session token kept in this tab's sessionStorage, the account's data from /me/data.
import { session, signIn } from "/static/wallet.js";

const $ = (id) => document.getElementById(id);
const text = (value) => document.createTextNode(String(value ?? ""));
const grams = (g) => `${Number(g).toLocaleString("en")} g`;
const statuses = JSON.parse($("claims").dataset.statuses);
// The rating's field names, the redemption modes and the refusal reasons in the page's language.
const ratingLabels = JSON.parse($("rating-inputs").dataset.labels);
const modes = JSON.parse($("my-redemptions").dataset.modes);
const reasons = JSON.parse($("refused").dataset.reasons);
const english = document.documentElement.lang === "en";

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "number" || /^[\d,]+ g$/.test(String(cell))) td.className = "num";
    td.append(cell instanceof Node ? cell : text(cell));
    tr.append(td);
  }
  return tr;
}

// A stacked bar chart of grams by month, one series per name, into the element `id`.
function barChart(id, months, names, series) {
  if (!window.echarts) return;
  const plot = window.echarts.init($(id));
  plot.setOption({
    tooltip: { trigger: "axis" }, legend: { type: "scroll" }, animation: false,
    xAxis: { type: "category", data: months }, yAxis: { type: "value", name: "g CO2e" },
    series: names.map((name) => ({ name, type: "bar", stack: "g", data: series[name] })),
  });
  $(id).dataset.rendered = "true";
}

function chart(data) {
  const head = document.createElement("tr");
  for (const label of ["", ...data.methodologies]) {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = label; head.append(th);
  }
  $("series").tHead.replaceChildren(head);
  $("series").tBodies[0].replaceChildren(...data.months.map((month, i) =>
    row([month, ...data.methodologies.map((m) => grams(data.series[m][i]))])));
  barChart("chart", data.months, data.methodologies, data.series);
  barChart("platform-chart", data.months, data.platforms, data.platform_series);
}

async function load() {
  if (!session.token()) return;
  const response = await fetch("/me/data", { headers: session.headers() });
  if (!response.ok) { session.forget(); $("signin-status").textContent = (await response.json()).detail; return; }
  const data = await response.json();
  $("signin").hidden = true;
  $("account").hidden = false;
  $("address").textContent = data.account;
  $("total").textContent = data.total_claimed_text;
  $("verified").textContent = data.total_verified_text;
  $("fp-claimed").textContent = data.total_claimed_text;  // beside the estimate, never mixed
  $("fp-beside").hidden = false;
  if (data.kind === "merchant") {
    $("merchant-link").href = `/merchants/${data.account}`;
    $("merchant-link").hidden = false;
  }
  $("balances").tBodies[0].replaceChildren(...data.balances.map((b) =>
    row([b.asset_class, grams(b.active), grams(b.retired), grams(b.cancelled), grams(b.locked)])));
  $("platforms").tBodies[0].replaceChildren(...Object.entries(data.by_platform).map(([p, g]) => row([p, grams(g)])));
  $("claims").tBodies[0].replaceChildren(...data.claims.map((c) => {
    const status = document.createElement("span");
    status.className = `status-${c.status}`;
    status.dataset.status = c.status;
    status.textContent = (statuses[c.status] ?? c.status) + (c.verdict ? ` (${c.verdict})` : "");
    return row([c.claim_id, `${c.methodology} ${c.version}`, c.month, status, c.computation ?? grams(c.grams)]);
  }));
  $("refused").tBodies[0].replaceChildren(...data.refused.map((r) => row([r.methodology, r.reason, english ? r.detail : (reasons[r.reason] ?? r.detail)])));
  $("refused").hidden = data.refused.length === 0;
  $("retirements").replaceChildren(...data.retirements.map((r) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/v1/retirements/${r.certificate_id}/certificate.html`;
    a.textContent = r.certificate_id;
    li.append(a, text(` · ${grams(r.amount)} ${r.asset_class} · ${r.reason} · ${r.time}`));
    return li;
  }));
  if (data.household) {
    $("household").hidden = false;
    $("hh-address").textContent = data.household.address;
    $("hh-members").textContent = `${data.household.member_count}: ${data.household.members.join(", ")}`;
    $("hh-claimed").textContent = grams(data.household.claimed);
    $("hh-active").replaceChildren(...Object.entries(data.household.active).map(([c, g]) => {
      const li = document.createElement("li"); li.textContent = `${c}: ${grams(g)}`; return li;
    }));
  }
  chart(data);
  await Promise.all([rating(data.account), redemptions(data.account)]);
  document.body.dataset.loaded = "true";
}

async function rating(account) {
  const response = await fetch(`/v1/accounts/${account}/rating`, { headers: session.headers() });
  if (!response.ok) return;
  const r = await response.json();
  $("score").textContent = String(r.score);
  $("rating-formula").textContent = r.formula;
  $("rating-as-of").textContent = r.asOf;
  const shown = (v) => (Array.isArray(v) ? v.join(", ") : v);
  $("rating-inputs").tBodies[0].replaceChildren(
    ...Object.entries(r.inputs).map(([k, v]) => row([ratingLabels[k] ?? k, shown(v)])),
    ...Object.entries(r.points).map(([k, v]) => row([ratingLabels[k] ?? k, v])));
  $("rating-history").tBodies[0].replaceChildren(...r.history.map((h) => row([h.month, h.score])));
  $("disclose").onclick = async () => {
    const answer = await fetch(`/v1/accounts/${account}/rating/statements`, { method: "POST", headers: session.headers() });
    const body = await answer.json();
    if (!answer.ok) { $("disclose-status").textContent = body.detail ?? body.title; return; }
    const text = JSON.stringify(body, null, 2);
    $("statement").textContent = text;
    $("statement").hidden = false;
    $("statement-link").href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    $("statement-link").hidden = false;
    $("disclose-status").textContent = `${body.statement.score} / 1000 · ${body.statement.logId} · ${body.statement.treeSize}`;
  };
}

async function redemptions(account) {
  const response = await fetch(`/v1/accounts/${account}/redemptions`, { headers: session.headers() });
  if (!response.ok) return;
  $("my-redemptions").replaceChildren(...(await response.json()).items.map((r) => {
    const li = document.createElement("li");
    li.textContent = `${r.time} · ${r.offer_id} · ${grams(r.grams)} · ${modes[r.mode] ?? r.mode}` + (r.certificate_id ? ` · ${r.certificate_id}` : "");
    return li;
  }));
  $("my-redemptions-section").hidden = false;
}

function footprint(event) {
  event?.preventDefault();
  let total = 0;
  for (const input of $("footprint").querySelectorAll("input")) {
    const quantity = Math.max(0, Math.trunc(Number(input.value) || 0));
    total += quantity * Number(input.dataset.grams);  // integer grams, no rounding
  }
  $("fp-total").dataset.grams = String(total);
  $("fp-total").textContent = grams(total);
}

$("connect").addEventListener("click", async () => {
  try {
    await signIn(Number($("connect").dataset.chainId), "/me");
    await load();
  } catch (err) {
    $("signin-status").textContent = err.message ?? String(err);
  }
});
$("signout").addEventListener("click", () => { session.forget(); location.reload(); });
$("footprint").addEventListener("submit", footprint);
$("footprint").addEventListener("input", () => footprint());
await load();
