"""project.json waves: the default, glob patterns, and one clear line for each way to get them wrong."""

from __future__ import annotations

import json
import shutil

import pytest

from herd_cfn import cli
from herd_cfn.errors import InputError
from herd_cfn.templates.registry import load_project
from tests.rollout_support import ROOT, add_environments


@pytest.fixture
def five(tmp_path):
    """dev, prod, staging, customer-a, customer-b (no waves in project.json yet); parameters/ only."""
    shutil.copytree(ROOT / "parameters", tmp_path / "parameters")
    add_environments(tmp_path, ["staging", "customer-a", "customer-b"], build=False)
    return tmp_path


def _set_waves(project_dir, waves) -> None:
    path = project_dir / "parameters" / "project.json"
    project = json.loads(path.read_text())
    project["waves"] = waves
    path.write_text(json.dumps(project))


def _waves(project_dir):
    return [(w.environments, w.failure_tolerance) for w in load_project(project_dir / "parameters").waves]


def test_default_is_the_first_environment_alone_then_the_others(five):
    assert _waves(five) == [(("dev",), 0), (("prod", "staging", "customer-a", "customer-b"), 0)]


def test_glob_patterns_and_a_failure_tolerance(five):
    _set_waves(five, [["dev"], {"environments": ["staging"], "failure_tolerance": 1}, ["prod", "customer-*"]])
    assert _waves(five) == [(("dev",), 0), (("staging",), 1), (("prod", "customer-a", "customer-b"), 0)]


@pytest.mark.parametrize("waves, key, rule", [
    ([["dev"], ["prod", "stagng"], ["customer-*"]], "waves.1", "'stagng' matches no environment"),
    ([["dev"], ["prod", "staging"], ["customer-*", "prod"]], "waves.2",
     "'prod' (from 'prod') is already in waves.1; each environment belongs to exactly one wave"),
    ([["dev", "*-a"], ["prod", "staging", "customer-*"]], "waves.1", "'customer-a' (from 'customer-*') is already in"),
    ([["dev"], ["prod", "customer-*"]], "waves", "'staging' is in no wave"),
    ([["dev"], [], ["prod", "staging", "customer-*"]], "waves.1", "empty wave"),
    ([{"environments": ["dev"], "failure_tolerance": -1}, ["prod", "staging", "customer-*"]], "waves.0",
     "greater than or equal to 0"),
])
def test_bad_waves_are_refused_with_one_line(five, capsys, waves, key, rule):
    _set_waves(five, waves)
    with pytest.raises(InputError) as refused:
        load_project(five / "parameters")
    assert refused.value.where.endswith("project.json")
    assert (refused.value.key or "").startswith(key)
    assert rule in refused.value.rule
    # The command says it in one line and exits 2 before writing anything.
    output = five / "fresh-output"
    code = cli.build_templates_main(["--parameters-dir", str(five / "parameters"), "--output-dir", str(output)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and rule in err, err
    assert not output.exists() or not any(output.iterdir())
