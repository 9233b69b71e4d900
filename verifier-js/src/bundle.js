/**
 * Proof bundles (version 1), read strictly: anything that is not exactly the format is
 * refused, and the error names the field (`checkpoint.tree_size`, `inclusion.path[3]`);
 * a mismatch between two fields names both. The same rules as the Python verifier's
 * bundle.py (docs/spec.md, "Proof bundles"):
 *
 *     version      the integer 1
 *     event        {seq, type, time, payload, signatures?}, within the JSON subset of
 *                  canonical.js, so that its RFC 8785 bytes are defined
 *     leaf_index   an integer, equal to event.seq
 *     inclusion    {tree_size, path}: hashes as 64 lowercase hex digits without 0x
 *     checkpoint   {log_id, tree_size, root_hash, timestamp, signer, signature}: signer
 *                  EIP-55, signature 0x and 130 lowercase hex digits (v 1b or 1c, low s)
 *     anchor       {chain_id, contract, tx_hash, block_number, block_hash}: contract
 *                  EIP-55, hashes 0x and 64 lowercase hex digits
 *
 * Integers are JSON integers only (a float, "1" or true is refused; parse text with
 * parseJson so that `1.0` stays a float). Every value has one written form (lowercase hex,
 * checksummed addresses, low-s signatures) so that no two byte strings verify as the same
 * bundle. A bundle of an event not anchored yet has `anchor: null` and a `pending` object.
 */

import { hexToBytes } from "./bytes.js";
import { CanonicalError, MAX_SAFE_INTEGER, canonicalBytes, isPlainObject } from "./canonical.js";
import { Checkpoint, SignedCheckpoint } from "./checkpoint.js";
import { SECP256K1_N, checksumAddress } from "./crypto.js";
import { CodedError } from "./errors.js";
import { JsonFloat } from "./json.js";

export const VERSION = 1;
export const MAX_TEXT = 500;
export const MAX_PATH = 64; // a proof in a tree of 2^64 leaves

const HEX64 = /^[0-9a-f]{64}$/;
const HEX64_0X = /^0x[0-9a-f]{64}$/;
const SIGNATURE = /^0x[0-9a-f]{128}(?:1b|1c)$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const EVENT_TYPE = /^[A-Za-z]{1,64}$/;
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const PENDING_STATUSES = ["awaiting_checkpoint", "awaiting_confirmation"];

export class BundleFormatError extends CodedError {
  static code = "malformed_bundle";
  static status = 422;
  static title = "The proof bundle is not exactly the bundle format";

  /**
   * @param {string} field the field refused
   * @param {string} message
   * @param {string[]} [also] the other side of a mismatch
   */
  constructor(field, message, also = []) {
    super(field ? `${field}: ${message}` : message);
    this.field = field;
    this.fields = [field, ...also];
  }
}

/**
 * @typedef {{chainId: number, contract: string, txHash: Uint8Array, blockNumber: number,
 *   blockHash: Uint8Array}} Anchor
 * @typedef {{event: Record<string, any>, eventBytes: Uint8Array, leafIndex: number,
 *   treeSize: number | null, path: Uint8Array[] | null, checkpoint: SignedCheckpoint | null,
 *   anchor: Anchor | null, pending: Record<string, any> | null}} Bundle
 * @typedef {{checkpoint: SignedCheckpoint, anchor: Anchor}} AnchoredCheckpoint
 * @typedef {{old: AnchoredCheckpoint, new: AnchoredCheckpoint, proof: Uint8Array[]}} ConsistencyBundle
 */

// -- field readers: each names the field it refuses ------------------------------------------

/**
 * @param {unknown} value
 * @param {string} field
 * @param {string[]} required
 * @param {string[]} [optional]
 * @returns {Record<string, any>}
 */
export function fieldsOf(value, field, required, optional = []) {
  if (!isPlainObject(value))
    throw new BundleFormatError(field || "bundle", "must be a JSON object");
  const missing = required.find((key) => !Object.hasOwn(value, key));
  if (missing !== undefined) throw new BundleFormatError(join(field, missing), "is missing");
  const extra = Object.keys(value)
    .filter((key) => !required.includes(key) && !optional.includes(key))
    .sort();
  if (extra.length)
    throw new BundleFormatError(join(field, extra[0]), "is not a field of this object");
  return value;
}

/**
 * @param {unknown} value
 * @param {string} field
 * @param {number} [low]
 * @param {number} [high]
 * @returns {number}
 */
export function integer(value, field, low = 0, high = MAX_SAFE_INTEGER) {
  const isInteger =
    (typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint";
  if (!isInteger) throw new BundleFormatError(field, `must be a JSON integer, got ${show(value)}`);
  if (!(value >= low && value <= high)) {
    throw new BundleFormatError(field, `must be between ${low} and ${high}, got ${value}`);
  }
  return Number(value);
}

/**
 * @param {unknown} value
 * @param {string} field
 * @param {{prefixed: boolean}} form
 * @returns {Uint8Array}
 */
export function hexBytes(value, field, { prefixed }) {
  if (typeof value !== "string" || !(prefixed ? HEX64_0X : HEX64).test(value)) {
    const form = prefixed ? "0x and 64" : "64";
    throw new BundleFormatError(field, `must be ${form} lowercase hex digits, got ${show(value)}`);
  }
  return hexToBytes(prefixed ? value.slice(2) : value);
}

/**
 * @param {unknown} value
 * @param {string} field
 * @returns {string}
 */
export function address(value, field) {
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new BundleFormatError(field, `must be a 0x 20-byte hex address, got ${show(value)}`);
  }
  const expected = checksumAddress(value.slice(2).toLowerCase());
  if (value !== expected) {
    throw new BundleFormatError(field, `must be in its EIP-55 checksummed form ${expected}`);
  }
  return value;
}

/**
 * @param {unknown} value
 * @param {string} field
 * @returns {string}
 */
export function signature(value, field) {
  if (typeof value !== "string" || !SIGNATURE.test(value)) {
    throw new BundleFormatError(
      field,
      "must be 0x and 130 lowercase hex digits (r || s || v, v 1b or 1c)",
    );
  }
  const r = BigInt(`0x${value.slice(2, 66)}`);
  const s = BigInt(`0x${value.slice(66, 130)}`);
  if (!(r > 0n && r < SECP256K1_N && s > 0n && s <= SECP256K1_N / 2n)) {
    throw new BundleFormatError(field, "r or s is out of range (high-s twins are refused)");
  }
  return value;
}

/**
 * @param {unknown} value
 * @param {string} field
 * @returns {string}
 */
export function text(value, field) {
  // Length in code points, as Python counts it (an emoji is one character, not two).
  const length = typeof value === "string" ? [...value].length : 0;
  if (typeof value !== "string" || !(length > 0 && length <= MAX_TEXT) || CONTROL.test(value)) {
    throw new BundleFormatError(field, `must be 1-${MAX_TEXT} characters without controls`);
  }
  return value;
}

// -- the parts -------------------------------------------------------------------------------

/**
 * The event, checked, and its RFC 8785 bytes.
 * @param {unknown} value
 * @param {string} [field]
 * @returns {{event: Record<string, any>, bytes: Uint8Array}}
 */
export function parseEvent(value, field = "event") {
  const event = fieldsOf(value, field, ["seq", "type", "time", "payload"], ["signatures"]);
  integer(event.seq, `${field}.seq`);
  if (typeof event.type !== "string" || !EVENT_TYPE.test(event.type)) {
    throw new BundleFormatError(`${field}.type`, "must be 1-64 ASCII letters");
  }
  if (typeof event.time !== "string" || !TIME.test(event.time)) {
    throw new BundleFormatError(`${field}.time`, "must be RFC 3339 UTC with milliseconds");
  }
  if (!isPlainObject(event.payload))
    throw new BundleFormatError(`${field}.payload`, "must be a JSON object");
  if (Object.hasOwn(event, "signatures")) {
    const signatures = event.signatures;
    if (!Array.isArray(signatures) || !(signatures.length > 0 && signatures.length <= 16)) {
      throw new BundleFormatError(`${field}.signatures`, "must be a list of 1-16 signatures");
    }
    signatures.forEach((item, i) => {
      const where = `${field}.signatures[${i}]`;
      const entry = fieldsOf(item, where, ["signer", "signature"]);
      address(entry.signer, `${where}.signer`);
      signature(entry.signature, `${where}.signature`);
    });
  }
  try {
    return { event, bytes: canonicalBytes(event, field) };
  } catch (err) {
    if (err instanceof CanonicalError) throw new BundleFormatError(err.where, err.reason);
    throw err;
  }
}

/**
 * @param {unknown} value
 * @param {string} [field]
 * @returns {SignedCheckpoint}
 */
export function parseCheckpoint(value, field = "checkpoint") {
  const cp = fieldsOf(value, field, [
    "log_id",
    "tree_size",
    "root_hash",
    "timestamp",
    "signer",
    "signature",
  ]);
  const checkpoint = new Checkpoint(
    text(cp.log_id, `${field}.log_id`),
    integer(cp.tree_size, `${field}.tree_size`, 1),
    hexBytes(cp.root_hash, `${field}.root_hash`, { prefixed: false }),
    integer(cp.timestamp, `${field}.timestamp`),
  );
  return new SignedCheckpoint(
    checkpoint,
    address(cp.signer, `${field}.signer`),
    signature(cp.signature, `${field}.signature`),
  );
}

/**
 * @param {unknown} value
 * @param {string} [field]
 * @returns {Anchor}
 */
export function parseAnchor(value, field = "anchor") {
  const a = fieldsOf(value, field, [
    "chain_id",
    "contract",
    "tx_hash",
    "block_number",
    "block_hash",
  ]);
  return {
    chainId: integer(a.chain_id, `${field}.chain_id`, 1),
    contract: address(a.contract, `${field}.contract`),
    txHash: hexBytes(a.tx_hash, `${field}.tx_hash`, { prefixed: true }),
    blockNumber: integer(a.block_number, `${field}.block_number`),
    blockHash: hexBytes(a.block_hash, `${field}.block_hash`, { prefixed: true }),
  };
}

/**
 * @param {unknown} value
 * @param {string} field
 * @returns {Uint8Array[]}
 */
export function parsePath(value, field) {
  if (!Array.isArray(value) || value.length > MAX_PATH) {
    throw new BundleFormatError(field, `must be a list of at most ${MAX_PATH} hashes`);
  }
  return value.map((h, i) => hexBytes(h, `${field}[${i}]`, { prefixed: false }));
}

/**
 * A proof bundle, checked field by field.
 * @param {unknown} value the bundle as parsed JSON
 * @returns {Bundle}
 * @throws {BundleFormatError} naming the field
 */
export function parseBundle(value) {
  const top = fieldsOf(
    value,
    "",
    ["version", "event", "leaf_index", "inclusion", "checkpoint", "anchor"],
    ["pending"],
  );
  if (top.version !== VERSION)
    throw new BundleFormatError("version", `must be the integer ${VERSION}`);
  const { event, bytes } = parseEvent(top.event);
  const leafIndex = integer(top.leaf_index, "leaf_index");
  if (event.seq !== leafIndex) {
    throw new BundleFormatError("leaf_index", `is ${leafIndex}, but event.seq is ${event.seq}`, [
      "event.seq",
    ]);
  }
  const checkpoint = top.checkpoint === null ? null : parseCheckpoint(top.checkpoint);
  let treeSize = null;
  let path = null;
  if (top.inclusion !== null) {
    const inclusion = fieldsOf(top.inclusion, "inclusion", ["tree_size", "path"]);
    treeSize = integer(inclusion.tree_size, "inclusion.tree_size", 1);
    path = parsePath(inclusion.path, "inclusion.path");
    if (checkpoint === null) {
      throw new BundleFormatError("checkpoint", "is null, but the bundle has an inclusion proof");
    }
    if (treeSize !== checkpoint.checkpoint.treeSize) {
      throw new BundleFormatError(
        "inclusion.tree_size",
        `is ${treeSize}, but checkpoint.tree_size is ${checkpoint.checkpoint.treeSize}`,
        ["checkpoint.tree_size"],
      );
    }
    if (leafIndex >= treeSize) {
      throw new BundleFormatError("leaf_index", `is not below the tree size ${treeSize}`, [
        "inclusion.tree_size",
      ]);
    }
  } else if (checkpoint !== null) {
    throw new BundleFormatError("inclusion", "is null, but the bundle has a checkpoint");
  }
  const common = { event, eventBytes: bytes, leafIndex, treeSize, path, checkpoint };
  if (top.anchor === null) {
    return { ...common, anchor: null, pending: parsePending(top.pending) };
  }
  if (Object.hasOwn(top, "pending")) {
    throw new BundleFormatError("pending", "is not a field of an anchored bundle");
  }
  if (checkpoint === null)
    throw new BundleFormatError("checkpoint", "is null, but the bundle has an anchor");
  return { ...common, anchor: parseAnchor(top.anchor), pending: null };
}

/**
 * @param {unknown} value
 * @returns {Record<string, any>}
 */
function parsePending(value) {
  const pending = fieldsOf(value, "pending", ["status", "detail", "expected_by"]);
  if (!PENDING_STATUSES.includes(pending.status)) {
    throw new BundleFormatError("pending.status", `must be one of ${PENDING_STATUSES.join(", ")}`);
  }
  text(pending.detail, "pending.detail");
  if (typeof pending.expected_by !== "string" || !TIME.test(pending.expected_by)) {
    throw new BundleFormatError("pending.expected_by", "must be RFC 3339 UTC with milliseconds");
  }
  return pending;
}

/**
 * A consistency bundle `{version, old, new, proof}` (from `consistency-proof`).
 * @param {unknown} value
 * @returns {ConsistencyBundle}
 * @throws {BundleFormatError}
 */
export function parseConsistencyBundle(value) {
  const top = fieldsOf(value, "", ["version", "old", "new", "proof"]);
  if (top.version !== VERSION)
    throw new BundleFormatError("version", `must be the integer ${VERSION}`);
  const [old, latest] = ["old", "new"].map((name) => {
    const part = fieldsOf(top[name], name, ["checkpoint", "anchor"]);
    return {
      checkpoint: parseCheckpoint(part.checkpoint, `${name}.checkpoint`),
      anchor: parseAnchor(part.anchor, `${name}.anchor`),
    };
  });
  if (old.checkpoint.checkpoint.treeSize > latest.checkpoint.checkpoint.treeSize) {
    throw new BundleFormatError("new.checkpoint.tree_size", "is smaller than the old tree size", [
      "old.checkpoint.tree_size",
    ]);
  }
  return { old, new: latest, proof: parsePath(top.proof, "proof") };
}

/**
 * @param {string} field
 * @param {string} key
 */
function join(field, key) {
  return field ? `${field}.${key}` : key;
}

/**
 * A value as a message shows it: its JSON, cut at 80 characters.
 * @param {unknown} value
 * @returns {string}
 */
export function show(value) {
  let out;
  if (value === undefined) out = "nothing";
  else if (typeof value === "bigint" || value instanceof JsonFloat) out = String(value);
  else {
    try {
      out = JSON.stringify(value) ?? String(value);
    } catch {
      out = String(value);
    }
  }
  return out.length <= 80 ? out : `${out.slice(0, 77)}...`;
}
