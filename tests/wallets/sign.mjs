// Sign EIP-712 requests the way browser wallets do, with ethers v6 and with viem, from
// nothing but the types GET /v1/eip712 publishes. Reads {"eip712", "privateKey",
// "requests": [{"primaryType", "message"}]} on stdin; prints [{"ethers", "viem"}].
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { privateKeyToAccount } from "viem/accounts";

const input = JSON.parse(readFileSync(0, "utf8"));
const { domain, types } = input.eip712;
const wallet = new Wallet(input.privateKey);
const account = privateKeyToAccount(input.privateKey);
const out = [];
for (const { primaryType, message } of input.requests) {
  const own = { [primaryType]: types[primaryType] };
  // uint fields travel as JSON integers; viem wants bigints for them.
  const big = Object.fromEntries(
    types[primaryType].map(({ name, type }) => [
      name,
      type.startsWith("uint") ? BigInt(message[name]) : message[name],
    ]),
  );
  out.push({
    ethers: await wallet.signTypedData(domain, own, message),
    viem: await account.signTypedData({
      domain: { ...domain, chainId: BigInt(domain.chainId) },
      types: own,
      primaryType,
      message: big,
    }),
  });
}
console.log(JSON.stringify(out));
