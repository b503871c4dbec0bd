#!/usr/bin/env bash
# The test command of basinmap (README, .ci/run): makes sure a Vulkan driver is present so the
# GPU tests really run the WGSL (Mesa's llvmpipe when the machine has no GPU), then runs every
# test. A machine with no Vulkan driver at all fails the GPU tests rather than skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

have_vulkan() {
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' &&
    ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json >/dev/null 2>&1
}

if ! have_vulkan; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "scripts/test.sh: no Vulkan driver found; installing Mesa's (mesa-vulkan-drivers) with apt-get" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    echo "scripts/test.sh: no Vulkan driver found and no apt-get: install a Vulkan driver (or set BASINMAP_ALLOW_NO_GPU=1 to skip the GPU tests)" >&2
  fi
fi

# The Python package is built by pip into a fresh virtual environment (as the README says) after
# the Rust tests; both builds resolve the workspace's crates with the same features, so pip's
# build finds the library compiled and compiles only the extension module.
venv="$PWD/target/python-venv"
rm -rf "$venv"
if ! python3 -m venv "$venv" 2>/dev/null; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "scripts/test.sh: python3 cannot make a virtual environment; installing python3-venv with apt-get" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
export PYO3_PYTHON="$venv/bin/python"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --release --workspace 2>&1 | tee "$log"
"$venv/bin/pip" install --quiet "./python[test]"
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests 2>&1 | tee -a "$log"

# The explorer's end-to-end test (basinmap serve's page): Debian's Chromium, driven by
# playwright-core from npm (tests/browser/package-lock.json pins it).
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "scripts/test.sh: installing Debian's chromium for the explorer's browser test" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
BASINMAP_BIN="$PWD/target/release/basinmap" CHROMIUM="$(command -v chromium)" SCREENSHOT="$PWD/target/explorer.png" \
  node --test tests/browser/ 2>&1 | tee -a "$log"
# One line with the totals over every test binary and the Python tests, and whether the GPU
# tests had to run.
if [ -n "${BASINMAP_ALLOW_NO_GPU:-}" ]; then gpu="GPU tests skipped where no adapter (BASINMAP_ALLOW_NO_GPU set)"; else gpu="GPU tests required an adapter"; fi
awk -v gpu="$gpu" '/^test result:/ { p += $4; f += $6; i += $8 }
     /^(=+ )?[0-9]+ (passed|failed|skipped|errors?)[ ,]/ { for (k = 1; k <= NF; k++) if ($(k) ~ /^passed/) pp += $(k - 1); else if ($(k) ~ /^(failed|skipped|error)/) pf += $(k - 1) }
     /^# (pass|fail) [0-9]+$/ { if ($2 == "pass") bp += $3; else bf += $3 }
     END { printf "scripts/test.sh: %d tests passed, %d failed, %d ignored; Python: %d passed, %d failed or skipped; browser: %d passed, %d failed; %s\n", p, f, i, pp, pf, bp, bf, gpu }' "$log"
