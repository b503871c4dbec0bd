#!/usr/bin/env bash
# The driven pendulum's basin stability (Menck et al. 2013; bSTAB's benchmark) from N uniform
# starts: basinmap (`run examples/flows/pendulum.toml --uniform N`, the whole command: start,
# integration, the host's cycle detection, labelling, files) beside JAX with diffrax
# (benches/pendulum.py: one vmapped solve to t = 1000, compilation excluded), in one run, with
# the shares each finds and the ratios.
#
#   bash benches/pendulum.sh                  # N = 10000, 3 repeats, basinmap on the CPU
#   N=2000 REPEATS=1 ENGINE=gpu bash benches/pendulum.sh
#   SOLVERS="tsit5-fixed tsit5" bash benches/pendulum.sh   # diffrax adaptive too (minutes)
#
# The Python side needs `pip install numpy "jax[cpu]" diffrax`; it is skipped if not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-10000}"; REPEATS="${REPEATS:-3}"; ENGINE="${ENGINE:-cpu}"; SOLVERS="${SOLVERS:-tsit5-fixed}"
cargo build --release --quiet
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
: > "$OUT/rows.jsonl"
python3 - "$N" "$REPEATS" "$ENGINE" "$OUT" >> "$OUT/rows.jsonl" <<'PY'
import json, statistics, subprocess, sys, time
n, repeats, engine, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cmd = ["target/release/basinmap", "run", "examples/flows/pendulum.toml", "--uniform", str(n), "--engine", engine, "-q", "-o", f"{out}/run"]
times, engine_times = [], []
for _ in range(repeats):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t0)
    report = json.load(open(f"{out}/run/run.json"))
    engine_times.append(report["timings"]["integrate"])
shares = {a["kind"]: (a["fraction"], a.get("fraction_se", 0.0)) for a in report["attractors"]}
rest, se = shares.get("fixed", (0.0, 0.0))
print(json.dumps({"impl": f"basinmap {engine} rk4 f32", "n": n, "median_seconds": statistics.median(times), "engine_seconds": statistics.median(engine_times), "rest": rest, "rotation": shares.get("cycle", (0.0, 0.0))[0], "se": se}))
PY
if python3 -c "import jax, diffrax" 2>/dev/null; then
    for solver in $SOLVERS; do
        python3 benches/pendulum.py --n "$N" --solver "$solver" --repeats "$REPEATS" >> "$OUT/rows.jsonl"
    done
else
    echo "(jax or diffrax not installed: skipped)" >&2
fi
python3 - "$OUT/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = rows[0]["median_seconds"]
print(f"{'implementation':<28}{'N':>7}{'median s':>11}{'rest':>9}{'± se':>8}{'rotation':>10}{'time / basinmap':>17}")
for r in rows:
    print(f"{r['impl']:<28}{r['n']:>7}{r['median_seconds']:>11.2f}{100 * r['rest']:>8.2f}%{100 * r['se']:>7.2f}%{100 * r['rotation']:>9.2f}%{r['median_seconds'] / base:>16.1f}x")
if "engine_seconds" in rows[0]:
    print(f"(basinmap's engine alone: {rows[0]['engine_seconds']:.2f} s of its {base:.2f} s)")
PY
