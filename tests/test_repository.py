"""The repository works wherever it is cloned: no tracked file names a path that exists only on one
machine (a checkout's folder, a home directory). Tools are found relative to ``sys.executable`` or with
``shutil.which``; samples in the docs use neutral paths such as /opt/herd-cfn."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

# Built from pieces so this definition does not match itself; nothing else is exempt.
_SLASH = "/"
MACHINE_PATH = re.compile(
    r"(?<![\w.~-])" + _SLASH + r"(?:"
    + "wo" + r"rk" + _SLASH                     # the folder checkouts live in on the build machines
    + "|" + "ro" + r"ot" + _SLASH               # root's home
    + "|" + "ho" + r"me" + _SLASH + r"[a-z_][a-z0-9_.-]*" + _SLASH  # a Linux user's home
    + "|" + "Us" + r"ers" + _SLASH + r"[^/\s]+" + _SLASH           # a macOS user's home
    + r")"
)


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def machine_paths(text: str) -> list[str]:
    return [match.group(0) for match in MACHINE_PATH.finditer(text)]


def test_no_tracked_file_names_a_machine_path():
    found = []
    for name in _tracked_files():
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if machine_paths(line):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not found, "absolute paths of one machine in tracked files:\n" + "\n".join(found)


@pytest.mark.parametrize("text", [
    "AWS_CLI = Path('" + "/wo" + "rk/main/.venv/bin/aws')",
    "ok AWS CLI (" + "/ro" + "ot/.pyenv/shims/aws)",
    "cd " + "/ho" + "me/alice/herd-cfn",
    "open " + "/Us" + "ers/bob/src",
])
def test_the_pattern_finds_machine_paths(text):
    assert machine_paths(text)


@pytest.mark.parametrize("text", [
    "herd_cfn/templates/stacks/network/__init__.py", "/opt/herd-cfn/.venv/bin/python", "/usr/local/bin/aws",
    "https://example.com/work/items", "framework/", "/home/", "~/work/herd-cfn",
])
def test_the_pattern_leaves_ordinary_paths_alone(text):
    assert not machine_paths(text)
