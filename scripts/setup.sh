#!/usr/bin/env bash
# Set up everything this project needs on a fresh machine (Python 3.11 + pip): .venv for the
# package, its tools and the tests; .venv-checkov for checkov, whose pins conflict with awscli's.
# Re-running is cheap: each environment is rebuilt only when its pins changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

# Graphviz draws output/architecture.* (Debian's package; the build needs `dot`).
if ! command -v dot >/dev/null 2>&1; then
    as_root=""
    [[ "$(id -u)" == 0 ]] || { sudo -n true 2>/dev/null && as_root="sudo -n"; }
    if { [[ "$(id -u)" == 0 ]] || [[ -n "$as_root" ]]; } && command -v apt-get >/dev/null 2>&1; then
        echo "installing graphviz (apt-get)"
        $as_root apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends graphviz >/dev/null
    else
        echo "error: Graphviz's dot is missing; install the graphviz package (e.g. sudo apt-get install graphviz)" >&2
        exit 1
    fi
fi
CHECKOV_VERSION="3.3.30"

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

main_stamp="$(stamp_of pyproject.toml constraints.txt)"
if [[ ! -x .venv/bin/python || "$(cat .venv/.herd-stamp 2>/dev/null)" != "$main_stamp" ]]; then
    echo "setting up .venv (herd-cfn with the emulator and its dev tools)"
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
    .venv/bin/python -m pip install --quiet --constraint constraints.txt --editable ".[local,dev]"
    echo "$main_stamp" > .venv/.herd-stamp
fi

checkov_stamp="$CHECKOV_VERSION"
if [[ ! -x .venv-checkov/bin/checkov || "$(cat .venv-checkov/.herd-stamp 2>/dev/null)" != "$checkov_stamp" ]]; then
    echo "setting up .venv-checkov (checkov $CHECKOV_VERSION in its own environment)"
    "$PYTHON" -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install --quiet --upgrade "pip==26.3"
    .venv-checkov/bin/python -m pip install --quiet "checkov==$CHECKOV_VERSION"
    echo "$checkov_stamp" > .venv-checkov/.herd-stamp
fi
