"""The manager's outbound rules (service.manager_egress): the defaults in the stack's own template, one
template for every environment when their CIDRs differ, and what each environment really gets. Refusals
of bad rules are tested through the command line in tests/cli/test_bad_parameters.py."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from herd_cfn import names
from herd_cfn.build import lint
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.service import egress
from herd_cfn.templates.stacks.service.config import DEFAULT_MANAGER_EGRESS
from tests.conftest import ROOT

S = names.Service
STACK = registry.get(names.SERVICE)
WORLD = "0.0.0.0/0"


def _rule(protocol: str, port: int, cidr: str, description: str) -> dict:
    return {"protocol": protocol, "port": port, "cidr": cidr, "description": description}


def _project(tmp_path: Path, **egress_by_env: list[dict]):
    params = tmp_path / "parameters"
    shutil.copytree(ROOT / "parameters", params)
    for env, rules in egress_by_env.items():
        path = params / f"{env}.json"
        data = json.loads(path.read_text())
        data["service"]["manager_egress"] = rules
        path.write_text(json.dumps(data))
    return load_project(params)


def _manager_egress(template: dict) -> list[dict]:
    return template["Resources"][S.MANAGER_SG]["Properties"]["SecurityGroupEgress"]


def _as_tuples(rules: list[dict]) -> set[tuple]:
    return {(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in rules}


def _per_env(project) -> dict[str, set[tuple]]:
    """What each environment's manager group allows, with its parameter values resolved."""
    shaped = STACK.for_project(project)
    template = shaped.template_dict()
    return {name: _as_tuples(Evaluated(template, shaped.parameter_values(env)).resources()[S.MANAGER_SG]
                             ["Properties"]["SecurityGroupEgress"])
            for name, env in project.environments.items()}


def test_the_stacks_own_template_has_the_default_rules_and_no_parameter():
    template = STACK.template_dict()
    defaults = {(r.protocol, r.first, r.last, r.cidr) for r in DEFAULT_MANAGER_EGRESS}
    expected = {("tcp", 443, 443, WORLD)} | defaults
    assert _as_tuples(_manager_egress(template)) == expected
    assert {("tcp", 80), ("tcp", 502), ("tcp", 1883), ("tcp", 8883), ("udp", 3671)} <= {
        (r["IpProtocol"], r["FromPort"]) for r in _manager_egress(template)}
    assert S.MANAGER_EGRESS_CIDRS not in template["Parameters"]


def test_the_committed_environments_use_the_defaults():
    project = load_project(ROOT / "parameters")
    assert egress.extension(project) is None
    for env in project.environments.values():
        assert env.service.manager_egress == list(DEFAULT_MANAGER_EGRESS)


def test_own_rules_count_what_the_template_makes():
    """OWN_RULES (the quota check's count of herd-cfn's rules) matches the template: the inline HTTPS rule and
    every unconditional SecurityGroupEgress resource of the manager's group; SMTP is the conditional one."""
    template = STACK.template_dict()
    inline = [r for r in _manager_egress(template) if r.get("Description") == "AWS APIs, registries"]
    separate = {name: r for name, r in template["Resources"].items()
                if r["Type"] == "AWS::EC2::SecurityGroupEgress"
                and r["Properties"]["GroupId"] == {"Fn::GetAtt": [S.MANAGER_SG, "GroupId"]}}
    unconditional = [name for name, r in separate.items() if "Condition" not in r]
    assert len(inline) + len(unconditional) == egress.OWN_RULES
    assert [name for name, r in separate.items() if "Condition" in r] == [S.MANAGER_SMTP_EGRESS]
    assert separate[S.MANAGER_SMTP_EGRESS]["Properties"]["FromPort"] == egress.SMTP_PORT


def test_cidrs_that_differ_come_from_one_parameter_and_each_environment_gets_its_own(tmp_path):
    shared = _rule("tcp", 8883, WORLD, "MQTT over TLS")
    project = _project(tmp_path,
                       dev=[shared, _rule("tcp", 502, "10.60.1.0/24", "Modbus TCP")],
                       prod=[_rule("tcp", 502, "10.50.0.0/16", "Modbus TCP"), shared])
    template = STACK.for_project(project).template_dict()
    assert template["Parameters"][S.MANAGER_EGRESS_CIDRS]["Type"] == "CommaDelimitedList"
    modbus = next(r for r in _manager_egress(template) if r["FromPort"] == 502)
    assert modbus["CidrIp"] == {"Fn::Select": [0, {"Ref": S.MANAGER_EGRESS_CIDRS}]}
    mqtt = next(r for r in _manager_egress(template) if r["FromPort"] == 8883)
    assert mqtt["CidrIp"] == WORLD  # shared by every environment: written into the template
    assert _per_env(project) == {
        "dev": {("tcp", 443, 443, WORLD), ("tcp", 8883, 8883, WORLD), ("tcp", 502, 502, "10.60.1.0/24")},
        "prod": {("tcp", 443, 443, WORLD), ("tcp", 8883, 8883, WORLD), ("tcp", 502, 502, "10.50.0.0/16")},
    }


def test_two_networks_for_one_port_pair_up_and_order_in_the_file_does_not_matter(tmp_path):
    rules = [_rule("tcp", 502, "10.50.0.0/16", "Modbus TCP"), _rule("tcp", 502, "10.70.0.0/16", "Modbus TCP"),
             _rule("udp", 3671, "10.50.0.0/16", "KNX"), _rule("tcp", 1883, WORLD, "MQTT")]
    shuffled = rules[:]
    random.Random(4).shuffle(shuffled)
    in_order = STACK.for_project(_project(tmp_path / "a", dev=rules, prod=rules)).template_body()
    reordered = STACK.for_project(_project(tmp_path / "b", dev=rules, prod=shuffled)).template_body()
    assert in_order == reordered
    assert S.MANAGER_EGRESS_CIDRS not in json.dumps(in_order)  # every CIDR shared: no parameter


def test_the_template_with_per_environment_cidrs_passes_cfn_lint(tmp_path):
    project = _project(tmp_path, dev=[_rule("tcp", 502, "10.60.1.0/24", "Modbus TCP")],
                       prod=[_rule("tcp", 502, "10.50.0.0/16", "Modbus TCP")])
    body = STACK.for_project(project).template_body()
    assert lint.lint_template(body, names.SERVICE, ["eu-west-1"]) == []


@pytest.mark.parametrize("ports", [{"port": 47808}, {"from_port": 6000, "to_port": 6010}])
def test_a_rule_is_a_port_or_a_range(tmp_path, ports):
    rule = {"protocol": "udp", "cidr": "10.50.0.0/16", "description": "site", **ports}
    project = _project(tmp_path, dev=[rule], prod=[rule])
    first = ports.get("port", ports.get("from_port"))
    last = ports.get("port", ports.get("to_port"))
    assert ("udp", first, last, "10.50.0.0/16") in _per_env(project)["prod"]
