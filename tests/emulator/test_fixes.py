"""herd_cfn.emulator.fixes and the emulator's helpers: each fix answers what AWS documents, and moto's
silent skips are reported once instead of twice per resource."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from herd_cfn.emulator.server import account_session, skipped_resource_types

ACCOUNT, REGION = "222222222222", "eu-central-1"


def _cfn(aws):
    return account_session(aws.endpoint_url, ACCOUNT, REGION).client("cloudformation", endpoint_url=aws.endpoint_url)


def _outputs(cfn, template: dict) -> dict[str, str]:
    cfn.create_stack(StackName="probe", TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName="probe")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _zones(aws, region: str) -> list[str]:
    ec2 = account_session(aws.endpoint_url, ACCOUNT, region).client("ec2", endpoint_url=aws.endpoint_url)
    return sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])


def test_get_azs_answers_the_zones_of_the_region(aws):
    # AWS: '' (and {Ref: AWS::Region}) means the stack's region. moto 5.2.5 answered us-east-1a..d for both.
    outputs = _outputs(_cfn(aws), {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "Empty": {"Value": {"Fn::Join": [",", {"Fn::GetAZs": ""}]}},
            "OwnRegion": {"Value": {"Fn::Join": [",", {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}},
            "Named": {"Value": {"Fn::Join": [",", {"Fn::GetAZs": "us-west-2"}]}},
        },
    })
    assert outputs["Empty"].split(",") == _zones(aws, REGION)
    assert outputs["OwnRegion"] == outputs["Empty"]
    assert outputs["Named"].split(",") == _zones(aws, "us-west-2")
    assert all(zone.startswith(REGION) for zone in outputs["Empty"].split(","))


EFS = {
    "FileSystem": {"Type": "AWS::EFS::FileSystem", "Properties": {"Encrypted": True}},
    "AccessPoint": {"Type": "AWS::EFS::AccessPoint", "Properties": {"FileSystemId": {"Ref": "FileSystem"}}},
}


def test_efs_ref_and_get_att_are_what_the_api_returns(aws):
    outputs = _outputs(_cfn(aws), {"Resources": EFS, "Outputs": {
        "FileSystemRef": {"Value": {"Ref": "FileSystem"}},
        "FileSystemId": {"Value": {"Fn::GetAtt": ["FileSystem", "FileSystemId"]}},
        "FileSystemArn": {"Value": {"Fn::GetAtt": ["FileSystem", "Arn"]}},
        "AccessPointRef": {"Value": {"Ref": "AccessPoint"}},
        "AccessPointId": {"Value": {"Fn::GetAtt": ["AccessPoint", "AccessPointId"]}},
        "AccessPointArn": {"Value": {"Fn::GetAtt": ["AccessPoint", "Arn"]}},
    }})
    efs = account_session(aws.endpoint_url, ACCOUNT, REGION).client("efs", endpoint_url=aws.endpoint_url)
    (file_system,) = efs.describe_file_systems()["FileSystems"]
    (point,) = efs.describe_access_points(FileSystemId=file_system["FileSystemId"])["AccessPoints"]
    assert outputs["FileSystemRef"] == outputs["FileSystemId"] == file_system["FileSystemId"]
    assert outputs["FileSystemArn"] == file_system["FileSystemArn"]
    assert outputs["AccessPointRef"] == outputs["AccessPointId"] == point["AccessPointId"]
    assert outputs["AccessPointArn"] == point["AccessPointArn"]


@pytest.mark.parametrize("where", ["Outputs", "Resources"])
def test_efs_attribute_aws_does_not_document_is_refused(aws, where):
    # AWS refuses the template ("Template error: resource FileSystem does not support attribute type
    # DnsName in Fn::GetAtt"); moto 5.2.5 raised an AttributeError (HTTP 500) instead.
    attribute = {"Fn::GetAtt": ["FileSystem", "DnsName"]}
    template: dict = {"Resources": dict(EFS), "Outputs": {"Probe": {"Value": "x"}}}
    if where == "Outputs":
        template["Outputs"] = {"Probe": {"Value": attribute}}
    else:
        template["Resources"]["Topic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": attribute}}
    with pytest.raises(ClientError) as caught:
        _cfn(aws).create_stack(StackName="probe", TemplateBody=json.dumps(template))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "DnsName" in str(caught.value)


def test_skipped_resource_types_are_collected_once(aws, caplog, recwarn):
    template = {"Resources": {"A": {"Type": "AWS::Glue::Database"},
                              "B": {"Type": "AWS::Glue::Database"},
                              "Topic": {"Type": "AWS::SNS::Topic"}}}
    with skipped_resource_types() as skipped:
        _cfn(aws).create_stack(StackName="probe", TemplateBody=json.dumps(template))
    # moto reports success for a stack whose databases it never made; AWS would create both.
    assert _cfn(aws).describe_stacks(StackName="probe")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert skipped == {"AWS::Glue::Database"}
    assert not [r for r in caplog.records if "No Moto CloudFormation support" in r.getMessage()]
    assert not [w for w in recwarn if "not supported by moto" in str(w.message)]


# ----------------------------------------------------------------- StackSet operations that take time
_TOPIC = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


@pytest.fixture
def latency():
    from herd_cfn.emulator.fixes import stackset_operation_latency

    stackset_operation_latency.configure(1.0)  # long enough that the calls between two checks fit in it
    yield 1.0
    stackset_operation_latency.configure(None)


def _admin(aws):
    return account_session(aws.endpoint_url, "111111111111", REGION).client("cloudformation",
                                                                          endpoint_url=aws.endpoint_url)


def _status(cfn, name: str, operation_id: str) -> str:
    return cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)["StackSetOperation"]["Status"]


def test_managed_stackset_runs_other_accounts_at_once_and_queues_the_same_account(aws, latency):
    import time

    cfn = _admin(aws)
    cfn.create_stack_set(StackSetName="probe", TemplateBody=_TOPIC, ManagedExecution={"Active": True})
    assert cfn.describe_stack_set(StackSetName="probe")["StackSet"]["ManagedExecution"] == {"Active": True}
    target = {"Regions": [REGION], "StackSetName": "probe"}
    first = cfn.create_stack_instances(Accounts=["222222222222"], **target)["OperationId"]
    other = cfn.create_stack_instances(Accounts=["333333333333"], **target)["OperationId"]
    again = cfn.update_stack_instances(Accounts=["222222222222"], **target)["OperationId"]
    assert [_status(cfn, "probe", o) for o in (first, other, again)] == ["RUNNING", "RUNNING", "QUEUED"]
    instances = cfn.list_stack_instances(StackSetName="probe")["Summaries"]
    assert {(i["Status"], i["StackInstanceStatus"]["DetailedStatus"]) for i in instances} == {("OUTDATED", "RUNNING")}
    while _status(cfn, "probe", first) != "SUCCEEDED":
        time.sleep(0.05)
    assert _status(cfn, "probe", again) == "RUNNING"  # it started when the first one ended
    while _status(cfn, "probe", again) != "SUCCEEDED":
        time.sleep(0.05)
    ended = {o: cfn.describe_stack_set_operation(StackSetName="probe", OperationId=o)["StackSetOperation"]
             ["EndTimestamp"] for o in (first, again)}
    assert (ended[again] - ended[first]).total_seconds() >= latency * 0.9
    assert {i["Status"] for i in cfn.list_stack_instances(StackSetName="probe")["Summaries"]} == {"CURRENT"}
    # UpdateStackSet without ManagedExecution leaves it as it is, as AWS does.
    cfn.update_stack_set(StackSetName="probe", TemplateBody=_TOPIC)
    assert cfn.describe_stack_set(StackSetName="probe")["StackSet"]["ManagedExecution"] == {"Active": True}


def test_unmanaged_stackset_refuses_a_second_operation_while_one_runs(aws, latency):
    cfn = _admin(aws)
    cfn.create_stack_set(StackSetName="plain", TemplateBody=_TOPIC)
    assert cfn.describe_stack_set(StackSetName="plain")["StackSet"]["ManagedExecution"] == {"Active": False}
    cfn.create_stack_instances(StackSetName="plain", Accounts=["222222222222"], Regions=[REGION])
    with pytest.raises(ClientError) as refused:
        cfn.create_stack_instances(StackSetName="plain", Accounts=["333333333333"], Regions=[REGION])
    assert refused.value.response["Error"]["Code"] == "OperationInProgressException"


SERVICE_TEMPLATE = json.dumps({
    "Parameters": {"Memory": {"Type": "String"}},
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "probe"}},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "probe", "Memory": {"Ref": "Memory"},
            "ContainerDefinitions": [{"Name": "app", "Image": "app:1", "Memory": 128}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "ServiceName": "app", "DesiredCount": 1,
            "TaskDefinition": {"Ref": "Task"}}},
    },
})


def test_a_service_moves_to_its_task_definitions_replacement(aws):
    """AWS: a changed task definition is replaced (a new revision), and CloudFormation points the resources
    that name it at the replacement. moto 5.2.5 left the service on the old revision."""
    cfn = _cfn(aws)
    ecs = account_session(aws.endpoint_url, ACCOUNT, REGION).client("ecs", endpoint_url=aws.endpoint_url)
    cfn.create_stack(StackName="probe", TemplateBody=SERVICE_TEMPLATE,
                     Parameters=[{"ParameterKey": "Memory", "ParameterValue": "512"}])
    cfn.update_stack(StackName="probe", TemplateBody=SERVICE_TEMPLATE,
                     Parameters=[{"ParameterKey": "Memory", "ParameterValue": "1024"}])
    assert cfn.describe_stacks(StackName="probe")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    (service,) = ecs.describe_services(cluster="probe", services=["app"])["services"]
    assert service["taskDefinition"].endswith(":task-definition/probe:2")
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task["memory"] == "1024"
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName="probe")["StackResources"]}
    assert resources["Task"] == service["taskDefinition"]
