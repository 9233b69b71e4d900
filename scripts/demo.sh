#!/usr/bin/env bash
# The registry's lifecycle on a fresh SQLite file: people receive credits, trade them,
# retire some, the operator cancels a wrongly issued part, and replay proves the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
CR=".venv/bin/carbon-registry"
work="${DEMO_DIR:-.demo}"
rm -rf "$work" && mkdir -p "$work"
export CARBON_REGISTRY_DB="$work/registry.db"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A pilot: 8 simulated households, 5 days of trips, electricity and recycling from 8 platforms"
$CR simulate --households 8 --days 5 --seed 7 --keys-dir "$work/keys"

say "The people's side: merchants' offers, redeemed with credits of any platform, and a community"
$CR offers list
$CR communities list
$CR communities show "$($CR communities list --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"

say "Asset classes and batches (issued = active + retired + cancelled + locked)"
$CR classes list
$CR batches | sed -n 1,12p

# Whoever of the households and their members holds the most active grams in one class (a
# claim's credits go to its own account: a member's to the member) sells to a company,
# which retires them.
read -r seller CLASS grams < <(.venv/bin/python - "$work/keys" <<'PY'
import json, subprocess, sys
from pathlib import Path
best = (0, "", "")
for key in sorted(Path(sys.argv[1]).glob("household-*.key")):
    address = json.loads(key.read_text())["address"]
    rows = json.loads(subprocess.run([".venv/bin/carbon-registry", "balance", address, "--json"],
                                     capture_output=True, text=True, check=True).stdout)
    for row in rows:
        best = max(best, (row["active"], str(key), row["asset_class"]))
print(best[1], best[2], best[0])
PY
)
seller_address=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$seller")
acme=$($CR keygen "$work/acme.key")
$CR accounts open "$acme" --kind company --name "Acme Logistics" >/dev/null
say "Account $seller_address holds $grams g of $CLASS; it sells two thirds to Acme Logistics"
$CR holdings "$seller_address"
sold=$((grams * 2 / 3))
$CR transfer --key-file "$seller" --to "$acme" --class "$CLASS" --amount "$sold"

say "A transfer above the balance is refused and changes nothing"
$CR transfer --key-file "$seller" --to "$acme" --class "$CLASS" --amount 1t || true

say "Acme retires what it bought, to offset its delivery fleet"
$CR retire --key-file "$work/acme.key" --class "$CLASS" --amount "$sold" \
  --beneficiary-name "Acme Logistics" --reason "offset 2026 Q4 delivery fleet" \
  --jurisdiction CN-GD --json | tee "$work/retirement.json"
cert=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["effects"]["certificate_id"])' "$work/retirement.json")

say "Balances and serial ranges"
for who in "$seller_address" "$acme"; do
  echo "$who"; $CR balance "$who" | sed 's/^/  /'; $CR holdings "$who" | sed 's/^/  /'
done

say "Retirement certificate $cert"
$CR certificate "$cert"

say "Replay: rebuild every table from the event log alone"
$CR replay

say "Anchoring: RFC 9162 Merkle log, operator-signed checkpoint, anchored on the embedded chain"
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rpc="http://127.0.0.1:$port"
$CR anchor --max-age 1 --confirmations 2 --rpc-port "$port" >"$work/anchor.log" 2>&1 &
anchor_pid=$!
trap 'kill $anchor_pid 2>/dev/null || true' EXIT
retirement_seq=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$work/retirement.json")
$CR proof "$retirement_seq" --wait 60 -o "$work/retirement-bundle.json"
$CR checkpoints
sed 's/^/  worker: /' "$work/anchor.log"

say "The standalone verifier checks the retirement with only the bundle file and the chain RPC"
(cd /tmp && "$OLDPWD/$CR" verify "$OLDPWD/$work/retirement-bundle.json" --rpc "$rpc" --confirmations 2)

say "Restart: the anchoring process is killed (SIGKILL) and started again on the same port"
kill -9 "$anchor_pid"; wait "$anchor_pid" 2>/dev/null || true
$CR anchor --max-age 1 --confirmations 2 --rpc-port "$port" >>"$work/anchor.log" 2>&1 &
anchor_pid=$!
.venv/bin/python - "$rpc" <<'PY'
import json, sys, time, urllib.request
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
for _ in range(600):
    try:
        request = urllib.request.Request(sys.argv[1], body, {"Content-Type": "application/json"})
        head = int(json.load(urllib.request.urlopen(request, timeout=2))["result"], 16)
        print(f"the chain is back at {sys.argv[1]} with its {head} blocks (kept in the .chain file)")
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the restarted chain did not answer")
PY
say "The bundle exported before the kill still verifies at the same URL"
(cd /tmp && "$OLDPWD/$CR" verify "$OLDPWD/$work/retirement-bundle.json" --rpc "$rpc" --confirmations 2)

say "Bridge out: the seller locks 1 kg for a chain wallet; anyone mints it with the lock's proof"
wallet=$($CR keygen "$work/wallet.key"); buyer=$($CR keygen "$work/buyer.key")
$CR fund "$wallet" --rpc "$rpc" >/dev/null; $CR fund "$buyer" --rpc "$rpc" >/dev/null
lock_seq=$($CR lock --key-file "$seller" --class "$CLASS" --amount 1kg --recipient "$wallet" --json \
  | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
$CR proof "$lock_seq" --wait 60 -o "$work/lock-bundle.json"
$CR token mint "$work/lock-bundle.json" --rpc "$rpc" --key-file "$work/buyer.key"
$CR token balance "$wallet" --rpc "$rpc" --class "$CLASS"

say "On chain: the wallet sells 400 g to a buyer, who retires 250 g for its beneficiary"
$CR token transfer --rpc "$rpc" --key-file "$work/wallet.key" --to "$buyer" --class "$CLASS" --amount 400
$CR token retire --rpc "$rpc" --key-file "$work/buyer.key" --class "$CLASS" --amount 250 \
  --beneficiary-name "Li Wei" --reason "offset 2026 flights"

say "The worker records the on-chain retirement in the registry, which anchors it in turn"
chain_seq=$(.venv/bin/python - <<'PY'
import json, subprocess, time
for _ in range(240):
    out = subprocess.run([".venv/bin/carbon-registry", "events", "--limit", "100000"], capture_output=True, text=True, check=True).stdout
    found = [json.loads(line)["seq"] for line in out.splitlines() if '"type":"CreditsRetiredOnChain"' in line]
    if found:
        print(found[0]); break
    time.sleep(0.25)
PY
)
$CR proof "$chain_seq" --wait 60 -o "$work/chain-retirement-bundle.json"
$CR certificate "$(printf 'CERT-%010d' "$chain_seq")"
(cd /tmp && "$OLDPWD/$CR" verify "$OLDPWD/$work/chain-retirement-bundle.json" --rpc "$rpc" --confirmations 2)

say "Proof of reserve: tokens on chain = grams locked in the anchored log"
$CR verify-reserve --rpc "$rpc"

say "Audit against the chain: clean"
$CR audit --rpc "$rpc"

say "Now one byte of the database changes: the first digit of the retired amount"
.venv/bin/python - "$CARBON_REGISTRY_DB" "$retirement_seq" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
seq = int(sys.argv[2])
(body,) = db.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
at = body.index(b'"amount":') + len(b'"amount":')
new = b"9" if body[at:at + 1] != b"9" else b"8"
db.execute("UPDATE events SET body = ? WHERE seq = ?", (body[:at] + new + body[at + 1:], seq))
db.commit()
print(f"byte {at} of event {seq}: {body[at:at + 1].decode()!r} -> {new.decode()!r}")
PY
if $CR audit --rpc "$rpc"; then echo "tampering NOT detected"; exit 1; else echo "=> audit caught the edit"; fi
echo
echo "demo database: $CARBON_REGISTRY_DB ($($CR events --limit 1000 | wc -l) events); bundle: $work/retirement-bundle.json"
