// Join or leave a community: the wallet signs JoinCommunity / LeaveCommunity
// (eth_signTypedData_v4) as the redeem button on /merchants signs RedeemOffer. A leaderboard
// pseudonym travels beside the request with its salt; the request (and the log) carries
// only its commitment, computed here.
import { RegistryClient, commitText, walletSigner } from "/verifier/carbon-verifier.js";
import { connect } from "/static/wallet.js";

const $ = (id) => document.getElementById(id);
const form = $("join");
const status = $("membership-status");
const community = form.dataset.community;
const client = new RegistryClient(location.origin);
const english = document.documentElement.lang === "en";

// As registry.units.format_grams: "12,345 g", and tonnes beside from one tonne up.
function grams(g) {
  const text = `${g.toLocaleString("en")} g`;
  if (g < 1_000_000) return text;
  const fraction = String(g % 1_000_000).padStart(6, "0").replace(/0+$/, "");
  return `${text} (${Math.floor(g / 1_000_000)}${fraction ? "." + fraction : ""} t)`;
}

function cell(value, numeric) {
  const td = document.createElement("td");
  if (numeric) td.className = "num";
  td.textContent = String(value);
  return td;
}

// The totals and leaderboard as they are after the member's request.
async function refresh() {
  const [row, board] = await Promise.all([
    fetch(`/v1/communities/${community}`).then((r) => r.json()),
    fetch(`/v1/communities/${community}/leaderboard`).then((r) => r.json()),
  ]);
  document.querySelector("[data-total=members]").textContent = String(row.members);
  $("leaderboard").tBodies[0].replaceChildren(...board.map((e) => {
    const tr = document.createElement("tr");
    tr.append(cell(e.rank, true), cell(e.pseudonym, false), cell(grams(e.verified_grams), true));
    return tr;
  }));
}

async function send(kind, fields, beside, done) {
  try {
    const account = await connect();
    const receipt = await client.send(kind, { community, ...fields }, walletSigner(window.ethereum, account), beside);
    await refresh();
    status.dataset.seq = String(receipt.seq);
    status.dataset.kind = kind;
    status.textContent = `${done} #${receipt.seq}`;
  } catch (err) {
    status.textContent = err.problem?.detail ?? err.message ?? String(err);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  delete status.dataset.seq;
  const leaderboard = form.elements.leaderboard.checked;
  const pseudonym = form.elements.pseudonym.value.trim();
  if (!leaderboard) {
    await send("JoinCommunity", { leaderboard: false }, {}, english ? "Joined: event" : "已加入：事件");
    return;
  }
  if (!pseudonym) {
    status.textContent = english ? "Choose a pseudonym to appear on the leaderboard." : "要上排行榜，请填写昵称。";
    form.elements.pseudonym.focus();
    return;
  }
  const { beside, commitment } = commitText(pseudonym);
  await send("JoinCommunity", { leaderboard: true, pseudonymCommitment: commitment },
    { pseudonym: beside }, english ? "Joined: event" : "已加入：事件");
});

$("leave").addEventListener("click", async () => {
  delete status.dataset.seq;
  await send("LeaveCommunity", {}, {}, english ? "Left: event" : "已退出：事件");
});
