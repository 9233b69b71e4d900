// The browser file in a real browser: headless Chromium imports dist/carbon-verifier.js
// from a loopback server and verifies the shared vectors over JSON-RPC by fetch. `make test`
// installs Debian's chromium when missing, so no Chromium is a failure, not a skip (set
// CHROMIUM to its path if it is not on PATH).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { covered } from "../test-support/bundle_mutations.js";
import { transport } from "../test-support/chain_snapshot.js";
import { CHAIN, PENDING, TAMPER, TRUST, VALID } from "../test-support/vectors.js";

/** @returns {string | undefined} */
function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const folder of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      try {
        accessSync(join(folder, name), constants.X_OK);
        return join(folder, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();
const DIST = readFileSync(new URL("../dist/carbon-verifier.js", import.meta.url));

// The page verifies every vector and posts what it found to /result.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { Rpc, TrustAnchor, parseJson, verifyBundle } from "/carbon-verifier.js";
const covered = ${covered.toString()};
const vectors = parseJson(await (await fetch("/vectors")).text());
const rpc = new Rpc(location.origin + "/rpc");
const trust = TrustAnchor.fromJson(vectors.trust);
const found = { valid: {}, pending: null, tamper: [] };
for (const [type, bundle] of Object.entries(vectors.valid)) {
  const report = await verifyBundle(bundle, rpc, { trust });
  found.valid[type] = report.checks.map((c) => c.name + ":" + c.ok);
}
found.pending = (await verifyBundle(vectors.pending, rpc, { trust })).verified;
for (const { name, field, bundle } of vectors.tamper) {
  const report = await verifyBundle(bundle, rpc, { trust });
  const named = report.checks.some((c) => !c.ok && covered(field, c.fields));
  if (report.verified || !named) found.tamper.push(name);
}
await fetch("/result", { method: "POST", body: JSON.stringify(found) });
</script>`;

test(
  "headless Chromium verifies the vectors with dist/carbon-verifier.js",
  { timeout: 240_000 },
  async () => {
    assert.ok(CHROMIUM, "no Chromium: install Debian's chromium (make test does)");
    const vectors = JSON.stringify({
      valid: VALID,
      pending: PENDING,
      tamper: TAMPER,
      trust: TRUST,
    });
    const answer = transport(CHAIN);
    /** @type {(body: string) => void} */
    let deliver = () => {};
    /** @type {(err: Error) => void} */
    let fail = () => {};
    const result = new Promise((resolve, reject) => ([deliver, fail] = [resolve, reject]));
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const routes = {
          "/": ["text/html", () => PAGE],
          "/carbon-verifier.js": ["text/javascript", () => DIST],
          "/vectors": ["application/json", () => vectors],
          "/rpc": ["application/json", () => JSON.stringify(answer(JSON.parse(body)))],
          "/result": ["text/plain", () => (deliver(body), "")],
        };
        const [type, respond] = routes[/** @type {keyof typeof routes} */ (request.url)] ?? [];
        if (!respond) return void response.writeHead(404).end();
        response.setHeader("Content-Type", type);
        response.end(respond());
      });
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
    const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
    const profile = mkdtempSync(join(tmpdir(), "carbon-verifier-chromium-"));
    const browser = spawn(
      /** @type {string} */ (CHROMIUM),
      [
        "--headless",
        "--no-sandbox", // tests may run as root
        "--disable-gpu",
        `--user-data-dir=${profile}`,
        `http://127.0.0.1:${port}/`,
      ],
      // Its own process group: the helper processes go with it at the end.
      { stdio: "ignore", detached: true },
    );
    const exited = new Promise((resolve) => browser.once("exit", resolve));
    browser.once("error", fail);
    exited.then((code) => fail(new Error(`Chromium exited (${code}) before the page reported`)));
    try {
      const found = JSON.parse(/** @type {string} */ (await result));
      for (const [type, checks] of Object.entries(found.valid)) {
        assert.ok(
          checks.every((/** @type {string} */ c) => c.endsWith(":true")),
          `${type}: ${checks}`,
        );
        assert.equal(checks.length, 9, type);
      }
      assert.equal(Object.keys(found.valid).length, Object.keys(VALID).length);
      assert.equal(found.pending, false);
      assert.deepEqual(found.tamper, [], "tamper vectors accepted or not named");
    } finally {
      if (browser.pid !== undefined && browser.exitCode === null) {
        process.kill(-browser.pid, "SIGKILL"); // the whole group, so none keeps the profile
        await exited;
      }
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      // A helper process may still be closing its files in the profile: retry.
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
    }
  },
);
