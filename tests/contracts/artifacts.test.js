// The artifacts committed in anchoring/artifacts/ must be those of the current sources: the
// `hardhat test` task compiles first, and this compares with that fresh compilation.
// After changing a contract: npx hardhat run scripts/export-artifacts.js
const fs = require("node:fs");
const { expect } = require("chai");
const { EXPORTED_CONTRACTS, exportedArtifactPath, renderArtifact } = require("../../scripts/export-artifacts");

describe("exported artifacts (anchoring/artifacts)", function () {
  for (const contractName of EXPORTED_CONTRACTS) {
    it(`${contractName}.json matches a fresh compilation`, async function () {
      const committed = JSON.parse(fs.readFileSync(exportedArtifactPath(contractName), "utf8"));
      const fresh = JSON.parse(await renderArtifact(contractName));
      expect(committed.abi, "abi").to.deep.equal(fresh.abi);
      expect(committed.bytecode, "bytecode").to.equal(fresh.bytecode);
      expect(committed.deployedBytecode, "deployedBytecode").to.equal(fresh.deployedBytecode);
      expect(committed, "whole artifact").to.deep.equal(fresh);
    });
  }
});
