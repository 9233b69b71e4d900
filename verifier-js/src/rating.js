/**
 * The low-carbon credit rating (低碳信用) and its score statements, as the Python
 * verifier's `carbon_verifier.rating` computes and checks them (docs/RATING.md).
 *
 * Formula `carbon-rating/1`, integers only, 0 to 1000:
 *
 *     reductions  = min(300, verified grams // 500)
 *     regularity  = 25 x active months in the last 12
 *     diversity   = min(200, 50 x distinct methodologies)
 *     retirements = min(200, retired grams // 250)
 *     score       = max(0, the four - 100 x reversed claims)
 *
 * A statement `{statement, signature}` is signed over
 * keccak256("carbon-registry/rating-statement/1\n" || RFC 8785 statement) by a key the
 * trust anchor pins; with the public log's entry bundles, the score is recomputed.
 */

import { concatBytes, equalBytes, hexToBytes } from "./bytes.js";
import { canonicalBytes } from "./canonical.js";
import { keccak256, recoverSigner } from "./crypto.js";
import { CodedError } from "./errors.js";
import { parseJson } from "./json.js";
import { leafHash } from "./merkle.js";
import { entriesPath, parseEntryBundle, rootOf } from "./reserve.js";

export const FORMULA = "carbon-rating/1";
export const STATEMENT_TYPE = "carbon-rating-statement/1";
const STATEMENT_CONTEXT = new TextEncoder().encode("carbon-registry/rating-statement/1\n");
const TILE_WIDTH = 256;
const REGULARITY_MONTHS = 12;
const EVENT_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
const READMITTED = /^C(\d{1,16})-(\d{1,16})$/;
const CST_MS = 8 * 3600 * 1000;
const STATEMENT_FIELDS = ["type", "account", "score", "formula", "inputs", "asOf", "logId",
  "treeSize", "rootHash", "issuedAt"].sort(); // prettier-ignore
const INPUT_COUNTS = ["verifiedGrams", "activeMonths", "retiredGrams", "reversedClaims"];
const INPUT_FIELDS = [...INPUT_COUNTS, "methodologies"].sort();

/** An event the rating reads is not in the log's format. */
export class RatingLogError extends CodedError {
  static code = "rating_log";
  static status = 422;
  static title = "The log holds an event the rating cannot read";
}

/** A score statement that is malformed. */
export class RatingStatementError extends CodedError {
  static code = "bad_rating_statement";
  static status = 422;
  static title = "The score statement does not verify";
}

/** @type {(value: unknown, name: string) => number} */
function integer(value, name) {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new RatingLogError(`${name} must be a non-negative integer, not ${String(value)}`);
  return value;
}

/** @type {(value: unknown, name: string) => string} */
function text(value, name) {
  if (typeof value !== "string") throw new RatingLogError(`${name} must be text`);
  return value;
}

/** @type {(value: unknown) => string} */
const address = (value) => text(value, "an address").toLowerCase();

/** Integer division of non-negative safe integers, exactly. */
const div = (/** @type {number} */ a, /** @type {number} */ b) => Number(BigInt(a) / BigInt(b));

/**
 * The China Standard Time month of an event time, as year x 12 + month - 1.
 * @param {unknown} time
 */
export function monthOf(time) {
  const m = typeof time === "string" ? EVENT_TIME.exec(time) : null;
  if (m === null) throw new RatingLogError(`${String(time)} is not an event time`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 ||
      utc.getUTCDate() !== day || utc.getUTCHours() !== hour || utc.getUTCMinutes() !== minute ||
      utc.getUTCSeconds() !== second) {
    throw new RatingLogError(`${time} is not an event time`);
  } // prettier-ignore
  const local = new Date(utc.getTime() + CST_MS);
  return local.getUTCFullYear() * 12 + local.getUTCMonth();
}

/** @param {number} month */
export function monthName(month) {
  return `${String(Math.floor(month / 12)).padStart(4, "0")}-${String((month % 12) + 1).padStart(2, "0")}`;
}

/**
 * Each component's points (the penalty as a positive number) and the score.
 * @param {{verifiedGrams: number, activeMonths: number, methodologies: string[],
 *   retiredGrams: number, reversedClaims: number}} inputs
 */
export function points(inputs) {
  const reductions = Math.min(300, div(inputs.verifiedGrams, 500));
  const regularity = 25 * Math.min(REGULARITY_MONTHS, inputs.activeMonths);
  const diversity = Math.min(200, 50 * inputs.methodologies.length);
  const retirements = Math.min(200, div(inputs.retiredGrams, 250));
  const reversalPenalty = 100 * inputs.reversedClaims;
  const score = Math.max(0, reductions + regularity + diversity + retirements - reversalPenalty);
  return { reductions, regularity, diversity, retirements, reversalPenalty, score: Math.min(1000, score) };
}

/**
 * @typedef {{methodology: string, grams: number, status: string, issued: number | null,
 *   reversed: number | null}} Claim
 */

/** What the rating needs of one account's events. */
class Facts {
  /** @param {string} account */
  constructor(account) {
    this.account = account;
    /** @type {Map<string, Claim>} */
    this.claims = new Map();
    /** @type {Map<string, string>} "seq-index" -> methodology of a refused record */
    this.refused = new Map();
    /** @type {[number, number][]} (month, grams) */
    this.retirements = [];
  }

  /** @param {any} event */
  read(event) {
    const kind = event.type;
    if (typeof kind !== "string" || !READERS.has(kind)) return;
    const seq = integer(event.seq, "seq");
    const month = monthOf(event.time);
    const { request, effects } = event.payload;
    /** @type {Function} */ (READERS.get(kind)).call(this, seq, month, request, effects);
  }

  /** @param {number} seq @param {number} month @param {any} request @param {any} effects */
  submitted(seq, month, request, effects) {
    const { records } = request;
    const { outcomes } = effects;
    if (!Array.isArray(records) || !Array.isArray(outcomes) || records.length !== outcomes.length)
      throw new RatingLogError(`event ${seq}: records and outcomes differ in number`);
    records.forEach((record, index) => {
      if (address(record.account) !== this.account) return;
      const outcome = outcomes[index];
      if (Object.hasOwn(outcome, "claim")) {
        this.claims.set(text(outcome.claim, "claim"), {
          methodology: text(record.methodology, "methodology"),
          grams: integer(outcome.grams, "grams"),
          status: "pending",
          issued: null,
          reversed: null,
        });
      } else {
        this.refused.set(`${seq}-${index}`, text(record.methodology, "methodology"));
      }
    });
  }

  /** @param {number} seq @param {number} month @param {any} request @param {any} effects */
  attested(seq, month, request, effects) {
    const status = effects.status === "approved" ? "approved" : "rejected";
    for (const id of request.claims) {
      const claim = this.claims.get(text(id, "claim"));
      if (claim !== undefined) claim.status = status;
    }
    for (const item of effects.recredited ?? []) {
      const id = text(item.claim, "claim");
      const grams = integer(item.grams, "grams");
      if (item.readmitted === true) {
        const m = READMITTED.exec(id);
        if (m === null) throw new RatingLogError(`${id} is no claim id of a record`);
        const key = `${Number(m[1])}-${Number(m[2])}`;
        const methodology = this.refused.get(key);
        if (methodology !== undefined) {
          this.refused.delete(key);
          this.claims.set(id, { methodology, grams, status: "pending", issued: null, reversed: null });
        }
      } else {
        const claim = this.claims.get(id);
        if (claim !== undefined) claim.grams += grams;
      }
    }
  }

  /** @param {number} seq @param {number} month */
  issued(seq, month) {
    for (const claim of this.claims.values()) {
      if (claim.status === "approved") {
        claim.status = "issued";
        claim.issued = month;
      }
    }
  }

  /** @param {number} seq @param {number} month @param {any} request */
  reversedClaim(seq, month, request) {
    const claim = this.claims.get(text(request.claimId, "claimId"));
    if (claim !== undefined && claim.status === "issued") {
      claim.status = "reversed";
      claim.reversed = month;
    }
  }

  /** @param {number} seq @param {number} month @param {any} request */
  retired(seq, month, request) {
    if (address(request.owner) === this.account)
      this.retirements.push([month, integer(request.amount, "amount")]);
  }

  firstMonth() {
    const months = [...this.claims.values()].flatMap((c) => (c.issued === null ? [] : [c.issued]));
    months.push(...this.retirements.map(([m]) => m));
    return months.length ? Math.min(...months) : null;
  }

  /**
   * The inputs as of the end of CST month `month` (all facts when `everything`).
   * @param {number} month
   * @param {boolean} everything
   */
  inputsAt(month, everything) {
    const by = (/** @type {number | null} */ at) => at !== null && (everything || at <= month);
    const verified = [...this.claims.values()].filter((c) => by(c.issued) && !by(c.reversed));
    const active = new Set(verified.map((c) => /** @type {number} */ (c.issued)));
    const recent = [...active].filter((m) => month - REGULARITY_MONTHS < m && m <= month);
    return {
      verifiedGrams: verified.reduce((sum, c) => sum + c.grams, 0),
      activeMonths: recent.length,
      methodologies: [...new Set(verified.map((c) => c.methodology))].sort(),
      retiredGrams: this.retirements.reduce((sum, [m, g]) => sum + (by(m) ? g : 0), 0),
      reversedClaims: [...this.claims.values()].filter((c) => by(c.reversed)).length,
    };
  }
}

const READERS = new Map([
  ["ActivitiesSubmitted", Facts.prototype.submitted],
  ["ClaimsAttested", Facts.prototype.attested],
  ["IssuanceRun", Facts.prototype.issued],
  ["ClaimReversed", Facts.prototype.reversedClaim],
  ["CreditsRetired", Facts.prototype.retired],
]);

/**
 * The rating of `account` from `events` (in log order), as of `asOf`, the time of the last
 * event of the prefix they come from.
 * @param {string} account
 * @param {any[]} events
 * @param {string} asOf
 */
export function rate(account, events, asOf) {
  const facts = new Facts(address(account));
  for (const event of events) {
    try {
      facts.read(event);
    } catch (error) {
      if (error instanceof RatingLogError) throw error;
      throw new RatingLogError(`event ${String(event?.seq)} cannot be read: ${error}`);
    }
  }
  const now = monthOf(asOf);
  const inputs = facts.inputsAt(now, true);
  const { score, ...scored } = points(inputs);
  const history = [];
  const first = facts.firstMonth();
  if (first !== null) {
    for (let month = Math.min(first, now); month < now; month++)
      history.push({ month: monthName(month), score: points(facts.inputsAt(month, false)).score });
    history.push({ month: monthName(now), score });
  }
  return { account, formula: FORMULA, asOf, score, inputs, points: scored, history };
}

/**
 * What the registry signs: keccak256(context || RFC 8785 bytes of the statement).
 * @param {Record<string, unknown>} statement
 */
export function statementDigest(statement) {
  return keccak256(concatBytes(STATEMENT_CONTEXT, canonicalBytes(statement)));
}

/** @type {(value: unknown) => boolean} */
const count = (value) => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const sameKeys = (/** @type {object} */ o, /** @type {string[]} */ keys) =>
  JSON.stringify(Object.keys(o).sort()) === JSON.stringify(keys);

/**
 * @param {any} document
 * @returns {{statement: any, signature: string}}
 */
function statementParts(document) {
  const isObject = (/** @type {unknown} */ v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(document) || !sameKeys(document, ["signature", "statement"]))
    throw new RatingStatementError("a score statement is {statement, signature}");
  const { statement, signature } = document;
  if (!isObject(statement) || !sameKeys(statement, STATEMENT_FIELDS))
    throw new RatingStatementError(`statement fields must be ${STATEMENT_FIELDS.join(", ")}`);
  if (statement.type !== STATEMENT_TYPE)
    throw new RatingStatementError(`statement.type must be ${STATEMENT_TYPE}`);
  if (statement.formula !== FORMULA)
    throw new RatingStatementError(`statement.formula ${statement.formula} is not ${FORMULA}`);
  for (const name of ["account", "logId", "rootHash", "asOf", "issuedAt"]) {
    if (typeof statement[name] !== "string")
      throw new RatingStatementError(`statement.${name} must be text`);
  }
  for (const name of ["score", "treeSize"]) {
    if (!count(statement[name]))
      throw new RatingStatementError(`statement.${name} must be a non-negative integer`);
  }
  if (statement.treeSize < 1) throw new RatingStatementError("statement.treeSize must be at least 1");
  if (!/^(0x)?[0-9a-f]{64}$/.test(statement.rootHash))
    throw new RatingStatementError("statement.rootHash must be 32 bytes of lowercase hex");
  const { inputs } = statement;
  if (!isObject(inputs) || !sameKeys(inputs, INPUT_FIELDS))
    throw new RatingStatementError(`statement.inputs must hold exactly ${INPUT_FIELDS.join(", ")}`);
  for (const name of INPUT_COUNTS) {
    if (!count(inputs[name]))
      throw new RatingStatementError(`statement.inputs.${name} must be a non-negative integer`);
  }
  if (!Array.isArray(inputs.methodologies) || !inputs.methodologies.every((m) => typeof m === "string"))
    throw new RatingStatementError("statement.inputs.methodologies must be a list of ids");
  if (typeof signature !== "string") throw new RatingStatementError("signature must be 0x-prefixed hex");
  return { statement, signature };
}

/** @type {(a: unknown, b: unknown) => boolean} */
const sameJson = (a, b) => equalBytes(canonicalBytes(a), canonicalBytes(b));

/**
 * Check a score statement against `trust` (a TrustAnchor); with `fetchBytes(path)` (the
 * public log's entry bundles), recompute its score from the log's first `treeSize` entries.
 * @param {unknown} document
 * @param {import("./trust.js").TrustAnchor} trust
 * @param {((path: string) => Promise<Uint8Array>) | null} [fetchBytes]
 */
export async function verifyRatingStatement(document, trust, fetchBytes = null) {
  /** @type {{name: string, ok: boolean, detail: string}[]} */
  const checks = [];
  const add = (/** @type {string} */ name, /** @type {boolean} */ ok, /** @type {string} */ detail) => {
    checks.push({ name, ok, detail });
    return ok;
  };
  /** @type {string | null} */
  let signer = null;
  const report = () => ({ checks, signer, verified: checks.length > 0 && checks.every((c) => c.ok) });
  let parts;
  try {
    parts = statementParts(document);
  } catch (error) {
    if (!(error instanceof RatingStatementError)) throw error;
    add("form", false, error.message);
    return report();
  }
  const { statement, signature } = parts;
  add("form", true, `${STATEMENT_TYPE} of ${statement.account}`);
  const expected = points(statement.inputs).score;
  add("formula", expected === statement.score,
      `${FORMULA} gives ${expected} from the statement's inputs` +
        (expected === statement.score ? "" : `, not ${statement.score}`)); // prettier-ignore
  try {
    signer = recoverSigner(statementDigest(statement), signature);
  } catch (error) {
    add("signature", false, `the signature does not verify: ${/** @type {Error} */ (error).message}`);
    return report();
  }
  const pinned = trust.signers.map((s) => s.toLowerCase());
  if (pinned.length === 0) {
    add("signature", false, "the trust anchor pins no signer to check it against");
  } else {
    const ok = pinned.includes(signer.toLowerCase());
    add("signature", ok, `signed by ${signer}${ok ? "" : ", which the trust anchor does not pin"}`);
  }
  const sameLog = statement.logId === trust.logId;
  add("log", sameLog, `log ${statement.logId}${sameLog ? "" : `, the trust anchor's is ${trust.logId}`}`);
  if (fetchBytes !== null) await recompute(add, statement, fetchBytes);
  return report();
}

/**
 * @param {(name: string, ok: boolean, detail: string) => boolean} add
 * @param {any} statement
 * @param {(path: string) => Promise<Uint8Array>} fetchBytes
 */
async function recompute(add, statement, fetchBytes) {
  const size = statement.treeSize;
  const entries = [];
  try {
    for (let index = 0; index * TILE_WIDTH < size; index++) {
      const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH);
      entries.push(...parseEntryBundle(await fetchBytes(entriesPath(index, width)), width));
    }
  } catch (error) {
    add("log entries", false,
        `the log's first ${size} entries cannot be read: ${/** @type {Error} */ (error).message}`); // prettier-ignore
    return;
  }
  const root = hexToBytes(statement.rootHash.replace(/^0x/, ""));
  if (!equalBytes(rootOf(entries.map(leafHash)), root)) {
    add("log entries", false, `the log's first ${size} entries do not hash to rootHash`);
    return;
  }
  add("log entries", true, `the log's first ${size} entries hash to rootHash`);
  let rating;
  try {
    const events = entries.map((body, seq) => parseJson(body, { what: `event ${seq}` }));
    rating = rate(statement.account, events, /** @type {any} */ (events[events.length - 1]).time);
  } catch (error) {
    add("recomputed", false, `the rating cannot be recomputed: ${/** @type {Error} */ (error).message}`);
    return;
  }
  const same = rating.score === statement.score && sameJson(rating.inputs, statement.inputs) &&
    rating.asOf === statement.asOf; // prettier-ignore
  add("recomputed", same,
      `the log gives score ${rating.score} as of ${rating.asOf}` +
        (same ? "" : `; the statement says ${statement.score}`)); // prettier-ignore
}
