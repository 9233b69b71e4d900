// The reserve check's pieces on shared vectors: the RFC 9162 root of leaf hashes, entry
// bundles (uint32-length-prefixed events) and their refusals, token ids.

import assert from "node:assert/strict";
import { test } from "node:test";
import { keccak256 } from "../src/crypto.js";
import {
  ReserveLogError,
  entriesPath,
  parseEntryBundle,
  rootOf,
  tokenId,
} from "../src/reserve.js";
import { leafHash } from "../src/merkle.js";
import { vector } from "../test-support/vectors.js";

const hex = (/** @type {Uint8Array} */ b) => `0x${Buffer.from(b).toString("hex")}`;
const leaves = (/** @type {number} */ n) =>
  Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf-${i}`)));

test("the root of n leaves is the root the shared inclusion vectors name", () => {
  const roots = new Map(
    vector("merkle/inclusion").cases.filter((c) => c.valid).map((c) => [c.tree_size, c.root]),
  );
  assert.ok(roots.size > 20);
  for (const [size, root] of roots) assert.equal(hex(rootOf(leaves(size))), root, `size ${size}`);
});

test("an entry bundle gives back its entries and refuses anything else", () => {
  const entries = ["{}", "{\"a\":1}", ""].map((t) => new TextEncoder().encode(t));
  const bundle = Buffer.concat(
    entries.map((e) => Buffer.concat([Buffer.from([0, 0, 0, e.length]), e])),
  );
  assert.deepEqual(parseEntryBundle(new Uint8Array(bundle), 3), entries);
  assert.throws(() => parseEntryBundle(new Uint8Array(bundle), 2), ReserveLogError);
  assert.throws(() => parseEntryBundle(new Uint8Array(bundle.subarray(0, -1)), 3), ReserveLogError);
  assert.throws(() => parseEntryBundle(new Uint8Array(bundle.subarray(0, 2)), 1), ReserveLogError);
  assert.equal(entriesPath(1234, 7), "tile/entries/x001/234.p/7");
});

test("a token id is the keccak of its asset class", () => {
  const id = tokenId("SZ_TRANSIT-1.0-2026-440300");
  assert.equal(id.toString(16).padStart(64, "0"), Buffer.from(
    keccak256(new TextEncoder().encode("SZ_TRANSIT-1.0-2026-440300"))).toString("hex"));
});
