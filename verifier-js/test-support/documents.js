/**
 * Consistency bundles and certificate documents made from the bundle vectors, which hold
 * checkpoints of two tree sizes (18 and 20), both anchored on the recorded chain.
 */

import { leafHash, nodeHash } from "../src/merkle.js";
import { canonicalBytes } from "../src/canonical.js";
import { VALID } from "./vectors.js";

const bytes = (/** @type {string} */ h) => Uint8Array.from(Buffer.from(h, "hex"));
const hex = (/** @type {Uint8Array} */ b) => Buffer.from(b).toString("hex");

/**
 * `{version, old, new, proof}` proving that the tree of 20 leaves extends the tree of 18.
 *
 * PROOF(18, D[20]) (RFC 9162 2.1.4.1) is [node of leaves 16-17, node of leaves 18-19,
 * root of leaves 0-15]. The inclusion proof of leaf 18 in the tree of 20 is [leaf 19,
 * node 16-17, root 0-15], and the leaf hash of event 18 comes from its RFC 8785 bytes.
 */
export function consistencyBundle() {
  const old = VALID.CreditsRetired; // leaf 15 in the tree of 18
  const latest = VALID.CreditsReturned; // leaf 18 in the tree of 20
  const [leaf19, node16to17, root0to15] = latest.inclusion.path;
  const leaf18 = leafHash(canonicalBytes(latest.event));
  return {
    version: 1,
    old: { checkpoint: old.checkpoint, anchor: old.anchor },
    new: { checkpoint: latest.checkpoint, anchor: latest.anchor },
    proof: [node16to17, hex(nodeHash(leaf18, bytes(leaf19))), root0to15],
  };
}

/**
 * `{certificate, bundle}` of a retirement vector, the certificate as the registry
 * records it (its retirements row).
 * @param {"CreditsRetired" | "CreditsRetiredOnChain"} type
 */
export function certificateDocument(type) {
  const bundle = VALID[type];
  const { request, effects } = bundle.event.payload;
  return {
    certificate: {
      certificate_id: effects.certificate_id,
      seq: bundle.event.seq,
      amount: request.amount,
      asset_class: request.assetClass,
      owner: request.owner ?? request.holder,
      beneficiary_name: request.beneficiaryName,
    },
    bundle,
  };
}
