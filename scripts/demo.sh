#!/usr/bin/env bash
# Set up (if needed) and run the demo: the whole detect-to-draft flow against the bundled demo site.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/takedown demo --out "${1:-demo-out}"
