#!/usr/bin/env bash
# The registry's lifecycle on a fresh SQLite file: households receive credits, trade them,
# retire some, the operator cancels a wrongly issued part, and replay proves the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
CR=".venv/bin/carbon-registry"
work="${DEMO_DIR:-.demo}"
rm -rf "$work" && mkdir -p "$work"
export CARBON_REGISTRY_DB="$work/registry.db"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A new registry (operator key generated for the demo, never committed)"
$CR init --log-id "carbon-registry.demo/shenzhen-pilot"

say "Three households and a company open accounts"
wang=$($CR keygen "$work/wang.key") ; li=$($CR keygen "$work/li.key")
chen=$($CR keygen "$work/chen.key") ; acme=$($CR keygen "$work/acme.key")
$CR accounts open "$wang" --kind household --name "Wang household" >/dev/null
$CR accounts open "$li" --kind household --name "Li household" >/dev/null
$CR accounts open "$chen" --kind household --name "Chen household" >/dev/null
$CR accounts open "$acme" --kind company --name "Acme Logistics" >/dev/null
$CR accounts list

say "An asset class: Shenzhen low-carbon transit, methodology version 1.0, vintage 2026"
CLASS=SZ_TRANSIT-1.0-2026-440300
$CR classes register --methodology SZ_TRANSIT --version 1.0 --vintage 2026 --region 440300

say "Operator-signed issuance of attested claims"
$CR issue --to "$wang" --class $CLASS --amount 12.5kg --claim-id demo-claim-wang-2026-11
$CR issue --to "$li" --class $CLASS --amount 8kg --claim-id demo-claim-li-2026-11
$CR issue --to "$chen" --class $CLASS --amount 4321 --claim-id demo-claim-chen-2026-11

say "Households sell to Acme (owner-signed EIP-712 transfers, oldest serials first)"
$CR transfer --key-file "$work/wang.key" --to "$acme" --class $CLASS --amount 10kg
$CR transfer --key-file "$work/li.key" --to "$acme" --class $CLASS --amount 6kg
$CR transfer --key-file "$work/chen.key" --to "$wang" --class $CLASS --amount 321

say "A transfer above the balance is refused and changes nothing"
$CR transfer --key-file "$work/li.key" --to "$acme" --class $CLASS --amount 1t || true

say "Acme retires 15 kg to offset its delivery fleet"
$CR retire --key-file "$work/acme.key" --class $CLASS --amount 15kg \
  --beneficiary-name "Acme Logistics" --reason "offset 2026 Q4 delivery fleet" \
  --jurisdiction CN-GD --json | tee "$work/retirement.json"
cert=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["effects"]["certificate_id"])' "$work/retirement.json")

say "The operator cancels 1 kg of Chen's batch found double-reported"
$CR cancel --holder "$chen" --class $CLASS --amount 1kg --reason "double reported trips" \
  --evidence-hash 0x$(printf 'case-2026-0042' | sha256sum | cut -d' ' -f1)

say "Balances and serial ranges"
for who in "$wang" "$li" "$chen" "$acme"; do
  echo "$who"; $CR balance "$who" | sed 's/^/  /'; $CR holdings "$who" | sed 's/^/  /'
done
$CR batches

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

say "Audit against the chain: clean"
$CR audit --rpc "$rpc"

say "Now one byte of the database changes: the retired amount 15000 becomes 95000"
.venv/bin/python - "$CARBON_REGISTRY_DB" "$retirement_seq" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(body,) = db.execute("SELECT body FROM events WHERE seq = ?", (int(sys.argv[2]),)).fetchone()
at = body.index(b'"amount":15000') + len(b'"amount":')
db.execute("UPDATE events SET body = ? WHERE seq = ?", (body[:at] + b"9" + body[at + 1:], int(sys.argv[2])))
db.commit()
print(f"byte {at} of event {sys.argv[2]}: '1' -> '9'")
PY
if $CR audit --rpc "$rpc"; then echo "tampering NOT detected"; exit 1; else echo "=> audit caught the edit"; fi
echo
echo "demo database: $CARBON_REGISTRY_DB ($($CR events --limit 1000 | wc -l) events); bundle: $work/retirement-bundle.json"
