// Every change to every field of every vector bundle is refused with that field named:
// the full mutation run of tests/test_bundle_vectors.py, over all 15 bundles.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { covered, sortedJson, tamperCases } from "../test-support/bundle_mutations.js";
import { transport } from "../test-support/chain_snapshot.js";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { CHAIN, TAMPER, TRUST, VALID } from "../test-support/vectors.js";

/** @param {string} type */
const othersThan = (type) =>
  Object.entries(VALID)
    .filter(([t]) => t !== type)
    .map(([, bundle]) => bundle);

test("the port of bundle_mutations.py makes the cases of tamper.json", () => {
  // tamper.json holds the cases of the CreditsRetired bundle. Splice names differ where two
  // other bundles share a part (the first one in the order of `others` names the case),
  // so the cases are compared by field and bundle.
  const key = (/** @type {string} */ field, /** @type {unknown} */ bundle) =>
    `${field} ${sortedJson(bundle)}`;
  const ours = [...tamperCases(VALID.CreditsRetired, othersThan("CreditsRetired"))];
  assert.equal(ours.length, TAMPER.length);
  assert.deepEqual(
    ours.map(([, field, bundle]) => key(field, bundle)).sort(),
    TAMPER.map((c) => key(c.field, c.bundle)).sort(),
  );
});

for (const [label, v] of IMPLEMENTATIONS) {
  describe(`${label}: every change to every field of every bundle is refused`, () => {
    const rpc = new v.Rpc(transport(CHAIN));
    const trust = v.TrustAnchor.fromJson(TRUST);

    for (const type of Object.keys(VALID).sort()) {
      test(type, async () => {
        let cases = 0;
        for (const [name, field, changed] of tamperCases(VALID[type], othersThan(type))) {
          const report = await v.verifyBundle(changed, rpc, { trust });
          const failures = report.checks.filter((c) => !c.ok);
          assert.equal(report.verified, false, name);
          assert.ok(
            failures.some((c) => covered(field, c.fields)),
            `${name}: ${JSON.stringify(failures)}`,
          );
          cases++;
        }
        assert.ok(cases > 40, `only ${cases} cases`);
      });
    }
  });
}
