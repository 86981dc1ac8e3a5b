"""The edge stack's template: what the internet may reach, the listeners and their routing, the
certificate/DNS conditions, the parameters-file rules, and the contract with the stacks that import
from it (service, pipeline)."""

from __future__ import annotations

import json

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.errors import InputError
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT
from tests.template_support import imports, of_type, parameter_values, props

E = names.Edge
S = names.Service


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.EDGE).template_dict()


def _values(env: str, **overrides: str) -> dict[str, str]:
    return parameter_values(names.EDGE, env, **overrides)




def test_the_stack_holds_the_ingress_and_nothing_of_the_workloads(template):
    types = {v["Type"] for v in template["Resources"].values()}
    assert types == {"AWS::EC2::SecurityGroup", "AWS::ElasticLoadBalancingV2::LoadBalancer",
                     "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule",
                     "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::CertificateManager::Certificate",
                     "AWS::Route53::RecordSet",
                     # The web firewall in front of the ALB (edge.waf) and its log group.
                     "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration",
                     "AWS::Logs::LogGroup",
                     # The access-log bucket (edge.access_logs) and its policy.
                     "AWS::S3::Bucket", "AWS::S3::BucketPolicy"}
    stack = registry.get(names.EDGE)
    assert tuple(stack.depends_on) == (names.NETWORK,)
    assert names.EDGE in registry.get(names.SERVICE).depends_on
    assert names.EDGE in registry.get(names.PIPELINE).depends_on


def test_only_the_listener_ports_are_open_to_the_internet(template):
    open_to_all = sorted((name, rule["FromPort"], rule["ToPort"])
                         for name, group in of_type(template, "AWS::EC2::SecurityGroup").items()
                         for rule in group["Properties"]["SecurityGroupIngress"]
                         if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0")
    assert open_to_all == [(E.ALB_SG, 80, 80), (E.ALB_SG, 443, 443), (E.NLB_SG, 8883, 8883)]


def test_load_balancer_groups_have_no_egress_of_their_own(template):
    """Their egress to the tasks is added by the service stack (tests/templates/test_service_stack.py); without an
    inline rule EC2 would keep its allow-all egress."""
    for name, group in of_type(template, "AWS::EC2::SecurityGroup").items():
        (rule,) = group["Properties"]["SecurityGroupEgress"]
        assert rule["CidrIp"] == "255.255.255.255/32" and rule["IpProtocol"] == "icmp", name


def _blue_and_green(on_green: str) -> list[dict]:
    """Both manager groups behind the listener, the live one at 100 (blue unless the parameter says green)."""
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": {"Ref": E.BLUE_TARGET_GROUP}, "Weight": {"Fn::If": [on_green, 0, 100]}},
        {"TargetGroupArn": {"Ref": E.GREEN_TARGET_GROUP}, "Weight": {"Fn::If": [on_green, 100, 0]}}]}}]


def test_auth_goes_to_keycloak_and_everything_else_to_the_blue_manager(template):
    (rule,) = of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    rule = rule["Properties"]
    assert rule["ListenerArn"] == {"Ref": E.HTTPS_LISTENER}
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/auth", "/auth/*"]
    assert rule["Actions"][0]["TargetGroupArn"] == {"Ref": E.KEYCLOAK_TARGET_GROUP}
    https = props(template, E.HTTPS_LISTENER)
    assert https["Port"] == 443 and https["Protocol"] == "HTTPS"
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert https["DefaultActions"] == _blue_and_green(E.LIVE_ON_GREEN)
    assert props(template, E.KEYCLOAK_TARGET_GROUP)["HealthCheckPath"] == "/auth/health/ready"


def test_http_only_redirects_to_https(template):
    http = props(template, E.HTTP_LISTENER)
    assert http["Port"] == 80
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}


def test_test_listener_is_restricted_to_the_admin_cidr(template):
    test = props(template, E.TEST_LISTENER)
    assert test["Port"] == E.TEST_LISTENER_PORT and test["Protocol"] == "HTTPS"
    assert test["DefaultActions"] == _blue_and_green(E.TEST_ON_GREEN)
    rules = [rule for group in of_type(template, "AWS::EC2::SecurityGroup").values()
             for rule in group["Properties"]["SecurityGroupIngress"] if rule["FromPort"] == E.TEST_LISTENER_PORT]
    assert rules == [{"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "CidrIp": {"Ref": E.ADMIN_CIDR},
                      "Description": "test listener"}]


def test_mqtt_is_tls_8883_to_an_ip_target_group_on_1883(template):
    listener = props(template, E.MQTT_LISTENER)
    assert (listener["Port"], listener["Protocol"]) == (8883, "TLS")
    assert listener["DefaultActions"][0]["TargetGroupArn"] == {"Ref": E.MQTT_TARGET_GROUP}
    group = props(template, E.MQTT_TARGET_GROUP)
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (1883, "TCP", "ip")


def test_target_groups_forward_to_the_service_stacks_container_ports(template):
    ports = {name: (tg["Properties"]["Port"], tg["Properties"]["TargetType"])
             for name, tg in of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup").items()}
    assert ports == {E.BLUE_TARGET_GROUP: (S.MANAGER_HTTP_PORT, "ip"),
                     E.GREEN_TARGET_GROUP: (S.MANAGER_HTTP_PORT, "ip"),
                     E.KEYCLOAK_TARGET_GROUP: (S.KEYCLOAK_HTTP_PORT, "ip"),
                     E.MQTT_TARGET_GROUP: (S.MANAGER_MQTT_PORT, "ip")}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_hosted_zone_makes_certificate_and_records(template, env):
    resources = Evaluated(template, _values(env)).resources()
    assert {E.CERTIFICATE, E.APP_DNS_RECORD, E.MQTT_DNS_RECORD} <= set(resources)
    listener = resources[E.HTTPS_LISTENER]["Properties"]
    assert listener["Certificates"] == [{"CertificateArn": {"Ref": E.CERTIFICATE}}]
    (mqtt_name,) = resources[E.CERTIFICATE]["Properties"]["SubjectAlternativeNames"]
    assert mqtt_name == {"Fn::Sub": "mqtt.${DomainName}"}


def test_certificate_arn_without_zone_makes_no_dns(template):
    arn = "arn:aws:acm:eu-west-1:222222222222:certificate/12345678-1234-1234-1234-123456789012"
    evaluated = Evaluated(template, _values("dev", HostedZoneId="", CertificateArn=arn))
    resources = evaluated.resources()
    assert not {E.CERTIFICATE, E.APP_DNS_RECORD, E.MQTT_DNS_RECORD} & set(resources)
    for listener in (E.HTTPS_LISTENER, E.TEST_LISTENER, E.MQTT_LISTENER):
        assert resources[listener]["Properties"]["Certificates"] == [{"CertificateArn": arn}]
    instructions = evaluated.outputs()[E.OUT_DNS_INSTRUCTIONS]["Value"]
    assert "mqtt.${DomainName}" in instructions["Fn::Sub"]


def test_deletion_protection_is_on_in_production_only():
    project = load_project(ROOT / "parameters")
    stack = registry.get(names.EDGE)
    protection = {env.name: stack.parameter_values(env)[E.DELETION_PROTECTION] for env in project.environments.values()}
    assert protection == {"dev": "false", "prod": "true"}


# --- the contract with the stacks that import from edge -----------------------------------------

def test_every_agreed_export_is_implemented(template):
    agreed = {value for key, value in vars(E).items()
              if key.startswith("OUT_")
              and key not in ("OUT_DNS_INSTRUCTIONS", "OUT_MQTT_URL", "OUT_ACCESS_LOG_BUCKET")}
    exported = {name for name, output in template["Outputs"].items() if "Export" in output}
    assert exported == agreed
    for name in exported:
        assert template["Outputs"][name]["Export"]["Name"] == names.export_name(names.EDGE, name)


def test_alarm_dimensions_are_exported_as_cloudwatch_full_names(template):
    outputs = template["Outputs"]
    assert outputs[E.OUT_LOAD_BALANCER_FULL_NAME]["Value"] == {"Fn::GetAtt": [E.ALB, "LoadBalancerFullName"]}
    assert outputs[E.OUT_BLUE_TARGET_GROUP_FULL_NAME]["Value"] == {
        "Fn::GetAtt": [E.BLUE_TARGET_GROUP, "TargetGroupFullName"]}
    assert outputs[E.OUT_GREEN_TARGET_GROUP_FULL_NAME]["Value"] == {
        "Fn::GetAtt": [E.GREEN_TARGET_GROUP, "TargetGroupFullName"]}


@pytest.mark.parametrize("importer", [names.EDGE, names.SERVICE, names.PIPELINE])
def test_every_import_is_exported_by_a_stack_it_depends_on(importer):
    """An import of a missing export fails the whole rollout; one of a stack deployed later fails the first."""
    exporter = {output["Export"]["Name"]: stack.name for stack in registry.all_stacks()
                for output in load_yaml(stack.template_body()).get("Outputs", {}).values() if "Export" in output}
    stack = registry.get(importer)
    used = imports(load_yaml(stack.template_body()))
    assert used, importer
    assert used <= set(exporter), sorted(used - set(exporter))
    assert {exporter[name] for name in used} <= set(stack.depends_on)


def test_target_groups_the_service_attaches_are_behind_a_listener(template):
    """ECS refuses a target group no listener uses. The service stack no longer DependsOn the listeners:
    the edge stack, complete before it, must already route to each target group it imports."""
    service = registry.get(names.SERVICE).template_dict()
    outputs = {names.export_name(names.EDGE, k): v["Value"] for k, v in template["Outputs"].items()}
    attached = [outputs[balancer["TargetGroupArn"]["Fn::ImportValue"]]["Ref"]
                for resource in service["Resources"].values() if resource["Type"] == "AWS::ECS::Service"
                for balancer in resource["Properties"].get("LoadBalancers", [])]
    assert sorted(attached) == sorted([E.KEYCLOAK_TARGET_GROUP, E.BLUE_TARGET_GROUP])
    routed = {group["TargetGroupArn"]["Ref"]
              for resource in template["Resources"].values()
              if resource["Type"].startswith("AWS::ElasticLoadBalancingV2::Listener")
              for action in resource["Properties"].get("DefaultActions", resource["Properties"].get("Actions", []))
              for group in action.get("ForwardConfig", {}).get("TargetGroups", [action])
              if "TargetGroupArn" in group}
    assert set(attached) <= routed


# --- the parameters file -------------------------------------------------------------------------

def _break(directory, env: str, change) -> str:
    path = directory / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    change(data["edge"])
    path.write_text(json.dumps(data))
    return str(path)


ARN = "arn:aws:acm:eu-west-1:222222222222:certificate/12345678-1234-1234-1234-123456789012"


@pytest.mark.parametrize(("change", "key", "rule"), [
    (lambda e: e.pop("hosted_zone_id"), "edge", "give exactly one of hosted_zone_id"),
    (lambda e: e.update(certificate_arn=ARN), "edge", "not both"),
    (lambda e: e.update(admin_cidr="0.0.0.0/33"), "edge.admin_cidr", "CIDR"),
    (lambda e: e.update(hosted_zone_id="zone"), "edge.hosted_zone_id", "a Route 53 hosted zone id"),
    (lambda e: e.update(access_log_bucket="Logs_Bucket"), "edge.access_log_bucket", "an S3 bucket name"),
    (lambda e: e.update(manager_image="openremote/manager:1.28.1"), "edge.manager_image",
     "it belongs in the 'service' section"),
])
def test_bad_edge_settings_are_refused_with_a_clear_message(project_copy, change, key, rule):
    path = _break(project_copy, "dev", change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    assert (caught.value.where, caught.value.key) == (path, key)
    assert rule in caught.value.rule


def test_certificate_must_be_in_the_environments_account_and_region(project_copy):
    def change(edge):
        edge.pop("hosted_zone_id")
        edge["certificate_arn"] = ARN.replace("eu-west-1", "us-east-1")

    path = _break(project_copy, "dev", change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    assert (caught.value.where, caught.value.key) == (path, "edge.certificate_arn")
    assert "same account and region" in caught.value.rule


def test_a_certificate_instead_of_a_zone_reaches_the_parameters(project_copy):
    def change(edge):
        edge.pop("hosted_zone_id")
        edge["certificate_arn"] = ARN

    _break(project_copy, "dev", change)
    env = load_project(project_copy / "parameters").environment("dev")
    values = registry.get(names.EDGE).parameter_values(env)
    assert (values[E.HOSTED_ZONE_ID], values[E.CERTIFICATE_ARN]) == ("", ARN)
