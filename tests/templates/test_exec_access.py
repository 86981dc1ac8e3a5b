"""ECS Exec: the switch per environment (service stack), the permissions ECS documents for the task
roles, the encrypted, retained session log group (data stack), and the manager service left alone by
the switch (CODE_DEPLOY)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT
from tests.template_support import parameter_values, props

S = names.Service
D = names.Data
SERVICES = (S.POSTGRES_SERVICE, S.KEYCLOAK_SERVICE, S.MANAGER_SERVICE)
ROLES = {S.POSTGRES_TASK_ROLE, S.KEYCLOAK_TASK_ROLE, S.MANAGER_TASK_ROLE}


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.SERVICE).template_dict()


@pytest.fixture(scope="module")
def data_template() -> dict:
    return registry.get(names.DATA).template_dict()


def _data(output: str) -> dict:
    return {"Fn::ImportValue": names.export_name(names.DATA, output)}


def _evaluated(template: dict, env: str, **overrides: str) -> dict:
    return Evaluated(template, parameter_values(names.SERVICE, env, **overrides)).resources()


def _mentions(node: object, *names_: str) -> bool:
    text = json.dumps(node)
    return any(f'"{name}"' in text for name in names_)


def test_exec_is_on_in_dev_and_prod_and_follows_the_parameters_file(template):
    for env in ("dev", "prod"):
        assert parameter_values(names.SERVICE, env)[S.EXEC] == "true"
    prod = load_project(ROOT / "parameters").environment("prod")
    service = prod.service.model_copy(update={"execute_command": False})
    off = dataclasses.replace(prod, settings=prod.settings.model_copy(update={"service": service}))
    assert registry.get(names.SERVICE).parameter_values(off)[S.EXEC] == "false"
    assert template["Parameters"][S.EXEC]["AllowedValues"] == ["true", "false"]


def test_every_service_task_has_a_task_role_for_the_agent(template):
    for service in SERVICES:
        task = props(template, service)["TaskDefinition"]
        task_id = task["Ref"] if isinstance(task, dict) else S.MANAGER_TASK
        role = props(template, task_id)["TaskRoleArn"]["Fn::GetAtt"][0]
        assert role in ROLES, service


def test_the_switch_reaches_the_ecs_services_and_the_policy(template):
    on = _evaluated(template, "prod")
    off = _evaluated(template, "prod", **{S.EXEC: "false"})
    for service in (S.POSTGRES_SERVICE, S.KEYCLOAK_SERVICE):
        assert on[service]["Properties"]["EnableExecuteCommand"] is True
        assert off[service]["Properties"]["EnableExecuteCommand"] is False
    assert S.EXEC_POLICY in on and S.EXEC_POLICY not in off
    # Off: no task role can open an SSM channel, the manager's included.
    for role in ROLES:
        assert "ssmmessages" not in json.dumps(off[role])


def test_the_manager_service_never_sees_the_switch(template):
    """CODE_DEPLOY services take UpdateService only for count, deployment configuration, grace period,
    placement and tags: the flag is constant from creation on, and nothing it points at moves."""
    service = template["Resources"][S.MANAGER_SERVICE]
    assert service["Properties"]["EnableExecuteCommand"] is True
    assert not _mentions(service, S.EXEC, S.HAS_EXEC, S.EXEC_POLICY)
    assert names.export_name(names.DATA, D.OUT_EXEC_KEY_ARN) not in json.dumps(service)
    on = _evaluated(template, "prod")[S.MANAGER_SERVICE]
    off = _evaluated(template, "prod", **{S.EXEC: "false"})[S.MANAGER_SERVICE]
    assert json.dumps(on, sort_keys=True) == json.dumps(off, sort_keys=True)


def test_task_roles_get_what_ecs_exec_documents(template):
    policy = template["Resources"][S.EXEC_POLICY]
    assert policy["Condition"] == S.HAS_EXEC
    assert {role["Ref"] for role in policy["Properties"]["Roles"]} == ROLES
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    assert {a for a in by_action if a.startswith("ssmmessages:")} == {
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}
    assert by_action["logs:DescribeLogGroups"] == ["*"]
    group_arn = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/herd/exec:*"}
    for action in ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"):
        assert by_action[action] == [group_arn], action
    assert by_action["kms:Decrypt"] == [_data(D.OUT_EXEC_KEY_ARN)]
    assert {s["Effect"] for s in statements} == {"Allow"}


def test_the_cluster_logs_sessions_to_the_data_stacks_group(template, data_template):
    configuration = props(template, S.CLUSTER)["Configuration"]["ExecuteCommandConfiguration"]
    assert configuration == {
        "KmsKeyId": _data(D.OUT_EXEC_KEY_ARN), "Logging": "OVERRIDE",
        "LogConfiguration": {"CloudWatchLogGroupName": "/herd/exec", "CloudWatchEncryptionEnabled": True}}
    # The names the service stack uses are what the data stack creates and exports.
    assert props(data_template, D.EXEC_LOG_GROUP)["LogGroupName"] == "/herd/exec"
    assert data_template["Outputs"][D.OUT_EXEC_KEY_ARN]["Value"] == {"Fn::GetAtt": [D.EXEC_KEY, "Arn"]}
    assert names.DATA in registry.get(names.SERVICE).depends_on


def test_sessions_are_logged_to_an_encrypted_retained_group(data_template):
    group = data_template["Resources"][D.EXEC_LOG_GROUP]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["RetentionInDays"] == {"Ref": D.EXEC_LOG_RETENTION}
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [D.EXEC_KEY, "Arn"]}
    for env in ("dev", "prod"):
        assert parameter_values(names.DATA, env)[D.EXEC_LOG_RETENTION] == "365"


def test_the_key_admits_cloudwatch_logs_for_that_group_only(data_template):
    key = data_template["Resources"][D.EXEC_KEY]
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True
    (logs_statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"].get("Service")]
    assert logs_statement["Principal"]["Service"] == {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}
    assert "kms:GenerateDataKey*" in logs_statement["Action"] and "kms:Decrypt*" in logs_statement["Action"]
    context = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/herd/exec"}


def test_the_switch_is_exported_for_the_shell_command(template):
    output = template["Outputs"][S.OUT_EXEC]
    assert output["Value"] == {"Ref": S.EXEC}
    assert output["Export"]["Name"] == names.export_name(names.SERVICE, S.OUT_EXEC)
