"""Checks that need no AWS: the Python running herd-cfn, the AWS CLI, the parameters files and output/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from herd_cfn.build import render
from herd_cfn.config.environments import Project
from herd_cfn.errors import HerdError
from herd_cfn.operations.doctor.findings import Finding, missing, ok, warn
from herd_cfn.operations.shell import PLUGIN, PLUGIN_INSTALL
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project

# pyproject.toml's requires-python (a test keeps the two equal).
MIN_PYTHON = (3, 11)
AWS_CLI_INSTALL = ("pip install awscli, or the installer from "
                   "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")


def python_version(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Finding:
    shown = ".".join(map(str, version))
    needed = ".".join(map(str, MIN_PYTHON))
    if tuple(version[:2]) < MIN_PYTHON:
        return missing(f"Python {shown}: herd-cfn needs {needed} or newer",
                       f"install Python {needed}+ and reinstall herd-cfn with it (pip install -e .)")
    return ok(f"Python {shown} ({sys.executable})")


@lru_cache(maxsize=4)
def _cli_version(path: str) -> tuple[int, str]:
    """``aws --version`` (about 2 s for awscli v1: run once per process)."""
    result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    # awscli v1 printed its version on stderr, v2 on stdout.
    return result.returncode, (result.stdout.strip() or result.stderr.strip())


def aws_cli(which: Callable[[str], str | None] = shutil.which) -> Finding:
    """Optional: herd-cfn itself calls AWS through boto3; the AWS CLI runs the commands it prints."""
    path = which("aws")
    if path is None:
        return warn("AWS CLI not found (optional: needed only to run what `bootstrap --print` and "
                    "`deploy --print-aws-cli` print)", AWS_CLI_INSTALL)
    try:
        returncode, version = _cli_version(path)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return warn(f"AWS CLI at {path} does not run: {exc}", AWS_CLI_INSTALL)
    if returncode != 0 or not version:
        return warn(f"AWS CLI at {path} does not run (`aws --version` exited {returncode})", AWS_CLI_INSTALL)
    return ok(f"AWS CLI {version.split()[0].removeprefix('aws-cli/')} ({path})")


def session_manager_plugin(which: Callable[[str], str | None] = shutil.which) -> Finding:
    """Optional: only `herd-cfn shell` and `herd-cfn psql` need it (the AWS CLI opens ECS Exec sessions with it)."""
    path = which(PLUGIN)
    if path is None:
        return warn(f"{PLUGIN} not found (optional: needed only by `herd-cfn shell` and `herd-cfn psql`)",
                    PLUGIN_INSTALL)
    return ok(f"Session Manager plugin ({path})")


def parameters(directory: Path) -> tuple[Finding, Project | None]:
    try:
        project = load_project(directory)
    except HerdError as exc:
        return missing(f"parameters: {exc.message}",
                       "correct that value in the file named above; `herd-cfn doctor` checks again"), None
    return ok(f"parameters valid ({directory}: {', '.join(project.environments)})"), project


def output(project: Project, output_dir: Path) -> list[Finding]:
    """The comparison of ``build_templates.py --check``: what the code builds against what output/ holds.

    The picture is compared by its DOT source and the source marker of its renderings, so this needs no
    Graphviz (only writing a new rendering does)."""
    try:
        artifacts = render.render(project, list(registry.all_stacks())) + render.picture_artifacts(project)
    except HerdError as exc:
        return [missing(f"output/ cannot be built: {exc.message}", "correct the parameters file named above")]
    findings: list[Finding] = []
    changed = [*render.stale(artifacts, output_dir), *render.orphans(artifacts, output_dir)]
    if not changed:
        return [ok(f"{output_dir}/ up to date ({len(artifacts)} files)"), *findings]
    shown = ", ".join(str(p) for p in changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return [missing(f"{output_dir}/ is stale: {shown}",
                    "python build_templates.py, then review and commit output/ (every command deploys output/)"),
            *findings]
