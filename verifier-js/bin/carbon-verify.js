#!/usr/bin/env node
/**
 * carbon-verify: check proof bundles, consistency bundles and certificates from Node,
 * printing the lines the Python `carbon-verify` prints.
 *
 *     carbon-verify bundle BUNDLE.json --rpc URL [--trust TRUST.json] [--confirmations N]
 *     carbon-verify consistency CONSISTENCY.json --rpc URL [--trust TRUST.json]
 *     carbon-verify certificate CERTIFICATE.json --rpc URL [--trust TRUST.json]
 *     carbon-verify reserve LOG_URL --rpc URL --trust TRUST.json
 *         (every token on chain backed by grams locked in the public log or a mirror)
 *     carbon-verify rating STATEMENT.json --trust TRUST.json [--log LOG_URL]
 *         (a low-carbon credit rating statement; with --log, its score recomputed)
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
  checkPublicReserve,
  parseJson,
  verifyBundle,
  verifyCertificate,
  verifyConsistency,
  verifyRatingStatement,
} from "../src/index.js";

const MAX_INPUT_BYTES = 16 * 1024 * 1024;
const USAGE =
  "usage: carbon-verify {bundle,consistency,certificate} FILE (--rpc URL | --offline)" +
  " [--trust FILE] [--confirmations N]\n       carbon-verify reserve LOG_URL --rpc URL" +
  " --trust FILE\n       carbon-verify rating STATEMENT --trust FILE [--log LOG_URL]";

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

/**
 * Print the reserve per asset class, then RESERVE VERIFIED or RESERVE NOT VERIFIED.
 * @param {any} report
 */
function printReserve(report) {
  const n = (/** @type {bigint} */ v) => v.toLocaleString("en-US");
  console.log(`log anchored up to tree size ${report.logSize}; chain block ${report.block}`);
  for (const c of report.classes) {
    console.log(
      `[${c.ok ? "ok  " : "FAIL"}] ${c.assetClass}: locked ${n(c.lockedInLog)} g - unminted` +
        ` ${n(c.unmintedLocks)} + mints not yet logged ${n(c.mintsNotInLog)} - burns not` +
        ` yet logged ${n(c.burnsNotInLog)} = ${n(c.expectedSupply)};` +
        ` totalSupply ${n(c.totalSupply)}`,
    );
  }
  for (const problem of report.problems) console.log(`FAIL: ${problem}`);
  console.log(report.ok ? "RESERVE VERIFIED" : "RESERVE NOT VERIFIED");
  return report.ok;
}

/**
 * The reserve from the public log at `logUrl` and the chain: 0 verified, 1 not, 2 the log,
 * the trust anchor or the chain could not be read.
 * @param {string} logUrl
 * @param {string} rpcUrl
 * @param {string} trustFile
 */
async function reserve(logUrl, rpcUrl, trustFile) {
  const fetchBytes = logFetcher(logUrl);
  let report;
  try {
    const trust = TrustAnchor.fromJson(readJson(trustFile));
    report = await checkPublicReserve(fetchBytes, new Rpc(rpcUrl), trust);
  } catch (err) {
    console.error(`Error: ${/** @type {Error} */ (err).message}`);
    return 2;
  }
  return printReserve(report) ? 0 : 1;
}

/**
 * The public log's files below `logUrl`, as bytes.
 * @param {string} logUrl
 */
function logFetcher(logUrl) {
  const base = logUrl.replace(/\/+$/, "");
  return async (/** @type {string} */ path) => {
    const answer = await fetch(`${base}/${path}`);
    if (!answer.ok) throw new Error(`${base}/${path}: HTTP ${answer.status}`);
    return new Uint8Array(await answer.arrayBuffer());
  };
}

/**
 * A score statement: 0 verified, 1 not, 2 the statement or trust anchor unreadable.
 * @param {string} file
 * @param {string} trustFile
 * @param {string | undefined} logUrl
 */
async function rating(file, trustFile, logUrl) {
  let document;
  let trust;
  try {
    document = readJson(file);
    trust = TrustAnchor.fromJson(readJson(trustFile));
  } catch (err) {
    console.error(`Error: ${/** @type {Error} */ (err).message}`);
    return 2;
  }
  const report = await verifyRatingStatement(document, trust, logUrl ? logFetcher(logUrl) : null);
  for (const check of report.checks)
    console.log(`[${check.ok ? "ok  " : "FAIL"}] ${check.name}: ${check.detail}`);
  console.log(report.verified ? "STATEMENT VERIFIED" : "STATEMENT NOT VERIFIED");
  return report.verified ? 0 : 1;
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
        log: { type: "string" },
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
  if (kind === "reserve") {
    if (positionals.length !== 2) return usageError("give the log's URL");
    if (!values.rpc || !values.trust)
      return usageError("reserve needs --rpc URL and --trust FILE (naming the token)");
    return reserve(file, values.rpc, values.trust);
  }
  if (kind === "rating") {
    if (positionals.length !== 2) return usageError("give one statement FILE");
    if (!values.trust) return usageError("rating needs --trust FILE (pinning the signers)");
    return rating(file, values.trust, values.log);
  }
  const verifiers = {
    bundle: verifyBundle,
    consistency: verifyConsistency,
    certificate: verifyCertificate,
  };
  if (positionals.length !== 2 || !Object.hasOwn(verifiers, kind)) {
    return usageError("give the kind (bundle, consistency, certificate or reserve) and one FILE");
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
