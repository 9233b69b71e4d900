// Consistency bundles and retirement certificates, made from the bundle vectors (see
// test-support/documents.js): they verify, and every change to a consistency bundle is
// refused with its field named.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { covered, mutations } from "../test-support/bundle_mutations.js";
import { transport } from "../test-support/chain_snapshot.js";
import { certificateDocument, consistencyBundle } from "../test-support/documents.js";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { BUNDLE_CHECKS, CHAIN, TRUST, VALID } from "../test-support/vectors.js";

const ON_CHAIN = BUNDLE_CHECKS.slice(4); // chain ... confirmations

for (const [label, v] of IMPLEMENTATIONS) {
  const rpc = new v.Rpc(transport(CHAIN));
  const trust = v.TrustAnchor.fromJson(TRUST);
  const failures = (/** @type {{checks: any[]}} */ report) => report.checks.filter((c) => !c.ok);

  describe(`${label}: consistency bundles`, () => {
    test("the newest tree extends the oldest: every check of both ends passes", async () => {
      const bundle = consistencyBundle();
      const report = await v.verifyConsistency(bundle, rpc, { trust });
      assert.deepEqual(failures(report), []);
      assert.equal(report.verified, true);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        ["format", "consistency", "trust", "old signature", ...ON_CHAIN].concat([
          "trust",
          "new signature",
          ...ON_CHAIN,
        ]),
      );
      const [from, to] = [bundle.old.checkpoint.tree_size, bundle.new.checkpoint.tree_size];
      assert.equal(
        report.checks[1].detail,
        `tree ${to} extends tree ${from} (${bundle.proof.length} hashes)`,
      );
      assert.deepEqual(report.checks[5].fields, [
        "old.checkpoint.signer",
        "old.anchor.block_number",
      ]);
    });

    test("without a chain each end says it was not checked", async () => {
      const report = await v.verifyConsistency(consistencyBundle(), null);
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.ok]),
        [
          ["format", true],
          ["consistency", true],
          ["old signature", true],
          ["chain", false],
          ["new signature", true],
          ["chain", false],
        ],
      );
    });

    test("the ends swapped are refused naming both tree sizes", async () => {
      const bundle = consistencyBundle();
      const report = await v.verifyConsistency(
        { ...bundle, old: bundle.new, new: bundle.old },
        rpc,
      );
      assert.deepEqual(report.checks, [
        {
          name: "format",
          ok: false,
          detail: "new.checkpoint.tree_size: is smaller than the old tree size",
          fields: ["new.checkpoint.tree_size", "old.checkpoint.tree_size"],
        },
      ]);
    });

    test("every change to every field is refused with that field named", async () => {
      let cases = 0;
      for (const [what, field, changed] of mutations(consistencyBundle())) {
        const report = await v.verifyConsistency(changed, rpc, { trust });
        assert.equal(report.verified, false, `${field}: ${what}`);
        assert.ok(
          failures(report).some((c) => covered(field, c.fields)),
          `${field}: ${what}: ${JSON.stringify(failures(report))}`,
        );
        cases++;
      }
      assert.ok(cases > 100, `only ${cases} cases`);
    });
  });

  describe(`${label}: retirement certificates`, () => {
    const types = /** @type {const} */ (["CreditsRetired", "CreditsRetiredOnChain", "OfferRedeemed"]);
    for (const type of types) {
      test(`a certificate of ${type} verifies with its bundle`, async () => {
        const report = await v.verifyCertificate(certificateDocument(type), rpc, { trust });
        assert.deepEqual(failures(report), []);
        assert.deepEqual(
          report.checks.map((c) => c.name),
          [...BUNDLE_CHECKS, "certificate"],
        );
      });
    }

    test("a certificate that says other than its event fails the certificate check", async () => {
      for (const [key, value] of Object.entries({
        certificate_id: "CERT-0000000001",
        seq: 14,
        amount: 1501,
        asset_class: "OTHER",
        owner: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      })) {
        const document = certificateDocument("CreditsRetired");
        const want = /** @type {any} */ (document.certificate)[key];
        document.certificate = { ...document.certificate, [key]: value };
        const report = await v.verifyCertificate(document, rpc, { trust });
        assert.deepEqual(failures(report), [
          {
            name: "certificate",
            ok: false,
            detail: `certificate.${key} is ${JSON.stringify(value)}, its event says ${JSON.stringify(want)}`,
            fields: ["certificate"],
          },
        ]);
      }
    });

    test("the bundle of another event is no certificate", async () => {
      const document = { ...certificateDocument("CreditsRetired"), bundle: VALID.CreditsIssued };
      const report = await v.verifyCertificate(document, rpc, { trust });
      assert.deepEqual(
        failures(report).map((c) => c.detail),
        ["the bundle's event is not a retirement"],
      );
    });

    test("a retirement event without request or effects fails, without throwing", async () => {
      const document = certificateDocument("CreditsRetired");
      const event = { ...document.bundle.event, payload: {} };
      const report = await v.verifyCertificate(
        { ...document, bundle: { ...document.bundle, event } },
        rpc,
      );
      assert.deepEqual(
        failures(report).map((c) => c.name),
        ["inclusion", "certificate"],
      );
    });

    test("a document neither served nor {certificate, bundle} fails the format check", async () => {
      for (const document of [
        null,
        [],
        { bundle: VALID.CreditsRetired },
        { ...certificateDocument("CreditsRetired"), proof: {} },
      ]) {
        const report = await v.verifyCertificate(document, rpc);
        assert.deepEqual(report.checks, [
          {
            name: "format",
            ok: false,
            detail:
              "a certificate is the API's (its bundle in `proof`) or a document {certificate, bundle}",
            fields: [""],
          },
        ]);
      }
    });

    test("a malformed bundle fails its format check and no certificate check runs", async () => {
      const document = certificateDocument("CreditsRetired");
      const report = await v.verifyCertificate(
        { ...document, bundle: { ...document.bundle, version: 2 } },
        rpc,
      );
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.ok]),
        [["format", false]],
      );
    });
  });
}
