/**
 * Consistency bundles and certificate documents made from the bundle vectors.
 */

import { VALID, vector } from "./vectors.js";

/** `{version, old, new, proof}`: the first anchored checkpoint extended by the last. */
export function consistencyBundle() {
  return vector("bundles/consistency");
}

/**
 * `{certificate, bundle}` of a retirement vector, the certificate as the registry
 * records it (its retirements row).
 * @param {"CreditsRetired" | "CreditsRetiredOnChain" | "OfferRedeemed"} type
 */
export function certificateDocument(type) {
  const bundle = VALID[type];
  const { request, effects } = bundle.event.payload;
  return {
    certificate: {
      certificate_id: effects.certificate_id,
      seq: bundle.event.seq,
      amount: type === "OfferRedeemed" ? effects.grams : request.amount,
      asset_class: request.assetClass,
      owner: request.owner ?? request.holder,
      beneficiary_name: request.beneficiaryName,
    },
    bundle,
  };
}
