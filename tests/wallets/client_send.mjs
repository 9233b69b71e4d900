// Send one request with the JavaScript client (verifier-js/src/client.js) and an ethers
// wallet. Reads {"baseUrl", "privateKey", "kind", "fields", "operatorKey"} on stdin; prints
// the receipt, or {"problem"} when the registry refused it.
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { RegistryClient, RegistryProblem } from "../../verifier-js/src/index.js";

const input = JSON.parse(readFileSync(0, "utf8"));
const client = new RegistryClient(input.baseUrl, { operatorKey: input.operatorKey });
try {
  console.log(JSON.stringify(await client.send(input.kind, input.fields, new Wallet(input.privateKey))));
} catch (err) {
  if (!(err instanceof RegistryProblem)) throw err;
  console.log(JSON.stringify({ problem: err.problem, status: err.status }));
}
