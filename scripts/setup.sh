#!/usr/bin/env bash
# Set up what this project needs on a fresh machine (Python 3.11 + pip), one line per step with its time:
#   scripts/setup.sh venv      Graphviz and .venv (the package, its tools and the tests): what the build needs
#   scripts/setup.sh checkov   .venv-checkov: checkov in its own environment (its pins conflict with awscli's)
#   scripts/setup.sh           both (what scripts/test.sh needs)
# Re-running is cheap: each environment is rebuilt only when its pins changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
CHECKOV_VERSION="3.3.30"

# step "what" command...: run one step and say how long it took.
step() {
    local what="$1" start end
    shift
    printf 'setup: %s ...\n' "$what"
    start=$(date +%s)
    "$@"
    end=$(date +%s)
    printf 'setup: %s done (%ss)\n' "$what" "$((end - start))"
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

install_graphviz() {
    local as_root=""
    [[ "$(id -u)" == 0 ]] || { sudo -n true 2>/dev/null && as_root="sudo -n"; }
    if { [[ "$(id -u)" == 0 ]] || [[ -n "$as_root" ]]; } && command -v apt-get >/dev/null 2>&1; then
        $as_root apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends graphviz >/dev/null
    else
        echo "error: Graphviz's dot is missing; install the graphviz package (e.g. sudo apt-get install graphviz)" >&2
        return 1
    fi
}

make_venv() {  # make_venv DIR: a fresh environment with the pinned pip
    "$PYTHON" -m venv "$1"
    "$1/bin/python" -m pip install --quiet --upgrade "pip==26.3"
}

install_main() {
    make_venv .venv
    .venv/bin/python -m pip install --quiet --constraint constraints.txt --editable ".[local,dev]"
}

install_checkov() {
    make_venv .venv-checkov
    .venv-checkov/bin/python -m pip install --quiet "checkov==$CHECKOV_VERSION"
}

setup_venv() {
    # Graphviz draws output/architecture.* (Debian's package; the build needs `dot`).
    if command -v dot >/dev/null 2>&1; then
        echo "setup: graphviz present"
    else
        step "installing graphviz (apt-get)" install_graphviz
    fi
    local stamp
    stamp="$(stamp_of pyproject.toml constraints.txt)"
    if [[ -x .venv/bin/python && "$(cat .venv/.herd-stamp 2>/dev/null)" == "$stamp" ]]; then
        echo "setup: .venv up to date"
    else
        step "setting up .venv (herd-cfn with its dev tools; a few minutes the first time)" install_main
        echo "$stamp" > .venv/.herd-stamp
    fi
}

setup_checkov() {
    if [[ -x .venv-checkov/bin/checkov && "$(cat .venv-checkov/.herd-stamp 2>/dev/null)" == "$CHECKOV_VERSION" ]]; then
        echo "setup: .venv-checkov up to date"
    else
        step "setting up .venv-checkov (checkov $CHECKOV_VERSION in its own environment)" install_checkov
        echo "$CHECKOV_VERSION" > .venv-checkov/.herd-stamp
    fi
}

case "${1:-all}" in
    venv) setup_venv ;;
    checkov) setup_checkov ;;
    all) setup_venv; setup_checkov ;;
    *) echo "usage: scripts/setup.sh [venv|checkov|all]" >&2; exit 2 ;;
esac
