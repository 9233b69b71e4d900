/**
 * Checkpoints: `{log_id, tree_size, root_hash, timestamp}` signed by the operator (EIP-712).
 *
 * The signed struct is `Checkpoint(string logId,uint256 treeSize,bytes32 rootHash,uint64
 * timestamp)` in the registry's EIP-712 domain. Its digest is also the `checkpointHash` the
 * anchoring contract logs, so the chain ties each anchored root to one signed checkpoint.
 */

import { Domain, SignatureError, encodeString, recoverSigner, structHasher } from "./crypto.js";
import { word } from "./bytes.js";

const hashCheckpoint = structHasher(
  "Checkpoint(string logId,uint256 treeSize,bytes32 rootHash,uint64 timestamp)",
);

export class CheckpointSignatureError extends SignatureError {
  static code = "bad_checkpoint_signature";
  static status = 422;
  static title = "The checkpoint's signature does not recover to its signer";
}

export class Checkpoint {
  /**
   * @param {string} logId
   * @param {number} treeSize
   * @param {Uint8Array} rootHash 32 bytes
   * @param {number} timestamp
   */
  constructor(logId, treeSize, rootHash, timestamp) {
    this.logId = logId;
    this.treeSize = treeSize;
    this.rootHash = rootHash;
    this.timestamp = timestamp;
  }

  /**
   * The EIP-712 digest: what the operator signs and what the contract logs as checkpointHash.
   * @param {Domain} domain
   * @returns {Uint8Array}
   */
  digest(domain) {
    return domain.digest(
      hashCheckpoint([
        encodeString(this.logId),
        word(this.treeSize),
        this.rootHash,
        word(this.timestamp),
      ]),
    );
  }
}

export class SignedCheckpoint {
  /**
   * @param {Checkpoint} checkpoint
   * @param {string} signer EIP-55 address
   * @param {string} signature 0x r || s || v
   */
  constructor(checkpoint, signer, signature) {
    this.checkpoint = checkpoint;
    this.signer = signer;
    this.signature = signature;
  }

  /**
   * Throws CheckpointSignatureError unless `signer` signed this checkpoint in `domain`.
   * @param {Domain} domain
   */
  verify(domain) {
    const recovered = recoverSigner(this.checkpoint.digest(domain), this.signature);
    if (recovered !== this.signer) {
      throw new CheckpointSignatureError(
        `checkpoint signature recovers to ${recovered}, not ${this.signer}`,
      );
    }
  }
}
