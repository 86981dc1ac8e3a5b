"""The fixes the push rehearsal needs (tests/emulator/test_push_rehearsal.py), each against what AWS documents:
ECS task sets and their tasks, load balancer network interfaces, distinct task addresses, CodeDeploy's hook
status, AWS::NoValue in lists, and bucket policy conditions."""

from __future__ import annotations

import ipaddress
import json

import pytest
from botocore.exceptions import ClientError

from herd_cfn.emulator.fixes.codedeploy_lifecycle_hook_status import hook_statuses
from herd_cfn.emulator.server import account_session

ACCOUNT, REGION = "333333333333", "eu-west-1"
BUCKET = "herd-policy-probe"


def _client(aws, service: str):
    return account_session(aws.endpoint_url, ACCOUNT, REGION).client(service, endpoint_url=aws.endpoint_url)


@pytest.fixture
def network(aws):
    ec2 = _client(aws, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{n}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
        "SubnetId"] for n, z in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group}


def _error(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


# --- ELBv2: network interfaces ---------------------------------------------------------------------------------
def test_a_load_balancer_has_an_interface_in_each_subnet_until_it_is_deleted(aws, network):
    elbv2, ec2 = _client(aws, "elbv2"), _client(aws, "ec2")
    alb = elbv2.create_load_balancer(Name="web", Subnets=network["subnets"], SecurityGroups=[network["group"]],
                                     Type="application")["LoadBalancers"][0]
    nlb = elbv2.create_load_balancer(Name="mqtt", Subnets=network["subnets"], Type="network")["LoadBalancers"][0]
    for balancer, kind in ((alb, "app"), (nlb, "net")):
        description = "ELB " + balancer["LoadBalancerArn"].split(":loadbalancer/")[1]
        assert description.startswith(f"ELB {kind}/{balancer['LoadBalancerName']}/")
        found = ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": [description]}])
        interfaces = found["NetworkInterfaces"]
        assert sorted(i["SubnetId"] for i in interfaces) == sorted(network["subnets"])
        for interface in interfaces:
            cidr = {network["subnets"][0]: "10.50.1.0/24", network["subnets"][1]: "10.50.2.0/24"}[interface["SubnetId"]]
            assert ipaddress.ip_address(interface["PrivateIpAddress"]) in ipaddress.ip_network(cidr)
    alb_interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": [
        "ELB " + alb["LoadBalancerArn"].split(":loadbalancer/")[1]]}])["NetworkInterfaces"]
    assert [g["GroupId"] for g in alb_interfaces[0]["Groups"]] == [network["group"]]
    addresses = {i["PrivateIpAddress"] for i in ec2.describe_network_interfaces()["NetworkInterfaces"]}
    assert len(addresses) == 4, "each interface has its own address"

    elbv2.delete_load_balancer(LoadBalancerArn=alb["LoadBalancerArn"])
    left = ec2.describe_network_interfaces()["NetworkInterfaces"]
    assert sorted(i["Description"].split("/")[0] for i in left) == ["ELB net", "ELB net"]


# --- ECS: task addresses and task sets -----------------------------------------------------------------------------
def _ecs(aws, network, controller: str, desired: int = 1):
    elbv2, ecs = _client(aws, "elbv2"), _client(aws, "ecs")
    groups = [elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=network["vpc"], TargetType="ip")[
        "TargetGroups"][0]["TargetGroupArn"] for name in ("blue", "green")]
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[
                                     {"name": "web", "image": "nginx", "portMappings": [{"containerPort": 8080}]}])
    awsvpc = {"awsvpcConfiguration": {"subnets": network["subnets"], "securityGroups": [network["group"]]}}
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="app", desiredCount=desired,
                       launchType="FARGATE", deploymentController={"type": controller}, networkConfiguration=awsvpc,
                       loadBalancers=[{"targetGroupArn": groups[0], "containerName": "web", "containerPort": 8080}])
    return ecs, elbv2, groups, awsvpc


def _targets(elbv2, group: str) -> list[tuple[str, int]]:
    return sorted((d["Target"]["Id"], d["Target"]["Port"])
                  for d in elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"])


def _address(task: dict) -> str:
    return {d["name"]: d["value"] for d in task["attachments"][0]["details"]}["privateIPv4Address"]


def test_two_fargate_tasks_get_two_addresses_of_their_subnet(aws, network):
    ecs = _client(aws, "ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="once", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[{"name": "main", "image": "busybox"}])
    awsvpc = {"awsvpcConfiguration": {"subnets": network["subnets"][:1], "securityGroups": [network["group"]]}}
    tasks = ecs.run_task(cluster="c", taskDefinition="once", launchType="FARGATE", count=2,
                         networkConfiguration=awsvpc)["tasks"]
    addresses = [_address(t) for t in tasks]
    assert len(set(addresses)) == 2
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.50.1.0/24") for a in addresses)


def test_a_code_deploy_service_starts_with_a_primary_task_set_whose_task_is_a_target(aws, network):
    ecs, elbv2, (blue, green), _ = _ecs(aws, network, "CODE_DEPLOY")
    (service,) = ecs.describe_services(cluster="c", services=["web"])["services"]
    (first,) = service["taskSets"]
    assert (first["status"], first["computedDesiredCount"], first["runningCount"]) == ("PRIMARY", 1, 1)
    assert first["taskDefinition"] == service["taskDefinition"] and first["launchType"] == "FARGATE"
    (arn,) = ecs.list_tasks(cluster="c", serviceName="web")["taskArns"]
    for _ in range(3):  # a service's task keeps running however often it is described
        (task,) = ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
        assert task["lastStatus"] == "RUNNING"
    assert (task["startedBy"], task["group"]) == (first["id"], "service:web")
    assert _targets(elbv2, blue) == [(_address(task), 8080)] and _targets(elbv2, green) == []

    # The desired count reaches the task set: scaled to 0 its task stops and leaves the group; back to 1, a new one.
    ecs.update_service(cluster="c", service="web", desiredCount=0)
    assert ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED"
    assert ecs.list_tasks(cluster="c", serviceName="web", desiredStatus="RUNNING")["taskArns"] == []
    assert _targets(elbv2, blue) == []
    ecs.update_service(cluster="c", service="web", desiredCount=1)
    (again,) = ecs.list_tasks(cluster="c", serviceName="web", desiredStatus="RUNNING")["taskArns"]
    (task,) = ecs.describe_tasks(cluster="c", tasks=[again])["tasks"]
    assert again != arn and _targets(elbv2, blue) == [(_address(task), 8080)]


def test_a_replacement_task_set_runs_behind_its_group_and_stops_when_deleted(aws, network):
    ecs, elbv2, (blue, green), awsvpc = _ecs(aws, network, "CODE_DEPLOY", desired=2)
    (original,) = ecs.describe_services(cluster="c", services=["web"])["services"][0]["taskSets"]
    replacement = ecs.create_task_set(
        cluster="c", service="web", taskDefinition="app", externalId="d-1", launchType="FARGATE",
        networkConfiguration=awsvpc, scale={"value": 50.0, "unit": "PERCENT"},
        loadBalancers=[{"targetGroupArn": green, "containerName": "web", "containerPort": 8080}])["taskSet"]
    assert (replacement["computedDesiredCount"], replacement["externalId"]) == (1, "d-1")  # ceil(2 * 50%)
    (new,) = ecs.describe_tasks(cluster="c", tasks=ecs.list_tasks(cluster="c", startedBy=replacement["id"])[
        "taskArns"])["tasks"]
    assert _targets(elbv2, green) == [(_address(new), 8080)]
    assert len(_targets(elbv2, blue)) == 2
    ecs.run_task(cluster="c", taskDefinition="app", launchType="FARGATE", networkConfiguration=awsvpc)
    assert len(ecs.list_tasks(cluster="c", serviceName="web")["taskArns"]) == 3, "not the RunTask one"

    old_arns = ecs.list_tasks(cluster="c", startedBy=original["id"])["taskArns"]
    ecs.delete_task_set(cluster="c", service="web", taskSet=original["taskSetArn"])
    old = ecs.describe_tasks(cluster="c", tasks=old_arns)["tasks"]
    assert {(t["lastStatus"], t["desiredStatus"]) for t in old} == {("STOPPED", "STOPPED")}
    assert _targets(elbv2, blue) == []
    assert ecs.list_tasks(cluster="c", serviceName="web", desiredStatus="RUNNING")["taskArns"] == [new["taskArn"]]


def test_an_ecs_controlled_service_has_no_task_set(aws, network):
    ecs, elbv2, (blue, _), _ = _ecs(aws, network, "ECS")
    assert ecs.describe_services(cluster="c", services=["web"])["services"][0]["taskSets"] == []
    assert _targets(elbv2, blue) == []


# --- CodeDeploy: PutLifecycleEventHookExecutionStatus ------------------------------------------------------------
def _deployment(aws, platform: str = "ECS") -> str:
    codedeploy = _client(aws, "codedeploy")
    codedeploy.create_application(applicationName="app", computePlatform=platform)
    codedeploy.create_deployment_group(applicationName="app", deploymentGroupName="group",
                                       serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy")
    return codedeploy.create_deployment(applicationName="app", deploymentGroupName="group", revision={
        "revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}})["deploymentId"]


def test_a_hook_reports_its_status_once(aws):
    codedeploy, deployment = _client(aws, "codedeploy"), _deployment(aws)
    answer = codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId="exec-1", status="Succeeded")
    assert answer["lifecycleEventHookExecutionId"] == "exec-1"
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId="exec-2", status="Failed")
    assert hook_statuses(ACCOUNT, REGION, deployment) == {"exec-1": "Succeeded", "exec-2": "Failed"}
    assert _error(lambda: codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId="exec-1", status="Failed")) == \
        "LifecycleEventAlreadyCompletedException"
    assert _error(lambda: codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId="exec-3", status="InProgress")) == \
        "InvalidLifecycleEventHookExecutionStatusException"
    assert _error(lambda: codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId="d-NOPE", lifecycleEventHookExecutionId="exec-1", status="Succeeded")) == \
        "DeploymentDoesNotExistException"


def test_only_ecs_and_lambda_deployments_take_hook_statuses(aws):
    deployment = _deployment(aws, platform="Server")
    assert _error(lambda: _client(aws, "codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId="exec-1", status="Succeeded")) == \
        "UnsupportedActionForDeploymentTypeException"


# --- CloudFormation: AWS::NoValue in a list ------------------------------------------------------------------------
def test_no_value_leaves_the_element_out_of_a_list(aws):
    cfn = _client(aws, "cloudformation")
    optional = {"Fn::If": ["Never", {"Name": "OPTIONAL", "Value": "x"}, {"Ref": "AWS::NoValue"}]}
    container = {"Name": "main", "Image": "busybox", "Memory": 128,
                 "Environment": [{"Name": "ALWAYS", "Value": "1"}, optional]}
    cfn.create_stack(StackName="lists", TemplateBody=json.dumps({
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "lists", "ContainerDefinitions": [container]}}},
        "Outputs": {"Joined": {"Value": {"Fn::Join": [",", ["a", {"Fn::If": ["Never", "b", {"Ref": "AWS::NoValue"}]},
                                                            "c"]]}}},
    }))
    stack = cfn.describe_stacks(StackName="lists")["Stacks"][0]
    assert stack["Outputs"][0]["OutputValue"] == "a,c"
    task = _client(aws, "ecs").describe_task_definition(taskDefinition="lists")["taskDefinition"]
    assert task["containerDefinitions"][0]["environment"] == [{"name": "ALWAYS", "value": "1"}]


# --- S3: bucket policy conditions ----------------------------------------------------------------------------------
def _bucket(aws, statement: dict):
    s3 = _client(aws, "s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
         "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"], **statement}]}))
    return s3


@pytest.mark.parametrize("condition", [{"Bool": {"aws:SecureTransport": "false"}},
                                       {"StringEquals": {"aws:SecureTransport": "false"}}])
def test_a_deny_whose_condition_does_not_hold_does_not_deny(aws, condition):
    s3 = _bucket(aws, {"Condition": condition})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"1")
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"1"
    assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="missing")) == "NoSuchKey"


@pytest.mark.parametrize("statement", [{}, {"Condition": {"Null": {"aws:SourceVpce": "true"}}},
                                       {"Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}}])
def test_a_deny_that_applies_still_denies(aws, statement):
    s3 = _bucket(aws, statement)
    assert _error(lambda: s3.put_object(Bucket=BUCKET, Key="k", Body=b"1")) == "403"
