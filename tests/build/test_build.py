"""The build: deterministic bytes, --check, atomic writes, filters, and parameter values checked
against each template's declared Parameters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from herd_cfn.build import paramcheck, render
from herd_cfn.cli import build_templates_main
from herd_cfn.errors import InputError
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT


def _run(tmp: Path, *args: str) -> int:
    return build_templates_main(["--parameters-dir", str(tmp / "parameters"), "--output-dir", str(tmp / "output"),
                                 *args])


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_two_builds_give_identical_bytes(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "parameters").symlink_to(ROOT / "parameters")
        assert _run(tmp_path / name) == 0
    first, second = _tree(tmp_path / "a" / "output"), _tree(tmp_path / "b" / "output")
    assert first == second
    # Committed output/ equals a fresh build; the renderings of the picture are checked by their source
    # marker (tests/build/test_diagram.py), since their bytes depend on the machine's fonts.
    renderings = {"architecture.svg", "architecture.png"}
    committed = {k: v for k, v in _tree(ROOT / "output").items() if k not in renderings}
    assert {k: v for k, v in first.items() if k not in renderings} == committed
    assert renderings <= set(first)


def test_layout_one_template_per_stack_and_values_per_environment(tmp_path):
    (tmp_path / "parameters").symlink_to(ROOT / "parameters")
    assert _run(tmp_path) == 0
    files = set(_tree(tmp_path / "output"))
    for stack in registry.all_stacks():
        assert f"templates/{stack.name}.yaml" in files
        if stack.scope == "administrator":
            assert f"parameters/administrator/{stack.name}.json" in files
        else:
            assert {f"parameters/dev/{stack.name}.json", f"parameters/prod/{stack.name}.json"} <= files


def test_parameter_files_use_cloudformation_form(tmp_path):
    values = json.loads((ROOT / "output/parameters/prod/network.json").read_text())
    assert all(set(item) == {"ParameterKey", "ParameterValue"} for item in values)
    assert all(isinstance(item["ParameterValue"], str) for item in values)
    assert {"ParameterKey": "VpcCidr", "ParameterValue": "10.30.0.0/16"} in values


def test_check_passes_when_up_to_date_and_writes_nothing(project_copy, capsys):
    before = _tree(project_copy / "output")
    assert _run(project_copy, "--check") == 0
    assert "up to date" in capsys.readouterr().out
    assert _tree(project_copy / "output") == before


def test_check_lists_stale_missing_and_orphaned_files_and_writes_nothing(project_copy, capsys):
    out = project_copy / "output"
    (out / "templates/network.yaml").write_text("changed by hand\n")
    (out / "parameters/dev/network.json").unlink()
    (out / "templates/removed-stack.yaml").write_text("x\n")
    before = _tree(out)
    assert _run(project_copy, "--check") == 1
    printed = capsys.readouterr().out
    assert f"stale: {out / 'templates/network.yaml'}" in printed
    assert f"stale: {out / 'parameters/dev/network.json'}" in printed
    assert f"not built by the code any more: {out / 'templates/removed-stack.yaml'}" in printed
    assert _tree(out) == before


def test_check_sees_a_parameter_change(project_copy, capsys):
    path = project_copy / "parameters/dev.json"
    data = json.loads(path.read_text())
    data["network"]["flow_log_retention_days"] = 90
    path.write_text(json.dumps(data))
    assert _run(project_copy, "--check") == 1
    assert "parameters/dev/network.json" in capsys.readouterr().out


def test_full_build_rewrites_only_what_changed_and_removes_orphans(project_copy, capsys):
    out = project_copy / "output"
    (out / "templates/removed-stack.yaml").write_text("x\n")
    (out / "templates/network.yaml").write_text("changed\n")
    assert _run(project_copy) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'templates/network.yaml'}" in printed
    assert "1 changed" in printed
    assert not (out / "templates/removed-stack.yaml").exists()
    assert _tree(out) == _tree(ROOT / "output")  # nothing else rewritten, renderings included


def test_stack_and_env_filters_write_only_those(tmp_path, capsys):
    (tmp_path / "parameters").symlink_to(ROOT / "parameters")
    assert _run(tmp_path, "--stack", "network", "--env", "prod") == 0
    assert set(_tree(tmp_path / "output")) == {"templates/network.yaml", "parameters/prod/network.json"}


def test_writes_are_atomic(project_copy, monkeypatch, capsys):
    """A failure while writing leaves every file either old or new, never partial, and no temp files; the
    user reads one line naming the file, not a traceback."""
    out = project_copy / "output"
    for path in (out / "templates").glob("*.yaml"):
        path.write_text("old\n")
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert _run(project_copy) == 2
    assert capsys.readouterr().err.startswith("error: --output-dir: ")
    expected = _tree(ROOT / "output")
    for name, content in _tree(out).items():
        assert content in (b"old\n", expected.get(name)), name
    assert not [p for p in out.rglob("*.tmp")]


def test_values_are_checked_against_declared_parameters():
    declared = {
        "Count": {"Type": "Number", "MinValue": 1, "MaxValue": 3},
        "Mode": {"Type": "String", "AllowedValues": ["a", "b"]},
        "Cidr": {"Type": "String", "AllowedPattern": r"^\d+\.\d+\.\d+\.\d+/\d+$", "ConstraintDescription": "a CIDR"},
        "Optional": {"Type": "String", "Default": "x"},
        "Ids": {"Type": "CommaDelimitedList", "AllowedPattern": r"^\d{12}$"},
    }
    good = {"Count": "2", "Mode": "a", "Cidr": "10.0.0.0/16", "Ids": "111111111111,222222222222"}
    paramcheck.check(declared, good, "dev.json", "s")
    bad = [
        ({**good, "Extra": "1"}, "s.Extra: the template declares no such parameter"),
        ({k: v for k, v in good.items() if k != "Mode"}, "s.Mode: no value given and the template has no default"),
        ({**good, "Mode": "c"}, "s.Mode: 'c' is not one of AllowedValues a, b"),
        ({**good, "Cidr": "10.0.0.0"}, "s.Cidr: '10.0.0.0' does not match: a CIDR"),
        ({**good, "Count": "4"}, "s.Count: 4 is above MaxValue 3"),
        ({**good, "Count": "two"}, "s.Count: 'two' is not a number"),
        ({**good, "Ids": "111111111111,abc"}, "s.Ids: 'abc' does not match"),
    ]
    for values, message in bad:
        with pytest.raises(InputError) as info:
            paramcheck.check(declared, values, "dev.json", "s")
        assert str(info.value).startswith(f"dev.json: {message}"), str(info.value)


def test_every_environment_passes_every_stack_declared_parameters():
    project = load_project(ROOT / "parameters")
    for stack in registry.all_stacks():
        declared = render.declared_parameters(stack)
        sources = [project] if stack.scope == "administrator" else list(project.environments.values())
        for source in sources:
            values = stack.parameter_values(source)
            assert set(values) == set(declared), stack.name
