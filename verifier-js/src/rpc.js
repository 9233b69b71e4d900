/**
 * An Ethereum JSON-RPC client over `fetch`, and the anchoring contract's reads.
 *
 * Only what verification needs: the chain id, the head, blocks, receipts, code, and
 * `eth_call` to the anchoring contract (`rootAt`, `latest`, `hasRole`) with the ABI encoded
 * by hand. Answers are read with bounded size and nesting (an RPC is not trusted either).
 * Instead of a URL a transport can be given: a function from a JSON-RPC request object to
 * its response object, or a promise of it (the tests replay a recorded chain that way).
 */

import { bytesToHex, concatBytes, hexToBytes, toBigInt, word } from "./bytes.js";
import { isPlainObject } from "./canonical.js";
import { keccak256 } from "./crypto.js";
import { CodedError } from "./errors.js";
import { parseJson } from "./json.js";
import { show } from "./bundle.js";

export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export class RpcError extends CodedError {
  static code = "chain_unavailable";
  static status = 503;
  static title = "The chain's RPC cannot be reached";
}

/**
 * @typedef {{jsonrpc: "2.0", id: number, method: string, params: unknown[]}} RpcRequest
 * @typedef {(request: RpcRequest) => unknown} Transport
 * @typedef {{status: number, blockNumber: number, blockHash: Uint8Array,
 *   logs: Record<string, unknown>[]}} Receipt
 */

const ascii = (/** @type {string} */ text) => new TextEncoder().encode(text);

/** @param {string} signature */
export function selector(signature) {
  return keccak256(ascii(signature)).subarray(0, 4);
}

export const ANCHORER_ROLE = keccak256(ascii("ANCHORER_ROLE"));
export const ANCHORED_TOPIC = `0x${bytesToHex(keccak256(ascii("Anchored(uint256,bytes32,bytes32)")))}`;
const ROOT_AT = selector("rootAt(uint256)");
const LATEST = selector("latest()");
const HAS_ROLE = selector("hasRole(bytes32,address)");

/**
 * POST each request to `url`; the answer is read with bounded size and nesting.
 * @param {string} url
 * @param {{timeoutMs?: number}} [options]
 * @returns {Transport}
 */
export function httpTransport(url, { timeoutMs = 15_000 } = {}) {
  return async (request) => {
    let data;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new RpcError(`${url} answered HTTP ${response.status}`);
      data = await readBounded(response, url);
    } catch (err) {
      if (err instanceof RpcError) throw err;
      throw new RpcError(`${url} unreachable: ${reason(err)}`);
    }
    let answer;
    try {
      answer = parseJson(data, { what: `the answer of ${url}` });
    } catch (err) {
      throw new RpcError(/** @type {Error} */ (err).message);
    }
    if (!isPlainObject(answer)) {
      throw new RpcError(`${url} answered something other than a JSON-RPC response`);
    }
    return answer;
  };
}

/**
 * Why a fetch failed: Node's "fetch failed" says why in its cause (connection refused...).
 * @param {any} err
 * @returns {string}
 */
function reason(err) {
  const cause = err?.cause?.message ?? err?.cause?.code;
  return cause ? `${err.message} (${cause})` : String(err?.message ?? err);
}

/**
 * The body, refusing more than MAX_RESPONSE_BYTES without reading it all.
 * @param {Response} response
 * @param {string} url
 * @returns {Promise<Uint8Array>}
 */
async function readBounded(response, url) {
  const tooLarge = () => new RpcError(`${url} answered more than ${MAX_RESPONSE_BYTES} bytes`);
  if (Number(response.headers.get("content-length")) > MAX_RESPONSE_BYTES) throw tooLarge();
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(...chunks);
    total += value.length;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
}

/** JSON-RPC calls over a transport (HTTP by default). All calls are async. */
export class Rpc {
  /** @param {string | Transport} urlOrTransport */
  constructor(urlOrTransport) {
    if (typeof urlOrTransport === "string") {
      this.description = urlOrTransport;
      this.transport = httpTransport(urlOrTransport);
    } else {
      this.description = "the chain";
      this.transport = urlOrTransport;
    }
    this.nextId = 1;
  }

  /**
   * @param {string} method
   * @param {unknown[]} params
   * @returns {Promise<any>} the result
   * @throws {RpcError} when the transport fails or the answer is an error or no result
   */
  async call(method, params) {
    let answer;
    try {
      answer = await this.transport({ jsonrpc: "2.0", id: this.nextId++, method, params });
    } catch (err) {
      // Whatever a transport throws is the chain's failure, reported as such.
      if (err instanceof RpcError) throw err;
      throw new RpcError(`${method}: ${/** @type {Error} */ (err).message ?? err}`);
    }
    if (!isPlainObject(answer)) throw new RpcError(`${method}: not a JSON-RPC response`);
    if (Object.hasOwn(answer, "error")) {
      const error = answer.error;
      throw new RpcError(`${method}: ${isPlainObject(error) ? error.message : error}`);
    }
    if (!Object.hasOwn(answer, "result"))
      throw new RpcError(`${method}: the answer holds no result`);
    return answer.result;
  }

  // -- chain ------------------------------------------------------------------------------

  /** @returns {Promise<number>} */
  async chainId() {
    return quantity(await this.call("eth_chainId", []), "eth_chainId");
  }

  /** @returns {Promise<number>} the head's block number */
  async head() {
    return quantity(await this.call("eth_blockNumber", []), "eth_blockNumber");
  }

  /**
   * @param {number} number
   * @returns {Promise<Uint8Array | null>} null when the chain has no such block
   */
  async blockHash(number) {
    const block = await this.call("eth_getBlockByNumber", [hexQuantity(number), false]);
    if (!isPlainObject(block)) return null;
    return data(block.hash, "block hash");
  }

  /**
   * @param {string} address
   * @returns {Promise<Uint8Array>} empty when no contract is there
   */
  async code(address) {
    return data(await this.call("eth_getCode", [address, "latest"]), "eth_getCode");
  }

  /**
   * @param {Uint8Array} txHash
   * @returns {Promise<Receipt | null>} null when the chain does not know the transaction
   */
  async receipt(txHash) {
    const raw = await this.call("eth_getTransactionReceipt", [`0x${bytesToHex(txHash)}`]);
    if (raw === null) return null;
    if (!isPlainObject(raw) || !Array.isArray(raw.logs)) {
      throw new RpcError("eth_getTransactionReceipt: not a receipt");
    }
    return {
      status: quantity(raw.status, "receipt status"),
      blockNumber: quantity(raw.blockNumber, "receipt blockNumber"),
      blockHash: data(raw.blockHash, "receipt blockHash"),
      logs: raw.logs.filter(isPlainObject),
    };
  }

  /**
   * @param {string} to
   * @param {Uint8Array} input ABI-encoded call
   * @param {number | string} [block] a block number or tag
   * @returns {Promise<Uint8Array>}
   */
  async ethCall(to, input, block = "latest") {
    const tag = typeof block === "number" ? hexQuantity(block) : block;
    const result = await this.call("eth_call", [{ to, data: `0x${bytesToHex(input)}` }, tag]);
    return data(result, "eth_call");
  }

  /**
   * The logs `address` emitted with first topic `topic` in [fromBlock, toBlock].
   * @param {string} address
   * @param {Uint8Array} topic
   * @param {number} fromBlock
   * @param {number} toBlock
   * @returns {Promise<{topics: Uint8Array[], data: Uint8Array, txHash: Uint8Array,
   *   logIndex: number, block: number}[]>}
   */
  async logs(address, topic, fromBlock, toBlock) {
    const answer = await this.call("eth_getLogs", [
      {
        address: [address],
        topics: [`0x${bytesToHex(topic)}`],
        fromBlock: hexQuantity(fromBlock),
        toBlock: hexQuantity(toBlock),
      },
    ]);
    if (!Array.isArray(answer)) throw new RpcError("eth_getLogs did not answer a list");
    return answer.map((log) => {
      if (!isPlainObject(log) || !Array.isArray(log.topics))
        throw new RpcError("eth_getLogs answered a malformed log");
      return {
        topics: log.topics.map((/** @type {unknown} */ t) => data(t, "log topic")),
        data: data(log.data, "log data"),
        txHash: data(log.transactionHash, "log transaction"),
        logIndex: quantity(log.logIndex, "log index"),
        block: quantity(log.blockNumber, "log block"),
      };
    });
  }

  // -- the anchoring contract ----------------------------------------------------------------

  /**
   * The root the contract stores for `treeSize` (32 zero bytes when never anchored).
   * @param {string} contract
   * @param {number} treeSize
   * @returns {Promise<Uint8Array>}
   */
  async rootAt(contract, treeSize) {
    return wordAt(await this.ethCall(contract, concatBytes(ROOT_AT, word(treeSize))), 0);
  }

  /**
   * The contract's latest anchored tree size and root (at `block`).
   * @param {string} contract
   * @param {number | string} [block] a block number or tag
   * @returns {Promise<{treeSize: bigint, root: Uint8Array}>}
   */
  async latest(contract, block = "latest") {
    const out = await this.ethCall(contract, LATEST, block);
    return { treeSize: toBigInt(wordAt(out, 0)), root: wordAt(out, 1) };
  }

  /**
   * Whether `account` held ANCHORER_ROLE at `block`.
   * @param {string} contract
   * @param {string} account 0x address
   * @param {number | string} [block]
   * @returns {Promise<boolean>}
   */
  async isAnchorer(contract, account, block = "latest") {
    const input = concatBytes(
      HAS_ROLE,
      ANCHORER_ROLE,
      new Uint8Array(12),
      hexToBytes(account.slice(2)),
    );
    return toBigInt(wordAt(await this.ethCall(contract, input, block), 0)) === 1n;
  }

  /**
   * `(treeSize, root, checkpointHash)` of the Anchored events `contract` logged.
   * @param {Receipt} receipt
   * @param {string} contract
   * @returns {{treeSize: bigint, root: Uint8Array, checkpointHash: Uint8Array}[]}
   */
  static anchoredLogs(receipt, contract) {
    const found = [];
    for (const log of receipt.logs) {
      const topics = log.topics;
      if (
        String(log.address ?? "").toLowerCase() !== contract.toLowerCase() ||
        !Array.isArray(topics) ||
        topics.length !== 2 ||
        String(topics[0]).toLowerCase() !== ANCHORED_TOPIC
      ) {
        continue;
      }
      const logData = data(log.data, "log data");
      if (logData.length !== 64) continue;
      found.push({
        treeSize: toBigInt(data(topics[1], "log topic")),
        root: logData.subarray(0, 32),
        checkpointHash: logData.subarray(32),
      });
    }
    return found;
  }
}

/** @param {number} n */
function hexQuantity(n) {
  return `0x${n.toString(16)}`;
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {number}
 */
function quantity(value, what) {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]+$/.test(value)) {
    throw new RpcError(`${what}: expected a hex quantity, got ${show(value).slice(0, 60)}`);
  }
  return Number(BigInt(value));
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {Uint8Array}
 */
function data(value, what) {
  if (typeof value !== "string" || !/^0x(?:[0-9a-fA-F]{2})*$/.test(value)) {
    throw new RpcError(`${what}: expected 0x hex data, got ${show(value).slice(0, 60)}`);
  }
  return hexToBytes(value.slice(2));
}

/**
 * @param {Uint8Array} bytes
 * @param {number} index
 * @returns {Uint8Array}
 */
function wordAt(bytes, index) {
  const w = bytes.subarray(32 * index, 32 * (index + 1));
  if (w.length !== 32) {
    throw new RpcError(`the contract answered ${bytes.length} bytes where a word ${index} was due`);
  }
  return w;
}
