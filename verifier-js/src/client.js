/**
 * A small client for the registry's signed writes, built from `GET /v1/eip712` alone: a new
 * request type needs no change here. Signing is left to the caller's wallet: an ethers
 * `Wallet`/`Signer` (`signTypedData(domain, types, message)`) or an EIP-1193 provider.
 *
 *     const client = new RegistryClient("https://registry.example");
 *     const receipt = await client.send("Transfer", { to, assetClass, amount }, signer);
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes } from "@noble/hashes/utils.js";

// Defaults the registry describes rather than gives (registry/messages/declaration.py).
const SIGNER_DEFAULT = "the signer's address";
const GENERATED_DEFAULT = "a new unique id";
const newId = () =>
  [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The JSON problem of a refused request (RFC 9457), as an Error. */
export class RegistryProblem extends Error {
  /** @param {number} status @param {Record<string, any>} problem */
  constructor(status, problem) {
    super(`${status} ${problem.code ?? "error"}: ${problem.detail ?? problem.title ?? ""}`);
    this.status = status;
    this.problem = problem;
  }
}

export class RegistryClient {
  /**
   * @param {string} baseUrl
   * @param {{ fetch?: typeof fetch, operatorKey?: string, ttlSeconds?: number }} [options]
   */
  constructor(baseUrl, { fetch: doFetch = globalThis.fetch, operatorKey, ttlSeconds = 3600 } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    // Called as a plain function: a browser's fetch refuses any other `this`.
    this.fetch = (/** @type {Parameters<typeof fetch>} */ ...args) => doFetch(...args);
    this.operatorKey = operatorKey;
    this.ttlSeconds = ttlSeconds;
    /** @type {Promise<Record<string, any>> | null} */
    this.published = null;
  }

  /** The published domain and types (fetched once). */
  eip712() {
    this.published ??= this.fetch(`${this.baseUrl}/v1/eip712`).then((r) => r.json());
    return this.published;
  }

  /**
   * The `eth_signTypedData_v4` document of a request: `fields` plus the signer's address in
   * the field that names the signer, defaults, a fresh nonce and an expiry.
   * @param {string} kind
   * @param {Record<string, unknown>} fields
   * @param {string} signer
   */
  async typedData(kind, fields, signer) {
    const { domain, types, requests } = await this.eip712();
    const spec = requests[kind];
    if (!spec) throw new Error(`the registry publishes no request type ${kind}`);
    /** @type {Record<string, unknown>} */
    const message = {};
    for (const f of spec.fields) {
      if (f.name === spec.signer) message[f.name] = signer;
      else if (f.name === "nonce") message.nonce = Math.floor(Math.random() * 2 ** 52);
      else if (f.name === "expiry") message.expiry = Math.floor(Date.now() / 1000) + this.ttlSeconds;
      else if (Object.hasOwn(fields, f.name)) message[f.name] = fields[f.name];
      else if (f.default === SIGNER_DEFAULT) message[f.name] = signer;
      else if (f.default === GENERATED_DEFAULT) message[f.name] = `${kind.toLowerCase()}-${newId()}`;
      else if (Object.hasOwn(f, "default")) message[f.name] = f.default;
      else throw new Error(`${kind} needs ${f.name}`);
    }
    return {
      types: { EIP712Domain: types.EIP712Domain, [kind]: types[kind] },
      domain,
      primaryType: kind,
      message,
    };
  }

  /**
   * Sign a request with `signer` (anything with `getAddress()` and `signTypedData`, such as
   * an ethers signer or `walletSigner(provider)`) and POST it to its route; the receipt, or
   * a RegistryProblem.
   * @param {string} kind
   * @param {Record<string, unknown>} fields
   * @param {{ getAddress(): Promise<string>, signTypedData(d: any, t: any, m: any): Promise<string> }} signer
   * @param {Record<string, unknown>} [beside] sent beside the signed message (personal data)
   */
  async send(kind, fields, signer, beside = {}) {
    const typed = await this.typedData(kind, fields, await signer.getAddress());
    const signature = await signer.signTypedData(
      typed.domain,
      { [kind]: typed.types[kind] },
      typed.message,
    );
    const { requests } = await this.eip712();
    const route = requests[kind].route.replace(/\{(\w+)\}/g, (/** @type {string} */ _, /** @type {string} */ k) =>
      String(typed.message[k]),
    );
    /** @type {Record<string, string>} */
    const headers = { "Content-Type": "application/json" };
    if (requests[kind].operator_key && this.operatorKey) headers["X-Operator-Key"] = this.operatorKey;
    const answer = await this.fetch(`${this.baseUrl}${route}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...beside, message: typed.message, signature }),
    });
    const body = await answer.json();
    if (!answer.ok) throw new RegistryProblem(answer.status, body);
    return body;
  }
}

/**
 * A private field (a pseudonym, a name) for `send`'s `beside`, with a fresh 32-byte salt, and
 * the commitment the signed request carries in its place: `0x` SHA-256(salt ‖ UTF-8 value),
 * as docs/spec.md defines it. The value itself never enters the request or the log.
 *
 *     const { beside, commitment } = commitText("绿色狐狸");
 *     await client.send("JoinCommunity", { community, leaderboard: true,
 *       pseudonymCommitment: commitment }, signer, { pseudonym: beside });
 * @param {string} value
 */
export function commitText(value) {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const digest = sha256(concatBytes(salt, new TextEncoder().encode(value)));
  return { beside: { salt: bytesToHex(salt), value }, commitment: `0x${bytesToHex(digest)}` };
}

/**
 * An EIP-1193 wallet (MetaMask's `window.ethereum`) as a signer for `RegistryClient.send`:
 * `eth_signTypedData_v4` on the typed data the client built.
 * @param {{ request(args: { method: string, params?: unknown[] }): Promise<any> }} provider
 * @param {string} account
 */
export function walletSigner(provider, account) {
  return {
    getAddress: async () => account,
    /** @param {any} domain @param {Record<string, any>} types @param {any} message */
    signTypedData: async (domain, types, message) => {
      const [primaryType] = Object.keys(types);
      // EIP-712's domain fields, in the standard's order, as far as the domain has them.
      const EIP712Domain = DOMAIN_FIELDS.filter(([name]) => Object.hasOwn(domain, name)).map(
        ([name, type]) => ({ name, type }),
      );
      const typed = { types: { EIP712Domain, ...types }, domain, primaryType, message };
      return provider.request({
        method: "eth_signTypedData_v4",
        params: [account, JSON.stringify(typed)],
      });
    },
  };
}

const DOMAIN_FIELDS = [
  ["name", "string"],
  ["version", "string"],
  ["chainId", "uint256"],
  ["verifyingContract", "address"],
  ["salt", "bytes32"],
];
