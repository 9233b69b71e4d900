// Bundles verified per second offline: format, inclusion, trust and the checkpoint's
// signature (no chain), over the 15 valid vectors repeated. The Python equivalent is
// `verify_bundle(bundle, None, trust=...)`. Prints one JSON object.
//
//     node bench/verify.mjs [--dist] [--seconds S]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { dist: { type: "boolean", default: false }, seconds: { type: "string", default: "3" } },
});
const v = await import(values.dist ? "../dist/carbon-verifier.js" : "../src/index.js");
const vector = (/** @type {string} */ name) =>
  JSON.parse(
    readFileSync(new URL(`../../tests/vectors/bundles/${name}.json`, import.meta.url), "utf8"),
  );
const bundles = Object.values(vector("valid"));
const trust = v.TrustAnchor.fromJson(vector("trust"));

/** Verify every bundle once; each must pass all offline checks. */
async function round() {
  for (const bundle of bundles) {
    const { checks } = await v.verifyBundle(bundle, null, { trust });
    if (!checks.slice(0, -1).every((/** @type {{ok: boolean}} */ c) => c.ok)) {
      throw new Error(`a vector failed: ${JSON.stringify(checks)}`);
    }
  }
}

for (let i = 0; i < 20; i++) await round(); // warm up the JIT
const budgetMs = Number(values.seconds) * 1000;
let verified = 0;
const start = performance.now();
while (performance.now() - start < budgetMs) {
  await round();
  verified += bundles.length;
}
const seconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({ js_bundles_per_s: Math.round(verified / seconds) }));
