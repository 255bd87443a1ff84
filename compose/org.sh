#!/usr/bin/env bash
# One organisation of the data space on its own host: its connector, from an empty data
# directory to `symbolon serve` over HTTPS under its host name. compose.yaml runs it as each
# organisation's service, scripts/netns.sh in each organisation's network namespace.
#
#   org.sh serve    init the data directory if it is empty, then serve (and stay in front)
#   org.sh health   exit 0 once the connector answers over HTTPS with the local CA's trust
#
# Environment:
#   ORG_NAME   the organisation and its host name (e.g. `hospital`); required
#   ORG_DID    `did:web:<host>%3A<port>`, or `key` for a did:key connector; required
#   ORG_P2P    `yes`: join the peer network as soon as the wallet holds a membership (the
#              peer network needs one at start, so `serve` is then started again with
#              `--p2p`); `no` (default) serves HTTPS only
#   SPACE      where the data directories are: the organisation's is $SPACE/$ORG_NAME
#   SHARED     what the hosts share: pki/ (the local CA and each host's certificate, from
#              pki.sh) and peers/ (each peer's address on the peer network, written here)
#   ORG_DISCOVERY  how a peer finds the others on the peer network: `bootstrap` (default:
#              dial the addresses the peers before it wrote to peers/) or `mdns` (multicast
#              DNS on the host's network, which a bridge carries; nothing is read from peers/)
#   SYMBOLON   the `symbolon` binary (default: `symbolon` on PATH)
#   PORT       HTTPS port (8443), P2P_PORT peer network port (9443)
set -Eeuo pipefail

mode=${1:-serve}
: "${ORG_NAME:?org.sh needs ORG_NAME, the organisation (its host name)}"
: "${ORG_DID:?org.sh needs ORG_DID: did:web:<host>%3A<port>, or key}"
: "${SPACE:?org.sh needs SPACE, the folder of the data directories}"
: "${SHARED:?org.sh needs SHARED, the folder with pki/ and peers/}"
ORG_P2P=${ORG_P2P:-no}
ORG_DISCOVERY=${ORG_DISCOVERY:-bootstrap}
SYMBOLON=${SYMBOLON:-symbolon}
PORT=${PORT:-8443}
P2P_PORT=${P2P_PORT:-9443}

dir=$SPACE/$ORG_NAME
pki=$SHARED/pki
url=https://$ORG_NAME:$PORT
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$ORG_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# A command that fails where none may (set -e) stops the script: say where, so that a host
# that stops is never silent.
trap 'log "error: stopped at line $LINENO (exit status $?)"' ERR
case $ORG_DISCOVERY in bootstrap | mdns) ;; *) die "ORG_DISCOVERY is \`$ORG_DISCOVERY\`: bootstrap or mdns" ;; esac

command -v "$SYMBOLON" > /dev/null || die "no \`$SYMBOLON\` binary (set SYMBOLON to the built one)"
for file in "$pki/ca.crt" "$pki/$ORG_NAME.crt" "$pki/$ORG_NAME.key"; do
  [ -s "$file" ] || die "missing $file: run \`pki.sh $pki $ORG_NAME\` first"
done
# Every outgoing HTTPS call (DID documents, status lists, protocol messages, the CLI's calls
# to this connector) trusts the data space's local CA.
export SSL_CERT_FILE=$pki/ca.crt

if [ "$mode" = health ]; then
  command -v curl > /dev/null || die "the health check needs \`curl\`, which is not on PATH"
  curl -fsS --max-time 5 --cacert "$pki/ca.crt" "$url/.well-known/dspace-version" > /dev/null
  if [ "$ORG_DID" != key ]; then
    # A did:web organisation is healthy once its DID document resolves over HTTPS.
    "$SYMBOLON" did resolve "$ORG_DID" > /dev/null
  fi
  exit 0
fi
[ "$mode" = serve ] || die "unknown mode \`$mode\` (serve or health)"

if [ ! -e "$dir/admin.token" ]; then
  mkdir -p "$dir"
  if [ "$ORG_DID" = key ]; then
    did=$("$SYMBOLON" init --data-dir "$dir")
  else
    did=$("$SYMBOLON" init --data-dir "$dir" --did-web "$ORG_DID")
  fi
  log "initialised $dir as $did"
fi

serve_args=(serve --data-dir "$dir" --http "0.0.0.0:$PORT" --public-url "$url"
  --tls-cert "$pki/$ORG_NAME.crt" --tls-key "$pki/$ORG_NAME.key"
  # The hosts are on a private network: reach private addresses (callbacks, DID documents,
  # status lists), which the connector refuses by default.
  --allow-private-callbacks
  # A revocation is seen at the next check.
  --status-cache-seconds 0)
if [ "$ORG_DID" != key ]; then
  # A did:web connector presents its credentials by the Decentralized Claims Protocol: the
  # provider finds its Credential Service in its DID document and queries it over HTTPS.
  serve_args+=(--presentations dcp)
fi

child=
# Stops the running `serve`: on TERM or INT (exit 0), and whenever this script exits, so that
# no connector outlives it.
stop_child() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2> /dev/null || true
    wait "$child" 2> /dev/null || true
    child=
  fi
}
trap 'stop_child; exit 0' TERM INT
trap stop_child EXIT

# Each `serve` logs to $dir/serve.log; the one before to serve.previous.log.
rotate_log() {
  if [ -e "$dir/serve.log" ]; then mv "$dir/serve.log" "$dir/serve.previous.log"; fi
}

# Whether the wallet holds a membership (asked of the running connector).
has_membership() {
  "$SYMBOLON" credential list --data-dir "$dir" 2> /dev/null | grep -q DataSpaceMembershipCredential
}

if [ "$ORG_P2P" = yes ] && ! has_membership; then
  # Serve HTTPS only until the authority has issued the membership, then serve again on the
  # peer network too.
  rotate_log
  "$SYMBOLON" "${serve_args[@]}" > "$dir/serve.log" 2>&1 &
  child=$!
  log "serving $url (pid $child); joins the peer network once it holds a membership"
  # Ask only once serve holds the store: before, the command line would open the store itself,
  # and serve could not.
  until grep -q '^listening on ' "$dir/serve.log" 2> /dev/null; do
    kill -0 "$child" 2> /dev/null || { cat "$dir/serve.log" >&2; die "serve stopped"; }
    sleep 0.2
  done
  until has_membership; do
    kill -0 "$child" 2> /dev/null || { cat "$dir/serve.log" >&2; die "serve stopped"; }
    sleep 1
  done
  log "membership held: serving again on the peer network"
  kill -TERM "$child"
  wait "$child" || true
  child=
fi

if [ "$ORG_P2P" = yes ]; then
  mkdir -p "$SHARED/peers"
  serve_args+=(--p2p "/ip4/0.0.0.0/tcp/$P2P_PORT")
  if [ "$ORG_DISCOVERY" = bootstrap ]; then
    # Bootstrap from every peer already on the network (their addresses in $SHARED/peers).
    serve_args+=(--no-mdns)
    for peer in "$SHARED"/peers/*; do
      [ -e "$peer" ] || continue
      [ "$(basename "$peer")" = "$ORG_NAME" ] && continue
      serve_args+=(--bootstrap "$(cat "$peer")")
    done
  fi
fi

rotate_log
# The log exists before `tee` opens it, so that it can be read from the first moment.
: > "$dir/serve.log"
"$SYMBOLON" "${serve_args[@]}" > >(tee -a "$dir/serve.log") 2>&1 &
child=$!
log "serving $url (pid $child)"
[ "$ORG_P2P" != yes ] || log "finds its peers by $ORG_DISCOVERY"
if [ "$ORG_P2P" = yes ]; then
  # Publish this peer's address: its host's address and the PeerId serve printed.
  for _ in $(seq 300); do
    peer_id=$(sed -n 's|^listening on /.*/p2p/\(12D3Koo[1-9A-HJ-NP-Za-km-z]*\)$|\1|p' "$dir/serve.log" | tail -n 1) || true
    [ -n "$peer_id" ] && break
    kill -0 "$child" 2> /dev/null || die "serve stopped: $(tail -n 5 "$dir/serve.log")"
    sleep 0.2
  done
  [ -n "$peer_id" ] || die "serve printed no peer network address in 60 s"
  address=$(getent hosts "$ORG_NAME" | awk '{print $1; exit}' || true)
  [ -n "$address" ] || die "the host name $ORG_NAME does not resolve"
  echo "/ip4/$address/tcp/$P2P_PORT/p2p/$peer_id" > "$SHARED/peers/$ORG_NAME.tmp"
  mv "$SHARED/peers/$ORG_NAME.tmp" "$SHARED/peers/$ORG_NAME"
  log "on the peer network as /ip4/$address/tcp/$P2P_PORT/p2p/$peer_id"
fi
wait "$child"
