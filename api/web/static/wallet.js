// The browser wallet (EIP-1193) for the web pages: EIP-4361 sign-in with personal_sign for a
// session token, kept in this tab's sessionStorage (it ends with the tab, and no request
// another site causes carries it).
import { checksumAddress } from "/verifier/carbon-verifier.js";

const KEY = "carbon-registry-session";

export const session = {
  token: () => sessionStorage.getItem(KEY),
  forget: () => sessionStorage.removeItem(KEY),
  headers: () => ({ Authorization: `Bearer ${sessionStorage.getItem(KEY)}` }),
};

export async function connect() {
  if (!window.ethereum) {
    throw new Error(document.documentElement.lang === "en"
      ? "No browser wallet (EIP-1193) found." : "未检测到浏览器钱包 (EIP-1193)。");
  }
  const [raw] = await window.ethereum.request({ method: "eth_requestAccounts" });
  return checksumAddress(raw.slice(2).toLowerCase());
}

const rfc3339 = (unixS) => new Date(unixS * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

// Signs in as the wallet's account; returns the account, the token stored in the tab.
export async function signIn(chainId, path) {
  const address = await connect();
  const issued = Math.floor(Date.now() / 1000);
  const message = `${location.host} wants you to sign in with your Ethereum account:\n${address}\n\n` +
    "登录碳账户，只读个人数据。Sign in to read my carbon account.\n\n" +
    `URI: ${location.origin}${path}\nVersion: 1\nChain ID: ${chainId}\n` +
    `Nonce: ${hex(crypto.getRandomValues(new Uint8Array(12)))}\n` +
    `Issued At: ${rfc3339(issued)}\nExpiration Time: ${rfc3339(issued + 3600)}`;
  const signature = await window.ethereum.request({
    method: "personal_sign", params: ["0x" + hex(new TextEncoder().encode(message)), address],
  });
  const response = await fetch("/v1/sessions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ siwe: message, signature }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail ?? body.title);
  sessionStorage.setItem(KEY, body.token);
  return address;
}
