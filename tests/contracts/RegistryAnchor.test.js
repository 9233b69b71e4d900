const fs = require("node:fs");
const path = require("node:path");
const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const {
  LeafTree,
  SparseTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  rootOf,
} = require("./helpers/merkle");

const VECTORS_DIR = path.join(__dirname, "..", "vectors", "merkle");
const TAMPER_MUTATIONS = [
  "inclusion_proof_hash_flipped",
  "inclusion_index_changed",
  "inclusion_size_changed",
  "inclusion_leaf_changed",
  "inclusion_root_changed",
  "inclusion_proof_too_long",
  "inclusion_proof_too_short",
  "consistency_proof_hash_flipped",
  "consistency_size1_changed",
  "consistency_size2_changed",
  "consistency_root1_changed",
  "consistency_root2_changed",
  "consistency_proof_too_long",
  "consistency_proof_too_short",
  "consistency_from_empty_tree",
];
// Anchoring budget per transaction (bench target), for proofs of 10^3-, 10^6- and 10^9-leaf trees.
const ANCHOR_GAS_BUDGET = 85_000n;

const readVectors = (file) => JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, file), "utf8"));
const checkpointHashOf = (size) => ethers.id(`checkpoint ${size}`);
const flipFirstByte = (hash) =>
  `0x${(parseInt(hash.slice(2, 4), 16) ^ 0xff).toString(16).padStart(2, "0")}${hash.slice(4)}`;

/** Whether the contract accepts an inclusion case: no revert, and the proof leads to its root. */
async function inclusionAccepted(registry, c) {
  try {
    return (await registry.rootFromInclusionProof(c.tree_size, c.index, c.leaf_hash, c.proof)) === c.root;
  } catch (error) {
    expect(registry.interface.parseError(error.data)?.name).to.equal("RegistryAnchorInvalidInclusionProof");
    return false;
  }
}

/** Whether the contract accepts a consistency case. */
const consistencyAccepted = (registry, c) =>
  registry.verifyConsistency(c.size1, c.size2, c.root1, c.root2, c.proof);

/** Name of the custom error of `contract` a transaction reverted with. */
async function revertedErrorName(contract, transaction) {
  try {
    await transaction;
  } catch (error) {
    return contract.interface.parseError(error.data).name;
  }
  throw new Error("transaction did not revert");
}

describe("RegistryAnchor", function () {
  async function deployFixture() {
    const [admin, anchorer, other] = await ethers.getSigners();
    const registry = await ethers.deployContract("RegistryAnchor", [admin.address, anchorer.address]);
    const tree = LeafTree.ofSize(64);
    return { registry, admin, anchorer, other, tree };
  }

  /** Anchors `sizes` in order, each with the consistency proof from the previous one. */
  async function anchorChain(registry, anchorer, tree, sizes) {
    let previous = 0;
    for (const size of sizes) {
      const proof = previous === 0 ? [] : consistencyProof(tree, previous, size);
      await registry.connect(anchorer).anchor(size, rootOf(tree, size), checkpointHashOf(size), proof);
      previous = size;
    }
  }

  async function anchoredFixture() {
    const fixture = await deployFixture();
    await anchorChain(fixture.registry, fixture.anchorer, fixture.tree, [5, 8]);
    return fixture;
  }

  describe("deployment and roles", function () {
    it("grants the admin and anchorer roles", async function () {
      const { registry, admin, anchorer, other } = await loadFixture(deployFixture);
      const anchorerRole = await registry.ANCHORER_ROLE();
      expect(anchorerRole).to.equal(ethers.id("ANCHORER_ROLE"));
      expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await registry.hasRole(anchorerRole, anchorer.address)).to.equal(true);
      expect(await registry.hasRole(anchorerRole, admin.address)).to.equal(false);
      expect(await registry.hasRole(anchorerRole, other.address)).to.equal(false);
    });

    it("rejects a zero admin or anchorer", async function () {
      const [admin] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("RegistryAnchor");
      await expect(factory.deploy(ethers.ZeroAddress, admin.address)).to.be.revertedWithCustomError(
        factory,
        "RegistryAnchorZeroAddress",
      );
      await expect(factory.deploy(admin.address, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "RegistryAnchorZeroAddress",
      );
    });

    it("rejects anchors from accounts without the anchorer role, the admin included", async function () {
      const { registry, admin, other, tree } = await loadFixture(deployFixture);
      const anchorerRole = await registry.ANCHORER_ROLE();
      for (const account of [admin, other]) {
        await expect(registry.connect(account).anchor(3, rootOf(tree, 3), checkpointHashOf(3), []))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, anchorerRole);
      }
    });

    it("lets the admin grant and revoke the anchorer role", async function () {
      const { registry, admin, other, tree } = await loadFixture(deployFixture);
      const anchorerRole = await registry.ANCHORER_ROLE();
      await registry.connect(admin).grantRole(anchorerRole, other.address);
      await registry.connect(other).anchor(3, rootOf(tree, 3), checkpointHashOf(3), []);
      await registry.connect(admin).revokeRole(anchorerRole, other.address);
      await expect(
        registry.connect(other).anchor(4, rootOf(tree, 4), checkpointHashOf(4), consistencyProof(tree, 3, 4)),
      )
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(other.address, anchorerRole);
    });

    it("refuses the latest anchor's account once it renounces the role", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      const anchorerRole = await registry.ANCHORER_ROLE();
      await registry.connect(anchorer).anchor(3, rootOf(tree, 3), checkpointHashOf(3), []);
      await registry.connect(anchorer).renounceRole(anchorerRole, anchorer.address);
      await expect(
        registry.connect(anchorer).anchor(4, rootOf(tree, 4), checkpointHashOf(4), consistencyProof(tree, 3, 4)),
      )
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(anchorer.address, anchorerRole);
      expect(await registry.latest()).to.deep.equal([3n, rootOf(tree, 3)]);
    });

    it("keeps the latest anchor's account when another one loses the role, and takes it back after", async function () {
      const { registry, admin, anchorer, other, tree } = await loadFixture(deployFixture);
      const anchorerRole = await registry.ANCHORER_ROLE();
      await registry.connect(admin).grantRole(anchorerRole, other.address);
      await registry.connect(anchorer).anchor(3, rootOf(tree, 3), checkpointHashOf(3), []);
      await registry.connect(admin).revokeRole(anchorerRole, other.address);
      await registry.connect(anchorer).anchor(4, rootOf(tree, 4), checkpointHashOf(4), consistencyProof(tree, 3, 4));
      await registry.connect(admin).revokeRole(anchorerRole, anchorer.address);
      await registry.connect(admin).grantRole(anchorerRole, anchorer.address);
      await registry.connect(anchorer).anchor(5, rootOf(tree, 5), checkpointHashOf(5), consistencyProof(tree, 4, 5));
      expect(await registry.latest()).to.deep.equal([5n, rootOf(tree, 5)]);
    });

    it("does not let the anchorer grant roles", async function () {
      const { registry, anchorer, other } = await loadFixture(deployFixture);
      await expect(registry.connect(anchorer).grantRole(await registry.ANCHORER_ROLE(), other.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(anchorer.address, await registry.DEFAULT_ADMIN_ROLE());
    });
  });

  describe("anchor", function () {
    it("starts empty", async function () {
      const { registry } = await loadFixture(deployFixture);
      const [treeSize, root] = await registry.latest();
      expect(treeSize).to.equal(0n);
      expect(root).to.equal(ethers.ZeroHash);
      expect(await registry.rootAt(0)).to.equal(ethers.ZeroHash);
    });

    it("accepts a first anchor with an empty proof and emits Anchored", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      const root = rootOf(tree, 5);
      await expect(registry.connect(anchorer).anchor(5, root, checkpointHashOf(5), []))
        .to.emit(registry, "Anchored")
        .withArgs(5, root, checkpointHashOf(5));
      expect(await registry.rootAt(5)).to.equal(root);
      expect(await registry.latest()).to.deep.equal([5n, root]);
    });

    it("rejects a first anchor with a non-empty proof", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      await expect(registry.connect(anchorer).anchor(5, rootOf(tree, 5), checkpointHashOf(5), [rootOf(tree, 1)]))
        .to.be.revertedWithCustomError(registry, "RegistryAnchorInvalidProof")
        .withArgs(0, 5, 1);
    });

    it("rejects a zero tree size and a zero root", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      await expect(registry.connect(anchorer).anchor(0, rootOf(tree, 1), checkpointHashOf(0), []))
        .to.be.revertedWithCustomError(registry, "RegistryAnchorSizeNotIncreasing")
        .withArgs(0, 0);
      await expect(
        registry.connect(anchorer).anchor(1, ethers.ZeroHash, checkpointHashOf(1), []),
      ).to.be.revertedWithCustomError(registry, "RegistryAnchorZeroRoot");
    });

    it("chains anchors with consistency proofs", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      const sizes = [1, 2, 3, 7, 8, 13, 16, 17, 40, 64];
      await anchorChain(registry, anchorer, tree, sizes);
      for (const size of sizes) {
        expect(await registry.rootAt(size)).to.equal(rootOf(tree, size));
      }
      expect(await registry.rootAt(4)).to.equal(ethers.ZeroHash);
      expect(await registry.latest()).to.deep.equal([64n, rootOf(tree, 64)]);
    });

    it("emits Anchored with the size, root and checkpoint hash of a later anchor", async function () {
      const { registry, anchorer, tree } = await loadFixture(anchoredFixture);
      const root = rootOf(tree, 13);
      await expect(registry.connect(anchorer).anchor(13, root, checkpointHashOf(13), consistencyProof(tree, 8, 13)))
        .to.emit(registry, "Anchored")
        .withArgs(13, root, checkpointHashOf(13));
      expect(await registry.latest()).to.deep.equal([13n, root]);
      expect(await registry.rootAt(8)).to.equal(rootOf(tree, 8));
    });

    it("rejects an equal or smaller tree size", async function () {
      const { registry, anchorer, tree } = await loadFixture(anchoredFixture);
      for (const size of [8, 7, 5, 1]) {
        await expect(registry.connect(anchorer).anchor(size, rootOf(tree, size), checkpointHashOf(size), []))
          .to.be.revertedWithCustomError(registry, "RegistryAnchorSizeNotIncreasing")
          .withArgs(8, size);
      }
    });

    it("rejects a root the proof does not lead to", async function () {
      const { registry, anchorer, tree } = await loadFixture(anchoredFixture);
      const forged = LeafTree.ofSize(13);
      forged.leafHashes[12] = leafHash("forged");
      const forgedRoot = rootOf(forged, 13);
      await expect(
        registry.connect(anchorer).anchor(13, forgedRoot, checkpointHashOf(13), consistencyProof(tree, 8, 13)),
      )
        .to.be.revertedWithCustomError(registry, "RegistryAnchorInconsistentRoot")
        .withArgs(forgedRoot, rootOf(tree, 13));
    });

    it("rejects a rewritten history even with its own well-formed proof", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      const rewritten = LeafTree.ofSize(13);
      rewritten.leafHashes[2] = leafHash("rewritten");
      const anchorRewrittenFrom = (previous) =>
        registry
          .connect(anchorer)
          .anchor(13, rootOf(rewritten, 13), checkpointHashOf(13), consistencyProof(rewritten, previous, 13));
      // From a size that is not a power of two, the proof fails to rebuild the anchored root.
      await anchorChain(registry, anchorer, tree, [6]);
      await expect(anchorRewrittenFrom(6))
        .to.be.revertedWithCustomError(registry, "RegistryAnchorInvalidProof")
        .withArgs(6, 13, 4);
      // From a power of two, the proof starts from the anchored root and leads to the true new root.
      await registry.connect(anchorer).anchor(8, rootOf(tree, 8), checkpointHashOf(8), consistencyProof(tree, 6, 8));
      await expect(anchorRewrittenFrom(8))
        .to.be.revertedWithCustomError(registry, "RegistryAnchorInconsistentRoot")
        .withArgs(rootOf(rewritten, 13), rootOf(tree, 13));
      expect(await registry.latest()).to.deep.equal([8n, rootOf(tree, 8)]);
    });

    it("rejects a first tree size beyond 64 bits", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      const tooLarge = 2n ** 64n;
      await expect(registry.connect(anchorer).anchor(tooLarge, rootOf(tree, 1), checkpointHashOf(0), []))
        .to.be.revertedWithCustomError(registry, "RegistryAnchorTreeSizeTooLarge")
        .withArgs(tooLarge);
      await registry.connect(anchorer).anchor(tooLarge - 1n, rootOf(tree, 1), checkpointHashOf(0), []);
      expect((await registry.latest())[0]).to.equal(tooLarge - 1n);
    });

    it("rejects malformed proofs", async function () {
      const { registry, anchorer, tree } = await loadFixture(anchoredFixture);
      const root = rootOf(tree, 13);
      const proof = consistencyProof(tree, 8, 13);
      const malformed = [[], proof.slice(1), proof.slice(0, -1), [...proof, proof[0]], consistencyProof(tree, 7, 13)];
      for (const bad of malformed) {
        await expect(registry.connect(anchorer).anchor(13, root, checkpointHashOf(13), bad))
          .to.be.revertedWithCustomError(registry, "RegistryAnchorInvalidProof")
          .withArgs(8, 13, bad.length);
      }
    });

    it("rejects a proof with any hash flipped", async function () {
      const { registry, anchorer, tree } = await loadFixture(deployFixture);
      await anchorChain(registry, anchorer, tree, [6]);
      const root = rootOf(tree, 13);
      const proof = consistencyProof(tree, 6, 13);
      const errors = new Set();
      for (let i = 0; i < proof.length; i += 1) {
        const bad = proof.with(i, flipFirstByte(proof[i]));
        const anchoring = registry.connect(anchorer).anchor(13, root, checkpointHashOf(13), bad);
        errors.add(await revertedErrorName(registry, anchoring));
      }
      // Hashes that rebuild the old root make an invalid proof; the others lead to another new root.
      expect([...errors].sort()).to.deep.equal(["RegistryAnchorInconsistentRoot", "RegistryAnchorInvalidProof"]);
    });
  });

  describe("verifyInclusion", function () {
    it("verifies every leaf of an anchored tree", async function () {
      const { registry, tree } = await loadFixture(anchoredFixture);
      for (const size of [5, 8]) {
        for (let index = 0; index < size; index += 1) {
          const proof = inclusionProof(tree, index, size);
          expect(await registry.verifyInclusion(size, index, tree.leafHashes[index], proof)).to.equal(true);
        }
      }
    });

    it("returns false for bad proofs and unknown sizes without reverting", async function () {
      const { registry, tree } = await loadFixture(anchoredFixture);
      const proof = inclusionProof(tree, 3, 8);
      const leaf = tree.leafHashes[3];
      expect(await registry.verifyInclusion(8, 3, leaf, proof)).to.equal(true);
      expect(await registry.verifyInclusion(7, 3, leaf, inclusionProof(tree, 3, 7))).to.equal(false);
      expect(await registry.verifyInclusion(8, 2, leaf, proof)).to.equal(false);
      expect(await registry.verifyInclusion(8, 3, tree.leafHashes[2], proof)).to.equal(false);
      expect(await registry.verifyInclusion(8, 3, leaf, proof.with(1, flipFirstByte(proof[1])))).to.equal(false);
      expect(await registry.verifyInclusion(8, 3, leaf, proof.slice(0, -1))).to.equal(false);
      expect(await registry.verifyInclusion(8, 3, leaf, [...proof, proof[0]])).to.equal(false);
      expect(await registry.verifyInclusion(8, 8, leaf, proof)).to.equal(false);
      expect(await registry.verifyInclusion(5, 3, leaf, proof)).to.equal(false);
    });
  });

  describe("rootFromInclusionProof and verifyConsistency", function () {
    it("compute roots of trees that were never anchored", async function () {
      const { registry, tree } = await loadFixture(deployFixture);
      for (const [index, size] of [[0, 1], [6, 7], [12, 13], [63, 64]]) {
        expect(
          await registry.rootFromInclusionProof(size, index, tree.leafHashes[index], inclusionProof(tree, index, size)),
        ).to.equal(rootOf(tree, size));
      }
    });

    it("reject an index outside the tree, a tree beyond 64 bits or a proof of the wrong length", async function () {
      const { registry, tree } = await loadFixture(deployFixture);
      const proof = inclusionProof(tree, 2, 7);
      const tooLarge = 2n ** 64n;
      const cases = [
        [7, 7, proof],
        [7, 2, proof.slice(1)],
        [7, 2, [...proof, proof[0]]],
        [0, 0, []],
        [tooLarge, tooLarge - 1n, Array(64).fill(proof[0])],
      ];
      for (const [size, index, bad] of cases) {
        await expect(registry.rootFromInclusionProof(size, index, tree.leafHashes[2], bad))
          .to.be.revertedWithCustomError(registry, "RegistryAnchorInvalidInclusionProof")
          .withArgs(size, index, bad.length);
      }
    });

    it("accept valid consistency proofs and reject impossible sizes", async function () {
      const { registry, tree } = await loadFixture(deployFixture);
      const [r3, r7] = [rootOf(tree, 3), rootOf(tree, 7)];
      expect(await registry.verifyConsistency(3, 7, r3, r7, consistencyProof(tree, 3, 7))).to.equal(true);
      expect(await registry.verifyConsistency(4, 7, rootOf(tree, 4), r7, consistencyProof(tree, 4, 7))).to.equal(true);
      expect(await registry.verifyConsistency(7, 7, r7, r7, [])).to.equal(true);
      expect(await registry.verifyConsistency(7, 7, r7, r3, [])).to.equal(false);
      expect(await registry.verifyConsistency(7, 7, r7, r7, [r7])).to.equal(false);
      expect(await registry.verifyConsistency(7, 3, r7, r3, consistencyProof(tree, 3, 7))).to.equal(false);
      expect(await registry.verifyConsistency(0, 7, ethers.ZeroHash, r7, [])).to.equal(false);
      expect(await registry.verifyConsistency(0, 7, ethers.ZeroHash, r7, [r7])).to.equal(false);
      const tooLarge = 2n ** 64n;
      expect(await registry.verifyConsistency(tooLarge, tooLarge, r7, r7, [])).to.equal(false);
      expect(await registry.verifyConsistency(tooLarge - 1n, tooLarge, r7, r7, [r7])).to.equal(false);
    });
  });

  describe("shared Merkle vectors (tests/vectors/merkle)", function () {
    it("JS reference roots agree with the vectors", async function () {
      const { cases } = readVectors("consistency.json");
      const tree = LeafTree.ofSize(64);
      for (const c of cases) {
        expect(rootOf(tree, c.size2)).to.equal(c.root2);
      }
    });

    it("verifies every inclusion case", async function () {
      const { registry } = await loadFixture(deployFixture);
      const { cases } = readVectors("inclusion.json");
      expect(cases.length).to.be.greaterThan(2000);
      for (const c of cases) {
        expect(c.valid).to.equal(true);
        expect(await inclusionAccepted(registry, c), JSON.stringify(c)).to.equal(true);
      }
    });

    it("verifies every consistency case", async function () {
      const { registry } = await loadFixture(deployFixture);
      const { cases } = readVectors("consistency.json");
      expect(cases.length).to.be.greaterThan(2000);
      for (const c of cases) {
        expect(c.valid).to.equal(true);
        expect(await consistencyAccepted(registry, c), JSON.stringify(c)).to.equal(true);
      }
    });

    it("anchors sizes 1..64 with the vector proofs, then verifies inclusion in the anchored trees", async function () {
      const { registry, anchorer } = await loadFixture(deployFixture);
      const steps = readVectors("consistency.json")
        .cases.filter((c) => c.size2 === c.size1 + 1)
        .sort((a, b) => a.size1 - b.size1);
      expect(steps.map((c) => c.size1)).to.deep.equal(Array.from({ length: 63 }, (_, i) => i + 1));
      await registry.connect(anchorer).anchor(1, steps[0].root1, checkpointHashOf(1), []);
      for (const c of steps) {
        await registry.connect(anchorer).anchor(c.size2, c.root2, checkpointHashOf(c.size2), c.proof);
      }
      expect((await registry.latest())[0]).to.equal(64n);
      const { cases } = readVectors("inclusion.json");
      for (const c of cases.filter((c) => c.tree_size <= 64)) {
        const verified = await registry.verifyInclusion(c.tree_size, c.index, c.leaf_hash, c.proof);
        expect(verified, JSON.stringify(c)).to.equal(true);
      }
    });

    it("has a tamper file for every mutation and no other", function () {
      const files = fs.readdirSync(path.join(VECTORS_DIR, "tamper")).sort();
      expect(files).to.deep.equal(TAMPER_MUTATIONS.map((m) => `${m}.json`).sort());
    });

    for (const mutation of TAMPER_MUTATIONS) {
      it(`rejects every ${mutation} case`, async function () {
        const { registry } = await loadFixture(deployFixture);
        const vectors = readVectors(path.join("tamper", `${mutation}.json`));
        expect(vectors.mutation).to.equal(mutation);
        expect(vectors.cases).to.not.be.empty;
        for (const c of vectors.cases) {
          expect(c.valid).to.equal(false);
          expect(c.kind).to.be.oneOf(["inclusion", "consistency"]);
          const accepted =
            c.kind === "inclusion" ? await inclusionAccepted(registry, c) : await consistencyAccepted(registry, c);
          expect(accepted, JSON.stringify(c)).to.equal(false);
        }
      });
    }
  });

  describe("gas", function () {
    /**
     * Number of hashes of a consistency proof from `size1` that are left siblings, in both trees, and
     * so are hashed twice: the 1 bits of `size1 - 1` above its trailing 1s.
     */
    function leftSiblingCount(size1) {
      let path = BigInt(size1 - 1);
      while (path & 1n) {
        path >>= 1n;
      }
      return path.toString(2).split("").filter((bit) => bit === "1").length;
    }

    /** Gas used by a transaction calling `method`. */
    async function gasOf(method, ...args) {
      return (await (await method.send(...args)).wait()).gasUsed;
    }

    /**
     * Gas of a view called in a transaction, without Prague's calldata floor (EIP-7623), which
     * dominates such small transactions: 21,000 + calldata + execution.
     */
    async function viewGasOf(method, ...args) {
      const tx = await method.send(...args);
      await tx.wait();
      const { structLogs } = await network.provider.send("debug_traceTransaction", [
        tx.hash,
        { disableMemory: true, disableStack: true, disableStorage: true },
      ]);
      const last = structLogs[structLogs.length - 1];
      const execution = structLogs[0].gas - (last.gas - last.gasCost);
      const calldata = [...ethers.getBytes(tx.data)].reduce((sum, byte) => sum + (byte === 0 ? 4 : 16), 0);
      return 21_000 + calldata + execution;
    }

    // [old size, new size, gas ceiling]: proofs of about 10, 20 and 30 hashes for 10^3-, 10^6- and
    // 10^9-leaf trees. The target is 85,000 gas per anchor; 30-hash proofs with many left siblings
    // (two hashes each) exceed it, their ceilings only guard against regressions.
    const ANCHOR_CASES = [
      [999, 1_000, ANCHOR_GAS_BUDGET],
      [900, 1_000, ANCHOR_GAS_BUDGET],
      [999_000, 1_000_000, ANCHOR_GAS_BUDGET],
      [123_456, 1_000_000, ANCHOR_GAS_BUDGET],
      [999_999_000, 1_000_000_000, ANCHOR_GAS_BUDGET],
      [900_000_000, 1_000_000_000, ANCHOR_GAS_BUDGET],
      [987_654_321, 1_000_000_000, 85_500n],
      [536_870_911, 1_000_000_000, 89_000n],
    ];

    for (const [size1, size2, ceiling] of ANCHOR_CASES) {
      it(`anchors ${size1} -> ${size2} within ${ceiling} gas`, async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        const tree = new SparseTree([size1, size2]);
        await registry.connect(anchorer).anchor(size1, rootOf(tree, size1), checkpointHashOf(size1), []);
        const proof = consistencyProof(tree, size1, size2);
        const [root1, root2] = [rootOf(tree, size1), rootOf(tree, size2)];
        const verifyGas = await viewGasOf(registry.verifyConsistency, size1, size2, root1, root2, proof);
        const anchorGas = await gasOf(registry.connect(anchorer).anchor, size2, root2, checkpointHashOf(size2), proof);
        const leftSiblings = leftSiblingCount(size1);
        console.log(
          `      anchor ${size1} -> ${size2}: ${proof.length} hashes (${leftSiblings} hashed twice): ` +
            `${anchorGas} gas; verifyConsistency: ${verifyGas} gas`,
        );
        expect(await registry.rootAt(size2)).to.equal(root2);
        expect(anchorGas).to.be.at.most(ceiling);
      });
    }

    it("reports the first anchor and verifyInclusion in a 10^9-leaf tree", async function () {
      const { registry, anchorer } = await loadFixture(deployFixture);
      const size = 1_000_000_000;
      const indexes = [0, 123_456_789, 999_999_999];
      const tree = new SparseTree([size, ...indexes, ...indexes.map((i) => i + 1)]);
      const root = rootOf(tree, size);
      const anchorGas = await gasOf(registry.connect(anchorer).anchor, size, root, checkpointHashOf(size), []);
      console.log(`      first anchor: ${anchorGas} gas`);
      for (const index of indexes) {
        const proof = inclusionProof(tree, index, size);
        const leaf = tree.range(index, index + 1);
        expect(await registry.verifyInclusion(size, index, leaf, proof)).to.equal(true);
        const gas = await viewGasOf(registry.verifyInclusion, size, index, leaf, proof);
        console.log(`      verifyInclusion of leaf ${index}: ${proof.length} hashes, ${gas} gas`);
      }
    });
  });
});
