"""Every template of output/, unchanged, deployed as plain stacks to the emulator with each environment's
parameter file (stackset-execution, which holds the permissions boundary every role names, then the
registry's rollout order, dev and prod in their own accounts), and each resource read back through its
service's API with the values AWS documents."""

from __future__ import annotations

import json
import logging
import string
import warnings

import pytest

from herd_cfn import names
from herd_cfn.emulator.fixes import recorded_only_types
from herd_cfn.emulator.fixes._model import RECORDED
from herd_cfn.emulator.server import LocalAws, skipped_resource_types
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT
from tests.emulator.deployment import OUTPUT, Deployed, deploy
from tests.template_support import parameter_values

STACKS = tuple(stack.name for stack in registry.stackset_stacks())
ENVIRONMENTS = ("dev", "prod")
S, E, D, P = names.Service, names.Edge, names.Data, names.Pipeline


@pytest.fixture(scope="module")
def deployed():
    server = LocalAws().start()
    # moto's state is per process: forget what other test modules of this worker left behind.
    server.reset()
    project = load_project(ROOT / "parameters")
    result: dict[str, Deployed] = {}
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logging.getLogger("moto").addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, skipped_resource_types() as skipped:
            warnings.simplefilter("always")
            for env_name in ENVIRONMENTS:
                result[env_name] = deploy(server.endpoint_url, project.environment(env_name), STACKS)
        yield {"envs": result, "skipped": skipped, "messages": messages,
               "warnings": [str(w.message) for w in caught], "server": server}
    finally:
        logging.getLogger("moto").removeHandler(handler)
        server.stop()


@pytest.fixture(params=ENVIRONMENTS)
def env(deployed, request) -> Deployed:
    return deployed["envs"][request.param]


def test_every_stack_completes_and_no_type_is_skipped(deployed):
    for env in deployed["envs"].values():
        assert {s: d["StackStatus"] for s, d in env.stacks.items()} == dict.fromkeys(
            (names.STACKSET_EXECUTION, *STACKS), "CREATE_COMPLETE")
    assert deployed["skipped"] == set()
    assert not [m for m in deployed["messages"] if "support" in m or "Fn::GetAtt" in m]
    assert not [w for w in deployed["warnings"] if "not supported" in w]


def test_recorded_only_types_are_named(deployed):
    assert recorded_only_types() == ["AWS::Backup::BackupSelection", "AWS::CodeConnections::Connection",
                                     "AWS::CodeStarNotifications::NotificationRule"]
    dev = deployed["envs"]["dev"]
    arn = dev.outputs(names.PIPELINE)[P.OUT_CONNECTION_ARN]
    assert arn.startswith(f"arn:aws:codeconnections:{dev.env.region}:{dev.env.account_id}:connection/")
    assert RECORDED["AWS::CodeConnections::Connection"][arn]["ProviderType"] == "GitHub"


def test_traffic_functions_follow_the_edge_and_service_stacks(env):
    """The reconcile function keeps the NLB's MQTT target group and watches the service's cluster; the
    pipeline's deploy hooks call it and run in the probe's security group (all through exports)."""
    edge, traffic = env.outputs(names.EDGE), env.outputs(names.TRAFFIC)
    functions = env.client("lambda")
    reconcile = functions.get_function_configuration(FunctionName=names.Traffic.RECONCILE_FUNCTION_NAME)
    assert reconcile["FunctionArn"] == traffic[names.Traffic.OUT_RECONCILE_FUNCTION_ARN]
    variables = reconcile["Environment"]["Variables"]
    assert variables["TARGET_GROUP_ARN"] == edge[E.OUT_MQTT_TARGET_GROUP_ARN]
    assert variables["CLUSTER_NAME"] == env.outputs(names.SERVICE)[S.OUT_CLUSTER_NAME]
    hooks = functions.get_function_configuration(FunctionName=P.DEPLOY_HOOKS_FUNCTION_NAME)
    assert hooks["Environment"]["Variables"]["RECONCILE_FUNCTION"] == reconcile["FunctionArn"]
    assert hooks["VpcConfig"]["SecurityGroupIds"] == [traffic[names.Traffic.OUT_HOOK_SECURITY_GROUP]]
    probe = functions.get_function_configuration(FunctionName=names.Traffic.BEFORE_ALLOW_TRAFFIC_FUNCTION)
    assert probe["VpcConfig"]["SecurityGroupIds"] == [traffic[names.Traffic.OUT_HOOK_SECURITY_GROUP]]


def test_every_role_the_stacks_create_carries_the_bootstrap_stacks_boundary(env):
    """moto enforces no IAM; what it shows is that each role comes out bounded by the policy the
    bootstrap stack made in the same account (the static checks: tests/templates/test_permissions_boundary.py)."""
    iam = env.client("iam")
    boundary = env.outputs(names.STACKSET_EXECUTION)[names.Bootstrap.OUT_PERMISSIONS_BOUNDARY_ARN]
    assert boundary == f"arn:aws:iam::{env.env.account_id}:policy/{names.PERMISSIONS_BOUNDARY_NAME}"
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PolicyName"] == names.PERMISSIONS_BOUNDARY_NAME
    cfn = env.client("cloudformation")
    roles = [r["PhysicalResourceId"] for stack in STACKS
             for r in cfn.list_stack_resources(StackName=names.stack_name(stack))["StackResourceSummaries"]
             if r["ResourceType"] == "AWS::IAM::Role"]
    assert len(roles) >= 10
    for role in roles:
        described = iam.get_role(RoleName=role)["Role"]
        assert described["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                                    "PermissionsBoundaryArn": boundary}, role
    execution = iam.get_role(RoleName=names.EXECUTION_ROLE_NAME)["Role"]
    assert "PermissionsBoundary" not in execution  # it makes the boundary; it is bounded by its own policy


def test_generated_secrets_are_readable(env):
    secrets = env.client("secretsmanager")
    outputs = env.outputs(names.DATA)
    for output in (D.OUT_DB_SECRET_ARN, D.OUT_ADMIN_SECRET_ARN):
        value = secrets.get_secret_value(SecretId=outputs[output])
        assert value["ARN"] == outputs[output]
        secret = json.loads(value["SecretString"])
        assert len(secret["password"]) == 32  # PasswordLength
        assert not set(secret["password"]) & set(string.punctuation + " ")  # ExcludePunctuation, no space
        assert secret["username"] in ("postgres", "admin")  # SecretStringTemplate kept


def test_docker_hub_pull_through_cache_rule_and_repository_template(env):
    ecr = env.client("ecr")
    login = parameter_values(names.DATA, env.env.name)[D.DOCKER_HUB_CACHE_LOGIN_ARN]
    (rule,) = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert (rule["ecrRepositoryPrefix"], rule["upstreamRegistryUrl"], rule["upstreamRegistry"]) == (
        D.DOCKER_HUB_CACHE_PREFIX, "registry-1.docker.io", "docker-hub")
    assert rule["credentialArn"] == login and rule["registryId"] == env.env.account_id
    (template,) = ecr.describe_repository_creation_templates(
        prefixes=[D.DOCKER_HUB_CACHE_PREFIX])["repositoryCreationTemplates"]
    assert template["appliedFor"] == ["PULL_THROUGH_CACHE"]
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert json.loads(template["lifecyclePolicy"])["rules"][1]["selection"]["countNumber"] == 5
    # What the tasks pull: the account's own cache, which the rule serves.
    image = parameter_values(names.SERVICE, env.env.name)[S.POSTGRES_IMAGE]
    registry = f"{env.env.account_id}.dkr.ecr.{env.env.region}.amazonaws.com"
    assert image.startswith(f"{registry}/{rule['ecrRepositoryPrefix']}/")


def test_backup_vault_and_plan(env):
    backup = env.client("backup")
    vault = env.outputs(names.DATA)[D.OUT_BACKUP_VAULT_NAME]
    assert backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultName"] == vault
    (plan,) = backup.list_backup_plans()["BackupPlansList"]
    rules = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
    expected = {"dev": {"daily"}, "prod": {"daily", "weekly", "monthly"}}[env.env.name]
    assert {r["RuleName"] for r in rules} == expected
    assert all(r["TargetBackupVaultName"] == vault for r in rules)


def test_load_balancers_keep_their_type_and_listeners(env):
    elb = env.client("elbv2")
    outputs = env.outputs(names.EDGE)
    balancers = {b["Type"]: b for b in elb.describe_load_balancers()["LoadBalancers"]}
    assert set(balancers) == {"application", "network"}
    nlb = balancers["network"]
    assert nlb["Scheme"] == "internet-facing" and ":loadbalancer/net/" in nlb["LoadBalancerArn"]
    (tls,) = elb.describe_listeners(LoadBalancerArn=nlb["LoadBalancerArn"])["Listeners"]
    assert (tls["Protocol"], tls["Port"], tls["SslPolicy"]) == ("TLS", 8883, "ELBSecurityPolicy-TLS13-1-2-2021-06")
    certificate = tls["Certificates"][0]["CertificateArn"]
    described = env.client("acm").describe_certificate(CertificateArn=certificate)["Certificate"]
    assert described["Status"] == "ISSUED"
    assert set(described["SubjectAlternativeNames"]) >= {f"mqtt.{parameter_values(names.EDGE, env.env.name)[E.DOMAIN]}"}
    attributes = {a["Key"]: a["Value"] for a in
                  elb.describe_load_balancer_attributes(LoadBalancerArn=nlb["LoadBalancerArn"])["Attributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert outputs[E.OUT_LOAD_BALANCER_ARN].endswith(":loadbalancer/" + outputs[E.OUT_LOAD_BALANCER_FULL_NAME])
    (blue,) = elb.describe_target_groups(Names=[outputs[E.OUT_BLUE_TARGET_GROUP_NAME]])["TargetGroups"]
    assert blue["TargetGroupArn"].endswith(":" + outputs[E.OUT_BLUE_TARGET_GROUP_FULL_NAME])
    group_attributes = {a["Key"]: a["Value"] for a in
                        elb.describe_target_group_attributes(TargetGroupArn=blue["TargetGroupArn"])["Attributes"]}
    assert group_attributes["deregistration_delay.timeout_seconds"] == "30"


def test_dns_records_in_the_hosted_zone(env):
    route53 = env.client("route53")
    zone = parameter_values(names.EDGE, env.env.name)[E.HOSTED_ZONE_ID]
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    types = {(r["Type"], r["Name"].split(".")[0]) for r in records}
    assert ("A", "mqtt") in types  # the NLB's alias
    assert sum(r["Type"] == "CNAME" for r in records) == 2  # certificate validation, one per name


def test_ecs_services_keep_load_balancers_and_controller(env):
    ecs = env.client("ecs")
    services = {s["serviceName"]: s for s in ecs.describe_services(cluster=S.CLUSTER_NAME, services=[
        S.POSTGRES_SERVICE_NAME, S.KEYCLOAK_SERVICE_NAME, S.MANAGER_SERVICE_NAME])["services"]}
    edge = env.outputs(names.EDGE)
    manager = services[S.MANAGER_SERVICE_NAME]
    assert manager["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert manager["launchType"] == "FARGATE"
    assert manager["loadBalancers"] == [{"targetGroupArn": edge[E.OUT_BLUE_TARGET_GROUP_ARN],
                                         "containerName": "manager", "containerPort": 8080}]
    assert manager["taskDefinition"].endswith(f"/{S.MANAGER_TASK_FAMILY}:1")
    assert services[S.KEYCLOAK_SERVICE_NAME]["deploymentController"] == {"type": "ECS"}
    registries = env.client("servicediscovery").list_services()["Services"]
    assert {r["Name"] for r in registries} == {"postgresql", "keycloak"}
    arns = {r["Arn"] for r in registries}
    assert {s["serviceRegistries"][0]["registryArn"] for s in services.values() if s["serviceRegistries"]} == arns
    task = ecs.describe_task_definition(taskDefinition=S.MANAGER_TASK_FAMILY)["taskDefinition"]
    parameters = parameter_values(names.SERVICE, env.env.name)
    assert (task["cpu"], task["memory"]) == (parameters[S.MANAGER_CPU], parameters[S.MANAGER_MEMORY])
    assert task["networkMode"] == "awsvpc" and task["requiresCompatibilities"] == ["FARGATE"]


def test_security_group_egress_rules(env):
    ec2 = env.client("ec2")
    manager_group = env.outputs(names.SERVICE)[S.OUT_MANAGER_SECURITY_GROUP]
    (group,) = ec2.describe_security_groups(GroupIds=[manager_group])["SecurityGroups"]
    egress = {(r.get("FromPort"), pair["GroupId"]) for r in group["IpPermissionsEgress"]
              for pair in r.get("UserIdGroupPairs", [])}
    assert {port for port, _ in egress} == {8080, 5432}  # to Keycloak and PostgreSQL


def test_alarms_exist_and_ref_is_their_name(env):
    cloudwatch = env.client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    rollback = env.outputs(names.SERVICE)[S.OUT_ROLLBACK_ALARM_NAMES].split(",")
    assert set(rollback) <= set(alarms)
    assert len(alarms) == 7  # six of the service and the dumps' "none in 26 hours"
    math = alarms["herd-manager-5xx"]
    assert {m["Id"] for m in math["Metrics"]} == {"blue", "green", "manager"}
    edge = env.outputs(names.EDGE)
    blue = alarms["herd-manager-unhealthy-blue"]
    assert {d["Name"]: d["Value"] for d in blue["Dimensions"]} == {
        "TargetGroup": edge[E.OUT_BLUE_TARGET_GROUP_FULL_NAME], "LoadBalancer": edge[E.OUT_LOAD_BALANCER_FULL_NAME]}


def test_code_deploy_blue_green_group(env):
    codedeploy = env.client("codedeploy")
    group = codedeploy.get_deployment_group(applicationName="herd-manager",
                                            deploymentGroupName="herd-manager")["deploymentGroupInfo"]
    assert group["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["ecsServices"] == [{"clusterName": S.CLUSTER_NAME, "serviceName": S.MANAGER_SERVICE_NAME}]
    pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    edge = env.outputs(names.EDGE)
    assert [g["name"] for g in pair["targetGroups"]] == [edge[E.OUT_BLUE_TARGET_GROUP_NAME],
                                                        edge[E.OUT_GREEN_TARGET_GROUP_NAME]]
    assert pair["prodTrafficRoute"]["listenerArns"] == [edge[E.OUT_HTTPS_LISTENER_ARN]]
    assert group["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"][
        "terminationWaitTimeInMinutes"] == int(parameter_values(names.PIPELINE, env.env.name)["TerminationWaitMinutes"])


def test_pipeline_and_build_project(env):
    outputs = env.outputs(names.PIPELINE)
    pipeline = env.client("codepipeline").get_pipeline(name=outputs[P.OUT_PIPELINE_NAME])["pipeline"]
    source = pipeline["stages"][0]["actions"][0]
    assert source["configuration"]["ConnectionArn"] == outputs[P.OUT_CONNECTION_ARN]
    assert source["configuration"]["BranchName"] == env.env.name
    (project,) = env.client("codebuild").batch_get_projects(names=[outputs[P.OUT_BUILD_PROJECT_NAME]])["projects"]
    assert project["source"]["type"] == "CODEPIPELINE" and "buildspec" in project["source"]
    policy = json.loads(env.client("s3").get_bucket_policy(Bucket=outputs[P.OUT_ARTIFACT_BUCKET])["Policy"])
    assert policy["Statement"][0]["Sid"] == "DenyInsecureTransport"
    topic = env.client("sns").get_topic_attributes(TopicArn=outputs[P.OUT_NOTIFICATION_TOPIC_ARN])["Attributes"]
    assert json.loads(topic["Policy"])["Statement"][0]["Sid"] == "NotificationsPublish"


# --- updates (last: they change the module's deployment) ------------------------------------------

def _update(env: Deployed, stack: str, **overrides: str) -> str:
    cfn = env.client("cloudformation")
    parameters = parameter_values(stack, env.env.name, **overrides)
    cfn.update_stack(StackName=names.stack_name(stack), Capabilities=["CAPABILITY_NAMED_IAM"],
                     TemplateBody=(OUTPUT / "templates" / f"{stack}.yaml").read_text(),
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    return cfn.describe_stacks(StackName=names.stack_name(stack))["Stacks"][0]["StackStatus"]


def test_parameter_change_updates_the_backup_plan_in_place(deployed):
    dev = deployed["envs"]["dev"]
    backup = dev.client("backup")
    (before,) = backup.list_backup_plans()["BackupPlansList"]
    assert _update(dev, names.DATA, BackupDailyRetentionDays="14") == "UPDATE_COMPLETE"
    (after,) = backup.list_backup_plans()["BackupPlansList"]
    assert after["BackupPlanId"] == before["BackupPlanId"] and after["VersionId"] != before["VersionId"]
    (rule,) = backup.get_backup_plan(BackupPlanId=after["BackupPlanId"])["BackupPlan"]["Rules"]
    assert rule["Lifecycle"]["DeleteAfterDays"] == 14


def test_manager_size_change_registers_a_revision_and_leaves_the_service(deployed):
    dev = deployed["envs"]["dev"]
    ecs = dev.client("ecs")
    assert _update(dev, names.SERVICE, ManagerCpu="2048", ManagerMemory="4096") == "UPDATE_COMPLETE"
    newest = ecs.describe_task_definition(taskDefinition=S.MANAGER_TASK_FAMILY)["taskDefinition"]
    assert (newest["revision"], newest["cpu"], newest["memory"]) == (2, "2048", "4096")
    (container,) = newest["containerDefinitions"]
    assert container["name"] == "manager" and container["environment"]
    (service,) = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"]
    assert service["taskDefinition"].endswith(f"/{S.MANAGER_TASK_FAMILY}:1"), "the pipeline deploys revisions"
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}


def test_dashboard_shows_this_environments_resources(env):
    name = env.outputs(names.DASHBOARD)[names.Dashboard.OUT_DASHBOARD_NAME]
    body = json.loads(env.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    dimensions = {str(value) for widget in body["widgets"] for metric in widget["properties"]["metrics"]
                  for value in metric if isinstance(value, str)}
    edge = env.outputs(names.EDGE)
    # The imports were resolved: the ALB's and the blue target group's full names, the file system id.
    assert {edge[E.OUT_LOAD_BALANCER_FULL_NAME], edge[E.OUT_BLUE_TARGET_GROUP_FULL_NAME],
            env.outputs(names.DATA)[D.OUT_FILE_SYSTEM_ID]} <= dimensions
    assert not [d for d in dimensions if "${" in d]
    assert {w["properties"]["region"] for w in body["widgets"]} == {env.env.region}


def test_prods_web_firewall_guards_the_alb_and_logs(deployed):
    prod = deployed["envs"]["prod"]
    wafv2 = prod.client("wafv2")
    (acl,) = wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]
    alb = prod.outputs(names.EDGE)[E.OUT_LOAD_BALANCER_ARN]
    assert wafv2.get_web_acl_for_resource(ResourceArn=alb)["WebACL"]["ARN"] == acl["ARN"]
    logging_configuration = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert logging_configuration["LogDestinationConfigs"][0].split(":log-group:")[1].startswith("aws-waf-logs-")
    # dev has the firewall off (edge.waf: off): its Condition leaves the web ACL out.
    assert deployed["envs"]["dev"].client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"] == []


def test_the_dump_success_filter_feeds_the_dump_alarm(env):
    (metric_filter,) = env.client("logs").describe_metric_filters()["metricFilters"]
    (transformation,) = metric_filter["metricTransformations"]
    alarm = env.client("cloudwatch").describe_alarms(AlarmNames=["herd-dump-missing"])["MetricAlarms"][0]
    assert (transformation["metricNamespace"], transformation["metricName"]) == (alarm["Namespace"],
                                                                                 alarm["MetricName"])


def test_access_logs_in_prod_go_to_the_stacks_own_bucket(deployed):
    prod = deployed["envs"]["prod"]
    bucket = prod.outputs(names.EDGE)[E.OUT_ACCESS_LOG_BUCKET]
    assert bucket in {b["Name"] for b in prod.client("s3").list_buckets()["Buckets"]}
    elbv2 = prod.client("elbv2")
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        attributes = {a["Key"]: a["Value"] for a in
                      elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
        assert attributes["access_logs.s3.enabled"] == "true" and attributes["access_logs.s3.bucket"] == bucket
    # dev keeps its access logs off (edge.access_logs: false).
    assert deployed["envs"]["dev"].outputs(names.EDGE)[E.OUT_ACCESS_LOG_BUCKET] == "none"
