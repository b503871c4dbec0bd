#!/usr/bin/env bash
# Regenerates every picture under docs/ (docs/*.png, docs/paper/, docs/optimizers/, docs/orbit/, docs/maps/, docs/flows/, docs/forced/,
# docs/trainability/, docs/gallery/) from the current code, so that the README's pictures never drift from it.
# Every picture in docs/ is made here, by the command the README shows beside it: a picture
# added to docs/ gets its line below.
#
# Each command runs into its own folder of a temporary directory (removed on exit), and the
# picture is copied from there to its place in docs/. Pictures of one command (the default map
# and its annotated version; the two Kramers figures) share one run.
#
#   scripts/figures.sh                  # all of them: about 90 s on 2 CPU cores
#   scripts/figures.sh kramers sweep    # only those whose docs path contains one of the words
#
# The slow ones, by the README's timings on 2 CPU cores: paper/fig5-power-reg (30 s),
# paper/fig4-init-map (25 s), trainability/width16 (20 s), trainability/width8 (13 s),
# optimizers/eos_gd (10 s). Each picture's line prints the seconds its command took.
#
# BASINMAP=/path/to/basinmap uses that binary; by default target/release/basinmap, built with
# `cargo build --release` if it is missing. BASINMAP_ENGINE=cpu|gpu|auto passes --engine to
# every command (default: each command's own, auto).
#
# A person must look at each regenerated picture before committing it (`git diff --stat docs`,
# then open each changed one): this script checks only that the commands ran, not that the
# pictures still show what the README says about them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${BASINMAP:-target/release/basinmap}
if [[ ! -x $BIN ]]; then
    if [[ -n ${BASINMAP:-} ]]; then
        echo "error: BASINMAP=$BIN is not an executable file" >&2
        exit 2
    fi
    cargo build --release
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/basinmap-figures.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

FILTERS=("$@")
ENGINE=()
if [[ -n ${BASINMAP_ENGINE:-} ]]; then
    ENGINE=(--engine "$BASINMAP_ENGINE")
fi

made=0

# The command line as one would type it: arguments with spaces or shell characters quoted.
show() {
    local a out=basinmap
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,+-]+$ ]]; then out+=" $a"; else out+=" '$a'"; fi
    done
    printf '%s' "$out"
}

# fig DEST RUN OUTPUT COMMAND [ARGS...]
#   DEST: the picture's path in docs/; RUN: the run's folder name in $WORK (pictures with the
#   same RUN share one run of the command); OUTPUT: the file of that run copied to DEST;
#   COMMAND ARGS: the basinmap command line, without -o.
fig() {
    local dest=$1 run=$2 output=$3
    mkdir -p "$(dirname "$dest")"
    shift 3
    if ((${#FILTERS[@]} > 0)); then
        local word hit=0
        for word in "${FILTERS[@]}"; do
            if [[ $dest == *"$word"* ]]; then
                hit=1
                break
            fi
        done
        ((hit)) || return 0
    fi
    local dir=$WORK/$run
    local took="same run as above"
    if [[ ! -e $WORK/$run.ok ]]; then
        local t0=$SECONDS
        if ! "$BIN" "$@" ${ENGINE[@]+"${ENGINE[@]}"} -o "$dir" >"$WORK/$run.log" 2>&1; then
            echo "error: $dest: $(show "$@") -o DIR failed; its last lines:" >&2
            tail -n 20 "$WORK/$run.log" >&2
            exit 1
        fi
        touch "$WORK/$run.ok"
        took="$((SECONDS - t0)) s"
    fi
    if [[ ! -f $dir/$output ]]; then
        echo "error: $dest: $(show "$@") wrote no $output" >&2
        exit 1
    fi
    cp "$dir/$output" "$dest"
    made=$((made + 1))
    printf '%-40s <- %-26s %s  (%s)\n' "$dest" "$output" "$(show "$@")" "$took"
}

# --- The top of the README and the figures section ----------------------------------------
# `basinmap run` with no arguments: the first-order Landau map, 512², raw and annotated.
fig docs/default-map.png           default-map basins.png           run
fig docs/default-map-annotated.png default-map basins_annotated.png run
# The paper's effective loss at D = 2 (command quoted under the picture).
fig docs/effective-d2.png effective-d2 basins.png \
    run --system effective --param D=2 --x gamma=0.01:0.4:512 --y b=-1.5:1.5:512 --lr 0.02 --steps 50000

# --- Your own systems ----------------------------------------------------------------------
# "examples/duffing.toml, the second command above": the same field as the --field command.
fig docs/duffing.png duffing basins.png run examples/duffing.toml

# --- Transitions, metastability and boundaries ---------------------------------------------
fig docs/sweep-effective-d2.png       sweep-effective-d2       sweep.png sweep examples/sweep/effective-d2.toml
fig docs/sweep-landau-second-order.png sweep-landau-second-order sweep.png sweep examples/sweep/landau-second-order.toml
fig docs/kramers.png      kramers kramers.png      kramers examples/noise/double-well.toml --temperatures 0.15:0.35:5
fig docs/escape-times.png kramers escape_times.png kramers examples/noise/double-well.toml --temperatures 0.15:0.35:5

# --- Optimizers and every setting an axis --------------------------------------------------
fig docs/optimizers/heavy_ball.png heavy-ball basins_annotated.png \
    run --loss "lam*x^2/2" --state x=1 --param lam=1 --dynamics momentum \
    --x lr=0.02:4.5:512 --y momentum=0:0.95:512 \
    --title "heavy ball on x²/2: converges iff η < 2(1 + μ)"
fig docs/optimizers/adam_trainability.png adam-trainability trainability_annotated.png \
    run examples/trainability/width8.toml --precision f32 --dynamics adam \
    --x lr1=0.01:1000:256:log --y lr2=0.01:1000:256:log \
    --title "trainability under Adam: tanh net, width 8, mean-field, 100 steps"
fig docs/optimizers/sweep_lr_sharpness.png edge sweep.png \
    sweep --system landau --param r=0.2 --param u=-1 --param w=1 \
    --x lr=0.1:5:96:log --y m=-1.5:1.5:16 --steps 20000
fig docs/optimizers/eos_gd.png   eos-gd   sweep.png sweep examples/edge_of_stability/gd.toml
fig docs/optimizers/eos_adam.png eos-adam sweep.png sweep examples/edge_of_stability/adam.toml
fig docs/optimizers/batch_lr.png batch trainability_annotated.png \
    run examples/trainability/width8.toml --precision f32 --x batch=1:72:72 \
    --y lr=1:1000:256:log --param lr1=1 --param lr2=1

# --- Cycles and orbit diagrams (examples/orbit/) ---------------------------------------------
fig docs/orbit/landau-lr.png           orbit-landau   orbit.png    orbit examples/orbit/landau_lr.toml --lyapunov
fig docs/orbit/landau-lr-lyapunov.png  orbit-landau   lyapunov.png orbit examples/orbit/landau_lr.toml --lyapunov
fig docs/orbit/logistic.png            orbit-logistic orbit.png    orbit examples/orbit/logistic.toml --lyapunov
fig docs/orbit/logistic-lyapunov.png   orbit-logistic lyapunov.png orbit examples/orbit/logistic.toml --lyapunov
fig docs/orbit/landau-lr-map.png       cycles-map     basins_annotated.png \
    run --system landau --param r=-1 --param u=1 --x lr=0.3:0.75:400 --y m=-1.5:1.5:300 --steps 5000 \
    --lyapunov --title "gd on Landau (r = −1, u = 1): where each start ends, over the learning rate"
fig docs/orbit/landau-lr-lyapunov-map.png cycles-map  lyapunov_annotated.png \
    run --system landau --param r=-1 --param u=1 --x lr=0.3:0.75:400 --y m=-1.5:1.5:300 --steps 5000 \
    --lyapunov --title "gd on Landau (r = −1, u = 1): where each start ends, over the learning rate"

# --- Maps (examples/maps/) -----------------------------------------------------------------
fig docs/maps/cubic.png           maps-cubic      basins_annotated.png run examples/maps/cubic.toml
fig docs/maps/mandelbrot.png      maps-mandelbrot basins_annotated.png run examples/maps/mandelbrot.toml

# --- Flows (examples/flows/) ---------------------------------------------------------------
fig docs/flows/pendulum.png         flows-pendulum  basins_annotated.png run examples/flows/pendulum.toml
fig docs/flows/broken-butterfly.png flows-butterfly basins_annotated.png run examples/flows/broken-butterfly.toml
fig docs/flows/pendulum-starts.png  flows-starts    starts.png           run examples/flows/pendulum.toml --uniform 10000

# --- Forced flows (examples/forced/) -------------------------------------------------------
fig docs/forced/duffing.png         forced-duffing  basins_annotated.png run examples/forced/duffing.toml

# --- The paper, reproduced (examples/paper/) -----------------------------------------------
fig docs/paper/fig1-depth0.png       fig1-d0 curves.png    run examples/paper/fig1-depth0.toml
fig docs/paper/fig1-depth1.png       fig1-d1 curves.png    run examples/paper/fig1-depth1.toml
fig docs/paper/fig1-depth2.png       fig1-d2 curves.png    run examples/paper/fig1-depth2.toml
fig docs/paper/fig2a-landscape-d1.png fig2a  landscape.png landscape examples/paper/fig2a-landscape-d1.toml
fig docs/paper/fig2b-landscape-d2.png fig2b  landscape.png landscape examples/paper/fig2b-landscape-d2.toml
fig docs/paper/fig3-escape.png       fig3    trace.png     trace examples/paper/fig3-escape.toml
fig docs/paper/fig4-small-init.png   fig4-s  curves.png    run examples/paper/fig4-small-init.toml
# Raw basins.png, one pixel per grid point (192×96), its 4 samples mixed by colour.
fig docs/paper/fig4-init-map.png     fig4    basins.png    run examples/paper/fig4-init-map.toml
fig docs/paper/fig5-power-reg.png    fig5    curves.png    run examples/paper/fig5-power-reg.toml
fig docs/paper/fig6-tanh-depth1.png  fig6-d1 curves.png    run examples/paper/fig6-tanh-depth1.toml
fig docs/paper/fig6-tanh-depth2.png  fig6-d2 curves.png    run examples/paper/fig6-tanh-depth2.toml

# --- The trainability map: raw trainability.png, one pixel per run ------------------------
fig docs/trainability/width8.png  tm8  trainability.png run examples/trainability/width8.toml
fig docs/trainability/width16.png tm16 trainability.png run examples/trainability/width16.toml

# --- The gallery (README, Figures): kinds not shown elsewhere ------------------------------
fig docs/gallery/steps.png default-map steps_annotated.png run
fig docs/gallery/escape-time.png escape-map escape_time_annotated.png \
    run examples/noise/double-well.toml --x m=-1.4:-0.6:64 --y temperature=0.15:0.4:48 --samples 4 --steps 200000
fig docs/gallery/landscape-map.png landscape-map landscape_annotated.png \
    landscape --system effective --param D=2 --x b=-0.6:0.6:400 --y gamma=0.05:0.3:200
fig docs/gallery/trainability.png tm8 trainability_annotated.png run examples/trainability/width8.toml

if ((made == 0)); then
    echo "error: no picture in docs/ matches ${FILTERS[*]}" >&2
    exit 2
fi
echo "$made picture(s) regenerated in ${SECONDS} s. Look at each before committing: git status docs"
