// Redeem a merchant's offer: the wallet signs RedeemOffer (eth_signTypedData_v4) in the
// registry's EIP-712 domain, built from GET /v1/eip712 by the light verifier's client.
import { RegistryClient, walletSigner } from "/verifier/carbon-verifier.js";
import { connect } from "/static/wallet.js";

const status = document.getElementById("redeem-status");
const client = new RegistryClient(location.origin);
const english = document.documentElement.lang === "en";

// An asset class of which `account` holds at least `grams` active, if any.
async function classFor(account, grams) {
  const balances = await (await fetch(`/v1/accounts/${account}/balances`)).json();
  return balances.find((b) => b.active >= grams)?.asset_class ?? null;
}

for (const form of document.querySelectorAll("form.redeem")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { merchant, offerId, grams } = form.dataset;
    try {
      const account = await connect();
      const assetClass = await classFor(account, Number(grams));
      if (assetClass === null) {
        status.textContent = english ? `You hold no class with ${grams} g active.` : `您没有足够的减排量（需要 ${grams} 克）。`;
        return;
      }
      const mode = form.elements.mode.value;
      const receipt = await client.send("RedeemOffer",
        { merchant, offerId, assetClass, batchNo: 0, mode }, walletSigner(window.ethereum, account));
      status.dataset.seq = String(receipt.seq);
      status.textContent = (english ? "Redeemed: event " : "兑换成功：事件 ") + `#${receipt.seq}` +
        (receipt.certificate_id ? ` · ${receipt.certificate_id}` : "");
      if (receipt.certificate_id) {
        const link = document.createElement("a");
        link.href = `/v1/retirements/${receipt.certificate_id}/certificate.html`;
        link.textContent = english ? " certificate" : " 证书";
        status.append(link);
      }
    } catch (err) {
      status.textContent = err.problem?.detail ?? err.message ?? String(err);
    }
  });
}
