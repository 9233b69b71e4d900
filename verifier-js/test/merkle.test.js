// RFC 9162 proofs on the shared Merkle vectors (tests/vectors/merkle/): every valid proof
// leads to its root, and every tampered one is refused or leads elsewhere.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, test } from "node:test";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { vector } from "../test-support/vectors.js";

const bytes = (/** @type {string} */ h) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));
const hashes = (/** @type {string[]} */ list) => list.map(bytes);

const INCLUSION = vector("merkle/inclusion").cases;
const CONSISTENCY = vector("merkle/consistency").cases;
const TAMPERED = readdirSync(new URL("../../tests/vectors/merkle/tamper/", import.meta.url))
  .sort()
  .map((file) => vector(`merkle/tamper/${file.replace(/\.json$/, "")}`));

for (const [label, v] of IMPLEMENTATIONS) {
  /** The root a case's proof leads to, or null when the proof is refused. */
  const root = (/** @type {any} */ c) => {
    try {
      return "size1" in c
        ? v.rootFromConsistencyProof(c.size1, c.size2, bytes(c.root1), hashes(c.proof))
        : v.rootFromInclusionProof(c.index, c.tree_size, bytes(c.leaf_hash), hashes(c.proof));
    } catch (err) {
      if (err instanceof v.MerkleError) return null;
      throw err;
    }
  };
  const accepts = (/** @type {any} */ c) => {
    const found = root(c);
    return found !== null && Buffer.from(found).equals(bytes(c.root2 ?? c.root));
  };

  describe(`${label}: Merkle proofs`, () => {
    test(`${INCLUSION.length} inclusion proofs lead to their roots`, () => {
      for (const c of INCLUSION) assert.ok(accepts(c), JSON.stringify(c));
    });

    test(`${CONSISTENCY.length} consistency proofs lead to their roots`, () => {
      for (const c of CONSISTENCY) assert.ok(accepts(c), JSON.stringify(c));
    });

    for (const { mutation, cases } of TAMPERED) {
      test(`${mutation}: all ${cases.length} cases refused`, () => {
        for (const c of cases) assert.ok(!accepts(c), JSON.stringify(c));
      });
    }

    test("a leaf is SHA-256(0x00 || data) and a node SHA-256(0x01 || left || right)", () => {
      const data = new TextEncoder().encode("leaf-0");
      assert.equal(Buffer.from(v.leafHash(data)).toString("hex"), INCLUSION[0].leaf_hash.slice(2));
      const [one, two] = [bytes(INCLUSION[1].leaf_hash), INCLUSION[1].proof.map(bytes)[0]];
      assert.equal(Buffer.from(v.nodeHash(one, two)).toString("hex"), INCLUSION[1].root.slice(2));
    });

    test("indices past 2^32 are computed exactly", () => {
      // Leaf 2^40 of a tree of 2^40 + 1 leaves: one hash (the left subtree's root).
      const leaf = v.leafHash(Uint8Array.of(1));
      const left = v.leafHash(Uint8Array.of(2));
      const top = v.rootFromInclusionProof(2 ** 40, 2 ** 40 + 1, leaf, [left]);
      assert.deepEqual(top, v.nodeHash(left, leaf));
      assert.throws(
        () => v.rootFromInclusionProof(2 ** 40, 2 ** 40 + 2, leaf, [left]),
        /proof has 1 hashes where 2 are expected/,
      );
    });
  });
}
