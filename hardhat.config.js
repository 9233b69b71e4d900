// Hardhat configuration of the Carbon Registry contracts.
//
// The build must work offline: instead of downloading solc, Hardhat uses the
// solc-js build of the pinned `solc` npm package (package.json).
require("@nomicfoundation/hardhat-chai-matchers");
require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-network-helpers");

const { subtask, task } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.28";

// Start of the chain of `hardhat test`. The contract tests mint the locks of
// tests/vectors/locks.json, whose signed requests expire on 2026-01-02T00:00:00Z and which
// CarbonCredits mints only until MINT_WINDOW (7 days) later: the test chain starts the day
// before, whatever the wall clock says, and the tests move it forward with `time`. Other tasks
// (`hardhat node` for the Python integration tests) keep the wall clock.
const TEST_CHAIN_START = "2026-01-01T00:00:00Z";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, _hre, runSuper) => {
  if (solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  // Loaded lazily: soljson.js is large and only needed when something is compiled.
  const solc = require("solc");
  // solc-js reports e.g. "0.8.28+commit.7893614a.Emscripten.clang"; the platform suffix is
  // not part of the long version recorded by Hardhat's compiler list.
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`installed solc is ${longVersion}, expected ${SOLC_VERSION}`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion,
  };
});

task(TASK_TEST, async (args, hre, runSuper) => {
  // Read when the in-process network is first used, which is after this point.
  hre.config.networks.hardhat.initialDate = TEST_CHAIN_START;
  return runSuper(args);
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Tuned for the gas of `anchor` (the via-IR pipeline is also needed for RFC9162's stack):
      // 1,000,000 runs saves ~20 gas an anchor over 200.
      optimizer: { enabled: true, runs: 1_000_000 },
      viaIR: true,
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "contracts",
    tests: "tests/contracts",
    cache: ".hardhat/cache",
    artifacts: ".hardhat/artifacts",
  },
  networks: {
    hardhat: {
      chainId: 31337,
      // Same fork as the embedded chain (eth-tester's py-evm backend), so gas figures agree.
      hardfork: "prague",
    },
  },
};
