"""The service stack's template: who may talk to whom, how the three services deploy, the listeners,
secrets only through ``secrets``, the certificate/DNS conditions and the parameters-file rules."""

from __future__ import annotations

import json
import re

import pytest

from herd_cfn import names, registry
from herd_cfn.environments import load_project
from herd_cfn.errors import InputError
from herd_cfn.evaluate import Evaluated

from .conftest import ROOT

S = names.Service
PARAMETERS = ROOT / "output" / "parameters"


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.SERVICE).template_dict()


def _values(env: str, **overrides: str) -> dict[str, str]:
    values = json.loads((PARAMETERS / env / f"{names.SERVICE}.json").read_text())
    values = {p["ParameterKey"]: p["ParameterValue"] for p in values} if isinstance(values, list) else values
    return {**values, **overrides}


def _of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def _ingress_rules(template: dict) -> list[tuple[str, dict]]:
    rules = [(name, rule) for name, group in _of_type(template, "AWS::EC2::SecurityGroup").items()
             for rule in group["Properties"].get("SecurityGroupIngress", [])]
    rules += [(name, r["Properties"]) for name, r in _of_type(template, "AWS::EC2::SecurityGroupIngress").items()]
    return rules


def test_only_the_load_balancer_listener_ports_are_open_to_the_internet(template):
    open_to_all = sorted((name, rule["FromPort"], rule["ToPort"]) for name, rule in _ingress_rules(template)
                         if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0")
    assert open_to_all == [(S.ALB_SG, 80, 80), (S.ALB_SG, 443, 443), (S.NLB_SG, 8883, 8883)]


def test_task_groups_admit_only_their_callers(template):
    def sources(group: str) -> set[tuple[str, int]]:
        return {(rule["SourceSecurityGroupId"]["Fn::GetAtt"][0], rule["FromPort"])
                for rule in _props(template, group)["SecurityGroupIngress"]}

    assert sources(S.MANAGER_SG) == {(S.ALB_SG, 8080), (S.NLB_SG, 1883)}
    assert sources(S.KEYCLOAK_SG) == {(S.ALB_SG, 8080), (S.MANAGER_SG, 8080)}
    assert sources(S.POSTGRES_SG) == {(S.MANAGER_SG, 5432), (S.KEYCLOAK_SG, 5432)}


def test_egress_is_explicit_everywhere(template):
    for name, group in _of_type(template, "AWS::EC2::SecurityGroup").items():
        egress = group["Properties"]["SecurityGroupEgress"]
        assert egress, f"{name} would keep EC2's allow-all egress"
        for rule in egress:
            assert rule["IpProtocol"] != "-1", f"{name} allows all outbound protocols"
            if rule.get("CidrIp") == "0.0.0.0/0":
                assert (rule["FromPort"], rule["ToPort"]) == (443, 443), name
    smtp = template["Resources"][S.MANAGER_SMTP_EGRESS]
    assert smtp["Condition"] == S.HAS_EMAIL and smtp["Properties"]["FromPort"] == 587


def test_tasks_that_mount_efs_attach_the_data_stacks_client_group(template):
    client = {"Fn::ImportValue": names.export_name(names.DATA, names.Data.OUT_EFS_CLIENT_SECURITY_GROUP)}
    for service in (S.POSTGRES_SERVICE, S.MANAGER_SERVICE):
        groups = _props(template, service)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        assert client in groups, service
    groups = _props(template, S.KEYCLOAK_SERVICE)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert client not in groups


def _statements(template: dict):
    for name, role in _of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement
    for name, key in _of_type(template, "AWS::KMS::Key").items():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            yield name, statement


def test_no_iam_statement_allows_every_action(template):
    statements = list(_statements(template))
    assert len(statements) >= 10
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "*" not in actions, name
    # Which actions may take Resource "*" is checked against AWS's authorization reference in
    # tests/test_iam_policies.py, for every stack.


def test_efs_mounts_are_limited_to_each_tasks_access_points(template):
    def access_points(role: str) -> list[str]:
        (statement,) = _props(template, role)["Policies"][0]["PolicyDocument"]["Statement"]
        assert statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        return [ap["Fn::ImportValue"] for ap in
                statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]]

    manager_ap = names.export_name(names.DATA, names.Data.OUT_MANAGER_ACCESS_POINT_ARN)
    postgres_ap = names.export_name(names.DATA, names.Data.OUT_POSTGRES_ACCESS_POINT_ARN)
    assert access_points(S.MANAGER_TASK_ROLE) == [manager_ap]
    assert sorted(access_points(S.POSTGRES_TASK_ROLE)) == sorted([postgres_ap, manager_ap])


def test_every_log_group_has_a_retention(template):
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == 4
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": S.LOG_RETENTION}, name


def test_manager_service_is_one_task_under_code_deploy(template):
    service = _props(template, S.MANAGER_SERVICE)
    assert service["DesiredCount"] == 1
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    # CODE_DEPLOY: exactly one target group (CodeDeploy swaps blue for green), no rolling settings.
    assert service["LoadBalancers"] == [{"ContainerName": S.MANAGER_CONTAINER, "ContainerPort": 8080,
                                         "TargetGroupArn": {"Ref": S.BLUE_TARGET_GROUP}}]
    assert "DeploymentConfiguration" not in service
    assert service["TaskDefinition"] == S.MANAGER_TASK_FAMILY
    assert _props(template, S.MANAGER_TASK)["Family"] == S.MANAGER_TASK_FAMILY


def test_postgresql_can_never_run_two_tasks(template):
    service = _props(template, S.POSTGRES_SERVICE)
    assert service["DesiredCount"] == 1
    assert service["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    assert service["AvailabilityZoneRebalancing"] == "DISABLED"
    assert not _of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    (container,) = _props(template, S.POSTGRES_TASK)["ContainerDefinitions"]
    assert container["StopTimeout"] == 120, "the Fargate maximum, for a clean shutdown"
    assert "dynamic_shared_memory_type=mmap" in container["Command"]
    assert "pg_isready" in container["HealthCheck"]["Command"][1]
    assert "LinuxParameters" not in container, "sharedMemorySize is not supported on Fargate"


def test_auth_goes_to_keycloak_and_everything_else_to_the_blue_manager(template):
    (rule,) = _of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    rule = rule["Properties"]
    assert rule["ListenerArn"] == {"Ref": S.HTTPS_LISTENER}
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/auth", "/auth/*"]
    assert rule["Actions"][0]["TargetGroupArn"] == {"Ref": S.KEYCLOAK_TARGET_GROUP}
    https = _props(template, S.HTTPS_LISTENER)
    assert https["Port"] == 443 and https["Protocol"] == "HTTPS"
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert https["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": S.BLUE_TARGET_GROUP}}]
    assert _props(template, S.KEYCLOAK_TARGET_GROUP)["HealthCheckPath"] == "/auth/health/ready"


def test_http_only_redirects_to_https(template):
    http = _props(template, S.HTTP_LISTENER)
    assert http["Port"] == 80
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}


def test_test_listener_is_restricted_to_the_admin_cidr(template):
    test = _props(template, S.TEST_LISTENER)
    assert test["Port"] == S.TEST_LISTENER_PORT and test["Protocol"] == "HTTPS"
    assert test["DefaultActions"][0]["TargetGroupArn"] == {"Ref": S.BLUE_TARGET_GROUP}
    rules = [r for name, r in _ingress_rules(template) if r["FromPort"] == S.TEST_LISTENER_PORT]
    assert rules == [{"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "CidrIp": {"Ref": S.ADMIN_CIDR},
                      "Description": "test listener"}]


def test_mqtt_is_tls_8883_to_an_ip_target_group_on_1883(template):
    listener = _props(template, S.MQTT_LISTENER)
    assert (listener["Port"], listener["Protocol"]) == (8883, "TLS")
    assert listener["DefaultActions"][0]["TargetGroupArn"] == {"Ref": S.MQTT_TARGET_GROUP}
    group = _props(template, S.MQTT_TARGET_GROUP)
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (1883, "TCP", "ip")
    # Not in any ECS service: the reconcile function owns its targets.
    for service in _of_type(template, "AWS::ECS::Service").values():
        for balancer in service["Properties"].get("LoadBalancers", []):
            assert balancer["TargetGroupArn"] != {"Ref": S.MQTT_TARGET_GROUP}


def test_reconcile_function_is_triggered_by_task_changes_and_a_schedule(template):
    function = _props(template, S.RECONCILE_FUNCTION)
    assert function["FunctionName"] == S.RECONCILE_FUNCTION_NAME
    assert "def handler" in function["Code"]["ZipFile"], "the real function, not a placeholder"
    assert "was not packaged" not in function["Code"]["ZipFile"]
    assert set(function["Environment"]["Variables"]) == {"CLUSTER_NAME", "SERVICE_NAME", "TARGET_GROUP_ARN",
                                                        "TARGET_PORT"}
    pattern = _props(template, S.RECONCILE_TASK_RULE)["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["group"] == [f"service:{S.MANAGER_SERVICE_NAME}"]
    assert _props(template, S.RECONCILE_SCHEDULE_RULE)["ScheduleExpression"] == "rate(5 minutes)"
    permissions = _of_type(template, "AWS::Lambda::Permission")
    assert {p["Properties"]["SourceArn"]["Fn::GetAtt"][0] for p in permissions.values()} == {
        S.RECONCILE_TASK_RULE, S.RECONCILE_SCHEDULE_RULE}


_SECRET_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|CREDENTIAL", re.IGNORECASE)


def test_secrets_come_only_through_secrets(template):
    seen = set()
    for name, task in _of_type(template, "AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        for variable in container["Environment"]:
            assert not _SECRET_LIKE.search(variable["Name"]), (name, variable["Name"])
        seen |= {s["Name"] for s in container["Secrets"] if "Name" in s}
        seen |= {s["Fn::If"][1]["Name"] for s in container["Secrets"] if "Fn::If" in s}
    assert {"POSTGRES_PASSWORD", "KC_DB_PASSWORD", "KEYCLOAK_ADMIN_PASSWORD", "OR_ADMIN_PASSWORD",
            "OR_DB_PASSWORD", "OR_EMAIL_PASSWORD"} <= seen


def test_manager_settings(template):
    (container,) = _props(template, S.MANAGER_TASK)["ContainerDefinitions"]
    env = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert env["OR_HOSTNAME"] == {"Ref": S.DOMAIN}
    assert env["OR_SETUP_RUN_ON_RESTART"] == "false"
    assert env["OR_DB_HOST"] == f"{S.POSTGRES_SERVICE_NAME}.{S.NAMESPACE}"
    assert env["OR_KEYCLOAK_HOST"] == f"{S.KEYCLOAK_SERVICE_NAME}.{S.NAMESPACE}"
    assert container["MountPoints"] == [{"SourceVolume": "storage", "ContainerPath": "/storage"}]
    (keycloak,) = _props(template, S.KEYCLOAK_TASK)["ContainerDefinitions"]
    kc_env = {v["Name"]: v["Value"] for v in keycloak["Environment"]}
    assert kc_env["KC_PROXY_HEADERS"] == "xforwarded" and kc_env["KC_HOSTNAME"] == {"Ref": S.DOMAIN}
    # The manager logs into Keycloak's master admin with OR_ADMIN_PASSWORD: both from the same secret.
    admin = {s["Name"]: s["ValueFrom"] for s in keycloak["Secrets"]}["KEYCLOAK_ADMIN_PASSWORD"]
    manager_admin = {s["Name"]: s["ValueFrom"] for s in container["Secrets"] if "Name" in s}["OR_ADMIN_PASSWORD"]
    assert admin == manager_admin


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_hosted_zone_makes_certificate_and_records(template, env):
    resources = Evaluated(template, _values(env)).resources()
    assert {S.CERTIFICATE, S.APP_DNS_RECORD, S.MQTT_DNS_RECORD} <= set(resources)
    listener = resources[S.HTTPS_LISTENER]["Properties"]
    assert listener["Certificates"] == [{"CertificateArn": {"Ref": S.CERTIFICATE}}]
    (mqtt_name,) = resources[S.CERTIFICATE]["Properties"]["SubjectAlternativeNames"]
    assert mqtt_name == {"Fn::Sub": "mqtt.${DomainName}"}


def test_certificate_arn_without_zone_makes_no_dns(template):
    arn = "arn:aws:acm:eu-west-1:222222222222:certificate/12345678-1234-1234-1234-123456789012"
    evaluated = Evaluated(template, _values("dev", HostedZoneId="", CertificateArn=arn))
    resources = evaluated.resources()
    assert not {S.CERTIFICATE, S.APP_DNS_RECORD, S.MQTT_DNS_RECORD} & set(resources)
    for listener in (S.HTTPS_LISTENER, S.TEST_LISTENER, S.MQTT_LISTENER):
        assert resources[listener]["Properties"]["Certificates"] == [{"CertificateArn": arn}]
    instructions = evaluated.outputs()[S.OUT_DNS_INSTRUCTIONS]["Value"]
    assert "mqtt.${DomainName}" in instructions["Fn::Sub"]


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
    assert S.MANAGER_SMTP_EGRESS in resources


def test_rollback_alarms_cover_blue_green_and_5xx(template):
    value = template["Outputs"][S.OUT_ROLLBACK_ALARM_NAMES]["Value"]["Fn::Join"]
    assert value[0] == ","
    assert [ref["Ref"] for ref in value[1]] == [S.ALARM_BLUE_UNHEALTHY, S.ALARM_GREEN_UNHEALTHY, S.ALARM_TARGET_5XX]
    topic = _props(template, S.ALARM_TOPIC)
    assert topic["KmsMasterKeyId"] == {"Ref": S.ALARM_KEY}


def test_every_agreed_export_is_implemented(template):
    agreed = {value for key, value in vars(S).items() if key.startswith("OUT_") and key not in
              ("OUT_DNS_INSTRUCTIONS", "OUT_MQTT_URL")}
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
    (lambda s: s.pop("hosted_zone_id"), "service", "give exactly one of hosted_zone_id"),
    (lambda s: s.update(certificate_arn="arn:aws:acm:eu-west-1:222222222222:certificate/"
                                         "12345678-1234-1234-1234-123456789012"), "service", "not both"),
    (lambda s: s.update(manager_image="openremote/manager:latest"), "service.manager_image", "pin a version"),
    (lambda s: s.update(manager_image="openremote/manager"), "service.manager_image", "with a tag or digest"),
    (lambda s: s.update(admin_cidr="0.0.0.0/33"), "service.admin_cidr", "CIDR"),
    (lambda s: s.update(time_zone="Mars/Olympus"), "service.time_zone", "IANA time zone"),
])
def test_bad_service_settings_are_refused_with_a_clear_message(project_copy, change, key, rule):
    path = _break(project_copy, "dev", change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    assert (caught.value.where, caught.value.key) == (path, key)
    assert rule in caught.value.rule


def test_certificate_must_be_in_the_environments_account_and_region(project_copy):
    def change(service):
        service.pop("hosted_zone_id")
        service["certificate_arn"] = ("arn:aws:acm:us-east-1:222222222222:certificate/"
                                      "12345678-1234-1234-1234-123456789012")

    path = _break(project_copy, "dev", change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    assert (caught.value.where, caught.value.key) == (path, "service.certificate_arn")
    assert "same account and region" in caught.value.rule
