/**
 * Canonical bytes of events: RFC 8785 (JCS), UTF-8, for the JSON subset events use.
 *
 * Events contain only objects with ASCII keys, strings, booleans, null and integers within
 * +-(2^53 - 1). For that subset RFC 8785 is: keys sorted (by UTF-16 code units, which for
 * ASCII keys is the order Python sorts them in), no whitespace, strings as
 * `JSON.stringify` writes them (short escapes, other controls as lowercase \u00xx, nothing
 * else escaped) and integers in decimal. These are the bytes the Python verifier hashes.
 *
 * Anything outside the subset is refused with where it is (`event.payload.request.amount`):
 * floats (including `JsonFloat`s from parseJson), unsafe integers, non-ASCII keys, other
 * types, and lone surrogates, which have no UTF-8 form (RFC 8785 takes I-JSON input).
 */

import { CodedError } from "./errors.js";
import { JsonFloat, MAX_DEPTH } from "./json.js";

export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

export class CanonicalError extends CodedError {
  static code = "not_canonical";
  static status = 422;
  static title = "The value has no RFC 8785 form in the events' JSON subset";

  /**
   * @param {string} where the path of the offending value ("" for the whole value)
   * @param {string} reason
   */
  constructor(where, reason) {
    super(`${where || "the value"}: ${reason}`);
    this.where = where;
    this.reason = reason;
  }
}

const ASCII = /^[\x00-\x7f]*$/;
const LONE_SURROGATE = /\p{Cs}/u;
const encoder = new TextEncoder();

/**
 * RFC 8785 bytes of `value`.
 * @param {unknown} value
 * @param {string} [path] where `value` is, for errors ("event")
 * @returns {Uint8Array}
 * @throws {CanonicalError} outside the supported subset
 */
export function canonicalBytes(value, path = "") {
  const walk = { surrogateAt: /** @type {string | null} */ (null) };
  const text = serialise(value, path, 0, walk);
  // Checked after the walk, as Python does when it encodes: other errors come first.
  if (walk.surrogateAt !== null) {
    throw new CanonicalError(walk.surrogateAt, "text contains an unpaired surrogate");
  }
  return encoder.encode(text);
}

/**
 * UTF-8 bytes of a text, refusing lone surrogates (TextEncoder would turn them into
 * U+FFFD, so two texts would hash alike).
 * @param {string} text
 * @param {string} [where]
 * @returns {Uint8Array}
 */
export function utf8Bytes(text, where = "") {
  if (LONE_SURROGATE.test(text))
    throw new CanonicalError(where, "text contains an unpaired surrogate");
  return encoder.encode(text);
}

/**
 * @param {unknown} value
 * @param {string} path
 * @param {number} depth
 * @param {{surrogateAt: string | null}} walk
 * @returns {string}
 */
function serialise(value, path, depth, walk) {
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === "string") {
    if (walk.surrogateAt === null && LONE_SURROGATE.test(value)) walk.surrogateAt = path;
    return JSON.stringify(value);
  }
  if (typeof value === "number" && Number.isInteger(value)) {
    if (Math.abs(value) <= MAX_SAFE_INTEGER) return String(value);
    throw outOfRange(path, String(value));
  }
  if (typeof value === "bigint") {
    if (value >= -MAX_SAFE_INTEGER && value <= MAX_SAFE_INTEGER) return String(value);
    throw outOfRange(path, String(value));
  }
  if (typeof value === "number" || value instanceof JsonFloat) {
    throw new CanonicalError(path, "float values cannot appear in an event");
  }
  if (typeof value === "object" && depth >= MAX_DEPTH) {
    // Parsed JSON never nests this deep (parseJson); a hand-made value may even be cyclic.
    throw new CanonicalError(path, `nests arrays or objects more than ${MAX_DEPTH} deep`);
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => serialise(item, `${path}[${i}]`, depth + 1, walk));
    return `[${items.join(",")}]`;
  }
  if (isPlainObject(value)) {
    // Walk in the object's own order (errors name the first bad field), then sort.
    const members = Object.keys(value).map((key) => {
      if (!ASCII.test(key)) {
        throw new CanonicalError(path, `keys must be ASCII strings, got ${JSON.stringify(key)}`);
      }
      const item = serialise(value[key], path ? `${path}.${key}` : key, depth + 1, walk);
      return [key, `${JSON.stringify(key)}:${item}`];
    });
    members.sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${members.map(([, member]) => member).join(",")}}`;
  }
  const kind =
    value === undefined
      ? "undefined"
      : typeof value === "object"
        ? "non-JSON object"
        : typeof value;
  throw new CanonicalError(path, `${kind} values cannot appear in an event`);
}

/**
 * @param {string} path
 * @param {string} value
 */
function outOfRange(path, value) {
  return new CanonicalError(path, `integer ${value} is outside the JSON-safe range +-(2**53-1)`);
}

/**
 * A JSON object: a plain object, not an array, a class instance or null.
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
export function isPlainObject(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
