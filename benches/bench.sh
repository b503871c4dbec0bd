#!/usr/bin/env bash
# basinmap bench's workloads beside JAX and NumPy on this machine, in one run, with the ratios.
#
#   bash benches/bench.sh                         # W1 at 1024², W2 at 256², W3 at 256², 3 repeats
#   W1=512 W2=128 W3=64 REPEATS=1 ENGINES=cpu,gpu bash benches/bench.sh
#
# basinmap's times are `basinmap bench --json` (the engine's run only). JAX's exclude
# compilation. W2 in JAX and NumPy is the lockstep approach: the whole batch steps until its
# slowest trajectory has converged; it runs in f64, as basinmap runs W2. W3 is benches/trainability.py. The Python side needs
# `pip install numpy "jax[cpu]"`; an implementation that is not installed is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
W1="${W1:-1024}"; W2="${W2:-256}"; W3="${W3:-256}"; REPEATS="${REPEATS:-3}"
cargo build --release --quiet
BIN=target/release/basinmap
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
engines=()
[ -n "${ENGINES:-}" ] && engines=(--engines "$ENGINES")
for w in w1 w2 w3; do
    size_var="${w^^}"
    "$BIN" bench --workloads "$w" --size "${!size_var}" --repeats "$REPEATS" "${engines[@]}" --json > "$OUT/basinmap-$w.json"
done
have() { python3 -c "import $1" 2>/dev/null; }
: > "$OUT/python.jsonl"
for impl in jax numpy; do
    have "$impl" || { echo "($impl not installed: skipped)" >&2; continue; }
    python3 benches/workloads.py --impl "$impl" --workload w1 --res "$W1" --repeats "$REPEATS" >> "$OUT/python.jsonl"
    python3 benches/workloads.py --impl "$impl" --workload w2 --precision f64 --res "$W2" --repeats "$REPEATS" >> "$OUT/python.jsonl"
    python3 benches/trainability.py --impl "$impl" --res "$W3" --repeats "$REPEATS" > "$OUT/w3-$impl.txt"
    # trainability.py prints "... median X s ..."; keep the median.
    python3 - "$impl" "$W3" "$OUT/w3-$impl.txt" >> "$OUT/python.jsonl" <<'PY'
import json, re, sys
impl, res, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path).read()
med = float(re.search(r"median ([0-9.]+) s", text).group(1))
print(json.dumps({"impl": impl, "workload": "w3", "res": res, "median_seconds": med, "steps": res * res * 100, "steps_per_second": res * res * 100 / med}))
PY
done
python3 - "$OUT" <<'PY'
import glob, json, sys
out = sys.argv[1]
rows = []
for path in sorted(glob.glob(f"{out}/basinmap-*.json")):
    for r in json.load(open(path)):
        name = f"basinmap {r['engine']}"
        rows.append((r["workload"].lower(), name, r["grid"][0], r["median_seconds"], r["nominal_steps_per_second"] if r["workload"].lower() != "w2" else r["steps_per_second"]))
for line in open(f"{out}/python.jsonl"):
    r = json.loads(line)
    rows.append((r["workload"], r["impl"], r["res"], r["median_seconds"], r["steps_per_second"]))
print(f"{'workload':<9}{'implementation':<16}{'grid':>7}{'median s':>11}{'traj-steps/s':>14}{'vs basinmap cpu':>17}")
for w in ["w1", "w2", "w3"]:
    base = next((t for (ww, n, _, t, _) in rows if ww == w and n == "basinmap cpu"), None)
    for (ww, n, g, t, rate) in rows:
        if ww == w:
            ratio = f"{base / t:.2f}x" if base else "-"
            print(f"{w:<9}{n:<16}{g:>6}²{t:>11.3f}{rate:>14.3e}{ratio:>17}")
PY
