// A private field's commitment as the registry checks it (docs/spec.md): 0x SHA-256(salt ‖
// UTF-8 value) with a fresh 32-byte salt, in both builds.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";

for (const [build, lib] of IMPLEMENTATIONS) {
  test(`${build}: commitText commits to salt then UTF-8 value, with a fresh salt`, () => {
    const { beside, commitment } = lib.commitText("绿色狐狸");
    assert.equal(beside.value, "绿色狐狸");
    assert.match(beside.salt, /^[0-9a-f]{64}$/);
    const expected = createHash("sha256")
      .update(Buffer.from(beside.salt, "hex"))
      .update(Buffer.from("绿色狐狸", "utf8"))
      .digest("hex");
    assert.equal(commitment, `0x${expected}`);
    assert.notEqual(lib.commitText("绿色狐狸").beside.salt, beside.salt);
  });
}
