#!/usr/bin/env bash
# Set up .venv (not checkov's environment), then build every template and parameter file into output/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh venv  # the build needs no checkov
.venv/bin/python build_templates.py "$@"
