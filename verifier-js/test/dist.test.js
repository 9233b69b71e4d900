// The committed browser file is what the build makes of the sources today, and it is one
// self-contained module: nothing imported, no Node API.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DIST, buildBrowserBundle } from "../scripts/build.js";

const committed = readFileSync(DIST, "utf8");

test("dist/carbon-verifier.js is the build of the current sources", async () => {
  const folder = mkdtempSync(join(tmpdir(), "carbon-verifier-dist-"));
  try {
    const rebuilt = join(folder, "carbon-verifier.js");
    await buildBrowserBundle(rebuilt);
    assert.ok(
      readFileSync(rebuilt, "utf8") === committed,
      "dist/carbon-verifier.js is stale: run `npm run build --workspace verifier-js` and commit it",
    );
  } finally {
    rmSync(folder, { recursive: true });
  }
});

test("dist/carbon-verifier.js imports nothing and uses no Node API", () => {
  assert.doesNotMatch(
    committed,
    /\bimport\s*\(|\bimport\s*[\w{*][^;]*\bfrom\s*["']|\brequire\s*\(/,
  );
  assert.doesNotMatch(committed, /\bnode:|\bprocess\.|\bBuffer\b/);
  assert.match(committed, /export\s*\{/);
});
