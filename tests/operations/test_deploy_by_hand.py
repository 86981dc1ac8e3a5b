"""docs/deploy-by-hand.md: its generated parts are what the code says today, and its commands work as printed
with the AWS CLI v1 (the one in .venv) against moto on 127.0.0.1 (the jq block's run is in test_deploy.py,
which already has a moto server: one fewer to start)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from herd_cfn import cli
from herd_cfn.templates import registry
from tests.conftest import ROOT
from tests.rollout_support import client

DOC = ROOT / "docs" / "deploy-by-hand.md"
MOTO_ACCOUNT = "123456789012"  # plain fake credentials act in moto's default account


def _aws_cli_dir() -> Path:
    beside = Path(sys.executable).parent
    if (beside / "aws").exists():
        return beside
    found = shutil.which("aws")
    if not found:
        pytest.skip("no AWS CLI installed")
    return Path(found).parent


def block(marker: str) -> str:
    """The text between ``<!-- <marker>…-->`` and ``<!-- end -->``, without its code fence."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- " + re.escape(marker) + r"[^\n]*-->\n(.*?)<!-- end -->", text, re.S)
    assert found, f"{marker!r} block missing from {DOC.name}"
    return re.sub(r"^```[a-z]*\n|```\n?$", "", found.group(1).strip() + "\n", flags=re.M).strip()


def _cli_env(endpoint_url: str) -> dict[str, str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
           # botocore's endpoint variable: the documented command runs unchanged, against moto.
           "AWS_ENDPOINT_URL": endpoint_url,
           "PATH": f"{_aws_cli_dir()}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env.pop("AWS_PROFILE", None)
    return env


def _network_stack(endpoint_url: str) -> dict | None:
    stacks = client(endpoint_url, MOTO_ACCOUNT, "cloudformation").describe_stacks()["Stacks"]
    return next((s for s in stacks if s["StackName"] == "herd-network"), None)


def test_stack_order_is_the_registry_order():
    assert block("generated: stack order") == ", ".join(s.name for s in registry.stackset_stacks())


def test_printed_command_is_what_herd_cfn_prints(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the printed template path is relative to the repository's root
    assert cli.main(["deploy", "--print-aws-cli", "--env", "dev", "--stack", "network",
                     "--parameters-dir", "parameters", "--output-dir", "output"]) == 0
    assert block("generated: herd-cfn deploy --print-aws-cli") == capsys.readouterr().out.strip()


def test_v1_refuses_the_list_format_through_file(project_copy):
    """Why the doc converts the file: v1 reads file:// here as a list of Key=Value strings, and refuses the
    list of objects before any call (the endpoint is never reached)."""
    env = {**_cli_env("http://127.0.0.1:9"), "AWS_MAX_ATTEMPTS": "1"}
    version = subprocess.run(["aws", "--version"], env=env, capture_output=True, text=True, check=False)
    if not (version.stdout + version.stderr).startswith("aws-cli/1."):
        pytest.skip("not AWS CLI v1")
    done = subprocess.run(
        ["aws", "cloudformation", "deploy", "--stack-name", "herd-network", "--template-file",
         "output/templates/network.yaml", "--capabilities", "CAPABILITY_NAMED_IAM",
         "--parameter-overrides", "file://output/parameters/dev/network.json"],
        cwd=project_copy, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "Invalid type for parameter [0]" in done.stderr and "valid types: <class 'str'>" in done.stderr
