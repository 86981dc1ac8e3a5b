"""The service stack's template: who may talk to whom, how the three services deploy, what it takes
from the edge stack, secrets only through ``secrets``, and the parameters-file rules. The load
balancers themselves are tested in tests/templates/test_edge_stack.py."""

from __future__ import annotations

import json
import re

import pytest

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.errors import InputError
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.template_support import branches, of_type, parameter_values, props

S = names.Service
E = names.Edge


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.SERVICE).template_dict()


def _values(env: str, **overrides: str) -> dict[str, str]:
    return parameter_values(names.SERVICE, env, **overrides)




def _ingress_rules(template: dict) -> list[tuple[str, dict]]:
    rules = [(name, rule) for name, group in of_type(template, "AWS::EC2::SecurityGroup").items()
             for rule in group["Properties"].get("SecurityGroupIngress", [])]
    rules += [(name, r["Properties"]) for name, r in of_type(template, "AWS::EC2::SecurityGroupIngress").items()]
    return rules


def _edge(output: str) -> dict:
    return {"Fn::ImportValue": names.export_name(names.EDGE, output)}


def _group_name(reference: dict) -> str:
    """A group of this stack by logical ID, or an edge export by its export name."""
    return reference["Fn::GetAtt"][0] if "Fn::GetAtt" in reference else reference["Fn::ImportValue"]


ALB_GROUP = names.export_name(names.EDGE, E.OUT_ALB_SECURITY_GROUP)
NLB_GROUP = names.export_name(names.EDGE, E.OUT_NLB_SECURITY_GROUP)


def test_nothing_here_is_open_to_the_internet(template):
    """Only the edge stack's load balancers take traffic from anywhere."""
    assert [name for name, rule in _ingress_rules(template)
            if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0"] == []


def test_task_groups_admit_only_their_callers(template):
    def sources(group: str) -> set[tuple[str, int]]:
        return {(_group_name(rule["SourceSecurityGroupId"]), rule["FromPort"])
                for rule in props(template, group)["SecurityGroupIngress"]}

    assert sources(S.MANAGER_SG) == {(ALB_GROUP, 8080), (NLB_GROUP, 1883)}
    assert sources(S.KEYCLOAK_SG) == {(ALB_GROUP, 8080), (S.MANAGER_SG, 8080)}
    # The restore group is the dump task's (pg_dump, and pg_restore for herd-cfn restore --dump).
    assert sources(S.POSTGRES_SG) == {(S.MANAGER_SG, 5432), (S.KEYCLOAK_SG, 5432), (S.RESTORE_SG, 5432)}


def test_load_balancer_egress_matches_the_task_ingress(template):
    """The edge stack's groups have no egress of their own: each rule here pairs with an ingress above."""
    egress = {(_group_name(r["Properties"]["GroupId"]), _group_name(r["Properties"]["DestinationSecurityGroupId"]),
               r["Properties"]["FromPort"])
              for r in of_type(template, "AWS::EC2::SecurityGroupEgress").values()
              if "DestinationSecurityGroupId" in r["Properties"]}
    ingress = {(_group_name(rule["SourceSecurityGroupId"]), group, rule["FromPort"])
               for group in (S.MANAGER_SG, S.KEYCLOAK_SG, S.POSTGRES_SG)
               for rule in props(template, group)["SecurityGroupIngress"]}
    assert egress == ingress
    from_load_balancers = {(ALB_GROUP, S.MANAGER_SG, 8080), (ALB_GROUP, S.KEYCLOAK_SG, 8080),
                           (NLB_GROUP, S.MANAGER_SG, 1883)}
    assert from_load_balancers <= egress


def test_egress_is_explicit_everywhere(template):
    """Only HTTPS leaves for anywhere, but for the manager's device rules (service.manager_egress, whose
    defaults are here; tests/templates/test_manager_egress.py)."""
    from herd_cfn.templates.stacks.service.config import DEFAULT_MANAGER_EGRESS

    devices = {(r.protocol, r.first, r.last) for r in DEFAULT_MANAGER_EGRESS}
    for name, group in of_type(template, "AWS::EC2::SecurityGroup").items():
        egress = group["Properties"]["SecurityGroupEgress"]
        assert egress, f"{name} would keep EC2's allow-all egress"
        for rule in egress:
            assert rule["IpProtocol"] != "-1", f"{name} allows all outbound protocols"
            if rule.get("CidrIp") == "0.0.0.0/0":
                allowed = {("tcp", 443, 443)} | (devices if name == S.MANAGER_SG else set())
                assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) in allowed, name
    for rule, group in ((S.MANAGER_SMTP_EGRESS, S.MANAGER_SG), (S.KEYCLOAK_SMTP_EGRESS, S.KEYCLOAK_SG)):
        smtp = template["Resources"][rule]
        assert smtp["Condition"] == S.HAS_EMAIL and smtp["Properties"]["FromPort"] == 587
        assert smtp["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}


def test_tasks_that_mount_efs_attach_the_data_stacks_client_group(template):
    client = {"Fn::ImportValue": names.export_name(names.DATA, names.Data.OUT_EFS_CLIENT_SECURITY_GROUP)}
    for service in (S.POSTGRES_SERVICE, S.MANAGER_SERVICE):
        groups = props(template, service)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        assert client in groups, service
    groups = props(template, S.KEYCLOAK_SERVICE)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert client not in groups


def _statements(template: dict):
    for name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in (p for entry in role["Properties"].get("Policies", []) for p in branches(entry)):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement
    for name, key in of_type(template, "AWS::KMS::Key").items():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            yield name, statement


def test_no_iam_statement_allows_every_action(template):
    statements = list(_statements(template))
    assert len(statements) >= 10
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "*" not in actions, name
    # Which actions may take Resource "*" is checked against AWS's authorization reference in
    # tests/templates/test_iam_policies.py, for every stack.


def test_efs_mounts_are_limited_to_each_tasks_access_points(template):
    def access_points(role: str) -> list[str]:
        (statement,) = props(template, role)["Policies"][0]["PolicyDocument"]["Statement"]
        assert statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        return [ap["Fn::ImportValue"] for ap in
                statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]]

    manager_ap = names.export_name(names.DATA, names.Data.OUT_MANAGER_ACCESS_POINT_ARN)
    postgres_ap = names.export_name(names.DATA, names.Data.OUT_POSTGRES_ACCESS_POINT_ARN)
    assert access_points(S.MANAGER_TASK_ROLE) == [manager_ap]
    assert sorted(access_points(S.POSTGRES_TASK_ROLE)) == sorted([postgres_ap, manager_ap])


def test_every_log_group_has_a_retention(template):
    groups = of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == 5  # postgresql, keycloak, manager, restore, dump
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": S.LOG_RETENTION}, name


def test_manager_service_is_one_task_under_code_deploy(template):
    service = props(template, S.MANAGER_SERVICE)
    assert service["DesiredCount"] == 1
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    # CODE_DEPLOY: exactly one target group (CodeDeploy swaps blue for green), no rolling settings.
    assert service["LoadBalancers"] == [{"ContainerName": S.MANAGER_CONTAINER, "ContainerPort": 8080,
                                         "TargetGroupArn": _edge(E.OUT_BLUE_TARGET_GROUP_ARN)}]
    assert "DeploymentConfiguration" not in service
    assert service["TaskDefinition"] == S.MANAGER_TASK_FAMILY
    assert props(template, S.MANAGER_TASK)["Family"] == S.MANAGER_TASK_FAMILY


def test_postgresql_can_never_run_two_tasks(template):
    service = props(template, S.POSTGRES_SERVICE)
    assert service["DesiredCount"] == 1
    assert service["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    assert service["AvailabilityZoneRebalancing"] == "DISABLED"
    assert not of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    (container,) = props(template, S.POSTGRES_TASK)["ContainerDefinitions"]
    assert container["StopTimeout"] == 120, "the Fargate maximum, for a clean shutdown"
    # Small /dev/shm on Fargate: no parallel workers, so dynamic shared memory stays small (not on EFS).
    command = container["Command"]
    assert command[0] == "postgres"
    assert {"max_parallel_workers_per_gather=0", "max_parallel_maintenance_workers=0"} <= set(command)
    assert not any("dynamic_shared_memory_type" in arg for arg in command)
    assert "pg_isready" in container["HealthCheck"]["Command"][1]
    assert "LinuxParameters" not in container, "sharedMemorySize is not supported on Fargate"


def test_keycloak_is_behind_the_edge_stacks_keycloak_target_group(template):
    (balancer,) = props(template, S.KEYCLOAK_SERVICE)["LoadBalancers"]
    assert balancer == {"ContainerName": S.KEYCLOAK_CONTAINER, "ContainerPort": 8080,
                        "TargetGroupArn": _edge(E.OUT_KEYCLOAK_TARGET_GROUP_ARN)}


def test_no_ecs_service_holds_the_mqtt_target_group(template):
    """The traffic stack's reconcile function keeps it (tests/templates/test_traffic_stack.py)."""
    mqtt = _edge(E.OUT_MQTT_TARGET_GROUP_ARN)
    for service in of_type(template, "AWS::ECS::Service").values():
        for balancer in service["Properties"].get("LoadBalancers", []):
            assert balancer["TargetGroupArn"] != mqtt


_SECRET_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|CREDENTIAL", re.IGNORECASE)


def test_secrets_come_only_through_secrets(template):
    seen = set()
    for name, task in of_type(template, "AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        for variable in container.get("Environment", []):  # the restore task has neither
            assert not _SECRET_LIKE.search(variable["Name"]), (name, variable["Name"])
        seen |= {s["Name"] for s in container.get("Secrets", []) if "Name" in s}
        seen |= {s["Fn::If"][1]["Name"] for s in container.get("Secrets", []) if "Fn::If" in s}
    assert {"POSTGRES_PASSWORD", "KC_DB_PASSWORD", "KEYCLOAK_ADMIN_PASSWORD", "OR_ADMIN_PASSWORD",
            "OR_DB_PASSWORD", "OR_EMAIL_PASSWORD"} <= seen


def test_manager_settings(template):
    (container,) = props(template, S.MANAGER_TASK)["ContainerDefinitions"]
    env = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert env["OR_HOSTNAME"] == {"Ref": S.DOMAIN}
    assert env["OR_SETUP_RUN_ON_RESTART"] == "false"
    assert env["OR_DB_HOST"] == f"{S.POSTGRES_SERVICE_NAME}.{S.NAMESPACE}"
    assert env["OR_KEYCLOAK_HOST"] == f"{S.KEYCLOAK_SERVICE_NAME}.{S.NAMESPACE}"
    assert container["MountPoints"] == [{"SourceVolume": "storage", "ContainerPath": "/storage"}]
    (keycloak,) = props(template, S.KEYCLOAK_TASK)["ContainerDefinitions"]
    kc_env = {v["Name"]: v["Value"] for v in keycloak["Environment"]}
    assert kc_env["KC_PROXY_HEADERS"] == "xforwarded" and kc_env["KC_HOSTNAME"] == {"Ref": S.DOMAIN}
    # The manager logs into Keycloak's master admin with OR_ADMIN_PASSWORD: both from the same secret.
    admin = {s["Name"]: s["ValueFrom"] for s in keycloak["Secrets"]}["KEYCLOAK_ADMIN_PASSWORD"]
    manager_admin = {s["Name"]: s["ValueFrom"] for s in container["Secrets"] if "Name" in s}["OR_ADMIN_PASSWORD"]
    assert admin == manager_admin


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_environment_wipes_the_database_or_runs_in_dev_mode(template, env):
    """OR_SETUP_RUN_ON_RESTART=true cleans the database at every start; OR_DEV_MODE=true makes that the default
    and opens direct access grants and CORS (research notes A7): both false, whatever the environment."""
    resources = Evaluated(template, _values(env)).resources()
    (container,) = resources[S.MANAGER_TASK]["Properties"]["ContainerDefinitions"]
    settings = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert settings["OR_SETUP_RUN_ON_RESTART"] == "false"
    assert settings["OR_DEV_MODE"] == "false"
    # Fargate's maximum, so the old task of a blue/green deployment stops cleanly.
    assert container["StopTimeout"] == 120


def test_email_secret_is_referenced_only_when_given(template):
    def mentions_email(resources: dict) -> bool:
        return S.EMAIL_SECRET_ARN in json.dumps(resources)

    assert not mentions_email(Evaluated(template, _values("dev")).resources())
    arn = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:herd-smtp-AbCdEf"
    resources = Evaluated(template, _values("dev", SmtpSettingsArn=arn)).resources()
    (container,) = resources[S.MANAGER_TASK]["Properties"]["ContainerDefinitions"]
    email = {s["Name"]: s["ValueFrom"] for s in container["Secrets"] if s["Name"].startswith("OR_EMAIL")}
    assert email["OR_EMAIL_PASSWORD"] == {"Fn::Sub": "${SmtpSettingsArn}:password::"}
    assert len(email) == 5
    assert {S.MANAGER_SMTP_EGRESS, S.KEYCLOAK_SMTP_EGRESS} <= set(resources)


def test_rollback_alarms_cover_blue_green_and_5xx(template):
    value = template["Outputs"][S.OUT_ROLLBACK_ALARM_NAMES]["Value"]["Fn::Join"]
    assert value[0] == ","
    assert [ref["Ref"] for ref in value[1]] == [S.ALARM_BLUE_UNHEALTHY, S.ALARM_GREEN_UNHEALTHY, S.ALARM_TARGET_5XX]
    topic = props(template, S.ALARM_TOPIC)
    assert topic["KmsMasterKeyId"] == {"Ref": S.ALARM_KEY}


def test_alarm_dimensions_are_the_edge_stacks_full_names(template):
    """CloudWatch names the ALB and its target groups app/<name>/<id> and targetgroup/<name>/<id>."""
    def dimensions(alarm: str) -> dict:
        return {d["Name"]: d["Value"] for d in props(template, alarm)["Dimensions"]}

    load_balancer = _edge(E.OUT_LOAD_BALANCER_FULL_NAME)
    assert dimensions(S.ALARM_BLUE_UNHEALTHY) == {
        "TargetGroup": _edge(E.OUT_BLUE_TARGET_GROUP_FULL_NAME), "LoadBalancer": load_balancer}
    assert dimensions(S.ALARM_GREEN_UNHEALTHY) == {
        "TargetGroup": _edge(E.OUT_GREEN_TARGET_GROUP_FULL_NAME), "LoadBalancer": load_balancer}
    # The 5xx rollback alarm counts the manager's target groups only: Keycloak's errors go through the
    # same load balancer and must not roll back a manager deployment.
    alarm = props(template, S.ALARM_TARGET_5XX)
    assert "Dimensions" not in alarm
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert queries["manager"] == {"Id": "manager", "Expression": "FILL(blue, 0) + FILL(green, 0)",
                                  "Label": "manager 5xx (blue + green)", "ReturnData": True}
    for query_id, output in (("blue", E.OUT_BLUE_TARGET_GROUP_FULL_NAME),
                             ("green", E.OUT_GREEN_TARGET_GROUP_FULL_NAME)):
        metric = queries[query_id]["MetricStat"]["Metric"]
        assert metric["MetricName"] == "HTTPCode_Target_5XX_Count"
        assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {
            "TargetGroup": _edge(output), "LoadBalancer": load_balancer}
        assert queries[query_id]["ReturnData"] is False


def test_every_agreed_export_is_implemented(template):
    agreed = {value for key, value in vars(S).items() if key.startswith("OUT_")}
    exported = {name for name, output in template["Outputs"].items() if "Export" in output}
    assert exported == agreed


# --- the parameters file -------------------------------------------------------------------------

def _break(directory, env: str, change) -> str:
    path = directory / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    change(data["service"])
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(("change", "key", "rule"), [
    (lambda s: s["manager"].update(cpu=1024, memory=1024), "service.manager",
     "memory 1024 MiB is not valid on Fargate with cpu 1024; use 2048 to 8192 in steps of 1024"),
    (lambda s: s["postgres"].update(cpu=300), "service.postgres", "cpu 300 is not a Fargate size"),
    (lambda s: s["keycloak"].update(cpu=256, memory=1536), "service.keycloak", "use 512, 1024 or 2048"),
    (lambda s: s.update(manager_image="openremote/manager:latest"), "service.manager_image", "pin a version"),
    (lambda s: s.update(manager_image="openremote/manager"), "service.manager_image", "with a tag or digest"),
    (lambda s: s.update(hosted_zone_id="Z0000000000000000DEV"), "service.hosted_zone_id",
     "unknown key; it belongs in the 'edge' section"),
    (lambda s: s.update(time_zone="Mars/Olympus"), "service.time_zone", "IANA time zone"),
    # A partial ARN (no 6-character suffix) matches no IAM statement and no ECS valueFrom at task start.
    (lambda s: s.update(email_secret_arn="arn:aws:secretsmanager:eu-west-1:222222222222:secret:herd-smtp"),
     "service.email_secret_arn", "(the complete ARN)"),
])
def test_bad_service_settings_are_refused_with_a_clear_message(project_copy, change, key, rule):
    path = _break(project_copy, "dev", change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    assert (caught.value.where, caught.value.key) == (path, key)
    assert rule in caught.value.rule
