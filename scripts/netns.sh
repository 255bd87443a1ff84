#!/usr/bin/env bash
# The data space across hosts: each organisation of compose/cast.txt in its own network
# namespace with its own address on a bridge, its connector run by compose/org.sh (the same
# entrypoint as compose.yaml's services) serving HTTPS under its host name with a certificate
# of a local CA (compose/pki.sh), the authority, the trial sponsor and the auditor as did:web,
# the peers on the peer network finding each other by multicast DNS across the bridge (no
# bootstrap address; DISCOVERY=bootstrap gives them the addresses instead). Then, from a
# namespace of its own, compose/scenarios.sh runs the scenarios across the bridge; then a study
# session is started and the hospital's cable is pulled (its bridge port set down) while the
# session runs, and the script checks that the session ends, failed with a reason, on every
# party — the hospital included, asked inside its own namespace.
#
#   scripts/netns.sh [--keep DIR]    DIR keeps the data directories, logs and results
#
# Needs root (network namespaces, a bridge, veth pairs), `ip` (iproute2), openssl, curl, jq;
# it fails, naming what is missing, when one is not there. SYMBOLON_BIN names a built
# `symbolon` to use instead of building one. Everything it creates is named `sy-…` and removed
# when it ends, also on failure: namespaces, the bridge, veth pairs, /etc/netns/sy-*.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

die() { echo "error: $*" >&2; exit 1; }
keep=
case ${1:-} in
  --keep) keep=${2:?--keep needs a directory} ;;
  "") ;;
  *) die "usage: scripts/netns.sh [--keep DIR]" ;;
esac

[ "$(id -u)" = 0 ] || die "scripts/netns.sh needs root: it creates network namespaces, a bridge and veth pairs"
for tool in ip openssl curl jq getent awk; do
  command -v "$tool" > /dev/null || die "scripts/netns.sh needs \`$tool\`, which is not on PATH"
done
probe=sy-probe-$$
if ! error=$(ip netns add "$probe" 2>&1); then
  die "network namespaces are not available here (\`ip netns add\` said: $error): the script needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN and a kernel with network namespaces"
fi
ip netns del "$probe"
if ! error=$(ip link add sy-probe$$ type bridge 2>&1); then
  die "cannot create a bridge (\`ip link add type bridge\` said: $error)"
fi
ip link del "sy-probe$$"
left=$(ip netns list | awk '$1 ~ /^sy-/ {print $1}')
[ -z "$left" ] || die "namespaces of an earlier run are still there: $(echo $left); remove them with \`ip netns del NAME\`"

if [ -n "${SYMBOLON_BIN:-}" ]; then
  bin=$SYMBOLON_BIN
else
  echo "building symbolon (the first build takes a while: about 15 minutes on 2 cores)"
  # The whole workspace's binaries (`.ci/run` passes the one `cargo test --workspace` built as
  # SYMBOLON_BIN instead: the tests' build unifies features with the dev-dependencies).
  cargo build --workspace --bins --locked
  bin=${CARGO_TARGET_DIR:-$repo/target}/debug/symbolon
fi
[ -x "$bin" ] || die "no symbolon binary at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

if [ -n "$keep" ]; then
  [ ! -e "$keep" ] || die "$keep exists: --keep needs a new directory"
  mkdir -p "$keep"
  work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d /tmp/symbolon-netns.XXXXXX)
fi
space=$work/space
shared=$work/shared
logs=$work/logs
times=$work/times.tsv
mkdir -p "$space" "$shared" "$logs"
: > "$times"

mapfile -t cast < <(grep -v '^[[:space:]]*\(#\|$\)' compose/cast.txt)
names=()
for line in "${cast[@]}"; do names+=("$(awk '{print $1}' <<< "$line")"); done
bridge=sy-br0
subnet=10.77.19
scenarios_ns=sy-scenarios
namespaces=()
veths=()
pids=()

# Stops every connector, removes every namespace, veth and the bridge, and fails if a process
# survived.
cleanup() {
  local status=$? pid ns i running=() survivors=() stopped=()
  trap - EXIT INT TERM
  # Hosts whose connector had stopped on its own before this cleanup.
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2> /dev/null || stopped+=("${names[$i]}")
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do
      running+=("$pid")
      kill -TERM "$pid" 2> /dev/null || true
    done
  done
  for pid in "${pids[@]}" "${running[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  done
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do
      survivors+=("$pid")
      kill -KILL "$pid" 2> /dev/null || true
    done
    ip netns del "$ns" 2> /dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  for veth in "${veths[@]}"; do ip link del "$veth" 2> /dev/null || true; done
  ip link del "$bridge" 2> /dev/null || true
  if [ "$status" != 0 ]; then
    echo "failed (exit $status); the connectors' logs:" >&2
    if [ "${#stopped[@]}" -gt 0 ]; then
      echo "these hosts' connectors had stopped before the failure: ${stopped[*]}" >&2
    fi
    for name in "${names[@]}"; do
      echo "--- $name (last 15 lines)" >&2
      tail -n 15 "$logs/$name.log" >&2 2> /dev/null || true
    done
  fi
  if [ -z "$keep" ]; then rm -rf "$work"; else echo "kept: $work"; fi
  if [ "${#survivors[@]}" -gt 0 ]; then
    echo "error: processes ${survivors[*]} were still running in the namespaces 10 s after being stopped" >&2
    exit 1
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
began=$(now)

# The network: a bridge, and per host a namespace with a veth pair, an address and a hosts
# file naming every organisation (`ip netns exec` puts /etc/netns/NS/hosts over /etc/hosts).
t=$(now)
ip link add "$bridge" type bridge
ip link set "$bridge" up
hosts="127.0.0.1 localhost"$'\n'
for i in "${!names[@]}"; do hosts+="$subnet.$((10 + i)) ${names[$i]}"$'\n'; done
add_host() {
  local ns=$1 address=$2 index=$3
  ip netns add "$ns"
  namespaces+=("$ns")
  ip link add "sy-v$index" type veth peer name "sy-p$index"
  veths+=("sy-v$index")
  ip link set "sy-p$index" netns "$ns"
  ip -n "$ns" link set "sy-p$index" name eth0
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip link set "sy-v$index" master "$bridge"
  ip link set "sy-v$index" up
  mkdir -p "/etc/netns/$ns"
  printf '%s' "$hosts" > "/etc/netns/$ns/hosts"
}
for i in "${!names[@]}"; do add_host "sy-${names[$i]}" "$subnet.$((10 + i))" "$i"; done
add_host "$scenarios_ns" "$subnet.9" 99
printf 'network\t%s\n' "$(since "$t")" >> "$times"
echo "== ${#names[@]} hosts on bridge $bridge ($subnet.0/24), and $scenarios_ns ($subnet.9) for the operators' commands"
for i in "${!names[@]}"; do echo "   sy-${names[$i]}  $subnet.$((10 + i))  https://${names[$i]}:8443"; done

t=$(now)
bash compose/pki.sh "$shared/pki" "${names[@]}" > "$logs/pki.log"
printf 'local CA and certificates\t%s\n' "$(since "$t")" >> "$times"
echo "== a local CA and a certificate per host ($shared/pki)"

# How the peers find each other across the bridge: by multicast DNS, which the bridge
# carries (DISCOVERY=bootstrap: by the addresses the peers before them published instead).
discovery=${DISCOVERY:-mdns}
# Each organisation's connector, in its namespace, by compose/org.sh: `org NAME MODE`.
org() {
  local line
  line=$(printf '%s\n' "${cast[@]}" | awk -v n="$1" '$1 == n')
  ip netns exec "sy-$1" env ORG_NAME="$1" ORG_DID="$(awk '{print $3}' <<< "$line")" \
    ORG_P2P="$(awk '{print $4}' <<< "$line")" ORG_DISCOVERY="$discovery" SPACE="$space" SHARED="$shared" SYMBOLON="$bin" \
    bash compose/org.sh "$2"
}
t=$(now)
for name in "${names[@]}"; do
  org "$name" serve > "$logs/$name.log" 2>&1 &
  pids+=("$!")
done
for name in "${names[@]}"; do
  healthy=
  for _ in $(seq 120); do
    if org "$name" health 2> /dev/null; then
      healthy=yes
      break
    fi
    sleep 0.5
  done
  [ -n "$healthy" ] || die "$name's connector is not healthy after 60 s (log: $logs/$name.log)"
done
printf 'connectors started and healthy\t%s\n' "$(since "$t")" >> "$times"
echo "== ${#names[@]} connectors healthy (HTTPS answered; did:web documents resolved)"

# The study's data: STUDY_DATA names another directory of the same four files (for example the
# study at 100,000 patients), the committed 4,000 by default. The cut-off always scales the
# committed 4,000 (its session must still be running when the cable is pulled).
committed=$repo/mpc/tests/data/ppa-study/n4000
study_data=$(cd "${STUDY_DATA:-$committed}" && pwd)
in_scenarios() {
  local data=$study_data
  [ "$1" = all ] || data=$committed
  ip netns exec "$scenarios_ns" env SPACE="$space" SHARED="$shared" SYMBOLON="$bin" \
    CAST="$repo/compose/cast.txt" STUDY_DATA="$data" \
    TIMES="$times" bash compose/scenarios.sh "$@"
}
in_scenarios all

# The hospital's cable is pulled while a session runs: its bridge port goes down.
victim=hospital
for i in "${!names[@]}"; do [ "${names[$i]}" = "$victim" ] && port=sy-v$i; done
session=$(in_scenarios cut-start "$victim")
t=$(now)
ip link set "$port" down
echo "  ✂ $victim cut off: $port down, session $session running"
in_scenarios cut-check "$session" "$victim" "$t"
view=
for _ in $(seq 120); do
  view=$(ip netns exec "sy-$victim" env SSL_CERT_FILE="$shared/pki/ca.crt" \
    "$bin" session show --data-dir "$space/$victim" "$session" --json)
  case $(jq -r .state <<< "$view") in completed | failed | cancelled) break ;; esac
  sleep 0.5
done
[ "$(jq -r .state <<< "$view")" = failed ] \
  || die "session $session is $(jq -r .state <<< "$view") on the cut-off $victim: $view"
jq -e '(.reason // "") != "" and .has_result != true' <<< "$view" > /dev/null \
  || die "session $session ended on $victim without a reason, or with a result: $view"
ended=$(jq -r '.updated | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601' <<< "$view")
awk -v u="$ended" -v c="$t" 'BEGIN {exit !(u >= c - 1)}' \
  || die "session $session ended on $victim before it was cut off: $view"
echo "  ✓ $victim (asked inside its namespace): session failed $(awk -v u="$ended" -v c="$t" 'BEGIN {printf "%.1f", u - c}') s after the cut: $(jq -r '"\(.code // "")  \(.reason)"' <<< "$view")"
printf '%s: the session seen ended on the cut-off host (since the cut)\t%s\n' "$victim" "$(since "$t")" >> "$times"

echo
echo "== wall time of each step across the namespaces (seconds)"
awk -F '\t' '{printf "  %7s  %s\n", $2, $1}' "$times"
echo "  total: $(since "$began") s"
echo "netns: every check held"
