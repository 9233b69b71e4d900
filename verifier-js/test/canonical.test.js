// RFC 8785 bytes of events equal the Python verifier's, byte for byte: the leaf hashes of
// the vector events are the ones their Merkle proofs hold, and known answers written by
// Python's canonical_bytes come out the same. Values outside the subset are refused.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { VALID } from "../test-support/vectors.js";

const hex = (/** @type {Uint8Array} */ bytes) => Buffer.from(bytes).toString("hex");

// Printed by Python: carbon_verifier.canonical.canonical_bytes(value).hex()
const KNOWN_ANSWERS = [
  [
    {
      b: [1, -2, true, false, null, 9007199254740991, -9007199254740991],
      a: 'é\u2028\n\t"\\\u0001\u001f\u007f\u0080😀/<>&',
      10: {},
      9: "x",
      "": [],
      B: { z: 0, y: { x: [] } },
    },
    "7b22223a5b5d2c223130223a7b7d2c2239223a2278222c2242223a7b2279223a7b2278223a5b5d7d2c227a223a" +
      "307d2c2261223a22c3a9e280a85c6e5c745c225c5c5c75303030315c75303031667fc280f09f98802f3c3e2622" +
      "2c2262223a5b312c2d322c747275652c66616c73652c6e756c6c2c393030373139393235343734303939312c2d" +
      "393030373139393235343734303939315d7d",
  ],
  ["tab\there", "227461625c746865726522"],
  [[], "5b5d"],
];

for (const [label, v] of IMPLEMENTATIONS) {
  describe(`${label}: canonical bytes`, () => {
    test("match Python's for known answers", () => {
      for (const [value, expected] of KNOWN_ANSWERS)
        assert.equal(hex(v.canonicalBytes(value)), expected);
    });

    test("of every vector event hash to the leaf its inclusion proof holds", () => {
      for (const [type, bundle] of Object.entries(VALID)) {
        const leaf = v.leafHash(v.canonicalBytes(bundle.event));
        const path = bundle.inclusion.path.map((h) => Buffer.from(h, "hex"));
        const root = v.rootFromInclusionProof(
          bundle.leaf_index,
          bundle.inclusion.tree_size,
          leaf,
          path,
        );
        assert.equal(hex(root), bundle.checkpoint.root_hash, type);
      }
    });

    test("of sibling events are each other's first proof hash", () => {
      // Leaves 2k and 2k+1 are siblings in any tree of more than 2k+1 leaves: each one's
      // hash is the first hash of the other's inclusion path. Pairs come from the vectors.
      const byIndex = Object.fromEntries(Object.values(VALID).map((b) => [b.leaf_index, b]));
      const leaf = (/** @type {number} */ i) =>
        hex(v.leafHash(v.canonicalBytes(byIndex[i].event)));
      let pairs = 0;
      for (const left of Object.keys(byIndex).map(Number)) {
        const right = left + 1;
        if (left % 2 !== 0 || !(right in byIndex)) continue;
        if (byIndex[left].inclusion.tree_size <= right) continue;
        if (byIndex[right].inclusion.tree_size <= right) continue;
        assert.equal(leaf(left), byIndex[right].inclusion.path[0]);
        assert.equal(leaf(right), byIndex[left].inclusion.path[0]);
        pairs += 1;
      }
      assert.ok(pairs >= 1, "the vectors hold no two sibling events");
    });

    test("refuse values outside the events' subset, naming where", () => {
      const refusals = [
        [{ a: 1.5 }, "event.a: float values cannot appear in an event"],
        [{ a: v.parseJson("1.0") }, "event.a: float values cannot appear in an event"],
        [
          { a: [2 ** 53] },
          "event.a[0]: integer 9007199254740992 is outside the JSON-safe range +-(2**53-1)",
        ],
        [
          { a: v.parseJson("[9007199254740993]") },
          "event.a[0]: integer 9007199254740993 is outside the JSON-safe range +-(2**53-1)",
        ],
        [{ é: 1 }, 'event: keys must be ASCII strings, got "é"'],
        [{ a: "\ud800", b: "\udc00x" }, "event.a: text contains an unpaired surrogate"],
        [{ a: undefined }, "event.a: undefined values cannot appear in an event"],
        [{ a: new Date(0) }, "event.a: non-JSON object values cannot appear in an event"],
      ];
      for (const [value, message] of refusals) {
        assert.throws(
          () => v.canonicalBytes(value, "event"),
          (err) => err instanceof v.CanonicalError && err.message === message,
          message,
        );
      }
    });

    test("refuse a float before a lone surrogate, as Python walks first and encodes last", () => {
      assert.throws(() => v.canonicalBytes({ a: "\ud800", b: 0.5 }), /b: float values/);
    });

    test("refuse nesting deeper than 64 (as parseJson does), and cycles", () => {
      let deep = [];
      for (let i = 1; i < 64; i++) deep = [deep];
      assert.equal(v.canonicalBytes(deep).length, 128);
      assert.throws(() => v.canonicalBytes([deep]), /more than 64 deep/);
      const cyclic = { a: {} };
      cyclic.a.b = cyclic;
      assert.throws(() => v.canonicalBytes(cyclic), /more than 64 deep/);
    });

    test("accept paired surrogates and sort keys by code unit", () => {
      assert.equal(
        Buffer.from(v.canonicalBytes({ b: "😀", a: 1, A: 2, 10: 3, 9: 4 })).toString(),
        '{"10":3,"9":4,"A":2,"a":1,"b":"😀"}',
      );
    });
  });
}
