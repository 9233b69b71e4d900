// Writes the compiled contracts the Python side deploys and calls to anchoring/artifacts/, one
// JSON file per contract with sorted keys, so that the committed files only change when the
// contracts or the compiler settings do.
//
//   npx hardhat run scripts/export-artifacts.js      (or: node scripts/export-artifacts.js)
const fs = require("node:fs");
const path = require("node:path");
const hre = require("hardhat");

/**
 * Contracts exported for Python: the anchoring contract, the token, and the plain ERC-1155 that
 * bench/gas.py compares the token's mint with.
 */
const EXPORTED_CONTRACTS = ["RegistryAnchor", "CarbonCredits", "PlainERC1155"];

const ARTIFACTS_DIR = path.join(__dirname, "..", "anchoring", "artifacts");

/** Path of the exported artifact of `contractName`. */
function exportedArtifactPath(contractName) {
  return path.join(ARTIFACTS_DIR, `${contractName}.json`);
}

/** `value` with the keys of every object sorted, recursively. */
function sortKeys(value) {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

/**
 * Text of the exported artifact of `contractName` from Hardhat's last compilation: contract name,
 * ABI, creation and runtime bytecode, the solc long version and the compiler settings (without
 * Hardhat's output selection).
 */
async function renderArtifact(contractName) {
  const artifact = await hre.artifacts.readArtifact(contractName);
  const buildInfo = await hre.artifacts.getBuildInfo(`${artifact.sourceName}:${artifact.contractName}`);
  const { outputSelection: _outputSelection, ...compilerSettings } = buildInfo.input.settings;
  const document = {
    contractName: artifact.contractName,
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    deployedBytecode: artifact.deployedBytecode,
    solcVersion: buildInfo.solcLongVersion,
    compilerSettings,
  };
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

async function main() {
  await hre.run("compile", { quiet: true });
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const contractName of EXPORTED_CONTRACTS) {
    const file = exportedArtifactPath(contractName);
    fs.writeFileSync(file, await renderArtifact(contractName));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

module.exports = { EXPORTED_CONTRACTS, exportedArtifactPath, renderArtifact };
