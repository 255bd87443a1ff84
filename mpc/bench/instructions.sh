#!/bin/bash
# Counts the user-space instructions of each party process of one
# `mpc-bench` run with callgrind, for comparing binaries on a loaded
# machine (or one without hardware counters): wall times are noise there,
# instruction counts are not. Kernel work (page faults, socket copies) is
# not counted, and a `rep stos`/`rep movs` counts once per byte.
#
#   mpc/bench/instructions.sh BINARY OP N [PARTIES]
#
# Prints, per party, the process total and the "span": the inclusive
# count of the timed operations called from the party's `main`
# (Party::deal, mul, open, open_sum_bounded, compare::lt).
set -eu
bin=$1; op=$2; n=$3; parties=${4:-3}
dir=$(mktemp -d /tmp/mpc-instructions.XXXXXX)
valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/cg.%p.out" \
  "$bin" --op "$op" --n "$n" --parties "$parties" --timeout 600 2>/dev/null \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("correct", d["correct"], "bytes", d["bytes_sent"])'
tot_all=0; span_all=0
for f in "$dir"/cg.*.out; do
  w=$(grep -E '^cmd' "$f" | grep -o 'worker [0-9]*' | cut -d' ' -f2 || true)
  [ -z "$w" ] && continue
  tot=$(grep -E '^totals' "$f" | cut -d' ' -f2)
  span=$(callgrind_annotate --tree=calling --inclusive=yes "$f" 2>/dev/null \
    | awk '/\* .*mpc_bench::main \[/{p=1;next} p&&/^ *$/{exit} p' \
    | python3 -c '
import re, sys
pat = re.compile(r">\s+.*(Party<T>::deal|Party<T>>::mul|Party<T>>::open|Party<T>>::open_sum_bounded|compare::lt) \(")
print(sum(int(l.split()[0].replace(",", "")) for l in sys.stdin if pat.search(l)))')
  echo "party $w process_Ir $tot span_Ir $span"
  tot_all=$((tot_all + tot)); span_all=$((span_all + span))
done
echo "all process_Ir $tot_all span_Ir $span_all"
rm -rf "$dir"
