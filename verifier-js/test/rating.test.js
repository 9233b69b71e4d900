// The low-carbon credit rating on the shared vectors (tests/vectors/rating.json, made by
// the Python side): the same ratings from the same events, the same verdicts on the same
// statements, with and without the log.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  RatingLogError,
  TrustAnchor,
  rate,
  verifyRatingStatement,
} from "../src/index.js";
import { monthOf, points } from "../src/rating.js";
import { entriesPath } from "../src/reserve.js";
import { vector } from "../test-support/vectors.js";

const data = vector("rating");
const events = data.entries.map((/** @type {string} */ e) => JSON.parse(e));
const encoder = new TextEncoder();

/** The log's entry bundles, served from the vector's entries. */
async function fetchBytes(/** @type {string} */ path) {
  const entries = data.entries.map((/** @type {string} */ e) => encoder.encode(e));
  for (let index = 0; index * 256 < entries.length; index++) {
    const width = Math.min(256, entries.length - index * 256);
    if (path !== entriesPath(index, width)) continue;
    const parts = entries.slice(index * 256, index * 256 + width).flatMap((/** @type {Uint8Array} */ e) => {
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, e.length);
      return [length, e];
    });
    return new Uint8Array(Buffer.concat(parts));
  }
  throw new Error(`no entry bundle ${path}`);
}

test("the ratings are the Python verifier's, prefix by prefix", () => {
  assert.ok(data.ratings.length >= 12);
  for (const { account, size, rating } of data.ratings) {
    const got = rate(account, events.slice(0, size), events[size - 1].time);
    assert.deepEqual(got, rating, `${account} at ${size}`);
  }
});

test("every statement gets the Python verifier's verdict", async () => {
  const trust = TrustAnchor.fromJson(data.trust);
  assert.ok(data.statements.some((/** @type {any} */ s) => s.verified && s.log));
  for (const { name, document, log, verified, failed } of data.statements) {
    const report = await verifyRatingStatement(document, trust, log ? fetchBytes : null);
    assert.equal(report.verified, verified, name);
    assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), failed, name);
  }
});

test("months are China Standard Time and integers stay exact", () => {
  assert.equal(monthOf("2026-05-31T15:59:59.999Z"), 2026 * 12 + 4);
  assert.equal(monthOf("2026-05-31T16:00:00.000Z"), 2026 * 12 + 5);
  assert.throws(() => monthOf("2026-02-30T00:00:00.000Z"), RatingLogError);
  assert.throws(() => monthOf("2026-5-1T00:00:00.000Z"), RatingLogError);
  const big = { verifiedGrams: 2 ** 53 - 1, activeMonths: 13, methodologies: ["A", "B", "C", "D", "E"],
    retiredGrams: 249, reversedClaims: 0 }; // prettier-ignore
  assert.deepEqual(points(big), { reductions: 300, regularity: 300, diversity: 200,
    retirements: 0, reversalPenalty: 0, score: 800 }); // prettier-ignore
});

test("an unreadable event is a RatingLogError", () => {
  const broken = structuredClone(events);
  const submitted = broken.find((/** @type {any} */ e) => e.type === "ActivitiesSubmitted");
  submitted.payload.effects.outcomes[0].grams = "3000";
  assert.throws(() => rate(data.ratings[0].account, broken, broken.at(-1).time), RatingLogError);
});
