"""The StackSet roles: the administration role can only assume the execution role in the target
accounts; the execution role trusts only the administrator's administration role, writes roles only
with the permissions boundary, attaches only the AWS managed policies the templates attach, passes
roles only to the services that assume them, reaches named resources only by herd's names, and still
allows what CloudFormation's resource handlers need for every resource type of the StackSet stacks."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest
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
    statements = _statements(EXECUTION["Resources"][names.Bootstrap.EXECUTION_ROLE])
    for statement in statements:
        assert "*" not in statement["Action"]
        assert all(action != "iam:*" for action in statement["Action"])
    iam = [s for s in statements if any(a.startswith("iam:") for a in s["Action"])]
    for statement in iam:
        for resource in statement["Resource"]:
            arn = resource["Fn::Sub"]
            assert arn.endswith((":role/StackSet-herd-*", ":role/aws-service-role/*"))


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


# --- IAM: the execution role cannot make a role, or itself through one, into more than the boundary ---

_BOUNDARY_REF = {"Ref": names.Bootstrap.PERMISSIONS_BOUNDARY}
_ROLE_WRITES = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole", "iam:UpdateRoleDescription"}


def _allows(statements: list[dict]) -> list[dict]:
    return [s for s in statements if s["Effect"] == "Allow"]


def _execution_statements() -> list[dict]:
    return _statements(EXECUTION["Resources"][names.Bootstrap.EXECUTION_ROLE])


def _stackset_templates() -> dict[str, dict]:
    return {s.name: load_yaml((ROOT / "output/templates" / f"{s.name}.yaml").read_text())
            for s in registry.stackset_stacks()}


def test_every_role_write_requires_the_boundary():
    from policy_sentry.querying.actions import get_action_data

    granted = {a for s in _allows(_execution_statements()) for a in s["Action"] if a.startswith("iam:")}
    assert granted >= _ROLE_WRITES
    for statement in _allows(_execution_statements()):
        writes = set(statement["Action"]) & _ROLE_WRITES
        if not writes:
            continue
        assert statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == _BOUNDARY_REF, statement["Sid"]
        for action in writes:  # IAM evaluates the key for each of them (Service Authorization Reference)
            keys = {k for entry in get_action_data("iam", action.split(":")[1])["iam"] for k in entry["condition_keys"]}
            assert "iam:PermissionsBoundary" in keys, action


def test_no_boundary_removal_no_policy_versions_no_customer_managed_policies():
    granted = {a for s in _allows(_execution_statements()) for a in s["Action"]}
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:CreatePolicy", "iam:DeletePolicy",
                   "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion",
                   "iam:CreateUser", "iam:CreateAccessKey", "iam:PutUserPolicy", "iam:AttachUserPolicy",
                   "iam:PutUserPermissionsBoundary"):
        assert action not in granted
    resources = {r["Fn::Sub"] for s in _execution_statements() for r in s["Resource"] if isinstance(r, dict)}
    assert not [r for r in resources if ":policy/" in r]


def test_attach_only_the_aws_managed_policies_the_templates_attach():
    attached = sorted({arn["Fn::Sub"] for t in _stackset_templates().values() for r in t["Resources"].values()
                       if r["Type"] == "AWS::IAM::Role" for arn in r["Properties"].get("ManagedPolicyArns", [])})
    assert attached == [f"arn:${{AWS::Partition}}:iam::aws:policy/service-role/{name}" for name in (
        "AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
        "AWSLambdaVPCAccessExecutionRole")]
    (attach,) = [s for s in _allows(_execution_statements()) if "iam:AttachRolePolicy" in s["Action"]]
    assert attach["Action"] == ["iam:AttachRolePolicy"]
    assert sorted(a["Fn::Sub"] for a in attach["Condition"]["ArnEquals"]["iam:PolicyARN"]) == attached
    assert attach["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == _BOUNDARY_REF


def test_roles_are_passed_only_to_the_services_that_assume_them():
    trusted = sorted({service for t in _stackset_templates().values() for r in t["Resources"].values()
                      if r["Type"] == "AWS::IAM::Role"
                      for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                      for service in ([s["Principal"]["Service"]] if isinstance(s["Principal"]["Service"], str)
                                      else s["Principal"]["Service"])})
    assert {"ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "codebuild.amazonaws.com",
            "vpc-flow-logs.amazonaws.com", "backup.amazonaws.com", "events.amazonaws.com"} <= set(trusted)
    (passing,) = [s for s in _allows(_execution_statements()) if "iam:PassRole" in s["Action"]]
    assert passing["Action"] == ["iam:PassRole"]
    assert sorted(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == trusted
    assert [r["Fn::Sub"] for r in passing["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/StackSet-herd-*"]


def _named(template: dict, kind: str, key: str) -> list:
    return [r.get("Properties", {}).get(key) for r in template["Resources"].values() if r["Type"] == kind]


def _patterns(service: str, resource: str) -> list[str]:
    """The name patterns the execution role's Allow statements give ``service`` for ``resource``."""
    found = []
    for statement in _allows(_execution_statements()):
        if not any(a.split(":")[0] == service for a in statement["Action"]):
            continue
        for arn in statement["Resource"]:
            text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
            if resource in text:
                found.append(text.split(resource, 1)[1])
    return found


@pytest.mark.parametrize(("kind", "key", "service", "resource", "generated"), [
    ("AWS::SecretsManager::Secret", "Name", "secretsmanager", ":secret:", None),
    ("AWS::Lambda::Function", "FunctionName", "lambda", ":function:", None),
    ("AWS::ECR::Repository", "RepositoryName", "ecr", ":repository/", None),
    ("AWS::Logs::LogGroup", "LogGroupName", "logs", ":log-group:", "StackSet-herd-network-6f3b-FlowLogGroup-AbC"),
    ("AWS::S3::Bucket", "BucketName", "s3", ":::", "stackset-herd-edge-6f3b-loadbalancerlogbucket-abc"),
])
def test_named_services_reach_exactly_the_stacks_names(kind, key, service, resource, generated):
    """Secrets, functions, repositories, log groups and buckets: the execution role reaches them by
    the names herd gives them (or CloudFormation generates from the StackSet instance's stack name)."""
    patterns = [p for p in _patterns(service, resource) if not p.endswith("/*") or service != "s3"]
    assert patterns and "*" not in patterns
    names_in_templates = [name for t in _stackset_templates().values() for name in _named(t, kind, key)]
    assert names_in_templates
    for name in names_in_templates:
        if name is None:
            assert generated, f"{kind} without {key}: give it a name under {patterns}"
            name = generated
        assert isinstance(name, str), f"{kind} {key} {name!r}: a computed name cannot be checked against {patterns}"
        assert any(fnmatchcase(name, p) for p in patterns), f"{name} is outside {patterns}"
    assert not any(fnmatchcase("someone-elses", p) for p in patterns)


# What CloudFormation's resource handlers may call that the execution role does not allow, and why
# that is right (the handlers' permission lists come with cfn-lint's copy of the resource schemas).
_NOT_NEEDED = {
    "iam:DeleteRolePermissionsBoundary": "no template removes a role's boundary; removing one is the escalation",
    "iam:*GroupPolicy": "herd's inline policies belong to roles only",
    "iam:*UserPolicy": "herd's inline policies belong to roles only",
    "iam:DescribeOrganization": "not an IAM action (WAF logging to an organization's Firehose)",
    "acm-pca:*": "certificates come from ACM's public CA, not a private one",
    "cognito-idp:*": "no listener authenticates with Cognito; WAF protects only the ALB",
    "amplify:*": "WAF protects only the ALB", "apigateway:*": "WAF protects only the ALB",
    "apprunner:*": "WAF protects only the ALB", "appsync:*": "WAF protects only the ALB",
    "bedrock-agentcore:*": "WAF protects only the ALB",
    "autoscaling:*": "flow logs of the VPC, not of Auto Scaling groups",
    "firehose:*": "logs go to CloudWatch Logs, not to Firehose",
    "payments:*": "no paid WAF marketplace rule groups",
    "s3files:*": "no Lambda function mounts S3 Files",
    "s3tables:*": "no bucket is an S3 table bucket",
    "vpc-lattice:*": "the S3 endpoint is a gateway endpoint, not a VPC Lattice one",
    "vpce:*": "the S3 endpoint is a gateway endpoint, not a cross-region interface one",
}


def _handler_permissions() -> dict[str, set[str]]:
    from importlib import resources

    schemas = resources.files("cfnlint") / "data" / "schemas"
    by_type = json.loads((schemas / "providers" / "eu-west-1.json").read_text())
    needed: dict[str, set[str]] = {}
    for template in _stackset_templates().values():
        for resource in template["Resources"].values():
            schema = json.loads((schemas / "resources" / f"{by_type[resource['Type']]}.json").read_text())
            for handler in ("create", "read", "update", "delete"):
                for permission in schema.get("handlers", {}).get(handler, {}).get("permissions", []):
                    needed.setdefault(permission, set()).add(resource["Type"])
    return needed


def test_execution_role_allows_what_cloudformation_needs_for_every_resource_type():
    statements = _execution_statements()

    def allowed(action: str) -> bool:
        lowered = action.lower()
        match = lambda s: any(fnmatchcase(lowered, a.lower()) for a in s["Action"])  # noqa: E731
        return any(match(s) for s in _allows(statements)) and not any(
            match(s) for s in statements if s["Effect"] == "Deny")

    needed = _handler_permissions()
    assert len(needed) > 200
    missing = {p: sorted(types) for p, types in needed.items()
               if not allowed(p) and not any(fnmatchcase(p, n) for n in _NOT_NEEDED)}
    assert not missing, f"CloudFormation needs these for the stacks' resources: {missing}"
    stale = [n for n in _NOT_NEEDED if not any(fnmatchcase(p, n) for p in needed)]
    assert not stale, f"no resource handler asks for these any more; drop them from _NOT_NEEDED: {stale}"
