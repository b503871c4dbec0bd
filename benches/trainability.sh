#!/usr/bin/env bash
# The trainability-map benchmark: examples/trainability/width8.toml (width 8, 100 steps) on each
# basinmap engine, then the same workload in JAX and NumPy (benches/trainability.py), all on this
# machine, one after the other. Prints, per implementation, the median of REPEATS timings of the
# whole map and the nominal trajectory-steps per second (res * res * 100 / median time).
#
#   bash benches/trainability.sh [RES]          # RES x RES grid, default 256
#   ENGINES="cpu" IMPLS="numpy" REPEATS=5 bash benches/trainability.sh 128
#
# basinmap's time is run.json's `integrate` (the engine's run: setup and file writing excluded;
# the GPU engine's time includes building its pipeline). JAX's excludes compilation. basinmap
# stops runs that escape, so it also takes fewer steps than nominal; run.json's
# `steps_per_second` counts the steps it took. The Python side needs `pip install numpy "jax[cpu]"`.
set -euo pipefail
cd "$(dirname "$0")/.."
RES="${1:-256}"
REPEATS="${REPEATS:-3}"
ENGINES="${ENGINES:-cpu gpu}"
IMPLS="${IMPLS:-jax numpy}"
STEPS=100
cargo build --release --quiet
BIN=target/release/basinmap
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

for engine in $ENGINES; do
    : > "$OUT/times"
    for _ in $(seq "$REPEATS"); do
        "$BIN" run examples/trainability/width8.toml --engine "$engine" --precision f32 --gain 1 \
            --x "lr1=10:1000000:$RES:log" --y "lr2=3:300:$RES:log" -o "$OUT/map" > "$OUT/log" 2>&1 || { cat "$OUT/log"; exit 1; }
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["timings"]["integrate"], d["steps_per_second"], d["engine"]["device"])' "$OUT/map/run.json" >> "$OUT/times"
    done
    med=$(cut -d' ' -f1 "$OUT/times" | median)
    taken=$(cut -d' ' -f2 "$OUT/times" | median)
    device=$(head -1 "$OUT/times" | cut -d' ' -f3-)
    echo "basinmap --engine $engine ($device): width 8, ${RES}x${RES}, $STEPS steps"
    echo "  times: $(cut -d' ' -f1 "$OUT/times" | xargs printf '%.2f ' )s; median $(printf '%.2f' "$med") s"
    awk -v r="$RES" -v s="$STEPS" -v t="$med" -v k="$taken" \
        'BEGIN {printf "  %.3e trajectory-steps/s (nominal %.3e steps); %.3e steps taken/s\n", r*r*s/t, r*r*s, k}'
done
for impl in $IMPLS; do
    python3 benches/trainability.py --impl "$impl" --res "$RES" --steps "$STEPS" --repeats "$REPEATS"
done
