"""The traffic stack: the BeforeAllowTraffic probe (in the VPC, through the ALB's test listener) and the
MQTT target reconcile (its triggers and what it may change), and what the other stacks take from it."""

from __future__ import annotations

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from herd_cfn.templates.lambdas import before_allow_traffic, packed_source
from herd_cfn.templates.stacks.traffic import probe
from tests.conftest import ROOT
from tests.template_support import of_type, props

T = names.Traffic
S = names.Service
E = names.Edge


@pytest.fixture(scope="module")
def template() -> dict:
    return load_yaml(registry.get(names.TRAFFIC).template_body())


def _edge(output: str) -> dict:
    return {"Fn::ImportValue": names.export_name(names.EDGE, output)}


def test_it_comes_after_service_and_before_pipeline():
    order = [s.name for s in registry.stackset_stacks()]
    assert order.index(names.SERVICE) < order.index(names.TRAFFIC) < order.index(names.PIPELINE)


def test_its_exports_are_what_the_pipeline_imports(template):
    exported = {o["Export"]["Name"] for o in template["Outputs"].values() if "Export" in o}
    pipeline = registry.get(names.PIPELINE).template_body()
    imported = {name for name in exported if name in pipeline}
    assert imported == exported == {"herd-traffic-MqttReconcileFunctionArn", "herd-traffic-HookSecurityGroupId"}


def test_the_mqtt_target_group_belongs_to_the_reconcile_function(template):
    mqtt = _edge(E.OUT_MQTT_TARGET_GROUP_ARN)
    function = props(template, T.RECONCILE_FUNCTION)
    assert function["Environment"]["Variables"]["TARGET_GROUP_ARN"] == mqtt
    statements = props(template, T.RECONCILE_ROLE)["Policies"][0]["PolicyDocument"]["Statement"]
    (register,) = [s for s in statements if "elasticloadbalancing:RegisterTargets" in s["Action"]]
    assert register["Resource"] == [mqtt]


def test_reconcile_function_is_triggered_by_task_changes_and_a_schedule(template):
    function = props(template, T.RECONCILE_FUNCTION)
    assert function["FunctionName"] == T.RECONCILE_FUNCTION_NAME
    assert function["Code"]["ZipFile"] == packed_source("mqtt_reconcile"), "the real function, not a placeholder"
    assert set(function["Environment"]["Variables"]) == {"CLUSTER_NAME", "SERVICE_NAME", "TARGET_GROUP_ARN",
                                                        "TARGET_PORT", "LISTENER_ARN"}
    # MQTT follows the task set behind the production listener (CodeDeploy's), not only the PRIMARY one.
    assert function["Environment"]["Variables"]["LISTENER_ARN"] == {
        "Fn::ImportValue": names.export_name(names.EDGE, E.OUT_HTTPS_LISTENER_ARN)}
    pattern = props(template, T.RECONCILE_TASK_RULE)["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["group"] == [f"service:{S.MANAGER_SERVICE_NAME}"]
    assert pattern["detail"]["clusterArn"] == [{"Fn::Sub": [
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}",
        {"Cluster": {"Fn::ImportValue": "herd-service-ClusterName"}}]}]
    assert props(template, T.RECONCILE_SCHEDULE_RULE)["ScheduleExpression"] == "rate(5 minutes)"
    permissions = of_type(template, "AWS::Lambda::Permission")
    assert {p["Properties"]["SourceArn"]["Fn::GetAtt"][0] for p in permissions.values()} == {
        T.RECONCILE_TASK_RULE, T.RECONCILE_SCHEDULE_RULE}


def test_before_allow_traffic_hook_runs_in_the_vpc_and_reaches_the_test_listener(template):
    resources = template["Resources"]
    function = resources[T.HOOK_FUNCTION]["Properties"]
    assert function["Code"]["ZipFile"] == packed_source("before_allow_traffic")
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "index.handler")
    variables = function["Environment"]["Variables"]
    assert set(variables) == set(probe.environment())
    source = (ROOT / "herd_cfn/templates/lambdas/before_allow_traffic.py").read_text()
    for name in variables:  # every variable the module reads, and only those
        assert f'"{name}"' in source, name
    assert before_allow_traffic.__doc__ and "HEALTH_HOSTNAME" in before_allow_traffic.__doc__
    assert variables["LOAD_BALANCER_ARN"] == {"Fn::ImportValue": "herd-edge-LoadBalancerArn"}
    assert variables["TEST_LISTENER_PORT"] == {"Fn::ImportValue": "herd-edge-TestListenerPort"}
    assert variables["HEALTH_HOSTNAME"] == {"Ref": T.DOMAIN}
    assert variables["HEALTH_PATH"] == "/api/master/info"
    assert int(variables["HEALTH_TIMEOUT_SECONDS"]) < function["Timeout"]
    vpc = function["VpcConfig"]
    assert vpc["SubnetIds"] == {"Fn::Split": [",", {"Fn::ImportValue": "herd-network-PrivateSubnetIds"}]}
    assert vpc["SecurityGroupIds"] == [{"Ref": T.HOOK_SECURITY_GROUP}]

    test_port = {"Fn::ImportValue": "herd-edge-TestListenerPort"}
    alb_group = {"Fn::ImportValue": "herd-edge-LoadBalancerSecurityGroupId"}
    ingress = resources[T.HOOK_TO_ALB_INGRESS]
    assert ingress["Type"] == "AWS::EC2::SecurityGroupIngress"
    assert dict(ingress["Properties"]) | {"Description": None} == {
        "GroupId": alb_group, "IpProtocol": "tcp", "FromPort": test_port, "ToPort": test_port,
        "SourceSecurityGroupId": {"Ref": T.HOOK_SECURITY_GROUP}, "Description": None}
    egress = resources[T.HOOK_SECURITY_GROUP]["Properties"]["SecurityGroupEgress"]
    assert {"IpProtocol": "tcp", "FromPort": test_port, "ToPort": test_port,
            "DestinationSecurityGroupId": alb_group} in [{k: v for k, v in e.items() if k != "Description"}
                                                         for e in egress]
    assert all(e["IpProtocol"] == "tcp" for e in egress), "no all-protocol egress"

    role = resources[T.HOOK_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {a for s in role for a in s["Action"]}
    assert {"ec2:DescribeNetworkInterfaces", "codedeploy:PutLifecycleEventHookExecutionStatus"} <= actions
    # The function's own network interfaces: AWS's managed policy for functions in a VPC.
    assert resources[T.HOOK_ROLE]["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}]
    log_group = resources[T.HOOK_LOG_GROUP]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{T.BEFORE_ALLOW_TRAFFIC_FUNCTION}"
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": T.HOOK_LOG_GROUP}}
