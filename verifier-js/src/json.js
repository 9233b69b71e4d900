/**
 * JSON from outside, parsed with bounded nesting and with its numbers kept as written.
 *
 * `JSON.parse` would turn `1.0` into the integer 1 and `9007199254740993` into
 * 9007199254740992, so a bundle that the Python verifier refuses (it reads `1.0` as a
 * float and big integers exactly) would pass here. `parseJson` keeps the difference: an
 * integer literal is a number when it is a safe integer and a BigInt otherwise, and a
 * literal with a fraction or an exponent is a `JsonFloat`, which no integer field and no
 * event accepts. It refuses nesting deeper than `maxDepth` (like jsonsafe.loads) and
 * anything that is not strict RFC 8259 JSON (no NaN, no control characters in strings).
 */

import { CodedError } from "./errors.js";

export const MAX_DEPTH = 64;
/** Python refuses integer literals longer than this (sys.get_int_max_str_digits). */
const MAX_INTEGER_DIGITS = 4300;

export class MalformedJsonError extends CodedError {
  static code = "malformed_json";
  static status = 400;
  static title = "The input is not JSON, or nests too deep";
}

/** A JSON number written with a fraction or an exponent (`1.0`, `2e3`): never an integer. */
export class JsonFloat {
  /** @param {string} text the literal as written */
  constructor(text) {
    this.text = text;
  }

  valueOf() {
    return Number(this.text);
  }

  toJSON() {
    return Number(this.text);
  }

  toString() {
    return this.text;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const PLAIN_STRING = /[^"\\\x00-\x1f]*/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Parse JSON text (a string, or UTF-8 bytes without a byte order mark).
 * @param {string | Uint8Array} data
 * @param {{maxDepth?: number, what?: string}} [options] `what` names the input in errors
 * @returns {unknown}
 * @throws {MalformedJsonError}
 */
export function parseJson(data, { maxDepth = MAX_DEPTH, what = "input" } = {}) {
  let text = data;
  if (typeof data !== "string") {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      throw new MalformedJsonError(`${what} is not valid JSON: it is not UTF-8`);
    }
  }
  return new Parser(/** @type {string} */ (text), maxDepth, what).document();
}

class Parser {
  /**
   * @param {string} text
   * @param {number} maxDepth
   * @param {string} what
   */
  constructor(text, maxDepth, what) {
    this.text = text;
    this.at = 0;
    this.depth = 0;
    this.maxDepth = maxDepth;
    this.what = what;
  }

  document() {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail("extra data after the value");
    return value;
  }

  /** @param {string} problem */
  fail(problem) {
    throw new MalformedJsonError(
      `${this.what} is not valid JSON: ${problem} at position ${this.at}`,
    );
  }

  space() {
    const { text } = this;
    while (this.at < text.length) {
      const c = text[this.at];
      if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") break;
      this.at++;
    }
  }

  /** @returns {unknown} */
  value() {
    this.space();
    const c = this.text[this.at];
    if (c === "{") return this.nested(() => this.object());
    if (c === "[") return this.nested(() => this.array());
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (this.text.startsWith(/** @type {string} */ (word), this.at)) {
        this.at += /** @type {string} */ (word).length;
        return value;
      }
    }
    return this.fail(
      c === undefined ? "unexpected end" : `unexpected character ${JSON.stringify(c)}`,
    );
  }

  /**
   * @template T
   * @param {() => T} parse
   * @returns {T}
   */
  nested(parse) {
    if (++this.depth > this.maxDepth) {
      throw new MalformedJsonError(
        `${this.what} nests arrays or objects more than ${this.maxDepth} deep`,
      );
    }
    const value = parse();
    this.depth--;
    return value;
  }

  object() {
    /** @type {Record<string, unknown>} */
    const out = {};
    this.at++; // {
    this.space();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail("expected a string key");
      const key = this.string();
      this.space();
      if (this.text[this.at] !== ":") this.fail("expected ':'");
      this.at++;
      // defineProperty: a key "__proto__" is data, not the object's prototype.
      Object.defineProperty(out, key, {
        value: this.value(),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      this.space();
      const c = this.text[this.at++];
      if (c === "}") return out;
      if (c !== ",") {
        this.at--;
        this.fail("expected ',' or '}'");
      }
    }
  }

  array() {
    /** @type {unknown[]} */
    const out = [];
    this.at++; // [
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.at++];
      if (c === "]") return out;
      if (c !== ",") {
        this.at--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  string() {
    const { text } = this;
    this.at++; // opening quote
    let out = "";
    for (;;) {
      PLAIN_STRING.lastIndex = this.at;
      PLAIN_STRING.test(text);
      out += text.slice(this.at, PLAIN_STRING.lastIndex);
      this.at = PLAIN_STRING.lastIndex;
      const c = text[this.at];
      if (c === '"') {
        this.at++;
        return out;
      }
      if (c === undefined) this.fail("unterminated string");
      if (c !== "\\") this.fail("control character in a string");
      const escape = text[this.at + 1];
      if (escape === "u") {
        const digits = text.slice(this.at + 2, this.at + 6);
        if (!HEX4.test(digits)) this.fail("bad \\u escape");
        out += String.fromCharCode(parseInt(digits, 16));
        this.at += 6;
      } else if (escape !== undefined && Object.hasOwn(ESCAPES, escape)) {
        out += ESCAPES[/** @type {keyof typeof ESCAPES} */ (escape)];
        this.at += 2;
      } else {
        this.fail("bad escape");
      }
    }
  }

  number() {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail("bad number");
    const literal = match[0];
    this.at += literal.length;
    if (match[1] !== undefined || match[2] !== undefined) return new JsonFloat(literal);
    const digits = literal.length - (literal[0] === "-" ? 1 : 0);
    if (digits > MAX_INTEGER_DIGITS) this.fail(`integer of more than ${MAX_INTEGER_DIGITS} digits`);
    const value = Number(literal);
    if (value === 0) return 0; // -0 is the integer 0, as in Python
    return Number.isSafeInteger(value) ? value : BigInt(literal);
  }
}
