// What the chain says when it does not back the bundle: another chain, a reset, a reorg,
// a revoked signer, a reverted or missing transaction, and RPC errors, each explained in
// the failing check, as the Python verifier explains them.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { transport } from "../test-support/chain_snapshot.js";
import { IMPLEMENTATIONS } from "../test-support/implementations.js";
import { CHAIN, TRUST, VALID } from "../test-support/vectors.js";

const BUNDLE = VALID.CreditsRetired;
const TX = BUNDLE.anchor.tx_hash;
// The vectors are regenerated now and then: every expected message is built from them.
const BLOCK = BUNDLE.anchor.block_number;
const SIZE = BUNDLE.inclusion.tree_size;
const CHAIN_ID = TRUST.chain_id;
const SIGNER = TRUST.signers[0];
const SIZES = Object.keys(CHAIN.roots).map(Number);
const LATEST = Math.max(...SIZES);

/**
 * The recorded chain with `change` made to a copy of it.
 * @param {(chain: any) => void} change
 */
function chainWith(change) {
  const chain = structuredClone(CHAIN);
  change(chain);
  return chain;
}

/** @type {[string, (chain: any) => void, string, string][]} */
const CHAINS = [
  [
    "another chain id",
    (c) => (c.chain_id = 1),
    "chain",
    `the RPC serves chain 1, the bundle names chain ${CHAIN_ID}: another chain`,
  ],
  [
    "no contract code",
    (c) => (c.code = {}),
    "chain",
    `no contract at ${TRUST.contract} on chain ${CHAIN_ID}: the chain was reset, or this is` +
      " another chain with the same id",
  ],
  [
    "a signer granted the role later",
    (c) => (c.anchorers[0].from_block = BLOCK + 1),
    "signer role",
    `${SIGNER} did not hold ANCHORER_ROLE at block ${BLOCK}`,
  ],
  [
    "a root never anchored",
    (c) => (c.roots = {}),
    "root on chain",
    `the contract stores ${"00".repeat(32)} for tree size ${SIZE}: never anchored`,
  ],
  [
    "a reverted transaction",
    (c) => (c.receipts[TX].status = "0x0"),
    "transaction",
    "the anchor transaction reverted",
  ],
  [
    "a transaction moved to another block",
    (c) => (c.receipts[TX].blockNumber = `0x${(BLOCK + 1).toString(16)}`),
    "transaction",
    `the transaction is in block ${BLOCK + 1}, the bundle says ${BLOCK}: a reorg moved it`,
  ],
  [
    "a block replaced",
    (c) => (c.receipts[TX].blockHash = `0x${"ab".repeat(32)}`),
    "transaction",
    `block ${BLOCK} now has hash 0x${"ab".repeat(32)}, the bundle names ${BUNDLE.anchor.block_hash}:` +
      " a reorg replaced the block",
  ],
  [
    "no Anchored event",
    (c) => (c.receipts[TX].logs = []),
    "transaction",
    `the transaction logged no Anchored event for size ${SIZE}`,
  ],
  [
    "an Anchored event with another checkpoint hash",
    (c) => (c.receipts[TX].logs[0].data = c.receipts[TX].logs[0].data.slice(0, -2) + "00"),
    "transaction",
    "the Anchored event names another root or checkpoint hash",
  ],
  [
    "a transaction dropped by a reorg",
    (c) => {
      delete c.receipts[TX];
      c.blocks[String(BLOCK)] = `0x${"cd".repeat(32)}`;
    },
    "transaction",
    `transaction ${TX} not found: block ${BLOCK} now has another hash, so a reorg dropped the anchor` +
      " (or the chain was reset)",
  ],
  [
    "a chain reset below the anchor",
    (c) => {
      delete c.receipts[TX];
      c.head = 2;
    },
    "transaction",
    `transaction ${TX} not found and the chain's head (2) is below block ${BLOCK}: the chain was` +
      " reset, or this is another chain",
  ],
  [
    "a transaction missing from an unchanged block",
    (c) => delete c.receipts[TX],
    "transaction",
    `transaction ${TX} not found although block ${BLOCK} is unchanged`,
  ],
];

for (const [label, v] of IMPLEMENTATIONS) {
  const trust = v.TrustAnchor.fromJson(TRUST);
  /** @param {any} rpc */
  const failures = async (rpc) =>
    (await v.verifyBundle(BUNDLE, rpc, { trust })).checks.filter((c) => !c.ok);

  describe(`${label}: a chain that does not back the bundle`, () => {
    for (const [what, change, name, detail] of CHAINS) {
      test(`${what} fails the ${name} check, saying why`, async () => {
        const found = await failures(new v.Rpc(transport(chainWith(change))));
        assert.deepEqual(
          found.map((c) => [c.name, c.detail]),
          [[name, detail]],
        );
      });
    }

    test("an RPC error answer fails the check that asked, with the error", async () => {
      const answer = transport(CHAIN);
      const rpc = new v.Rpc((/** @type {any} */ request) =>
        request.method === "eth_getCode"
          ? { jsonrpc: "2.0", id: request.id, error: { code: -32000, message: "header not found" } }
          : answer(request),
      );
      assert.deepEqual(
        (await failures(rpc)).map((c) => [c.name, c.detail]),
        [["chain", "eth_getCode: header not found"]],
      );
    });

    test("a transport that throws or answers nonsense fails the checks, never the caller", async () => {
      const broken = [
        () => {
          throw new Error("socket hang up");
        },
        async () => "not an object",
        () => ({ jsonrpc: "2.0", id: 1 }),
        () => ({ jsonrpc: "2.0", id: 1, result: "0xnot hex" }),
      ];
      for (const transportFn of broken) {
        const [failure] = await failures(new v.Rpc(transportFn));
        assert.equal(failure.name, "chain");
        assert.match(failure.detail, /^eth_chainId: /);
      }
    });

    test("Rpc reads the anchoring contract: rootAt, latest, hasRole", async () => {
      const rpc = new v.Rpc(transport(CHAIN));
      const contract = TRUST.contract;
      const root = await rpc.rootAt(contract, LATEST);
      assert.equal(Buffer.from(root).toString("hex"), CHAIN.roots[String(LATEST)].slice(2));
      const latest = await rpc.latest(contract);
      assert.equal(latest.treeSize, BigInt(LATEST));
      assert.deepEqual(latest.root, root);
      const granted = CHAIN.anchorers[0].from_block;
      assert.equal(await rpc.isAnchorer(contract, SIGNER, granted), true);
      assert.equal(await rpc.isAnchorer(contract, SIGNER, granted - 1), false);
      assert.equal(await rpc.isAnchorer(contract, contract), false);
      assert.equal(await rpc.blockHash(99), null);
      assert.equal(await rpc.receipt(new Uint8Array(32)), null);
    });
  });
}
