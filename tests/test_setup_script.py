"""scripts/setup.sh: the build sets up only .venv (never checkov's environment), and every step says what it
does and how long it took. Run in a temp copy with a fake Python and a fake `dot`, so nothing is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python3: `-m venv DIR` makes DIR/bin/python (this script); `-m pip ...` succeeds.
echo "$*" >> "$FAKE_LOG"
if [[ "$1 $2" == "-m venv" ]]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; cp "$0" "$3/bin/checkov"; fi
exit 0
"""


def _checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "clone"
    (work / "scripts").mkdir(parents=True)
    for name in ("scripts/setup.sh", "scripts/build.sh", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, work / name)
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("python3", "dot"):
        (tools / tool).write_text(FAKE_PYTHON)
        (tools / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:/usr/bin:/bin", "PYTHON": str(tools / "python3"),
           "FAKE_LOG": str(tmp_path / "calls.log")}
    return work, env


def _run(work: Path, env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run(["bash", "scripts/setup.sh", *args], cwd=work, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_venv_only_leaves_checkov_alone_and_times_each_step(tmp_path):
    work, env = _checkout(tmp_path)
    lines = _run(work, env, "venv")
    assert lines[0] == "setup: graphviz present"
    assert lines[1].startswith("setup: setting up .venv (") and lines[1].endswith(" ...")
    assert lines[2].startswith("setup: setting up .venv (") and lines[2].endswith("s)") and "done (" in lines[2]
    assert not (work / ".venv-checkov").exists()
    assert "checkov" not in (tmp_path / "calls.log").read_text()
    assert _run(work, env, "venv") == ["setup: graphviz present", "setup: .venv up to date"]


def test_all_sets_up_both_and_is_cheap_the_second_time(tmp_path):
    work, env = _checkout(tmp_path)
    first = _run(work, env)
    assert any(line.startswith("setup: setting up .venv-checkov (checkov ") and "done (" in line for line in first)
    assert _run(work, env) == ["setup: graphviz present", "setup: .venv up to date", "setup: .venv-checkov up to date"]


def test_build_script_asks_only_for_the_venv():
    calls = [line.split("#")[0].split() for line in (ROOT / "scripts" / "build.sh").read_text().splitlines()
             if "setup.sh" in line.split("#")[0]]
    assert calls == [["scripts/setup.sh", "venv"]]
    assert ".venv-checkov" not in (ROOT / "scripts" / "build.sh").read_text()
