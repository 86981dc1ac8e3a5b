"""Bad input: one clear message naming the file, the key and the rule; a non-zero exit; nothing in
output/ touched. Each case breaks a copy of the real parameters/ in a temp directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from herd_cfn.cli import build_templates_main, main
from tests.conftest import ROOT


def _edit(file: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(params: Path) -> None:
        path = params / file
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data, indent=2))
    return apply


def _set(file: str, dotted: str, value) -> Callable[[Path], None]:
    def change(data: dict) -> None:
        *parents, last = dotted.split(".")
        for part in parents:
            data = data[part]
        data[last] = value
    return _edit(file, change)


def _delete(file: str, dotted: str) -> Callable[[Path], None]:
    def change(data: dict) -> None:
        *parents, last = dotted.split(".")
        for part in parents:
            data = data[part]
        del data[last]
    return _edit(file, change)


def _write(file: str, text: str) -> Callable[[Path], None]:
    return lambda params: (params / file).write_text(text)


def _remove(file: str) -> Callable[[Path], None]:
    return lambda params: (params / file).unlink()


def _nothing(params: Path) -> None:
    return None


# (id, how to break parameters/, extra CLI arguments, substrings the one error line must contain)
CASES = [
    ("malformed-json", _write("dev.json", '{\n  "account_id": "222222222222",\n  "region": \n}'), [],
     ["dev.json", "line 4 column 1", "malformed JSON"]),
    ("missing-env-file", _remove("prod.json"), [], ["prod.json", "file not found"]),
    ("missing-project-file", _remove("project.json"), [], ["project.json", "file not found"]),
    ("missing-key", _delete("dev.json", "network.vpc_cidr"), [],
     ["dev.json", "network.vpc_cidr", "required key is missing"]),
    ("unknown-key-suggests", _edit("dev.json", lambda d: d["network"].update(vpc_cdir="10.9.0.0/16")), [],
     ["dev.json", "network.vpc_cdir", "unknown key", "did you mean 'vpc_cidr'"]),
    ("unknown-top-level-key", _set("prod.json", "domian", "x"), [],
     ["prod.json", "domian", "did you mean 'domain'"]),
    ("wrong-type-string-for-int", _set("dev.json", "network.az_count", "2"), [],
     ["dev.json", "network.az_count", "wrong type", "valid integer", "got string '2'"]),
    ("wrong-type-bool", _set("prod.json", "production", "yes"), [],
     ["prod.json", "production", "wrong type", "got string 'yes'"]),
    ("bad-cidr", _set("dev.json", "network.vpc_cidr", "10.20.0.0/33"), [],
     ["dev.json", "network.vpc_cidr", "CIDR notation"]),
    ("cidr-host-bits-set", _set("dev.json", "network.vpc_cidr", "10.20.0.1/16"), [],
     ["dev.json", "network.vpc_cidr", "has host bits set"]),
    ("cidr-too-large", _set("dev.json", "network.vpc_cidr", "10.0.0.0/8"), [],
     ["dev.json", "network.vpc_cidr", "/16 to /24", "got /8"]),
    ("overlapping-cidrs", _set("prod.json", "network.vpc_cidr", "10.20.128.0/17"), [],
     ["prod.json", "network.vpc_cidr", "overlaps 10.20.0.0/16", "'dev'"]),
    ("bad-account-id", _set("dev.json", "account_id", "12345"), [],
     ["dev.json", "account_id", "12-digit"]),
    ("account-id-as-number", _set("dev.json", "account_id", 222222222222), [],
     ["dev.json", "account_id", "wrong type"]),
    ("same-account-twice", _set("prod.json", "account_id", "222222222222"), [],
     ["prod.json", "account_id", "already used by environment 'dev'"]),
    ("az-count-too-high", _set("prod.json", "network.az_count", 4), [],
     ["prod.json", "network.az_count", "less than or equal to 3"]),
    ("az-count-too-low", _set("dev.json", "network.az_count", 1), [],
     ["dev.json", "network.az_count", "greater than or equal to 2"]),
    ("nat-count-not-1-or-azs", _set("prod.json", "network.nat_gateway_count", 2), [],
     ["prod.json", "network", "nat_gateway_count must be 1 or equal to az_count (3)"]),
    ("unknown-region", _set("dev.json", "region", "eu-west-9"), [],
     ["dev.json", "region", "not an AWS region", "did you mean"]),
    ("bad-retention", _set("dev.json", "network.flow_log_retention_days", 31), [],
     ["dev.json", "network.flow_log_retention_days", "retention period"]),
    ("bad-domain", _set("dev.json", "domain", "Platform_Dev"), [], ["dev.json", "domain", "DNS name"]),
    ("env-file-not-listed", _write("staging.json", "{}"), [], ["staging.json", "not listed"]),
    ("env-listed-twice", _set("project.json", "environments", ["dev", "prod", "dev"]), [],
     ["project.json", "environments", "listed twice"]),
    ("bad-admin-account", _set("project.json", "administrator_account_id", "abc"), [],
     ["project.json", "administrator_account_id", "12-digit"]),
    ("waf-mode", _set("prod.json", "edge.waf", "on"), [], ["prod.json", "edge.waf", "'off', 'count' or 'block'"]),
    ("execute-command-not-bool", _set("dev.json", "service.execute_command", "maybe"), [],
     ["dev.json", "service.execute_command"]),
    ("unknown-stack", _nothing, ["--stack", "netwrok"], ["unknown stack 'netwrok'", "did you mean 'network'"]),
    ("unknown-environment", _nothing, ["--env", "staging"], ["unknown environment 'staging'", "dev, prod"]),
    ("unknown-option", _nothing, ["--stak", "network"], ["command line", "unrecognized arguments"]),
]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("case", "breaks", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_one_clear_message_and_nothing_written(project_copy, capsys, case, breaks, args, expected):
    params, output = project_copy / "parameters", project_copy / "output"
    breaks(params)
    # Make output/ stale on purpose, so a build that wrongly went ahead would be seen rewriting it.
    (output / "templates" / "network.yaml").write_text("stale\n")
    before = _snapshot(output)

    code = build_templates_main(["--parameters-dir", str(params), "--output-dir", str(output), *args])

    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert code != 0
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert captured.out == ""
    assert _snapshot(output) == before


def test_at_least_fifteen_distinct_cases():
    assert len({c[0] for c in CASES}) >= 15


def test_build_script_exits_non_zero_with_the_message(project_copy):
    """The real script, as a user runs it."""
    _set("dev.json", "network.vpc_cidr", "300.1.0.0/16")(project_copy / "parameters")
    result = subprocess.run(
        [sys.executable, str(ROOT / "build_templates.py"), "--parameters-dir", "parameters", "--output-dir", "output"],
        cwd=project_copy, capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: parameters/dev.json: network.vpc_cidr: must be an IPv4 network")
    assert "Traceback" not in result.stderr


def test_herd_cfn_build_command_shares_the_checks(project_copy, capsys):
    _set("prod.json", "network.az_count", 5)(project_copy / "parameters")
    code = main(["build", "--parameters-dir", str(project_copy / "parameters"),
                 "--output-dir", str(project_copy / "output")])
    assert code == 2
    assert "prod.json: network.az_count" in capsys.readouterr().err
