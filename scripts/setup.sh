#!/usr/bin/env bash
# One-time set-up shared by both README commands; idempotent and quick the second time.
#   - Debian packages manim needs to build pycairo/manimpango (cairo and pango headers)
#   - a virtual environment in .venv
#   - torch: the local CPU build (torch==2.13.0) on machines without an NVIDIA GPU,
#     the registry's CUDA build where nvidia-smi finds a GPU
#   - this project, editable, with the extras the test suite exercises: dev (pytest),
#     cluster (Ray) and lens (TransformerLens)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_apt=()
for pkg in libcairo2-dev libpango1.0-dev pkg-config python3-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
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
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "environment up to date (.venv)"
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
say "done"
