/**
 * RFC 9162 Merkle trees with SHA-256: hashing (section 2.1.1) and the roots that inclusion
 * (2.1.3.2) and consistency (2.1.4.2) proofs imply, as in the Python verifier's merkle/.
 *
 * A leaf is hashed as SHA-256(0x00 || data) and an interior node as SHA-256(0x01 || left
 * || right), so that no leaf can pose as a node. Proofs must have exactly as many hashes
 * as their sizes call for, which stands for the RFC's tests of `sn`. Tree sizes and
 * indices go up to 2^53 - 1, past JavaScript's 32-bit bitwise operators, so the index
 * arithmetic is done on BigInts (a proof has at most 64 steps).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, equalBytes } from "./bytes.js";
import { CodedError } from "./errors.js";

export const HASH_SIZE = 32;
const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

export class MerkleError extends CodedError {
  static code = "merkle_error";
  static status = 422;
  static title = "A Merkle proof or tree size was refused";
}

/** A value given as a hash has the wrong number of bytes. */
export class HashLengthError extends MerkleError {}
/** A tree size is impossible for the request. */
export class SizeError extends MerkleError {}
/** A leaf index is not below its tree size. */
export class IndexOutOfRangeError extends MerkleError {}
/** A proof does not have the number of hashes its sizes (and index) call for. */
export class ProofLengthError extends MerkleError {}
/** The root computed from a proof differs from the root it was checked against. */
export class RootMismatchError extends MerkleError {}

/**
 * Hash of a leaf holding `data` (for the registry: the RFC 8785 bytes of an event).
 * @param {Uint8Array} data
 * @returns {Uint8Array}
 */
export function leafHash(data) {
  return sha256.create().update(LEAF_PREFIX).update(data).digest();
}

/**
 * Hash of the interior node whose children hash to `left` and `right`.
 * @param {Uint8Array} left
 * @param {Uint8Array} right
 * @returns {Uint8Array}
 */
export function nodeHash(left, right) {
  return sha256.create().update(NODE_PREFIX).update(left).update(right).digest();
}

/** @param {bigint} x */
function bitLength(x) {
  return x === 0n ? 0 : x.toString(2).length;
}

/** @param {bigint} x */
function bitCount(x) {
  return x.toString(2).replaceAll("0", "").length;
}

/**
 * @param {bigint} level
 * @param {bigint} index
 * @param {bigint} size
 */
function subtreePathLength(level, index, size) {
  const inner = bitLength(index ^ ((size - 1n) >> level));
  return inner + bitCount(index >> BigInt(inner));
}

/**
 * Number of hashes in the inclusion proof of leaf `index` in the tree of `size` leaves.
 * @param {number} index
 * @param {number} size
 * @returns {number}
 */
export function inclusionProofLength(index, size) {
  if (!(index >= 0 && index < size)) {
    throw new IndexOutOfRangeError(`leaf index ${index} is out of range for tree size ${size}`);
  }
  return subtreePathLength(0n, BigInt(index), BigInt(size));
}

/**
 * Number of hashes in the consistency proof from `size1` leaves to `size2` leaves.
 * @param {number} size1
 * @param {number} size2
 * @returns {number}
 */
export function consistencyProofLength(size1, size2) {
  if (size1 < 0) throw new SizeError(`tree size ${size1} is negative`);
  if (size1 > size2) {
    throw new SizeError(`first tree size ${size1} exceeds second tree size ${size2}`);
  }
  if (size1 === 0 || size1 === size2) return 0;
  // The largest complete subtree ending at leaf size1: (level, index).
  const n = BigInt(size1);
  const level = BigInt(bitLength(n & -n) - 1);
  const index = (n - 1n) >> level;
  return subtreePathLength(level, index, BigInt(size2)) + (index ? 1 : 0);
}

/**
 * Root of the tree of `size` leaves in which `proof` places `leaf` at `index`. The result
 * proves nothing until compared with a trusted root.
 * @param {number} index
 * @param {number} size
 * @param {Uint8Array} leaf
 * @param {Uint8Array[]} proof
 * @returns {Uint8Array}
 * @throws {MerkleError}
 */
export function rootFromInclusionProof(index, size, leaf, proof) {
  const expected = inclusionProofLength(index, size);
  checkHash("leaf hash", leaf);
  checkProof(proof, expected);
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return r;
}

/**
 * Root of the tree of `size2` leaves that `proof` shows to extend the tree of `size1`
 * leaves whose root is `root1`; `root1` itself when the sizes are equal (empty proof).
 * @param {number} size1 at least 1: nothing follows from the empty tree
 * @param {number} size2
 * @param {Uint8Array} root1
 * @param {Uint8Array[]} proof
 * @returns {Uint8Array}
 * @throws {MerkleError} RootMismatchError when the proof does not lead back to `root1`
 */
export function rootFromConsistencyProof(size1, size2, root1, proof) {
  if (size1 <= 0)
    throw new SizeError(`a consistency proof from tree size ${size1} determines no root`);
  checkHash("first root", root1);
  checkProof(proof, consistencyProofLength(size1, size2));
  if (size1 === size2) return root1;
  let fn = BigInt(size1) - 1n;
  let sn = BigInt(size2) - 1n;
  // For a power-of-two size1 the proof leaves out the old root, which the verifier holds.
  const path = (fn + 1n) & fn ? proof : [root1, ...proof];
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (fn & 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (!equalBytes(fr, root1)) {
    throw new RootMismatchError(
      `root mismatch for tree size ${size1}: expected 0x${bytesToHex(root1)}, calculated 0x${bytesToHex(fr)}`,
    );
  }
  return sr;
}

/**
 * @param {string} what
 * @param {Uint8Array} value
 */
function checkHash(what, value) {
  if (value.length !== HASH_SIZE) {
    throw new HashLengthError(`${what} must be ${HASH_SIZE} bytes, got ${value.length}`);
  }
}

/**
 * @param {Uint8Array[]} proof
 * @param {number} expected
 */
function checkProof(proof, expected) {
  if (proof.length !== expected) {
    throw new ProofLengthError(`proof has ${proof.length} hashes where ${expected} are expected`);
  }
  proof.forEach((hash, i) => checkHash(`proof hash ${i}`, hash));
}
