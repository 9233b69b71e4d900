// JSON-RPC over fetch against a local HTTP server answering from the recorded chain, and
// the carbon-verify CLI against it: the lines and exit codes of the Python CLI.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { transport } from "../test-support/chain_snapshot.js";
import { consistencyBundle } from "../test-support/documents.js";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { BUNDLE_CHECKS, CHAIN, TRUST, VALID } from "../test-support/vectors.js";

const CLI = fileURLToPath(new URL("../bin/carbon-verify.js", import.meta.url));
const answer = transport(CHAIN);

/**
 * A JSON-RPC server on the loopback: the recorded chain at /, and misbehaving answers at
 * /http-500, /not-json, /too-large and /array.
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
async function startServer() {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      response.setHeader("Content-Type", "application/json");
      if (request.url === "/http-500") {
        response.statusCode = 500;
        response.end("{}");
      } else if (request.url === "/not-json") response.end("{oops");
      else if (request.url === "/array") response.end("[]");
      else if (request.url === "/too-large") {
        response.setHeader("Content-Length", String(64 * 1024 * 1024));
        response.end();
      } else response.end(JSON.stringify(answer(JSON.parse(body))));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

/** @type {{url: string, close: () => Promise<void>}} */
let server;
before(async () => (server = await startServer()));
after(() => server.close());

for (const [label, v] of IMPLEMENTATIONS) {
  describe(`${label}: JSON-RPC over fetch`, () => {
    test("a bundle verifies against a chain over HTTP", async () => {
      const report = await v.verifyBundle(VALID.CreditsRetired, new v.Rpc(server.url), {
        trust: v.TrustAnchor.fromJson(TRUST),
      });
      assert.equal(report.verified, true);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        BUNDLE_CHECKS,
      );
    });

    test("an unreachable or misbehaving RPC fails the chain check, saying how", async () => {
      const cases = [
        ["/http-500", "answered HTTP 500"],
        ["/not-json", "is not valid JSON"],
        ["/array", "answered something other than a JSON-RPC response"],
        ["/too-large", `answered more than ${32 * 1024 * 1024} bytes`],
      ];
      for (const [path, expected] of cases) {
        const report = await v.verifyBundle(VALID.CreditsRetired, new v.Rpc(server.url + path));
        const chain = report.checks.find((c) => c.name === "chain");
        assert.ok(
          chain && !chain.ok && chain.detail.includes(expected),
          `${path}: ${chain?.detail}`,
        );
      }
      const closed = await v.verifyBundle(VALID.CreditsRetired, new v.Rpc("http://127.0.0.1:9"));
      assert.match(closed.checks.at(-1)?.detail ?? "", /^http:\/\/127.0.0.1:9 unreachable: /);
    });

    test("a slow RPC times out", async () => {
      const slow = createServer(() => {}); // never answers
      await new Promise((resolve) => slow.listen(0, "127.0.0.1", () => resolve(undefined)));
      const { port } = /** @type {import("node:net").AddressInfo} */ (slow.address());
      const rpc = new v.Rpc(v.httpTransport(`http://127.0.0.1:${port}`, { timeoutMs: 200 }));
      await assert.rejects(
        rpc.chainId(),
        (err) => err instanceof v.RpcError && /unreachable/.test(err.message),
      );
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(() => resolve(undefined)));
    });
  });
}

// How deep the retirement's anchor is on the recorded chain.
const DEPTH = CHAIN.head - VALID.CreditsRetired.anchor.block_number + 1;
const SEQ = VALID.CreditsRetired.event.seq;

describe("the carbon-verify CLI", () => {
  /** @type {string} */
  let folder;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), "carbon-verify-"));
    const files = {
      "bundle.json": VALID.CreditsRetired,
      "tampered.json": { ...VALID.CreditsRetired, leaf_index: SEQ - 1 },
      "consistency.json": consistencyBundle(),
      "trust.json": TRUST,
      "not-json.json": "{",
    };
    for (const [name, value] of Object.entries(files)) {
      writeFileSync(join(folder, name), typeof value === "string" ? value : JSON.stringify(value));
    }
  });
  after(() => rmSync(folder, { recursive: true }));

  /**
   * @param {string[]} args file names are taken from the temporary folder
   * @returns {Promise<{code: number, stdout: string, stderr: string}>}
   */
  async function run(...args) {
    const argv = args.map((a) => (a.endsWith(".json") ? join(folder, a) : a));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...argv]);
      return { code: 0, stdout, stderr };
    } catch (err) {
      const { code, stdout, stderr } = /** @type {any} */ (err);
      return { code, stdout, stderr };
    }
  }

  test("prints every check and VERIFIED, exit 0", async () => {
    const { code, stdout } = await run(
      "bundle",
      "bundle.json",
      "--rpc",
      server.url,
      "--trust",
      "trust.json",
    );
    const lines = stdout.trim().split("\n");
    assert.equal(code, 0);
    assert.deepEqual(
      lines.map((l) => l.match(/^\[ok {2}\] ([a-z ]+): /)?.[1] ?? l),
      [...BUNDLE_CHECKS, "VERIFIED"],
    );
    assert.equal(lines[8], `[ok  ] confirmations: ${DEPTH} confirmation(s) (>= 1)`);
  });

  test("prints a failing check with its fields and NOT VERIFIED, exit 1", async () => {
    const { code, stdout } = await run("bundle", "tampered.json", "--rpc", server.url);
    assert.equal(code, 1);
    assert.equal(
      stdout,
      `[FAIL] format: leaf_index: is ${SEQ - 1}, but event.seq is ${SEQ} [leaf_index, event.seq]\n` +
        "NOT VERIFIED\n",
    );
  });

  test("--offline is never VERIFIED; --confirmations is required depth", async () => {
    const offline = await run("bundle", "bundle.json", "--offline");
    assert.equal(offline.code, 1);
    assert.match(
      offline.stdout,
      /\[FAIL\] chain: not checked: no chain RPC given\nNOT VERIFIED\n$/,
    );
    const needed = String(DEPTH + 1);
    const deep = await run("bundle", "bundle.json", "--rpc", server.url, "--confirmations", needed);
    assert.equal(deep.code, 1);
    assert.ok(
      deep.stdout.includes(
        `[FAIL] confirmations: ${DEPTH} confirmation(s), ${needed} needed [anchor.block_number]`,
      ),
      deep.stdout,
    );
  });

  test("verifies consistency bundles", async () => {
    const { code, stdout } = await run("consistency", "consistency.json", "--rpc", server.url);
    assert.equal(code, 0);
    assert.match(stdout, /^\[ok {2}\] format: the consistency bundle is exactly version 1\n/);
  });

  test("exit 2 when the input cannot be read or the usage is wrong", async () => {
    for (const args of [
      ["bundle", "missing.json", "--offline"],
      ["bundle", "not-json.json", "--offline"],
      ["bundle", "bundle.json", "--offline", "--trust", "bundle.json"],
    ]) {
      const { code, stderr } = await run(...args);
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr, /^Error: /);
    }
    for (const args of [
      ["bundle", "bundle.json"],
      ["receipt", "bundle.json", "--offline"],
      ["bundle", "bundle.json", "--offline", "--confirmations", "x"],
    ]) {
      const { code, stderr } = await run(...args);
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr, /^usage: carbon-verify/);
    }
  });
});
