/**
 * Proof of reserve from the public log and the chain alone, as the Python verifier's
 * `carbon_verifier.reserve` checks it: per asset class, at one chain block,
 *
 *     locked in the log - locks neither minted nor released in the log
 *         + mints on chain not recorded in the log yet - burns on chain not recorded yet
 *         == totalSupply(token id)
 *
 * and no lock is minted twice, after its release, or without being a lock. The log's
 * events come from its entry bundles (`tile/entries/N[.p/W]`, each entry prefixed by its
 * length as a big-endian uint32) up to the tree size anchored on chain, and must hash to
 * the anchored root.
 */

import { bytesToHex, equalBytes, toBigInt } from "./bytes.js";
import { keccak256 } from "./crypto.js";
import { CodedError } from "./errors.js";
import { parseJson } from "./json.js";
import { HASH_SIZE, leafHash, nodeHash } from "./merkle.js";
import { sha256 } from "@noble/hashes/sha2.js";

const TILE_WIDTH = 256;
const ascii = (/** @type {string} */ text) => new TextEncoder().encode(text);
const BRIDGE_EVENTS = new Set([
  "CreditsLocked",
  "CreditsMinted",
  "LockReleased",
  "CreditsReturned",
  "CreditsRetiredOnChain",
]);
const MINT = "CreditsMinted";
const TOPICS = {
  CreditsMinted: keccak256(ascii("CreditsMinted(uint256,address,uint256,uint256)")),
  CreditsReturned: keccak256(ascii("CreditsReturned(address,address,uint256,uint256)")),
  CreditsRetiredOnChain: keccak256(
    ascii("CreditsRetiredOnChain(address,uint256,uint256,bytes32,string)"),
  ),
};
const TOTAL_SUPPLY = keccak256(ascii("totalSupply(uint256)")).slice(0, 4);

/** The log read is not the log anchored on chain, or is not in the public log's format. */
export class ReserveLogError extends CodedError {
  static code = "reserve_log";
  static status = 422;
  static title = "The log does not hash to the root anchored on chain";
}

/**
 * `tile/entries/<N>[.p/<W>]`, N in x-prefixed groups of three digits.
 * @param {number} index
 * @param {number} width
 */
export function entriesPath(index, width = TILE_WIDTH) {
  const digits = String(index).padStart(3 * Math.ceil(String(index).length / 3), "0");
  const groups = digits.match(/.{3}/g) ?? ["000"];
  const path = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
  return `tile/entries/${path}${width < TILE_WIDTH ? `.p/${width}` : ""}`;
}

/**
 * The `width` entries of an entry bundle.
 * @param {Uint8Array} data
 * @param {number} width
 * @returns {Uint8Array[]}
 */
export function parseEntryBundle(data, width) {
  const entries = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) throw new ReserveLogError("an entry bundle ends inside a length");
    const length = new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0);
    if (at + 4 + length > data.length)
      throw new ReserveLogError("an entry bundle ends inside an entry");
    entries.push(data.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (entries.length !== width)
    throw new ReserveLogError(`an entry bundle holds ${entries.length} entries, not ${width}`);
  return entries;
}

/**
 * RFC 9162 root of these leaf hashes.
 * @param {Uint8Array[]} leaves
 * @returns {Uint8Array}
 */
export function rootOf(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array());
  /** @type {(lo: number, hi: number) => Uint8Array} */
  const mth = (lo, hi) => {
    if (hi - lo === 1) return leaves[lo];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leaves.length);
}

/**
 * ERC-1155 token id of an asset class: uint256(keccak256(bytes(assetClass))).
 * @param {string} assetClass
 */
export function tokenId(assetClass) {
  return toBigInt(keccak256(ascii(assetClass)));
}

/**
 * The log's figures, replayed from its first `size` events, which must hash to `root`.
 * @param {Uint8Array[]} entries
 * @param {number} size
 * @param {Uint8Array} root
 */
export function logFigures(entries, size, root) {
  if (entries.length !== size || !equalBytes(rootOf(entries.map(leafHash)), root)) {
    throw new ReserveLogError(`the log's first ${size} events do not hash to the anchored root`);
  }
  /** @type {Map<string, bigint>} */
  const locked = new Map();
  /** @type {Map<number, {assetClass: string, grams: bigint, status: string}>} */
  const locks = new Map();
  const chainEvents = new Set();
  const add = (/** @type {string} */ c, /** @type {bigint} */ g) =>
    locked.set(c, (locked.get(c) ?? 0n) + g);
  /** @type {(value: unknown, seq: number) => bigint} */
  const integer = (value, seq) => {
    if (!Number.isSafeInteger(value) || /** @type {number} */ (value) < 0)
      throw new ReserveLogError(`event ${seq} holds ${JSON.stringify(value)} where the log has an integer`);
    return BigInt(/** @type {number} */ (value));
  };
  entries.forEach((body, seq) => {
    const event = /** @type {any} */ (parseJson(body, { what: `event ${seq}` }));
    if (!BRIDGE_EVENTS.has(event.type)) return;
    const request = event.payload.request;
    if (event.type === "CreditsLocked") {
      const grams = integer(request.amount, seq);
      locks.set(seq, { assetClass: request.assetClass, grams, status: "open" });
      add(request.assetClass, grams);
    } else if (event.type === "CreditsMinted" || event.type === "LockReleased") {
      const lock = locks.get(Number(integer(request.lockSeq, seq)));
      if (lock === undefined) throw new ReserveLogError(`event ${seq} names no lock`);
      lock.status = event.type === "CreditsMinted" ? "minted" : "released";
      if (lock.status === "released") add(lock.assetClass, -lock.grams);
    } else {
      add(request.assetClass, -integer(request.amount, seq));
    }
    if (Object.hasOwn(request, "chainEvent")) chainEvents.add(request.chainEvent);
  });
  /** @type {Map<string, bigint>} */
  const unminted = new Map();
  for (const lock of locks.values()) {
    if (lock.status === "open")
      unminted.set(lock.assetClass, (unminted.get(lock.assetClass) ?? 0n) + lock.grams);
  }
  return { size, locked, unminted, locks, chainEvents };
}

/**
 * The token contract's mints and burns in [fromBlock, toBlock], in chain order.
 * @param {import("./rpc.js").Rpc} rpc
 * @param {string} token
 * @param {number} fromBlock
 * @param {number} toBlock
 */
async function bridgeEvents(rpc, token, fromBlock, toBlock) {
  const found = [];
  for (const [kind, topic] of Object.entries(TOPICS)) {
    for (const log of await rpc.logs(token, topic, fromBlock, toBlock)) {
      const amount = toBigInt(log.data.slice(0, 32));
      const id = toBigInt(kind === "CreditsRetiredOnChain" ? log.topics[2] : log.topics[3]);
      const lockSeq = kind === MINT ? Number(toBigInt(log.topics[1])) : null;
      found.push({ kind, id, amount, lockSeq, ...log });
    }
  }
  return found.sort((a, b) => a.block - b.block || a.logIndex - b.logIndex);
}

/**
 * The reserve from the public log (`fetchBytes(path)`: its entry bundles) and the chain,
 * pinned to `trust` (which must name the token contract).
 * @param {(path: string) => Promise<Uint8Array>} fetchBytes
 * @param {import("./rpc.js").Rpc} rpc
 * @param {import("./trust.js").TrustAnchor} trust
 */
export async function checkPublicReserve(fetchBytes, rpc, trust) {
  if (!trust.token) throw new ReserveLogError("the trust anchor names no token contract");
  const chainId = await rpc.chainId();
  if (chainId !== trust.chainId)
    throw new ReserveLogError(`the RPC serves chain ${chainId}, the trust anchor ${trust.chainId}`);
  const block = await rpc.head();
  const { treeSize, root } = await rpc.latest(trust.contract, block); // one block for both
  const size = Number(treeSize);
  const entries = [];
  for (let index = 0; index * TILE_WIDTH < size; index++) {
    const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH);
    entries.push(...parseEntryBundle(await fetchBytes(entriesPath(index, width)), width));
  }
  const figures = logFigures(entries, size, root);
  /** @type {Map<bigint, bigint>} */
  const mints = new Map();
  /** @type {Map<bigint, bigint>} */
  const burns = new Map();
  const problems = [];
  const mintedNow = new Set();
  for (const event of await bridgeEvents(rpc, trust.token, 0, block)) {
    const key = `${chainId}:0x${bytesToHex(event.txHash)}:${event.logIndex}`;
    if (figures.chainEvents.has(key)) continue;
    if (event.kind !== MINT) {
      burns.set(event.id, (burns.get(event.id) ?? 0n) + event.amount);
      continue;
    }
    const status = figures.locks.get(/** @type {number} */ (event.lockSeq))?.status;
    if (status === undefined)
      problems.push(`chain event ${key} mints event ${event.lockSeq}, which is no lock`);
    else if (status === "released")
      problems.push(`chain event ${key} mints lock ${event.lockSeq}, released in the log`);
    else if (status === "minted" || mintedNow.has(event.lockSeq))
      problems.push(`chain event ${key} mints lock ${event.lockSeq} a second time`);
    mintedNow.add(event.lockSeq);
    mints.set(event.id, (mints.get(event.id) ?? 0n) + event.amount);
  }
  const classes = [];
  const names = [...new Set([...figures.locked.keys(), ...figures.unminted.keys()])].sort();
  for (const assetClass of names) {
    const id = tokenId(assetClass);
    const out = await rpc.ethCall(
      trust.token,
      Uint8Array.from([...TOTAL_SUPPLY, ...hexWord(id)]),
      block,
    );
    const c = {
      assetClass,
      lockedInLog: figures.locked.get(assetClass) ?? 0n,
      unmintedLocks: figures.unminted.get(assetClass) ?? 0n,
      mintsNotInLog: mints.get(id) ?? 0n,
      burnsNotInLog: burns.get(id) ?? 0n,
      totalSupply: toBigInt(out.slice(0, HASH_SIZE)),
    };
    const expected = c.lockedInLog - c.unmintedLocks + c.mintsNotInLog - c.burnsNotInLog;
    classes.push({ ...c, expectedSupply: expected, ok: expected === c.totalSupply });
    if (expected !== c.totalSupply)
      problems.push(`${assetClass}: the log backs ${expected} g, the chain holds ${c.totalSupply}`);
  }
  return { logSize: size, block, classes, problems, ok: problems.length === 0 };
}

/** @param {bigint} value */
function hexWord(value) {
  const hex = value.toString(16).padStart(64, "0");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
