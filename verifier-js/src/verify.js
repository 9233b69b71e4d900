/**
 * Verification of proof bundles, consistency bundles and retirement certificates: the
 * same checks, in the same order, with the same names and fields as the Python verifier.
 *
 *     format         the bundle is exactly the format (bundle.js); names the field
 *     anchored       (pending bundles only) the event is not anchored yet: never verified
 *     inclusion      the event's RFC 8785 bytes, hashed as leaf `leaf_index`, lead along
 *                    inclusion.path to checkpoint.root_hash (RFC 9162)
 *     trust          the log, chain, contract and signer are the ones the trust anchor pins
 *     signature      checkpoint.signature is the signer's EIP-712 signature of the
 *                    checkpoint in the domain of anchor.chain_id and anchor.contract
 *     chain          the RPC serves anchor.chain_id and the contract has code there
 *     signer role    the signer held ANCHORER_ROLE when the checkpoint was anchored
 *     root on chain  the contract stores root_hash for tree_size
 *     transaction    anchor.tx_hash succeeded in block anchor.block_number (whose hash is
 *                    anchor.block_hash) and logged Anchored(tree_size, root, checkpoint hash)
 *     confirmations  the block is deep enough
 *
 * Each check reports the bundle fields it covers, so a failure says which link of the
 * chain of evidence is broken and where. A vanished transaction is explained: a reorg
 * (the block at that height changed) is told apart from a reset or another chain.
 */

import { bytesToHex, equalBytes } from "./bytes.js";
import { BundleFormatError, parseBundle, parseConsistencyBundle, show } from "./bundle.js";
import { isPlainObject } from "./canonical.js";
import { Domain } from "./crypto.js";
import { CodedError } from "./errors.js";
import { leafHash, rootFromConsistencyProof, rootFromInclusionProof } from "./merkle.js";
import { Rpc } from "./rpc.js";

/**
 * @typedef {import("./bundle.js").Anchor} Anchor
 * @typedef {import("./bundle.js").Bundle} Bundle
 * @typedef {import("./checkpoint.js").SignedCheckpoint} SignedCheckpoint
 * @typedef {import("./trust.js").TrustAnchor} TrustAnchor
 * @typedef {{name: string, ok: boolean, detail: string, fields: string[]}} Check
 * @typedef {{checks: Check[], verified: boolean}} Report
 */

export const INCLUSION_FIELDS = [
  "event",
  "leaf_index",
  "inclusion",
  "checkpoint.root_hash",
  "checkpoint.tree_size",
];
export const SIGNATURE_FIELDS = ["checkpoint", "anchor.chain_id", "anchor.contract"];
// A redeemed offer retired for its merchant (mode "retire") has a certificate too; its
// effects state the grams its request does not carry.
export const CERTIFICATE_EVENTS = ["CreditsRetired", "CreditsRetiredOnChain", "OfferRedeemed"];

/** Thrown inside a check; its message becomes the check's detail. */
class CheckFailed extends Error {}

/**
 * @param {unknown} condition
 * @param {string} message
 * @returns {asserts condition}
 */
function ensure(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/** The checks run so far; a check that throws a verifier error fails with its message. */
class Checks {
  constructor() {
    /** @type {Check[]} */
    this.results = [];
  }

  /**
   * @param {string} name
   * @param {boolean} ok
   * @param {string} detail
   * @param {string[]} [fields]
   * @returns {boolean} ok
   */
  add(name, ok, detail, fields = []) {
    this.results.push({ name, ok, detail, fields: [...fields] });
    return ok;
  }

  /**
   * @param {string} name
   * @param {string[]} fields
   * @param {() => string | Promise<string>} check returns the detail of a success
   * @returns {Promise<boolean>} whether it passed
   */
  async run(name, fields, check) {
    try {
      return this.add(name, true, await check(), fields);
    } catch (err) {
      // Anything else is a bug of the verifier, not a finding about the bundle.
      if (!(err instanceof CheckFailed || err instanceof CodedError)) throw err;
      return this.add(name, false, err.message || err.name, fields);
    }
  }

  /** @returns {Report} */
  report() {
    return report(this.results);
  }
}

/**
 * @param {Check[]} checks
 * @returns {Report}
 */
function report(checks) {
  return { checks, verified: checks.length > 0 && checks.every((c) => c.ok) };
}

/** @param {BundleFormatError} err */
function formatFailure(err) {
  return report([{ name: "format", ok: false, detail: err.message, fields: err.fields }]);
}

const NO_RPC = "not checked: no chain RPC given";

/**
 * Every check of a proof bundle. Without `rpc` only the offline checks run and the report
 * says the chain was not checked (it is then not verified).
 * @param {unknown} value the bundle as parsed JSON (use parseJson for text)
 * @param {Rpc | null} rpc
 * @param {{trust?: TrustAnchor | null, minConfirmations?: number}} [options]
 * @returns {Promise<Report>}
 */
export async function verifyBundle(value, rpc, { trust = null, minConfirmations = 1 } = {}) {
  let bundle;
  try {
    bundle = parseBundle(value);
  } catch (err) {
    if (err instanceof BundleFormatError) return formatFailure(err);
    throw err;
  }
  const checks = new Checks();
  checks.add("format", true, "the bundle is exactly version 1");
  if (bundle.anchor === null) {
    const pending = bundle.pending ?? {};
    checks.add(
      "anchored",
      false,
      `not anchored yet (${pending.status}): ${pending.detail}, expected by ${pending.expected_by}`,
      ["anchor"],
    );
    return checks.report();
  }
  const signed = /** @type {SignedCheckpoint} */ (bundle.checkpoint); // an anchor has one
  const ok = await offline(checks, bundle, signed, bundle.anchor, trust);
  if (!rpc) checks.add("chain", false, NO_RPC);
  else if (ok) await onChain(checks, rpc, signed, bundle.anchor, minConfirmations);
  return checks.report();
}

/**
 * inclusion, trust (with a trust anchor) and signature: what needs no chain.
 * @param {Checks} checks
 * @param {Bundle} bundle
 * @param {SignedCheckpoint} signed
 * @param {Anchor} anchor
 * @param {TrustAnchor | null} trust
 * @returns {Promise<boolean>} whether all passed
 */
async function offline(checks, bundle, signed, anchor, trust) {
  const cp = signed.checkpoint;
  const path = /** @type {Uint8Array[]} */ (bundle.path);

  const inclusion = () => {
    const leaf = leafHash(bundle.eventBytes);
    const root = rootFromInclusionProof(bundle.leafIndex, cp.treeSize, leaf, path);
    ensure(
      equalBytes(root, cp.rootHash),
      `the event's leaf ${bytesToHex(leaf)} and inclusion.path lead to ${bytesToHex(root)},` +
        ` not to checkpoint.root_hash ${bytesToHex(cp.rootHash)}`,
    );
    return (
      `event ${bundle.leafIndex} (${bundle.event.type}) is leaf ${bytesToHex(leaf)} of the` +
      ` tree of ${cp.treeSize} (${path.length} path hashes)`
    );
  };

  const signature = () => {
    signed.verify(new Domain(anchor.chainId, anchor.contract));
    return `checkpoint ${cp.treeSize} signed by ${signed.signer}`;
  };

  const results = [await checks.run("inclusion", INCLUSION_FIELDS, inclusion)];
  if (trust) results.push(await trustCheck(checks, trust, signed, anchor, "checkpoint", "anchor"));
  results.push(await checks.run("signature", SIGNATURE_FIELDS, signature));
  return results.every(Boolean);
}

/**
 * @param {Checks} checks
 * @param {TrustAnchor} trust
 * @param {SignedCheckpoint} signed
 * @param {Anchor} anchor
 * @param {string} checkpointField
 * @param {string} anchorField
 * @returns {Promise<boolean>}
 */
function trustCheck(checks, trust, signed, anchor, checkpointField, anchorField) {
  const pinned = () => {
    const cp = signed.checkpoint;
    ensure(
      cp.logId === trust.logId,
      `${checkpointField}.log_id is ${show(cp.logId)}; the trust anchor pins ${show(trust.logId)}`,
    );
    ensure(
      anchor.chainId === trust.chainId,
      `${anchorField}.chain_id is ${anchor.chainId}; the trust anchor pins ${trust.chainId}`,
    );
    ensure(
      anchor.contract === trust.contract,
      `${anchorField}.contract is ${anchor.contract}; the trust anchor pins ${trust.contract}`,
    );
    ensure(
      trust.signers.length === 0 || trust.signers.includes(signed.signer),
      `${checkpointField}.signer ${signed.signer} is not among the trusted signers` +
        ` ${trust.signers.join(", ")}`,
    );
    return `log ${trust.logId} on chain ${trust.chainId}, contract ${trust.contract}`;
  };
  const fields = [
    `${checkpointField}.log_id`,
    `${checkpointField}.signer`,
    `${anchorField}.chain_id`,
    `${anchorField}.contract`,
  ];
  return checks.run("trust", fields, pinned);
}

/**
 * chain, signer role, root on chain, transaction and confirmations.
 * @param {Checks} checks
 * @param {Rpc} rpc
 * @param {SignedCheckpoint} signed
 * @param {Anchor} anchor
 * @param {number} minConfirmations
 * @param {string} [prefix] "old." or "new." in a consistency bundle
 */
async function onChain(checks, rpc, signed, anchor, minConfirmations, prefix = "") {
  const cp = signed.checkpoint;
  const a = `${prefix}anchor`;
  const c = `${prefix}checkpoint`;
  let anchoredIn = 0; // the block the transaction check found

  const chain = async () => {
    const actual = await rpc.chainId();
    ensure(
      actual === anchor.chainId,
      `the RPC serves chain ${actual}, the bundle names chain ${anchor.chainId}: another chain`,
    );
    ensure(
      (await rpc.code(anchor.contract)).length > 0,
      `no contract at ${anchor.contract} on chain ${actual}: the chain was reset,` +
        " or this is another chain with the same id",
    );
    return `chain ${actual}, contract ${anchor.contract}`;
  };

  const signerRole = async () => {
    ensure(
      await rpc.isAnchorer(anchor.contract, signed.signer, anchor.blockNumber),
      `${signed.signer} did not hold ANCHORER_ROLE at block ${anchor.blockNumber}`,
    );
    return `${signed.signer} held ANCHORER_ROLE at block ${anchor.blockNumber}`;
  };

  const rootOnChain = async () => {
    const stored = await rpc.rootAt(anchor.contract, cp.treeSize);
    ensure(
      equalBytes(stored, cp.rootHash),
      `the contract stores ${bytesToHex(stored)} for tree size ${cp.treeSize}` +
        (stored.every((b) => b === 0) ? ": never anchored" : ""),
    );
    return `rootAt(${cp.treeSize}) = ${bytesToHex(stored)}`;
  };

  const transaction = async () => {
    const receipt = await rpc.receipt(anchor.txHash);
    if (receipt === null) throw new CheckFailed(await missingTransaction(rpc, anchor));
    ensure(receipt.status === 1, "the anchor transaction reverted");
    ensure(
      receipt.blockNumber === anchor.blockNumber,
      `the transaction is in block ${receipt.blockNumber}, the bundle says` +
        ` ${anchor.blockNumber}: a reorg moved it`,
    );
    ensure(
      equalBytes(receipt.blockHash, anchor.blockHash),
      `block ${anchor.blockNumber} now has hash 0x${bytesToHex(receipt.blockHash)}, the` +
        ` bundle names 0x${bytesToHex(anchor.blockHash)}: a reorg replaced the block`,
    );
    const logged = Rpc.anchoredLogs(receipt, anchor.contract).filter(
      (log) => log.treeSize === BigInt(cp.treeSize),
    );
    ensure(logged.length > 0, `the transaction logged no Anchored event for size ${cp.treeSize}`);
    const domain = new Domain(anchor.chainId, anchor.contract);
    ensure(
      equalBytes(logged[0].root, cp.rootHash) &&
        equalBytes(logged[0].checkpointHash, cp.digest(domain)),
      "the Anchored event names another root or checkpoint hash",
    );
    anchoredIn = receipt.blockNumber;
    return (
      `tx 0x${bytesToHex(anchor.txHash)} in block ${anchor.blockNumber}` +
      ` logged Anchored(${cp.treeSize})`
    );
  };

  const confirmations = async () => {
    const depth = (await rpc.head()) - anchoredIn + 1;
    ensure(depth >= minConfirmations, `${depth} confirmation(s), ${minConfirmations} needed`);
    return `${depth} confirmation(s) (>= ${minConfirmations})`;
  };

  if (!(await checks.run("chain", [`${a}.chain_id`, `${a}.contract`], chain))) return;
  await checks.run("signer role", [`${c}.signer`, `${a}.block_number`], signerRole);
  await checks.run(
    "root on chain",
    [`${c}.tree_size`, `${c}.root_hash`, `${a}.contract`],
    rootOnChain,
  );
  if (await checks.run("transaction", [a, `${c}.tree_size`, `${c}.root_hash`], transaction)) {
    await checks.run("confirmations", [`${a}.block_number`], confirmations);
  }
}

/**
 * Why the anchor transaction is not on the chain: a reorg, or a reset or another chain.
 * @param {Rpc} rpc
 * @param {Anchor} anchor
 * @returns {Promise<string>}
 */
async function missingTransaction(rpc, anchor) {
  const head = await rpc.head();
  const tx = `0x${bytesToHex(anchor.txHash)}`;
  if (head < anchor.blockNumber) {
    return (
      `transaction ${tx} not found and the chain's head (${head}) is below block` +
      ` ${anchor.blockNumber}: the chain was reset, or this is another chain`
    );
  }
  const current = await rpc.blockHash(anchor.blockNumber);
  if (current === null || !equalBytes(current, anchor.blockHash)) {
    return (
      `transaction ${tx} not found: block ${anchor.blockNumber} now has another hash,` +
      " so a reorg dropped the anchor (or the chain was reset)"
    );
  }
  return `transaction ${tx} not found although block ${anchor.blockNumber} is unchanged`;
}

/**
 * Both checkpoints of a consistency bundle signed and anchored, and the newer tree
 * extends the older (RFC 9162 consistency proof).
 * @param {unknown} value the consistency bundle as parsed JSON
 * @param {Rpc | null} rpc
 * @param {{trust?: TrustAnchor | null}} [options]
 * @returns {Promise<Report>}
 */
export async function verifyConsistency(value, rpc, { trust = null } = {}) {
  let bundle;
  try {
    bundle = parseConsistencyBundle(value);
  } catch (err) {
    if (err instanceof BundleFormatError) return formatFailure(err);
    throw err;
  }
  const checks = new Checks();
  checks.add("format", true, "the consistency bundle is exactly version 1");
  const old = bundle.old.checkpoint.checkpoint;
  const latest = bundle.new.checkpoint.checkpoint;

  const consistency = () => {
    const root = rootFromConsistencyProof(
      old.treeSize,
      latest.treeSize,
      old.rootHash,
      bundle.proof,
    );
    ensure(
      equalBytes(root, latest.rootHash),
      `the proof leads to ${bytesToHex(root)}, not to the new root ${bytesToHex(latest.rootHash)}`,
    );
    return `tree ${latest.treeSize} extends tree ${old.treeSize} (${bundle.proof.length} hashes)`;
  };

  await checks.run("consistency", ["proof", "old.checkpoint", "new.checkpoint"], consistency);
  for (const [name, end] of /** @type {const} */ ([
    ["old", bundle.old],
    ["new", bundle.new],
  ])) {
    if (trust)
      await trustCheck(
        checks,
        trust,
        end.checkpoint,
        end.anchor,
        `${name}.checkpoint`,
        `${name}.anchor`,
      );
    const signature = () => {
      end.checkpoint.verify(new Domain(end.anchor.chainId, end.anchor.contract));
      return `${name} checkpoint signed by ${end.checkpoint.signer}`;
    };
    const fields = [`${name}.checkpoint`, `${name}.anchor.chain_id`, `${name}.anchor.contract`];
    if (!(await checks.run(`${name} signature`, fields, signature))) continue;
    if (!rpc) checks.add("chain", false, NO_RPC);
    else await onChain(checks, rpc, end.checkpoint, end.anchor, 1, `${name}.`);
  }
  return checks.report();
}

/**
 * A retirement certificate `{"certificate": {...}, "bundle": {...}}`: the bundle verifies,
 * and the certificate says what its event says (id, seq, amount, class, owner).
 * @param {unknown} value the certificate document as parsed JSON
 * @param {Rpc | null} rpc
 * @param {{trust?: TrustAnchor | null, minConfirmations?: number}} [options]
 * @returns {Promise<Report>}
 */
export async function verifyCertificate(value, rpc, { trust = null, minConfirmations = 1 } = {}) {
  // As `GET /v1/retirements/{id}` serves it (the proof bundle in `proof`, as the Python
  // verifier reads it), or the document form {certificate, bundle}.
  const isServed =
    isPlainObject(value) &&
    isPlainObject(/** @type {any} */ (value).proof) &&
    !Object.hasOwn(value, "bundle");
  const isDocument =
    isPlainObject(value) &&
    Object.keys(value).length === 2 &&
    Object.hasOwn(value, "certificate") &&
    Object.hasOwn(value, "bundle");
  if (!isServed && !isDocument) {
    return formatFailure(
      new BundleFormatError(
        "",
        "a certificate is the API's (its bundle in `proof`) or a document {certificate, bundle}",
      ),
    );
  }
  const { certificate, bundle } = isServed
    ? { certificate: value, bundle: /** @type {any} */ (value).proof }
    : /** @type {Record<string, any>} */ (value);
  const checks = new Checks();
  checks.results.push(...(await verifyBundle(bundle, rpc, { trust, minConfirmations })).checks);

  const matches = () => {
    ensure(isPlainObject(certificate), "certificate must be a JSON object");
    const event = bundle.event; // the format check passed: an event object
    ensure(CERTIFICATE_EVENTS.includes(event.type), "the bundle's event is not a retirement");
    const { request, effects } = event.payload;
    ensure(
      isPlainObject(request) && isPlainObject(effects),
      "the retirement event has no request and effects objects",
    );
    const redeemed = event.type === "OfferRedeemed";
    ensure(!redeemed || request.mode === "retire", "the bundle's event is a redemption by transfer");
    const expected = {
      certificate_id: effects.certificate_id,
      seq: event.seq,
      amount: redeemed ? effects.grams : request.amount,
      asset_class: request.assetClass,
      owner: Object.hasOwn(request, "owner") ? request.owner : request.holder,
    };
    for (const [key, want] of Object.entries(expected)) {
      const got = certificate[key];
      ensure(
        sameJson(got, want),
        `certificate.${key} is ${show(got ?? null)}, its event says ${show(want ?? null)}`,
      );
    }
    return `certificate ${expected.certificate_id} is event ${expected.seq}`;
  };

  if (checks.results[0].ok) await checks.run("certificate", ["certificate"], matches);
  return checks.report();
}

/**
 * Equal as JSON values (a missing value counts as null, as Python's dict.get gives None).
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
function sameJson(a, b) {
  if ((a ?? null) === (b ?? null)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
    );
  }
  return false;
}
