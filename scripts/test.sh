#!/usr/bin/env bash
# Set up (if needed) and run every check CI runs: ruff, mypy (strict), and the test suite (docs build included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check takedown tests examples benchmarks
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
