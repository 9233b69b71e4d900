/**
 * Trust anchors: which log, chain, contract and signers a verifier accepts.
 *
 * A bundle names its own contract and signer; on its own it proves only that *some* log
 * anchored on *some* contract holds the event. A trust anchor pins the registry meant,
 * like a C2SP note verifier key. The registry publishes it at `GET /v1/trust`:
 *
 *     {"log_id": "...", "chain_id": 131277322940537, "contract": "0x...",
 *      "signers": ["0x..."], "token": "0x..."}
 *
 * Without `signers`, any key that held the contract's ANCHORER_ROLE when the checkpoint
 * was anchored is accepted (keys rotate on chain). `token` (the CarbonCredits contract) is
 * optional and not used by bundle verification. `note` is allowed and ignored.
 */

import { BundleFormatError, address, fieldsOf, integer, text } from "./bundle.js";

export class TrustAnchor {
  /**
   * @param {{logId: string, chainId: number, contract: string, signers?: string[],
   *   token?: string | null}} anchor
   */
  constructor({ logId, chainId, contract, signers = [], token = null }) {
    this.logId = logId;
    this.chainId = chainId;
    this.contract = contract;
    this.signers = [...signers];
    this.token = token;
  }

  /**
   * Read a trust anchor from its JSON; the error names a malformed field (`trust.chain_id`).
   * @param {unknown} value
   * @returns {TrustAnchor}
   * @throws {BundleFormatError}
   */
  static fromJson(value) {
    const data = fieldsOf(
      value,
      "trust",
      ["log_id", "chain_id", "contract"],
      ["signers", "token", "note"],
    );
    const signers = Object.hasOwn(data, "signers") ? data.signers : [];
    if (!Array.isArray(signers) || signers.length > 64) {
      throw new BundleFormatError("trust.signers", "must be a list of addresses");
    }
    return new TrustAnchor({
      logId: text(data.log_id, "trust.log_id"),
      chainId: integer(data.chain_id, "trust.chain_id", 1),
      contract: address(data.contract, "trust.contract"),
      signers: signers.map((s, i) => address(s, `trust.signers[${i}]`)),
      token: data.token == null ? null : address(data.token, "trust.token"),
    });
  }

  /** @returns {Record<string, unknown>} the JSON form, as `GET /v1/trust` serves it */
  toJson() {
    return {
      log_id: this.logId,
      chain_id: this.chainId,
      contract: this.contract,
      signers: [...this.signers],
      ...(this.token === null ? {} : { token: this.token }),
    };
  }
}
