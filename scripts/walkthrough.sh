#!/usr/bin/env bash
# The identity walkthrough: an authority and a hospital in temporary data directories.
# init → trust list → issue (with status) → verify → store → present → revoke → verify (rejected).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p symbolon-connector --bin symbolon
bin="${CARGO_TARGET_DIR:-target}/debug/symbolon"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "symbolon init (authority and hospital)"
authority=$("$bin" init --data-dir "$work/authority")
hospital=$("$bin" init --data-dir "$work/hospital")
echo "authority: $authority"
echo "hospital:  $hospital"

step "symbolon serve (the authority publishes its status lists)"
"$bin" serve --data-dir "$work/authority" --http 127.0.0.1:0 > "$work/serve.log" &
server=$!
for _ in $(seq 50); do grep -q '^listening on ' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.log")
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

step "symbolon credential revoke"
"$bin" credential revoke --data-dir "$work/authority" "$work/membership.jwt"

step "symbolon credential verify (now rejected)"
if "$bin" credential verify "$work/membership.jwt"; then
  echo "error: a revoked credential verified" >&2
  exit 1
fi
echo "walkthrough complete: the revoked credential was rejected, as it should be"
