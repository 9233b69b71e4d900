// Minimal RFC 9162 (section 2.1) Merkle reference for the contract tests: tree hash, inclusion
// paths and consistency proofs, over any "range hasher" giving MTH(D[lo:hi]).
const { createHash } = require("node:crypto");

/** SHA-256 of the concatenated buffers, as a 0x-prefixed hex string. */
function sha256Hex(...parts) {
  const hash = createHash("sha256");
  for (const part of parts) {
    hash.update(part);
  }
  return `0x${hash.digest("hex")}`;
}

const bytes = (hex) => Buffer.from(hex.slice(2), "hex");

/** Leaf hash: SHA-256(0x00 || data). */
function leafHash(data) {
  return sha256Hex(Buffer.from([0x00]), Buffer.from(data));
}

/** Node hash: SHA-256(0x01 || left || right). */
function nodeHash(left, right) {
  return sha256Hex(Buffer.from([0x01]), bytes(left), bytes(right));
}

/** Largest power of two strictly below n; requires n > 1. */
function splitPoint(n) {
  let k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

/** Whether n is a power of two; exact for any safe integer. */
function isPowerOfTwo(n) {
  let p = 1;
  while (p < n) {
    p *= 2;
  }
  return p === n;
}

/**
 * A tree over concrete leaf data: range(lo, hi) is MTH(D[lo:hi]), memoised.
 * The leaf data of the shared vectors is `leaf-${i}`.
 */
class LeafTree {
  constructor(leaves) {
    this.leafHashes = leaves.map(leafHash);
    this.memo = new Map();
  }

  static ofSize(size) {
    return new LeafTree(Array.from({ length: size }, (_, i) => `leaf-${i}`));
  }

  get size() {
    return this.leafHashes.length;
  }

  range(lo, hi) {
    if (hi - lo === 1) {
      return this.leafHashes[lo];
    }
    const key = `${lo}:${hi}`;
    if (!this.memo.has(key)) {
      const k = splitPoint(hi - lo);
      this.memo.set(key, nodeHash(this.range(lo, lo + k), this.range(lo + k, hi)));
    }
    return this.memo.get(key);
  }
}

/**
 * A huge tree that is never materialised: every perfect subtree that no boundary splits is an
 * opaque, pseudo-random hash, as if its leaves were unknown. Trees of sizes in `boundaries` then
 * have consistent roots and proofs, at a cost logarithmic in their size, so proofs for 10^9-leaf
 * trees can be built for gas measurements.
 */
class SparseTree {
  constructor(boundaries) {
    this.boundaries = boundaries;
  }

  range(lo, hi) {
    const n = hi - lo;
    if (isPowerOfTwo(n) && !this.boundaries.some((b) => lo < b && b < hi)) {
      return sha256Hex(Buffer.from(`opaque subtree ${lo}..${hi}`));
    }
    const k = splitPoint(n);
    return nodeHash(this.range(lo, lo + k), this.range(lo + k, hi));
  }
}

/** MTH of the first `size` leaves; requires size > 0. */
function rootOf(tree, size) {
  return tree.range(0, size);
}

/** Inclusion path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1); requires index < size. */
function inclusionProof(tree, index, size) {
  const path = (m, lo, hi) => {
    if (hi - lo === 1) {
      return [];
    }
    const k = splitPoint(hi - lo);
    return m < k
      ? [...path(m, lo, lo + k), tree.range(lo + k, hi)]
      : [...path(m - k, lo + k, hi), tree.range(lo, lo + k)];
  };
  return path(index, 0, size);
}

/** Consistency proof from `size1` to `size2` leaves (RFC 9162 2.1.4.1); requires 0 < size1 <= size2. */
function consistencyProof(tree, size1, size2) {
  const subproof = (m, lo, hi, complete) => {
    if (m === hi - lo) {
      return complete ? [] : [tree.range(lo, hi)];
    }
    const k = splitPoint(hi - lo);
    return m <= k
      ? [...subproof(m, lo, lo + k, complete), tree.range(lo + k, hi)]
      : [...subproof(m - k, lo + k, hi, false), tree.range(lo, lo + k)];
  };
  return subproof(size1, 0, size2, true);
}

module.exports = {
  LeafTree,
  SparseTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  rootOf,
};
