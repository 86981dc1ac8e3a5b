"""What the IAM roles of the StackSet stacks need, read from their templates.

The permissions boundary and the execution role's IAM limits follow from the roles the other stacks
define, so they are derived from those templates rather than kept as a second list that could drift:
the actions the roles' policies allow (the boundary must allow them), the AWS managed policies they
attach (the only ``iam:PolicyARN`` values the execution role may attach) and the services that assume
them (the only ``iam:PassedToService`` values it may pass them to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from herd_cfn.templates.boundary import ROLE_TYPE

# An AWS managed policy as the templates name it; the group is its path and name under policy/.
_AWS_MANAGED = re.compile(r"^arn:\$\{AWS::Partition\}:iam::aws:policy/(?P<name>[\w+=,.@/-]+)$")
_INLINE_POLICY_TYPE = "AWS::IAM::Policy"
_NOT_CREATED = ("AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::AccessKey",
                "AWS::IAM::InstanceProfile")


@dataclass(frozen=True)
class Workloads:
    """The union over every role of the given templates."""

    actions: frozenset[str]
    managed_policies: tuple[str, ...]  # e.g. "service-role/AWSLambdaVPCAccessExecutionRole"
    services: tuple[str, ...]  # service principals that assume the roles

    @classmethod
    def of(cls, templates: Iterable[tuple[str, dict[str, Any]]]) -> Workloads:
        """``templates`` as (stack name, template as plain data)."""
        actions: set[str] = set()
        managed: set[str] = set()
        services: set[str] = set()
        for stack, template in templates:
            for logical_id, resource in template.get("Resources", {}).items():
                kind, props = resource["Type"], resource.get("Properties", {})
                if kind in _NOT_CREATED:
                    raise ValueError(f"{stack}.{logical_id}: the StackSet execution role creates no {kind}; "
                                     "give a role an inline policy instead")
                if kind == _INLINE_POLICY_TYPE:
                    actions |= allowed_actions(props["PolicyDocument"])
                if kind != ROLE_TYPE:
                    continue
                for policy in _policies(props.get("Policies", [])):
                    actions |= allowed_actions(policy["PolicyDocument"])
                managed |= {_managed_policy_name(stack, logical_id, arn) for arn in props.get("ManagedPolicyArns", [])}
                services |= _trusted_services(props["AssumeRolePolicyDocument"])
        return cls(frozenset(actions), tuple(sorted(managed)), tuple(sorted(services)))


def allowed_actions(document: dict[str, Any]) -> set[str]:
    """Every action an Allow statement of the policy document names, in both branches of an Fn::If."""
    return {action for statement in _statements(document["Statement"]) if statement.get("Effect") == "Allow"
            for action in _as_list(statement.get("Action", []))}


def _leaves(node: Any, key: str) -> Iterator[dict[str, Any]]:
    """The objects holding ``key`` in a list of them, an optional one (under an Fn::If) in both branches;
    {"Ref": "AWS::NoValue"}, the branch that leaves one out, yields nothing."""
    if isinstance(node, list):
        for item in node:
            yield from _leaves(item, key)
    elif isinstance(node, dict) and "Fn::If" in node:
        yield from _leaves(node["Fn::If"][1:], key)
    elif isinstance(node, dict) and key in node:
        yield node


def _policies(node: Any) -> Iterator[dict[str, Any]]:
    """The inline policies of a role."""
    return _leaves(node, "PolicyDocument")


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    return _leaves(node, "Effect")


def _trusted_services(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in _statements(document["Statement"]):
        principal = statement.get("Principal", {})
        found |= set(_as_list(principal.get("Service", []))) if isinstance(principal, dict) else set()
    return found


def _managed_policy_name(stack: str, logical_id: str, arn: Any) -> str:
    text = arn.get("Fn::Sub") if isinstance(arn, dict) else arn
    match = _AWS_MANAGED.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{stack}.{logical_id}: ManagedPolicyArns may name only AWS managed policies, as "
                         f"!Sub arn:${{AWS::Partition}}:iam::aws:policy/<name>; got {arn!r}")
    return match["name"]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
