/**
 * carbon-registry-verifier: Carbon Registry's light verifier for Node and browsers.
 *
 * Proof bundles, consistency bundles and retirement certificates are checked with nothing
 * but the document and a chain's JSON-RPC, exactly as the Python verifier checks them.
 */

export { verifyBundle, verifyCertificate, verifyConsistency } from "./verify.js";
export { BundleFormatError, parseBundle, parseConsistencyBundle } from "./bundle.js";
export { ANCHORER_ROLE, Rpc, RpcError, httpTransport } from "./rpc.js";
export { TrustAnchor } from "./trust.js";
export { JsonFloat, MalformedJsonError, parseJson } from "./json.js";
export { CanonicalError, canonicalBytes } from "./canonical.js";
export { CheckpointSignatureError, Checkpoint, SignedCheckpoint } from "./checkpoint.js";
export { Domain, SignatureError, checksumAddress, keccak256, recoverSigner } from "./crypto.js";
export {
  MerkleError,
  leafHash,
  nodeHash,
  rootFromConsistencyProof,
  rootFromInclusionProof,
} from "./merkle.js";
export { CodedError } from "./errors.js";
export { RegistryClient, RegistryProblem, commitText, walletSigner } from "./client.js";
export {
  ReserveLogError,
  checkPublicReserve,
  entriesPath,
  parseEntryBundle,
  rootOf,
  tokenId,
} from "./reserve.js";
export {
  FORMULA,
  RatingLogError,
  RatingStatementError,
  STATEMENT_TYPE,
  rate,
  statementDigest,
  verifyRatingStatement,
} from "./rating.js";
