// The verifier on the shared bundle vectors, as tests/test_bundle_vectors.py runs them in
// Python: bundles of every event type verify, a pending bundle never does, and every
// tamper vector fails with a failing check that names its field.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { covered } from "../test-support/bundle_mutations.js";
import { transport } from "../test-support/chain_snapshot.js";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { BUNDLE_CHECKS, CHAIN, PENDING, TAMPER, TRUST, VALID } from "../test-support/vectors.js";

const OTHER_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

for (const [label, v] of IMPLEMENTATIONS) {
  describe(`${label}: the shared bundle vectors`, () => {
    const rpc = new v.Rpc(transport(CHAIN));
    const trust = v.TrustAnchor.fromJson(TRUST);
    /** @param {unknown} bundle */
    const check = (bundle, anchor = trust) => v.verifyBundle(bundle, rpc, { trust: anchor });
    const failures = (/** @type {{checks: any[]}} */ report) => report.checks.filter((c) => !c.ok);

    for (const type of Object.keys(VALID).sort()) {
      test(`a bundle of ${type} verifies, every check in order`, async () => {
        const report = await check(VALID[type]);
        assert.deepEqual(failures(report), []);
        assert.equal(report.verified, true);
        assert.deepEqual(
          report.checks.map((c) => c.name),
          BUNDLE_CHECKS,
        );
      });
    }

    test("every event type has a vector", () => {
      assert.deepEqual(Object.keys(VALID).sort(), [
        "AccountOpened",
        "ActivitiesSubmitted",
        "AssetClassRegistered",
        "ClaimReversed",
        "ClaimsAttested",
        "CommunityJoined",
        "CommunityLeft",
        "CreditsCancelled",
        "CreditsIssued",
        "CreditsLocked",
        "CreditsMinted",
        "CreditsRetired",
        "CreditsRetiredOnChain",
        "CreditsReturned",
        "CreditsTransferred",
        "IssuanceRun",
        "LockReleased",
        "OfferPublished",
        "OfferRedeemed",
        "OfferWithdrawn",
        "RegistryOpened",
        "RoleGranted",
        "RoleRevoked",
      ]);
    });

    test("a pending bundle is well-formed but never verified", async () => {
      const report = await check(PENDING);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        ["format", "anchored"],
      );
      assert.equal(report.verified, false);
      assert.match(report.checks[1].detail, /^not anchored yet \(awaiting_checkpoint\)/);
    });

    describe("every tamper vector fails naming its field", () => {
      for (const { name, field, bundle } of TAMPER) {
        test(name, async () => {
          const report = await check(bundle);
          assert.equal(report.verified, false);
          const named = failures(report).filter((c) => covered(field, c.fields));
          assert.ok(named.length > 0, JSON.stringify(failures(report)));
        });
      }
    });

    const anchorChanges = [
      [{ logId: "another.registry/log" }, "checkpoint.log_id"],
      [{ chainId: 1 }, "anchor.chain_id"],
      [{ contract: OTHER_ADDRESS }, "anchor.contract"],
      [{ signers: [OTHER_ADDRESS] }, "checkpoint.signer"],
    ];
    for (const [change, named] of anchorChanges) {
      test(`a bundle whose ${named} the trust anchor does not pin fails the trust check`, async () => {
        const other = new v.TrustAnchor({ ...trust, ...change });
        const report = await check(VALID.CreditsRetired, other);
        assert.deepEqual(
          failures(report).map((c) => c.name),
          ["trust"],
        );
        assert.ok(failures(report)[0].detail.includes(named), failures(report)[0].detail);
      });
    }

    test("without a trust anchor the trust check is left out", async () => {
      const report = await v.verifyBundle(VALID.CreditsRetired, rpc);
      assert.equal(report.verified, true);
      assert.ok(!report.checks.some((c) => c.name === "trust"));
    });

    test("without a chain nothing is verified", async () => {
      const report = await v.verifyBundle(VALID.CreditsRetired, null, { trust });
      assert.deepEqual(
        failures(report).map((c) => c.name),
        ["chain"],
      );
      assert.ok(report.checks.slice(0, -1).every((c) => c.ok));
    });

    test("a demand for more confirmations than the chain has fails the last check", async () => {
      const depth = CHAIN.head - VALID.CreditsRetired.anchor.block_number + 1;
      const report = await v.verifyBundle(VALID.CreditsRetired, rpc, {
        trust,
        minConfirmations: depth + 1,
      });
      assert.deepEqual(failures(report), [
        {
          name: "confirmations",
          ok: false,
          detail: `${depth} confirmation(s), ${depth + 1} needed`,
          fields: ["anchor.block_number"],
        },
      ]);
    });

    test("the trust anchor file is read strictly, naming the field", () => {
      assert.deepEqual(v.TrustAnchor.fromJson(TRUST).toJson(), TRUST);
      for (const [change, field] of [
        [{ chain_id: "1" }, "trust.chain_id"],
        [{ contract: OTHER_ADDRESS.toLowerCase() }, "trust.contract"],
        [{ signers: null }, "trust.signers"],
        [{ signers: ["0x12"] }, "trust.signers[0]"],
        [{ other: 1 }, "trust.other"],
      ]) {
        assert.throws(
          () => v.TrustAnchor.fromJson({ ...TRUST, ...change }),
          (err) => err instanceof v.BundleFormatError && err.field === field,
        );
      }
    });
  });
}
