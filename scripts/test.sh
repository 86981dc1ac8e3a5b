#!/usr/bin/env bash
# Set up, then run every gate: output/ up to date, cfn-lint, checkov, ruff, hadolint, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all

step() { printf '\n== %s\n' "$*"; }

step "output/ is what the code builds"
.venv/bin/python build_templates.py --check

step "cfn-lint: no errors, no warnings"
.venv/bin/cfn-lint --format parseable -- output/templates/*.yaml
echo "cfn-lint: clean"

step "checkov: no failed check"
# Offline: no guideline download, no platform mapping, no version check.
BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false \
    .venv-checkov/bin/checkov --directory output/templates --framework cloudformation \
    --quiet --compact --skip-download

step "ruff"
.venv/bin/ruff check .

if [[ -f docker/Dockerfile ]]; then
    step "hadolint"
    .venv/bin/hadolint docker/Dockerfile
    echo "hadolint: clean"
fi

step "pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile
