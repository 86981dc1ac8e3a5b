"""Plugin settings: a variable and a secret added in parameters/dev.json and prod.json reach each
environment's manager (plain and from the secret) through the one service template and the
environment's output/parameters/<env>/service.json; empty ones are left out; the execution role reads
exactly the environment's plugin secrets. Refusals are in tests/cli/test_plugin_settings.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.build import lint
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.cli import build_templates_main
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.service import plugins
from tests.cli.test_plugin_settings import ACCOUNTS, both, secret_arn
from tests.conftest import ROOT

S = names.Service
LEVELS = {"dev": "DEBUG", "prod": "INFO"}


def parameter_arn(env: str) -> str:
    return f"arn:aws:ssm:eu-west-1:{ACCOUNTS[env]}:parameter/herd/weather-key"


def add_settings(params: Path) -> None:
    """The runbook's example: one variable and two secrets for the manager, one variable for Keycloak."""
    both("manager", "environment", HERD_PLUGIN_LOG_LEVEL=lambda env: LEVELS[env])(params)
    both("manager", "secrets", ACME_API_KEY=lambda env: secret_arn(env, ":api_key::"),
         WEATHER_KEY=parameter_arn)(params)
    both("keycloak", "environment", KC_LOG_LEVEL="info")(params)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """parameters/ with the settings added, built through the command line into output/."""
    root = tmp_path_factory.mktemp("plugins")
    import shutil

    shutil.copytree(ROOT / "parameters", root / "parameters")
    add_settings(root / "parameters")
    assert build_templates_main(["--parameters-dir", str(root / "parameters"), "--output-dir", str(root / "output"),
                                 "--stack", names.SERVICE]) == 0
    return root / "output"


def _template(output: Path) -> dict:
    return json.loads(json.dumps(load_yaml((output / "templates" / f"{names.SERVICE}.yaml").read_text())))


def _values(output: Path, env: str) -> dict[str, str]:
    items = json.loads((output / "parameters" / env / f"{names.SERVICE}.json").read_text())
    return {item["ParameterKey"]: item["ParameterValue"] for item in items}


def _container(resources: dict, task: str) -> dict:
    (container,) = resources[task]["Properties"]["ContainerDefinitions"]
    return container


def _statements(resources: dict) -> list[dict]:
    return resources[S.EXECUTION_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _granted(resources: dict, action: str) -> list[str]:
    """The resources of the statements allowing ``action``, with Fn::Split of a value evaluated."""
    found = []
    for statement in _statements(resources):
        if action not in statement["Action"]:
            continue
        resource = statement["Resource"]
        if isinstance(resource, dict) and "Fn::Split" in resource:
            separator, text = resource["Fn::Split"]
            resource = text.split(separator)
        found += resource
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_variable_and_secret_reach_the_manager_of_each_environment(built, env):
    resources = Evaluated(_template(built), _values(built, env)).resources()
    manager = _container(resources, S.MANAGER_TASK)
    environment = {v["Name"]: v["Value"] for v in manager["Environment"]}
    secrets = {s["Name"]: s["ValueFrom"] for s in manager["Secrets"]}
    assert environment["HERD_PLUGIN_LOG_LEVEL"] == LEVELS[env]
    assert secrets["ACME_API_KEY"] == secret_arn(env, ":api_key::")
    assert secrets["WEATHER_KEY"] == parameter_arn(env)
    # Secrets never in plain environment; the committed example, empty in both files, is left out.
    assert not {"ACME_API_KEY", "WEATHER_KEY", "OR_EMAIL_ADMIN"} & set(environment)
    # herd-cfn's own settings are still there, once each.
    assert environment["OR_SETUP_RUN_ON_RESTART"] == "false"
    assert sorted(environment) == sorted(set(environment)) and len(manager["Environment"]) == len(environment)
    keycloak = {v["Name"]: v["Value"] for v in _container(resources, S.KEYCLOAK_TASK)["Environment"]}
    assert keycloak["KC_LOG_LEVEL"] == "info"
    assert "HERD_PLUGIN_LOG_LEVEL" not in keycloak


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_execution_role_reads_exactly_the_plugin_secrets(built, env):
    resources = Evaluated(_template(built), _values(built, env)).resources()
    granted = _granted(resources, "secretsmanager:GetSecretValue")
    # The secret itself (IAM knows no JSON keys), next to the data stack's two secrets.
    assert secret_arn(env) in granted and secret_arn(env, ":api_key::") not in granted
    assert len(granted) == 3
    assert _granted(resources, "ssm:GetParameters") == [parameter_arn(env)]
    # No key for the plugin secrets (AWS managed keys); the one kms: statement is the log groups' key, and only
    # through CloudWatch Logs.
    kms = [s for s in _statements(resources) if any(a.startswith("kms:") for a in s["Action"])]
    assert [s["Condition"] for s in kms] == [{"StringEquals": {
        "kms:ViaService": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}}]
    # The containers get no such right: only ECS's agent, with the execution role, fetches them.
    for role in (S.MANAGER_TASK_ROLE, S.POSTGRES_TASK_ROLE):
        assert "secretsmanager" not in json.dumps(resources[role]) and "ssm:" not in json.dumps(resources[role])


def test_parameter_files_carry_the_values_of_each_environment(built):
    dev, prod = _values(built, "dev"), _values(built, "prod")
    assert dev.keys() == prod.keys()
    name = plugins.parameter_name("manager", "environment", "HERD_PLUGIN_LOG_LEVEL")
    assert (dev[name], prod[name]) == ("DEBUG", "INFO")
    assert dev[S.PLUGIN_SECRET_ARNS] == secret_arn("dev") and dev[S.PLUGIN_PARAMETER_ARNS] == parameter_arn("dev")
    assert prod[S.PLUGIN_SECRET_ARNS] == secret_arn("prod")


def test_empty_values_are_left_out_and_no_secrets_means_no_grant(project_copy):
    params = project_copy / "parameters"
    add_settings(params)
    for env in ("dev", "prod"):  # prod keeps only the SSM parameter; dev uses none of the three
        path = params / f"{env}.json"
        data = json.loads(path.read_text())
        data["service"]["manager"]["secrets"]["ACME_API_KEY"] = ""
        if env == "dev":
            data["service"]["manager"]["secrets"]["WEATHER_KEY"] = ""
            data["service"]["manager"]["environment"]["HERD_PLUGIN_LOG_LEVEL"] = ""
        path.write_text(json.dumps(data))
    output = project_copy / "output"
    assert build_templates_main(["--parameters-dir", str(params), "--output-dir", str(output),
                                 "--stack", names.SERVICE]) == 0
    dev = Evaluated(_template(output), _values(output, "dev")).resources()
    manager = _container(dev, S.MANAGER_TASK)
    assert not {"HERD_PLUGIN_LOG_LEVEL", "ACME_API_KEY", "WEATHER_KEY"} & (
        {v["Name"] for v in manager["Environment"]} | {s["Name"] for s in manager["Secrets"]})
    assert not _granted(dev, "ssm:GetParameters")
    assert len(_granted(dev, "secretsmanager:GetSecretValue")) == 2  # the data stack's own
    prod = Evaluated(_template(output), _values(output, "prod")).resources()
    assert {s["Name"] for s in _container(prod, S.MANAGER_TASK)["Secrets"]} >= {"WEATHER_KEY"}
    assert "ACME_API_KEY" not in {s["Name"] for s in _container(prod, S.MANAGER_TASK)["Secrets"]}
    assert _granted(prod, "ssm:GetParameters") == [parameter_arn("prod")]


def test_the_template_with_settings_passes_cfn_lint(built):
    body = (built / "templates" / f"{names.SERVICE}.yaml").read_text()
    assert lint.lint_template(body, names.SERVICE, ["eu-west-1"]) == []


def test_no_settings_means_the_template_of_before(project_copy):
    """A project without plugin settings builds the stack's own template (no parameter, no condition)."""
    for env in ("dev", "prod"):
        path = project_copy / "parameters" / f"{env}.json"
        data = json.loads(path.read_text())
        for container in plugins.CONTAINERS:
            for kind in plugins.KINDS:
                data["service"][container].pop(kind, None)
        path.write_text(json.dumps(data))
    stack = registry.get(names.SERVICE)
    assert stack.for_project(load_project(project_copy / "parameters")) is stack
    assert stack.for_project(load_project(ROOT / "parameters")) is not stack  # the committed example


def _herd_names(template: dict, task: str) -> set[str]:
    (container,) = template["Resources"][task]["Properties"]["ContainerDefinitions"]
    found = set()
    for entry in [*container.get("Environment", []), *container.get("Secrets", [])]:
        found.add(entry["Fn::If"][1]["Name"] if "Fn::If" in entry else entry["Name"])
    return found


def test_every_name_herd_cfn_sets_is_reserved():
    """Adding a setting to tasks.py without reserving it here fails this test."""
    template = registry.get(names.SERVICE).template_dict()
    for container, task in plugins.TASKS.items():
        names_set = _herd_names(template, task)
        assert names_set, task
        unreserved = sorted(n for n in names_set if plugins.reserved(container, n) is None)
        assert unreserved == [], (container, unreserved)


@pytest.mark.parametrize(("value", "shape"), [
    ("/deployment/map/mapsettings.json", None),
    ("https://hooks.example.com/services/plugins/notifications/endpoint_v2", None),
    ("123e4567-e89b-12d3-a456-426614174000", None),
    ("com.herd.plugins.agent.ModbusAgentProtocolConfiguration", None),
    ("-Xmx2g -XX:+UseG1GC -XX:MaxGCPauseMillis=200", None),
    ("a" * 50, None),
    ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "a long random string (40 characters)"),
    ("ghp_WnW4f20E9irPcEbPe9mG-kbPA0IIW9xhNowL", "a long random string (40 characters)"),
    ("-----BEGIN CERTIFICATE-----", "a PEM block (key or certificate)"),
])
def test_secret_shapes(value, shape):
    assert plugins.secret_shape(value) == shape


def _documented_examples() -> dict[str, dict]:
    """The two ``"manager": {...}`` examples of docs/plugins.md, by environment."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    blocks = {}
    for env in ("dev", "prod"):
        after = text.split(f"`parameters/{env}.json`:", 1)[1]
        block = after.split("```json", 1)[1].split("```", 1)[0]
        blocks[env] = json.loads("{" + block + "}")["manager"]
    return blocks


def test_the_documented_example_builds_and_does_what_the_docs_say(project_copy):
    params, output = project_copy / "parameters", project_copy / "output"
    for env, manager in _documented_examples().items():
        path = params / f"{env}.json"
        data = json.loads(path.read_text())
        data["service"]["manager"] = manager
        path.write_text(json.dumps(data))
    assert build_templates_main(["--parameters-dir", str(params), "--output-dir", str(output),
                                 "--stack", names.SERVICE]) == 0
    got = {}
    for env in ("dev", "prod"):
        container = _container(Evaluated(_template(output), _values(output, env)).resources(), S.MANAGER_TASK)
        got[env] = {v["Name"] for v in container["Environment"]} | {s["Name"] for s in container["Secrets"]}
    mine = {"OR_EMAIL_ADMIN", "HERD_PLUGIN_LOG_LEVEL", "HERD_WEATHER_URL", "ACME_API_KEY", "WEATHER_KEY"}
    assert got["dev"] & mine == mine - {"OR_EMAIL_ADMIN", "WEATHER_KEY"}
    assert got["prod"] & mine == mine
