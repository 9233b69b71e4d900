#!/usr/bin/env node
/**
 * carbon-verify: check proof bundles, consistency bundles and certificates from Node,
 * printing the lines the Python `carbon-verify` prints.
 *
 *     carbon-verify bundle BUNDLE.json --rpc URL [--trust TRUST.json] [--confirmations N]
 *     carbon-verify consistency CONSISTENCY.json --rpc URL [--trust TRUST.json]
 *     carbon-verify certificate CERTIFICATE.json --rpc URL [--trust TRUST.json]
 *
 * Every check is printed with what it found; the last line is VERIFIED or NOT VERIFIED.
 * Exit status: 0 verified, 1 not verified, 2 the input could not be read (or bad usage).
 * `--offline` skips the chain (never VERIFIED then).
 */

import { readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  Rpc,
  TrustAnchor,
  parseJson,
  verifyBundle,
  verifyCertificate,
  verifyConsistency,
} from "../src/index.js";

const MAX_INPUT_BYTES = 16 * 1024 * 1024;
const USAGE =
  "usage: carbon-verify {bundle,consistency,certificate} FILE (--rpc URL | --offline)" +
  " [--trust FILE] [--confirmations N]";

/**
 * @param {string} message
 * @returns {never}
 */
function usageError(message) {
  process.stderr.write(`${USAGE}\ncarbon-verify: error: ${message}\n`);
  process.exit(2);
}

/**
 * @param {string} path
 * @returns {unknown}
 */
function readJson(path) {
  if (statSync(path).size > MAX_INPUT_BYTES)
    throw new Error(`${path} is larger than ${MAX_INPUT_BYTES} bytes`);
  return parseJson(readFileSync(path), { what: path });
}

/**
 * Print each check, then VERIFIED or NOT VERIFIED; returns whether it verified.
 * @param {{checks: {name: string, ok: boolean, detail: string, fields: string[]}[], verified: boolean}} report
 */
function printReport(report) {
  for (const check of report.checks) {
    const mark = check.ok ? "ok  " : "FAIL";
    const where = !check.ok && check.fields.length ? ` [${check.fields.join(", ")}]` : "";
    console.log(`[${mark}] ${check.name}: ${check.detail}${where}`);
  }
  console.log(report.verified ? "VERIFIED" : "NOT VERIFIED");
  return report.verified;
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        rpc: { type: "string" },
        trust: { type: "string" },
        confirmations: { type: "string", default: "1" },
        offline: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    return usageError(/** @type {Error} */ (err).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [kind, file] = positionals;
  const verifiers = {
    bundle: verifyBundle,
    consistency: verifyConsistency,
    certificate: verifyCertificate,
  };
  if (positionals.length !== 2 || !Object.hasOwn(verifiers, kind)) {
    return usageError("give the kind (bundle, consistency or certificate) and one FILE");
  }
  if (!/^-?[0-9]+$/.test(/** @type {string} */ (values.confirmations))) {
    return usageError(
      `--confirmations: invalid int value: ${JSON.stringify(values.confirmations)}`,
    );
  }
  if (!values.offline && !values.rpc) return usageError("give --rpc URL (or --offline)");
  let document;
  let trust = null;
  try {
    document = readJson(file);
    if (values.trust) trust = TrustAnchor.fromJson(readJson(values.trust));
  } catch (err) {
    // Unreadable, not JSON, too large, or a malformed trust anchor: the input's fault.
    console.error(`Error: ${/** @type {Error} */ (err).message}`);
    return 2;
  }
  const rpc = values.offline ? null : new Rpc(/** @type {string} */ (values.rpc));
  const options = { trust, minConfirmations: Number(values.confirmations) };
  const report = await verifiers[/** @type {keyof typeof verifiers} */ (kind)](
    document,
    rpc,
    options,
  );
  return printReport(report) ? 0 : 1;
}

process.exitCode = await main();
