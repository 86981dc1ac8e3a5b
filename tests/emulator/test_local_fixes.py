"""The fixes the runbook needs on a running emulator (docs/local.md), each against what AWS documents;
and the emulator's own requests (``/herd-emulator/``)."""

from __future__ import annotations

import ipaddress
import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from herd_cfn.emulator.fixes.stack_delete_order import deletion_order
from herd_cfn.emulator.server import account_session

ACCOUNT, REGION = "222222222222", "eu-west-1"


def _client(aws, service: str, account: str = ACCOUNT):
    return account_session(aws.endpoint_url, account, REGION).client(service, endpoint_url=aws.endpoint_url)


def _vpc(aws) -> tuple[str, str]:
    ec2 = _client(aws, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.3.0/24")["Subnet"]["SubnetId"]
    return vpc, subnet


# --- AWS Backup ------------------------------------------------------------------------------------------------
def test_backup_job_makes_a_completed_recovery_point_and_a_restore_job_completes(aws):
    backup = _client(aws, "backup")
    backup.create_backup_vault(BackupVaultName="vault")
    resource = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-12345678"
    job = backup.start_backup_job(BackupVaultName="vault", ResourceArn=resource,
                                  IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/backup")
    assert backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "COMPLETED"
    (point,) = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault")["RecoveryPoints"]
    assert point["RecoveryPointArn"] == job["RecoveryPointArn"]
    assert point["RecoveryPointArn"].startswith(f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:")
    assert (point["ResourceArn"], point["ResourceType"], point["Status"]) == (resource, "EFS", "COMPLETED")
    described = backup.describe_recovery_point(BackupVaultName="vault", RecoveryPointArn=point["RecoveryPointArn"])
    assert described["Status"] == "COMPLETED"

    restore = backup.start_restore_job(RecoveryPointArn=point["RecoveryPointArn"], ResourceType="EFS",
                                       IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/backup",
                                       Metadata={"file-system-id": "fs-12345678", "newFileSystem": "false"})
    job = backup.describe_restore_job(RestoreJobId=restore["RestoreJobId"])
    assert (job["Status"], job["CreatedResourceArn"]) == ("COMPLETED", resource)
    assert [j["RestoreJobId"] for j in backup.list_restore_jobs()["RestoreJobs"]] == [restore["RestoreJobId"]]


def test_unknown_recovery_point_and_restore_job_are_not_found(aws):
    backup = _client(aws, "backup")
    backup.create_backup_vault(BackupVaultName="vault")
    missing = f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:NOPE"
    for call in (lambda: backup.describe_recovery_point(BackupVaultName="vault", RecoveryPointArn=missing),
                 lambda: backup.start_restore_job(RecoveryPointArn=missing, IamRoleArn="r", Metadata={}),
                 lambda: backup.describe_restore_job(RestoreJobId="NOPE")):
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_plan_with_a_selection_has_run_once_per_rule_and_resource(aws):
    cfn = _client(aws, "cloudformation")
    resource = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-87654321"
    rule = {"RuleName": "daily", "TargetBackupVault": {"Ref": "Vault"}, "ScheduleExpression": "cron(0 3 * * ? *)"}
    template = {"Resources": {
        "Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": "plan-vault"}},
        "Plan": {"Type": "AWS::Backup::BackupPlan", "Properties": {"BackupPlan": {
            "BackupPlanName": "plan", "BackupPlanRule": [rule, {**rule, "RuleName": "weekly"}]}}},
        "Selection": {"Type": "AWS::Backup::BackupSelection", "Properties": {
            "BackupPlanId": {"Ref": "Plan"}, "BackupSelection": {
                "SelectionName": "fs", "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup", "Resources": [resource]}}},
    }}
    cfn.create_stack(StackName="plan", TemplateBody=json.dumps(template))
    backup = _client(aws, "backup")
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="plan-vault")["RecoveryPoints"]
    assert [p["ResourceArn"] for p in points] == [resource, resource]
    assert len({p["CreatedBy"]["BackupRuleId"] for p in points}) == 2
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="plan-vault")["RecoveryPoints"] == points


# --- CodeConnections -------------------------------------------------------------------------------------------
def test_get_connection_answers_a_recorded_connection_pending_in_both_apis(aws):
    cfn = _client(aws, "cloudformation")
    cfn.create_stack(StackName="conn", TemplateBody=json.dumps({
        "Resources": {"Connection": {"Type": "AWS::CodeConnections::Connection",
                                     "Properties": {"ConnectionName": "herd-github", "ProviderType": "GitHub"}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Connection", "ConnectionArn"]}}}}))
    arn = cfn.describe_stacks(StackName="conn")["Stacks"][0]["Outputs"][0]["OutputValue"]
    for service in ("codeconnections", "codestar-connections"):
        connection = _client(aws, service).get_connection(ConnectionArn=arn)["Connection"]
        assert (connection["ConnectionArn"], connection["ConnectionName"], connection["ConnectionStatus"],
                connection["OwnerAccountId"]) == (arn, "herd-github", "PENDING", ACCOUNT)


def test_get_connection_of_an_unknown_arn_is_not_found(aws):
    arn = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/00000000-0000-0000-0000-000000000000"
    for service in ("codeconnections", "codestar-connections"):
        with pytest.raises(ClientError) as raised:
            _client(aws, service).get_connection(ConnectionArn=arn)
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- StackSets -------------------------------------------------------------------------------------------------
PARAMETER_TEMPLATE = json.dumps({
    "Parameters": {"Retention": {"Type": "Number"}},
    "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Ref": "Retention"}}}},
})


def test_stack_instance_stack_id_is_its_stack_and_updates_reach_the_stack(aws):
    admin = _client(aws, "cloudformation", "111111111111")
    admin.create_stack_set(StackSetName="probe", TemplateBody=PARAMETER_TEMPLATE, PermissionModel="SELF_MANAGED",
                           Parameters=[{"ParameterKey": "Retention", "ParameterValue": "7"}])
    admin.create_stack_instances(StackSetName="probe", Accounts=[ACCOUNT], Regions=[REGION])
    (summary,) = admin.list_stack_instances(StackSetName="probe")["Summaries"]
    assert admin.list_stack_instances(StackSetName="probe")["Summaries"][0]["StackId"] == summary["StackId"]
    target = _client(aws, "cloudformation")
    stack = target.describe_stacks(StackName=summary["StackId"])["Stacks"][0]
    assert stack["StackId"] == summary["StackId"]

    admin.update_stack_instances(StackSetName="probe", Accounts=[ACCOUNT], Regions=[REGION],
                                 ParameterOverrides=[{"ParameterKey": "Retention", "ParameterValue": "30"}])
    stack = target.describe_stacks(StackName=summary["StackId"])["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"Retention": "30"}


# --- deleting a stack ------------------------------------------------------------------------------------------
def test_deletion_order_puts_dependents_first():
    resources = {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"VpcId": "vpc-1"}},
        "Rule": {"Type": "AWS::EC2::SecurityGroupEgress",
                 "Properties": {"GroupId": {"Fn::GetAtt": ["Group", "GroupId"]}}},
        "Named": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Fn::Sub": "${Group.GroupId}-${Rule}"}}},
        "Last": {"Type": "AWS::SNS::Topic", "DependsOn": "Named"},
    }
    order = deletion_order(resources)
    assert order.index("Last") < order.index("Named") < order.index("Rule") < order.index("Group")


def test_a_stack_with_a_rule_on_its_own_group_deletes(aws):
    vpc, _ = _vpc(aws)
    cfn = _client(aws, "cloudformation")
    cfn.create_stack(StackName="rules", TemplateBody=json.dumps({"Resources": {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "VpcId": vpc}},
        "Egress": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "DestinationSecurityGroupId": {"Fn::GetAtt": ["Group", "GroupId"]}}},
        "Ingress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["Group", "GroupId"]}}},
    }}))
    stack_id = cfn.describe_stacks(StackName="rules")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="rules")
    summaries = {s["StackId"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert summaries[stack_id] == "DELETE_COMPLETE"
    groups = _client(aws, "ec2").describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    assert [g["GroupName"] for g in groups["SecurityGroups"]] == ["default"]


# --- ECS RunTask -----------------------------------------------------------------------------------------------
def test_fargate_task_without_container_memory_runs_with_an_address_of_its_subnet(aws):
    vpc, subnet = _vpc(aws)
    group = _client(aws, "ec2").create_security_group(GroupName="task", Description="t", VpcId=vpc)["GroupId"]
    ecs = _client(aws, "ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="once", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512",
                                 containerDefinitions=[{"name": "main", "image": "busybox", "essential": True}])
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    started = ecs.run_task(cluster="c", taskDefinition="once", launchType="FARGATE", startedBy="probe",
                           networkConfiguration=network,
                           overrides={"containerOverrides": [{"name": "main", "command": ["true"]}]})
    assert started["failures"] == [] and len(started["tasks"]) == 1
    task_arn = started["tasks"][0]["taskArn"]
    assert ecs.list_tasks(cluster="c", startedBy="probe")["taskArns"] == [task_arn]
    task = ecs.describe_tasks(cluster="c", tasks=[task_arn])["tasks"][0]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] == subnet
    address = details["privateIPv4Address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.40.3.0/24")
    assert details["privateDnsName"] == f"ip-{address.replace('.', '-')}.{REGION}.compute.internal"
    eni = _client(aws, "ec2").describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])
    assert eni["NetworkInterfaces"][0]["PrivateIpAddress"] == address


# --- the emulator's own requests -----------------------------------------------------------------------------
def test_info_and_a_hosted_zone_with_the_id_the_parameters_name(aws):
    with urllib.request.urlopen(f"{aws.endpoint_url}/herd-emulator/info", timeout=10) as response:
        info = json.loads(response.read())
    assert info["emulator"] == "herd-cfn" and "backup_restore_jobs" in info["fixes"]
    body = json.dumps({"account_id": ACCOUNT, "zone_id": "Z0000000000000000ABC", "domain": "example.org"}).encode()
    request = urllib.request.Request(f"{aws.endpoint_url}/herd-emulator/hosted-zone", data=body, method="POST")
    for created in (True, False):  # the second time it is there already
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read()) == {"created": created}
    zone = _client(aws, "route53").get_hosted_zone(Id="Z0000000000000000ABC")["HostedZone"]
    assert zone["Name"] == "example.org."  # Route 53 names end with a dot
