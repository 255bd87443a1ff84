#!/usr/bin/env bash
# The walkthrough: an authority, a hospital and an insurer in temporary data directories.
# init → trust list → issue (with status) → verify → store → present → publish an offer →
# negotiate a contract (Dataspace Protocol) → revoke → verify (rejected).
# Every `serve` it starts is stopped when it ends, and it fails if one is still running.
# SYMBOLON_BIN names a built `symbolon` to use instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${SYMBOLON_BIN:-}" ]; then
  bin="$SYMBOLON_BIN"
else
  echo "building symbolon (the first build takes a while: about 15 minutes on 2 cores)"
  cargo build -p symbolon-connector --bin symbolon
  bin="${CARGO_TARGET_DIR:-target}/debug/symbolon"
fi
work=$(mktemp -d)
servers=()

# Stops every server this script started, and fails if one survives.
cleanup() {
  local status=$? pid left=()
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
  if [ "${#left[@]}" -gt 0 ]; then
    echo "error: servers ${left[*]} were still running 10 s after being stopped" >&2
    exit 1
  fi
  echo "stopped servers: ${servers[*]}"
  exit "$status"
}
trap cleanup EXIT

# Starts `symbolon serve` on a data dir and sets `served` to the URL it listens on. (Not run
# in a command substitution: a subshell would keep the server's PID from `servers`.)
serve() {
  "$bin" serve --data-dir "$work/$1" --http 127.0.0.1:0 --allow-private-callbacks > "$work/$1.log" 2>&1 &
  servers+=("$!")
  for _ in $(seq 100); do grep -q '^listening on ' "$work/$1.log" 2>/dev/null && break; sleep 0.1; done
  served=$(sed -n 's/^listening on //p' "$work/$1.log" | head -n 1)
  if [ -z "$served" ]; then
    echo "error: \`symbolon serve\` on $1 did not start:" >&2
    cat "$work/$1.log" >&2
    exit 1
  fi
}

step() { printf '\n== %s\n' "$*"; }

step "symbolon init (authority and hospital)"
authority=$("$bin" init --data-dir "$work/authority")
hospital=$("$bin" init --data-dir "$work/hospital")
echo "authority: $authority"
echo "hospital:  $hospital"

step "symbolon serve (the authority publishes its status lists)"
serve authority
url=$served
echo "authority serves at $url"

step "symbolon trust-list issue / install"
"$bin" trust-list issue --data-dir "$work/authority" --data-space health-data-space-nl \
  --entry "$authority=DataSpaceMembershipCredential" > "$work/trust.jwt"
"$bin" trust-list install --data-dir "$work/hospital" "$work/trust.jwt"

step "symbolon credential issue --status"
"$bin" credential issue --data-dir "$work/authority" --type DataSpaceMembershipCredential \
  --subject "$hospital" --status \
  --claims '{"legalName":"Example Hospital","registrationNumber":"KvK-0001","role":"Hospital","dataSpaceId":"health-data-space-nl"}' \
  > "$work/membership.jwt"
cut -c1-80 "$work/membership.jwt"

step "symbolon credential verify"
"$bin" credential verify --trust-list "$work/trust.jwt" "$work/membership.jwt"

step "symbolon credential store / list (the hospital's wallet)"
"$bin" credential store --data-dir "$work/hospital" "$work/membership.jwt"
"$bin" credential list --data-dir "$work/hospital"

step "symbolon presentation create / verify"
"$bin" presentation create --data-dir "$work/hospital" --nonce n-42 --audience "$authority" > "$work/vp.jwt"
"$bin" presentation verify --nonce n-42 --audience "$authority" --trust-list "$work/trust.jwt" "$work/vp.jwt"

step "symbolon offer create (an insurer publishes ward statistics for hospitals)"
"$bin" init --data-dir "$work/insurer" > /dev/null
"$bin" trust-list install --data-dir "$work/insurer" "$work/trust.jwt"
serve insurer
insurer_url=$served
serve hospital
hospital_url=$served
cat > "$work/offer.policy" <<'POLICY'
policy "ward-statistics" {
  permit use on offer "ward-statistics"
  when holder.role in ["Hospital", "StatisticsBureau"] and holder.member_of == "health-data-space-nl"
  obligation delete_after { days = 30 }
}
POLICY
"$bin" offer create --data-dir "$work/insurer" --id ward-statistics --title "Ward statistics" \
  --policy "$work/offer.policy"
"$bin" offer list --data-dir "$work/insurer"

step "symbolon negotiate (the hospital, over the Dataspace Protocol) / agreements"
"$bin" negotiate --data-dir "$work/hospital" --provider "$insurer_url/dsp/2025-1" --offer ward-statistics
"$bin" agreements --data-dir "$work/hospital"
echo "(hospital at $hospital_url, insurer at $insurer_url)"

step "symbolon credential revoke"
"$bin" credential revoke --data-dir "$work/authority" "$work/membership.jwt"

step "symbolon credential verify (now rejected)"
if "$bin" credential verify --trust-list "$work/trust.jwt" "$work/membership.jwt" 2> "$work/rejected.txt"; then
  echo "error: a revoked credential verified" >&2
  exit 1
fi
cat "$work/rejected.txt"
if ! grep -q revoked "$work/rejected.txt"; then
  echo "error: the credential was rejected, but not as revoked" >&2
  exit 1
fi
echo "walkthrough complete: a contract was agreed, and the revoked credential was rejected, as it should be"
