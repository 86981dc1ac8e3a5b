"""The permissions boundary: every IAM role of every StackSet template carries it, whichever stack
added the role; it lets through everything those roles use and nothing of IAM but PassRole on the
project's roles; and it denies the ways out (editing it, removing it, users, keys, policy writes).

moto enforces no IAM, so these are checks of the templates in output/ (what is deployed); the
emulator test (tests/emulator/test_deploy_all_stacks.py) shows the roles come out with the boundary.
"""

from __future__ import annotations

import json
import re
import shutil
from fnmatch import fnmatchcase

import pytest
from cfn_flip import load_yaml
from troposphere import Template, iam

from herd_cfn import names
from herd_cfn.templates import registry
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.bootstrap import execution_policy
from herd_cfn.templates.stacks.bootstrap.workloads import Workloads, allowed_actions
from tests.conftest import ROOT
from tests.template_support import branches

B = names.Bootstrap
TEMPLATES = ROOT / "output" / "templates"
BOUNDARY_ARN = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/herd-permissions-boundary"}
# IAM's quota for a managed policy document, whitespace not counted
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
MANAGED_POLICY_CHARACTERS = 6144


def _load(stack: str) -> dict:
    return json.loads(json.dumps(load_yaml((TEMPLATES / f"{stack}.yaml").read_text())))


STACKSET_TEMPLATES = {s.name: _load(s.name) for s in registry.stackset_stacks()}
EXECUTION = _load(names.STACKSET_EXECUTION)
BOUNDARY = EXECUTION["Resources"][B.PERMISSIONS_BOUNDARY]
STATEMENTS = BOUNDARY["Properties"]["PolicyDocument"]["Statement"]


def _roles(template: dict) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def _matches(action: str, patterns) -> bool:
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _allowed_by_boundary(action: str) -> bool:
    allowed = any(s["Effect"] == "Allow" and _matches(action, s["Action"]) for s in STATEMENTS)
    return allowed and not any(s["Effect"] == "Deny" and _matches(action, s["Action"]) for s in STATEMENTS)


def test_every_role_of_every_stackset_template_carries_the_boundary():
    roles = {(stack, name): role for stack, t in STACKSET_TEMPLATES.items() for name, role in _roles(t).items()}
    assert len(roles) >= 10  # flow logs, backup, the task roles, the functions', the pipeline's
    missing = [key for key, role in roles.items() if role["Properties"].get("PermissionsBoundary") != BOUNDARY_ARN]
    assert not missing, f"roles without the permissions boundary: {missing}"
    assert BOUNDARY["Properties"]["ManagedPolicyName"] == names.PERMISSIONS_BOUNDARY_NAME
    assert BOUNDARY_ARN["Fn::Sub"].endswith(f":policy/{names.PERMISSIONS_BOUNDARY_NAME}")


def test_the_bootstrap_roles_are_not_bounded_by_what_they_create():
    for stack in (names.STACKSET_EXECUTION, names.STACKSET_ADMINISTRATION):
        for role in _roles(_load(stack)).values():
            assert "PermissionsBoundary" not in role["Properties"]


def test_roles_get_generated_names_so_the_execution_role_reaches_them():
    """The execution role may write only roles named StackSet-herd-*: CloudFormation's generated names."""
    named = [(stack, name) for stack, t in STACKSET_TEMPLATES.items() for name, role in _roles(t).items()
             if "RoleName" in role["Properties"]]
    assert not named


def _one_role_stack(scope: str, **role_props) -> StackDefinition:
    def build(t: Template) -> None:
        t.add_resource(iam.Role("AnyNewRole", AssumeRolePolicyDocument={"Statement": []}, **role_props))

    return StackDefinition(name="probe", description="probe", build=build, scope=scope)


def test_a_role_any_stack_adds_gets_the_boundary_in_the_build():
    template = _one_role_stack("stackset").template().to_dict()
    assert template["Resources"]["AnyNewRole"]["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN
    # Deployed by hand to make the boundary: the bootstrap scopes are left alone.
    assert "PermissionsBoundary" not in _one_role_stack("account").template().to_dict()["Resources"]["AnyNewRole"][
        "Properties"]


def test_a_role_may_not_bring_another_boundary():
    with pytest.raises(ValueError, match="AnyNewRole sets its own PermissionsBoundary"):
        _one_role_stack("stackset", PermissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess").template()


def _role_actions() -> dict[str, set[str]]:
    """Every action any role of the StackSet templates allows (inline, AWS::IAM::Policy), by where it is."""
    found: dict[str, set[str]] = {}
    for stack, template in STACKSET_TEMPLATES.items():
        for name, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            documents = [p["PolicyDocument"] for entry in props.get("Policies", [])
                         for p in branches(entry)] if resource["Type"] == (
                "AWS::IAM::Role") else [props["PolicyDocument"]] if resource["Type"] == "AWS::IAM::Policy" else []
            for document in documents:
                for action in allowed_actions(document):
                    found.setdefault(action, set()).add(f"{stack}.{name}")
    return found


def test_the_boundary_lets_through_every_action_the_roles_allow():
    actions = _role_actions()
    assert {"iam:PassRole", "ecr:GetAuthorizationToken", "secretsmanager:GetSecretValue"} <= set(actions)
    blocked = {action: sorted(where) for action, where in actions.items() if not _allowed_by_boundary(action)}
    assert not blocked, f"the permissions boundary would block: {blocked}"


def test_the_boundary_lets_through_what_the_attached_aws_managed_policies_do_for_the_stacks():
    # AWSLambdaVPCAccessExecutionRole v3, as AWS publishes it; AWS Backup's for an EFS backup and restore.
    for action in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "logs:PutLogEvents",
                   "elasticfilesystem:Backup", "elasticfilesystem:Restore", "backup:CopyIntoBackupVault",
                   "tag:GetResources", "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"):
        assert _allowed_by_boundary(action), action


def test_the_boundary_gives_no_role_more_than_the_execution_role_could_do_itself():
    """A wildcard in the boundary is only ever a service the execution role already manages service-wide,
    so a role it creates cannot reach, through the boundary, a service the role itself does not."""
    wildcards = {a for s in STATEMENTS if s["Effect"] == "Allow" for a in s["Action"] if "*" in a}
    assert wildcards  # AWS Backup's services
    beyond = {a for a in wildcards if a.split(":")[0] not in execution_policy.SERVICE_WIDE}
    assert not beyond


def test_the_boundary_allows_iam_only_as_pass_role_on_the_projects_roles():
    iam_allows = [s for s in STATEMENTS if s["Effect"] == "Allow" and any(a.startswith("iam:") for a in s["Action"])]
    (statement,) = iam_allows
    assert statement["Action"] == ["iam:PassRole"]
    assert [r["Fn::Sub"] for r in statement["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/StackSet-herd-*",
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/herd-*"]


@pytest.mark.parametrize("action", [
    "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:CreateRole",
    "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "sts:AssumeRole", "iam:*",
    "organizations:LeaveOrganization", "s3:PutBucketPolicy", "secretsmanager:PutResourcePolicy",
])
def test_the_boundary_blocks_the_ways_out(action):
    assert not _allowed_by_boundary(action)


def test_the_boundary_denies_what_would_undo_it_explicitly():
    """Explicit denies (AWS's delegation example), not only a missing allow: they hold if the allow list grows."""
    denied = {(a, json.dumps(r)) for s in STATEMENTS if s["Effect"] == "Deny"
              for a in s["Action"] for r in s["Resource"]}
    own = json.dumps(BOUNDARY_ARN)
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                   "iam:SetDefaultPolicyVersion"):
        assert (action, own) in denied
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateRole",
                   "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert (action, '"*"') in denied


def test_the_boundary_fits_iams_managed_policy_size():
    document = json.dumps(BOUNDARY["Properties"]["PolicyDocument"], separators=(",", ":"))
    # ${AWS::Partition} and ${AWS::AccountId} become at most "aws-us-gov" and 12 digits: shorter.
    assert len(re.sub(r"\s", "", document)) < MANAGED_POLICY_CHARACTERS - 500


def test_a_projects_plugin_parameters_reach_the_boundary(tmp_path):
    """Plugin secrets from SSM Parameter Store give the task execution role ssm:GetParameters; the
    boundary of that project lets it through (the project's own stackset-execution template)."""
    from tests.templates.test_plugin_settings import add_settings

    shutil.copytree(ROOT / "parameters", tmp_path / "parameters")
    add_settings(tmp_path / "parameters")
    project = load_project(tmp_path / "parameters")
    workloads = Workloads.of((s.name, s.for_project(project).template_dict()) for s in registry.stackset_stacks())
    assert "ssm:GetParameters" in workloads.actions
    execution = registry.get(names.STACKSET_EXECUTION)
    boundary = lambda t: t["Resources"][B.PERMISSIONS_BOUNDARY]["Properties"]["PolicyDocument"]  # noqa: E731
    assert "ssm:GetParameters" in allowed_actions(boundary(execution.for_project(project).template_dict()))
    assert "ssm:GetParameters" not in allowed_actions(boundary(execution.template_dict()))
