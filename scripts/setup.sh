#!/usr/bin/env bash
# One-time set-up shared by both README commands; idempotent and quick the second time.
#   - Debian packages manim needs to build pycairo/manimpango (cairo and pango headers)
#   - a virtual environment in .venv
#   - torch: the local CPU build (torch==2.13.0) on machines without an NVIDIA GPU,
#     the registry's CUDA build where nvidia-smi finds a GPU
#   - this project, editable, with the extras the test suite exercises: dev (pytest),
#     cluster (Ray) and lens (TransformerLens)
#   - with --browser (the test command's set-up, not the main job's): Debian's chromium and the
#     browser extra (Playwright's Python package, which drives /usr/bin/chromium; its own browser
#     download, `playwright install`, is never run)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    *) echo "usage: bash scripts/setup.sh [--browser]" >&2; exit 2 ;;
  esac
done
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need_apt=()
for pkg in libcairo2-dev libpango1.0-dev pkg-config python3-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python

# The stamp records what was installed; a changed pyproject.toml reinstalls.
stamp=.venv/.setup-stamp
want="$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
# the browser test's additions (--browser): Chromium from Debian, Playwright from PyPI
browser_setup() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium (the browser tests drive it)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  if ! "$VPY" -c "import playwright" 2>/dev/null; then
    say "installing the browser extra (playwright's Python package; it launches /usr/bin/chromium)"
    "$VPY" -m pip install -q -e ".[browser]"
  fi
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "environment up to date (.venv)"
  if [ "$browser" -eq 1 ]; then browser_setup; fi
  exit 0
fi

if ! "$VPY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    say "NVIDIA GPU found: installing torch with CUDA"
    "$VPY" -m pip install -q torch
  else
    say "no GPU: installing the CPU build torch==2.13.0"
    extra=()
    [ -d /opt/wheels ] && extra=(--find-links /opt/wheels)
    "$VPY" -m pip install -q "${extra[@]}" torch==2.13.0
  fi
fi
say "installing the project and its dependencies"
"$VPY" -m pip install -q -e ".[dev,cluster,lens]"
echo "$want" > "$stamp"
if [ "$browser" -eq 1 ]; then browser_setup; fi
say "done"
