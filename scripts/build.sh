#!/usr/bin/env bash
# Set up, then build every template and parameter file into output/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python build_templates.py "$@"
