"""The StackSet roles: the administration role can only assume the execution role in the target
accounts; the execution role trusts only the administrator's administration role."""

from __future__ import annotations

import json

from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from tests.conftest import ROOT
from tests.template_support import parameter_values

ADMIN = load_yaml(registry.get(names.STACKSET_ADMINISTRATION).template_body())
EXECUTION = load_yaml(registry.get(names.STACKSET_EXECUTION).template_body())


def _values(path: str) -> dict[str, str]:
    _, _, env, stack = path.removesuffix(".json").split("/")
    return parameter_values(stack, env)


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def test_administration_role_assumes_only_the_execution_role_of_target_accounts():
    role = ADMIN["Resources"][names.Bootstrap.ADMINISTRATION_ROLE]
    assert role["Properties"]["RoleName"] == "AWSCloudFormationStackSetAdministrationRole"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    (statement,) = _statements(role)
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/AWSCloudFormationStackSetExecutionRole"}]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceAccount": {"Ref": "TargetAccountIds"}}}


def test_administration_parameters_list_every_environment_account():
    project = json.loads((ROOT / "parameters/project.json").read_text())
    accounts = [json.loads((ROOT / f"parameters/{env}.json").read_text())["account_id"]
                for env in project["environments"]]
    assert _values("output/parameters/administrator/stackset-administration.json") == {
        "TargetAccountIds": ",".join(accounts)}


def test_execution_role_trusts_only_the_administration_role():
    role = EXECUTION["Resources"][names.Bootstrap.EXECUTION_ROLE]
    assert role["Properties"]["RoleName"] == "AWSCloudFormationStackSetExecutionRole"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:root"}}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": {"Fn::Sub": (
        "arn:${AWS::Partition}:iam::${AdministratorAccountId}:role/AWSCloudFormationStackSetAdministrationRole")}}}
    project = json.loads((ROOT / "parameters/project.json").read_text())
    for env in project["environments"]:
        assert _values(f"output/parameters/{env}/stackset-execution.json") == {
            "AdministratorAccountId": project["administrator_account_id"]}


def test_execution_role_has_no_wildcard_action_and_scoped_iam():
    role = EXECUTION["Resources"][names.Bootstrap.EXECUTION_ROLE]
    statements = _statements(role)
    for statement in statements:
        assert "*" not in statement["Action"]
        assert all(action != "iam:*" for action in statement["Action"])
    iam = [s for s in statements if any(a.startswith("iam:") for a in s["Action"])]
    for statement in iam:
        for resource in statement["Resource"]:
            arn = resource["Fn::Sub"]
            assert arn.endswith((":role/StackSet-herd-*", ":policy/StackSet-herd-*", ":role/aws-service-role/*"))


def test_execution_role_covers_every_service_the_stacks_use():
    """Each resource type in the StackSet templates belongs to a service the execution role may manage."""
    role = EXECUTION["Resources"][names.Bootstrap.EXECUTION_ROLE]
    allowed = {a.split(":")[0] for s in _statements(role) for a in s["Action"]}
    service_of = {"EC2": "ec2", "Logs": "logs", "IAM": "iam", "EFS": "elasticfilesystem", "Backup": "backup",
                  "SecretsManager": "secretsmanager", "ECR": "ecr", "ECS": "ecs",
                  "ServiceDiscovery": "servicediscovery", "ElasticLoadBalancingV2": "elasticloadbalancing",
                  "CertificateManager": "acm", "Route53": "route53", "CloudWatch": "cloudwatch", "SNS": "sns",
                  "Lambda": "lambda", "Events": "events", "S3": "s3", "CodeBuild": "codebuild",
                  "CodePipeline": "codepipeline", "CodeDeploy": "codedeploy", "CodeConnections": "codeconnections",
                  "CodeStarNotifications": "codestar-notifications", "KMS": "kms",
                  "ApplicationAutoScaling": "application-autoscaling", "SSM": "ssm", "WAFv2": "wafv2"}
    for stack in registry.stackset_stacks():
        for resource in load_yaml(stack.template_body())["Resources"].values():
            service = resource["Type"].split("::")[1]
            assert service in service_of, f"{resource['Type']} in {stack.name}: map its IAM service prefix"
            assert service_of[service] in allowed, f"{resource['Type']} in {stack.name} not deployable"
