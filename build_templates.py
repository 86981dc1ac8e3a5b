#!/usr/bin/env python3
"""Write every template to output/templates/ and each environment's values to output/parameters/.

Usage: python build_templates.py [--check] [--stack NAME] [--env NAME]

Runs with whichever Python starts it: when that interpreter lacks the project's dependencies, it
re-runs itself in the project's .venv (set up by scripts/setup.sh, which it runs first if needed).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _in_project_environment() -> None:
    try:
        import troposphere  # noqa: F401
    except ModuleNotFoundError:
        if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
            raise  # the project's own environment is broken: say so rather than loop
        if not VENV_PYTHON.exists():
            print("build_templates.py: setting up .venv first (scripts/setup.sh)", file=sys.stderr)
            subprocess.run([str(ROOT / "scripts" / "setup.sh"), "venv"], check=True)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    _in_project_environment()
    from herd_cfn.cli import build_templates_main

    sys.exit(build_templates_main())
