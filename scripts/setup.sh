#!/usr/bin/env bash
# Set up everything takedown needs on a fresh Debian machine: system packages, a virtual environment in
# .venv, and the package with the extras asked for. Safe to run again: it installs only what is missing.
#   scripts/setup.sh              runtime + the extras the demo uses
#   scripts/setup.sh --dev        ... + test, lint, type-check and docs tools
set -euo pipefail
cd "$(dirname "$0")/.."

# The demo uses them all: Chromium (browser) for the JavaScript feed and screenshots, PyAV (video), the HWPX, PDF
# and WARC writers. "all" leaves out ml (torch) and nudenet (AGPL); --dev adds them for the tests.
extras="all"
[[ "${1:-}" == "--dev" ]] && extras="all,dev"

# System packages (one per line in scripts/apt-packages.txt; '#' starts a comment).
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' scripts/apt-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
stamp=".venv/.takedown-installed-$extras"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # The dev tools include transformers; torch must be the CPU build (2.13.0 lies on disk here), installed
  # first, or pip resolves a several-GB CUDA build.
  [[ "$extras" == *dev* ]] && .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi
