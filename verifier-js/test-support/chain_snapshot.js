/**
 * A recorded chain: the JSON-RPC calls the verifier makes, answered from a snapshot
 * (tests/vectors/bundles/chain.json), as tests/chain_snapshot.py answers them for the
 * Python verifier. Unknown blocks and transactions are null, unknown roots zero, and
 * accounts that never held the role get false, as a node would answer.
 */

import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

// Hashed here with @noble directly, not with the verifier under test.
const keccakHex = (/** @type {string} */ text) =>
  bytesToHex(keccak_256(new TextEncoder().encode(text)));
const selector = (/** @type {string} */ signature) => keccakHex(signature).slice(0, 8);
const ANCHORER_ROLE = keccakHex("ANCHORER_ROLE");

const ROOT_AT = selector("rootAt(uint256)");
const LATEST = selector("latest()");
const HAS_ROLE = selector("hasRole(bytes32,address)");
const ZERO = `0x${"00".repeat(32)}`;
const quantity = (/** @type {number | bigint} */ n) => `0x${n.toString(16)}`;
const word = (/** @type {number | bigint} */ n) => n.toString(16).padStart(64, "0");

/**
 * A JSON-RPC transport (request object -> response object) over `snapshot`.
 * @param {Record<string, any>} snapshot
 */
export function transport(snapshot) {
  return (/** @type {{id: number, method: string, params: any[]}} */ request) => ({
    jsonrpc: "2.0",
    id: request.id,
    result: result(snapshot, request.method, request.params),
  });
}

/**
 * @param {Record<string, any>} snapshot
 * @param {string} method
 * @param {any[]} params
 */
function result(snapshot, method, params) {
  switch (method) {
    case "eth_chainId":
      return quantity(snapshot.chain_id);
    case "eth_blockNumber":
      return quantity(snapshot.head);
    case "eth_getBlockByNumber": {
      const hash = snapshot.blocks[String(parseInt(params[0], 16))];
      return hash === undefined ? null : { hash };
    }
    case "eth_getCode":
      return snapshot.code[params[0].toLowerCase()] ?? "0x";
    case "eth_getTransactionReceipt":
      return snapshot.receipts[params[0]] ?? null;
    case "eth_call":
      return call(snapshot, params[0].to, params[0].data.slice(2), params[1]);
    default:
      throw new Error(`the recorded chain does not answer ${method}`);
  }
}

/**
 * @param {Record<string, any>} snapshot
 * @param {string} to
 * @param {string} data
 * @param {string} tag
 */
function call(snapshot, to, data, tag) {
  if (to.toLowerCase() !== snapshot.contract.toLowerCase()) return "0x";
  const [fn, args] = [data.slice(0, 8), data.slice(8)];
  if (fn === ROOT_AT) return snapshot.roots[String(BigInt(`0x${args.slice(0, 64)}`))] ?? ZERO;
  if (fn === LATEST) {
    const size = Math.max(0, ...Object.keys(snapshot.roots).map(Number));
    return `0x${word(size)}${(snapshot.roots[String(size)] ?? ZERO).slice(2)}`;
  }
  if (fn === HAS_ROLE) {
    const [role, account] = [args.slice(0, 64), `0x${args.slice(64 + 24, 128)}`];
    const block = tag === "latest" ? Number(snapshot.head) : parseInt(tag, 16);
    const held =
      role === ANCHORER_ROLE &&
      snapshot.anchorers.some(
        (/** @type {{account: string, from_block: number}} */ a) =>
          a.account.toLowerCase() === account.toLowerCase() && a.from_block <= block,
      );
    return `0x${word(held ? 1 : 0)}`;
  }
  return "0x";
}
