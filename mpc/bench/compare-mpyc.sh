#!/usr/bin/env bash
# Side by side: the same operations at the same sizes in MPyC 0.11 and in
# Symbolon's `mpc-bench`, 3 parties as separate processes on 127.0.0.1
# (PSI: 2 parties in mpc-bench; in MPyC the same protocol between parties 0
# and 1 of 3, see mpyc_ops.py; `psi-helped`: mpc-bench's three-party PSI
# with party 2 as helper, against MPyC's DH PSI of the same sets), alternating,
# several runs each. Prints every
# run, then per operation the medians (and ranges) and the ratio of medians,
# and the machine's load average before and after.
#
# usage: mpc/bench/compare-mpyc.sh [--runs R] [--psi-runs R] [--ops "op:n ..."]
#                                   [--rust-only "op:n ..."] [--quick]
#
#   --runs R        runs of each side per operation (default 5)
#   --psi-runs R    runs for psi, whose MPyC side is slow (default 2)
#   --ops LIST      operations and sizes run on both sides (default below)
#   --rust-only LIST  run in mpc-bench only, once each (default "psi:1000000
#                   psi-helped:1000000";
#                   "" to skip)
#   (the defaults take about 25 minutes on 2 cores: MPyC's lt of 10^5 takes
#   about 30 s a run and its PSI of 10^4 about 3.5 minutes; the README's
#   table used --runs 3 --psi-runs 1, about 11 minutes)
#   --quick         --runs 2 --psi-runs 1 --ops "sum:100000 mul:100000 lt:10000 psi:1000"
#                   --rust-only ""
#
# Environment: MPYC_VENV (default ~/.cache/symbolon-mpyc/venv) is created
# with MPyC 0.11, gmpy2 and numpy from PyPI when it does not hold them yet,
# and reused otherwise; CARGO_TARGET_DIR (default
# ~/.cache/symbolon-target-mpc) is where mpc-bench is built in release.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${MPYC_VENV:-$HOME/.cache/symbolon-mpyc/venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/symbolon-target-mpc}
runs=5
psi_runs=2
ops="sum:1000000 mul:100000 mul:1000000 lt:10000 lt:100000 psi:10000 psi-helped:10000"
rust_only="psi:1000000 psi-helped:1000000"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --psi-runs) psi_runs=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --rust-only) rust_only=$2; shift 2 ;;
    --quick) runs=2; psi_runs=1; ops="sum:100000 mul:100000 lt:10000 psi:1000"; rust_only=""; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# 1. MPyC 0.11 in a virtual environment.
if ! "$venv/bin/python" -c 'import mpyc, gmpy2, numpy; assert mpyc.__version__ == "0.11"' 2>/dev/null; then
  echo "# creating $venv (MPyC 0.11, gmpy2, numpy from PyPI)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "mpyc==0.11" gmpy2 numpy
fi
py="$venv/bin/python"

# 2. mpc-bench, release.
(cd "$root" && CARGO_INCREMENTAL=0 cargo build -q --release -p symbolon-mpc --bin mpc-bench)
bench="$CARGO_TARGET_DIR/release/mpc-bench"

results=$(mktemp)
trap 'rm -f "$results" "$results".party[012]' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# One MPyC run: 3 party processes on a fresh block of ports; prints the
# slowest party's seconds and whether all parties checked their output. A
# party that fails (for example because another program holds one of the
# ports) would leave the others waiting for it: then they are stopped at
# once and the run is retried on other ports (up to 3 attempts).
mpyc_run() {
  local op=$1 n=$2 attempt i failed
  # MPyC has no helped PSI: it runs its DH PSI, the same task.
  [ "$op" = psi-helped ] && op=psi
  local pids=()
  for attempt in 1 2 3; do
    local base=$((20000 + RANDOM % 20000))
    pids=()
    # One output file per party, so that their lines cannot interleave.
    for i in 0 1 2; do
      timeout 1800 "$py" "$here/mpyc_ops.py" -M3 -I$i -B $base --no-log --op "$op" --size "$n" \
        >"$results.party$i" 2>&1 &
      pids+=($!)
    done
    failed=0
    local reaped=(0 0 0)
    while :; do
      local running=0
      for i in 0 1 2; do
        [ "${reaped[$i]}" = 1 ] && continue
        if kill -0 "${pids[$i]}" 2>/dev/null; then
          running=1
        else
          reaped[$i]=1
          wait "${pids[$i]}" 2>/dev/null || failed=1
        fi
      done
      if [ $failed = 1 ]; then
        for i in 0 1 2; do kill "${pids[$i]}" 2>/dev/null || true; done
        wait 2>/dev/null || true
        break
      fi
      [ $running = 0 ] && break
      sleep 0.2
    done
    if [ $failed = 0 ]; then
      break
    fi
    echo "# mpyc $op $n: a party failed (attempt $attempt): $(tail -q -n1 "$results".party[012] | tr '\n' ' ' | cut -c1-200)" >&2
  done
  cat "$results".party[012] | "$py" -c '
import json, re, sys
rows = [json.loads(m) for m in re.findall(r"\{[^{}]*\}", sys.stdin.read())]
ok = len(rows) == 3 and all(r["correct"] for r in rows)
print(max((r["seconds"] for r in rows), default=float("nan")), str(ok).lower())'
}

rust_run() {
  local op=$1 n=$2 parties=3 line
  [ "$op" = psi ] && parties=2
  line=$("$bench" --op "$op" --n "$n" --parties $parties --timeout 600)
  "$py" -c 'import json, sys; r = json.loads(sys.stdin.read()); print(r["seconds"], str(r["correct"]).lower())' <<<"$line"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load average before: $load_before"
echo "# run: side op n seconds correct"
for spec in $ops; do
  op=${spec%%:*}; n=${spec##*:}
  r=$runs; case $op in psi | psi-helped) r=$psi_runs ;; esac
  for k in $(seq 1 "$r"); do
    m=$(mpyc_run "$op" "$n"); echo "mpyc $op $n $m" | tee -a "$results"
    s=$(rust_run "$op" "$n"); echo "symbolon $op $n $s" | tee -a "$results"
  done
done
for spec in $rust_only; do
  op=${spec%%:*}; n=${spec##*:}
  s=$(rust_run "$op" "$n"); echo "symbolon $op $n $s" | tee -a "$results"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$py" - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ops = []
for side, op, n, *_ in rows:
    if (op, n) not in ops:
        ops.append((op, n))
def cell(v):
    if not v:
        return "—", None
    m = statistics.median(v)
    return (f"{m:.3g} ({min(v):.3g}–{max(v):.3g})" if len(v) > 1 else f"{m:.3g}"), m
print()
print("| op | n | MPyC s, median (range) | Symbolon s, median (range) | ratio | runs | all correct |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for op, n in ops:
    sel = [r for r in rows if r[1] == op and r[2] == n]
    py = [float(r[3]) for r in sel if r[0] == "mpyc"]
    rs = [float(r[3]) for r in sel if r[0] == "symbolon"]
    ok = all(r[4] == "true" for r in sel)
    (pc, pm), (rc, rm) = cell(py), cell(rs)
    ratio = f"{pm / rm:.0f}×" if pm and rm else "—"
    exp = len(str(int(n))) - 1 if set(n[1:]) == {"0"} and n[0] == "1" else None
    nn = f"10^{exp}" if exp else n
    print(f"| {op} | {nn} | {pc} | {rc} | {ratio} | {len(py)}+{len(rs)} | {'yes' if ok else 'NO'} |")
PY
echo
echo "# load average after: $load_after"
