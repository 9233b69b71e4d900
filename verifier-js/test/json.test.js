// parseJson: JSON from outside with bounded nesting, numbers kept as written (1.0 is no
// integer), and nothing but strict RFC 8259.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";

const VALID_TEXT = readFileSync(
  new URL("../../tests/vectors/bundles/valid.json", import.meta.url),
  "utf8",
);

for (const [label, v] of IMPLEMENTATIONS) {
  describe(`${label}: parseJson`, () => {
    test("reads the vectors as JSON.parse does", () => {
      assert.deepEqual(v.parseJson(VALID_TEXT), JSON.parse(VALID_TEXT));
      assert.deepEqual(v.parseJson(new TextEncoder().encode(VALID_TEXT)), JSON.parse(VALID_TEXT));
    });

    test("reads every JSON form", () => {
      const text =
        ' {"a": [1, 0, -12, true, false, null, "x\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"], "": {}} ';
      assert.deepEqual(v.parseJson(text), JSON.parse(text));
      assert.ok(Object.is(v.parseJson("-0"), 0), "-0 is the integer 0");
    });

    test("keeps floats apart from integers, and big integers exact", () => {
      for (const literal of ["1.0", "2e3", "-0.5", "1E+2"]) {
        const value = v.parseJson(literal);
        assert.ok(value instanceof v.JsonFloat, literal);
        assert.equal(String(value), literal);
        assert.equal(Number(value), Number(literal));
      }
      assert.equal(v.parseJson("9007199254740991"), 9007199254740991);
      assert.equal(v.parseJson("9007199254740993"), 9007199254740993n);
      assert.equal(v.parseJson("-9007199254740993"), -9007199254740993n);
      assert.throws(() => v.parseJson("1".repeat(4301)), /more than 4300 digits/);
    });

    test("a bundle integer written as 1.0 is refused, as in Python", async () => {
      const text = VALID_TEXT.replaceAll('"version": 1', '"version": 1.0');
      const report = await v.verifyBundle(v.parseJson(text).CreditsRetired, null);
      assert.deepEqual(report.checks, [
        {
          name: "format",
          ok: false,
          detail: "version: must be the integer 1",
          fields: ["version"],
        },
      ]);
      const size = v.parseJson(VALID_TEXT).CreditsRetired.checkpoint.tree_size;
      const treeSize = v.parseJson(
        VALID_TEXT.replaceAll(`"tree_size": ${size}`, `"tree_size": ${size}.0`),
      );
      assert.throws(
        () => v.parseBundle(treeSize.CreditsRetired),
        new RegExp(`^BundleFormatError: checkpoint.tree_size: must be a JSON integer, got ${size}.0$`),
      );
    });

    test("refuses nesting deeper than 64", () => {
      assert.deepEqual(v.parseJson(`${"[".repeat(64)}${"]".repeat(64)}`).length, 1);
      assert.throws(
        () => v.parseJson(`${"[".repeat(65)}${"]".repeat(65)}`),
        (err) =>
          err instanceof v.MalformedJsonError &&
          /nests arrays or objects more than 64 deep/.test(err.message),
      );
      assert.throws(() => v.parseJson(`{"a":${"[".repeat(100_000)}`), /more than 64 deep/);
      assert.throws(
        () => v.parseJson("[[[1]]]", { maxDepth: 2, what: "bundle.json" }),
        /^MalformedJsonError: bundle.json nests/,
      );
    });

    test("refuses what is not strict JSON", () => {
      const bad = [
        "",
        "{",
        "[1,]",
        "{'a':1}",
        '{"a" 1}',
        "01",
        "1.",
        ".5",
        "+1",
        "NaN",
        "Infinity",
        "-",
        "tru",
        '"\u0001"',
        '"\\x41"',
        '"\\u12"',
        "[1] x",
        '{"a":1,}',
        "\ufeff{}",
      ];
      for (const text of bad)
        assert.throws(() => v.parseJson(text), v.MalformedJsonError, JSON.stringify(text));
      assert.throws(() => v.parseJson(Uint8Array.of(0x22, 0xff, 0x22)), /not UTF-8/);
      assert.throws(
        () => v.parseJson(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d)),
        v.MalformedJsonError,
      );
    });

    test("keeps a __proto__ key as data", () => {
      const value = /** @type {any} */ (v.parseJson('{"__proto__": {"polluted": 1}}'));
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value), ["__proto__"]);
      assert.equal(/** @type {any} */ ({}).polluted, undefined);
    });
  });
}
