#!/usr/bin/env bash
# basinmap serve's latency: a fresh server per repeat (`basinmap serve --port 0`, default map),
# timed with curl as a browser would ask:
#   view     GET /api/view on a fresh server started with --warm none (the view made and its
#            zoom-0 tile computed)
#   tile     each tile of zoom 3 (64 of them, one after another, never cached): the median
#   first    the first full view of a 1024-pixel-wide page: /api/view, then zoom 1's 4 and zoom
#            2's 16 tiles, 6 at a time (Chromium's connections per server), on a fresh server
#            started with --warm none, asked at once
#   warmed   the same on a server started as a user starts it (warming zooms 0 to 2), asked
#            WARM_WAIT seconds (default 2) after it printed its address
# Prints min / median / max over REPEATS (default 5). Needs curl.
#   BASINMAP_BIN=target/release/basinmap bash benches/serve.sh   # no build
#
#   bash benches/serve.sh
#   REPEATS=3 SETTINGS='lr=0.05' bash benches/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS="${REPEATS:-5}"
WARM_WAIT="${WARM_WAIT:-2}"
SETTINGS="${SETTINGS:-}"
# BASINMAP_BIN: a binary already built (else cargo builds one).
if [ -n "${BASINMAP_BIN:-}" ]; then BIN="$BASINMAP_BIN"; else cargo build --release --quiet; BIN="$PWD/target/release/basinmap"; fi
OUT="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT

start() {
    "$BIN" serve --port 0 "$@" > "$OUT/serve.log" 2>/dev/null &
    pid=$!
    for _ in $(seq 200); do
        url=$(grep -o 'http://[^ ]*' "$OUT/serve.log" || true)
        [ -n "$url" ] && return
        sleep 0.05
    done
    echo "basinmap serve printed no address" >&2
    exit 1
}
stop() { kill -INT "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
seconds() { curl -sf -o /dev/null -w '%{time_total}\n' "$1"; }
now() { date +%s.%N; }
# The first full view: the view, then the tiles of zooms 1 and 2, timed into $OUT/$1.
first_view() {
    local t0
    t0=$(now)
    curl -sf -o /dev/null "${url}api/view?$SETTINGS"
    { for ty in 0 1; do for tx in 0 1; do echo "${url}tile/1/$tx/$ty?$SETTINGS"; done; done
      for ty in 0 1 2 3; do for tx in 0 1 2 3; do echo "${url}tile/2/$tx/$ty?$SETTINGS"; done; done; } |
        xargs -P 6 -n 1 curl -sf -o /dev/null
    awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }' >> "$OUT/$1"
}

: > "$OUT/view"; : > "$OUT/tile"; : > "$OUT/first"; : > "$OUT/warmed"
for _ in $(seq "$REPEATS"); do
    start --warm none
    seconds "${url}api/view?$SETTINGS" >> "$OUT/view"
    for ty in $(seq 0 7); do
        for tx in $(seq 0 7); do
            seconds "${url}tile/3/$tx/$ty?$SETTINGS" >> "$OUT/tile.all"
        done
    done
    sort -n "$OUT/tile.all" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' >> "$OUT/tile"
    rm -f "$OUT/tile.all"
    stop
    start --warm none
    first_view first
    stop
    start
    sleep "$WARM_WAIT"
    first_view warmed
    stop
done

summary() {
    sort -n "$OUT/$1" | awk -v name="$2" '{ v[NR] = $1 * 1000 } END { printf "%-44s min %7.1f ms   median %7.1f ms   max %7.1f ms   (%d runs)\n", name, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}
echo "basinmap serve, default map${SETTINGS:+ with $SETTINGS}, $(nproc) cores"
summary view "new view: /api/view (zoom-0 tile)"
summary tile "one 256x256 tile of zoom 3 (median of 64)"
summary first "first full view, cold: view + zooms 1, 2"
summary warmed "first full view, ${WARM_WAIT} s after start (warmed)"
