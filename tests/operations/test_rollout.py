"""The StackSet rollout against moto on 127.0.0.1: two simulated accounts, each with its own values."""

from __future__ import annotations

import re

import pytest

from herd_cfn import names
from herd_cfn.operations import aws as herd_aws
from tests.rollout_support import (
    ADMIN,
    DEV,
    MOTO_STACKS,
    PROD,
    client,
    instances,
    overrides,
    run_cli,
    set_env_value,
    stack_args,
)


@pytest.fixture
def rolled_out(aws, project_copy, capsys):
    """Bootstrap and a first rollout of every stack moto can create."""
    assert run_cli("bootstrap", aws.endpoint_url, project_copy) == 0
    assert run_cli("rollout", aws.endpoint_url, project_copy, *stack_args()) == 0
    capsys.readouterr()
    return aws.endpoint_url, project_copy


def test_each_account_gets_its_own_values(rolled_out):
    url, _ = rolled_out
    for stack in MOTO_STACKS:
        found = instances(url, stack)
        assert set(found) == {DEV, PROD}
        assert {s["Status"] for s in found.values()} == {"CURRENT"}
    # The resources live in each target account and carry that account's values.
    dev_vpcs = {v["CidrBlock"] for v in client(url, DEV, "ec2").describe_vpcs()["Vpcs"]}
    prod_vpcs = {v["CidrBlock"] for v in client(url, PROD, "ec2").describe_vpcs()["Vpcs"]}
    assert "10.20.0.0/16" in dev_vpcs and "10.30.0.0/16" not in dev_vpcs
    assert "10.30.0.0/16" in prod_vpcs and "10.20.0.0/16" not in prod_vpcs
    # dev spans 2 AZs, prod 3: 4 and 6 subnets inside the herd VPC.
    for account, cidr, subnets in ((DEV, "10.20.0.0/16", 4), (PROD, "10.30.0.0/16", 6)):
        ec2 = client(url, account, "ec2")
        vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == cidr)
        found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        assert len(found) == subnets
    # The bootstrap roles exist where they belong.
    client(url, ADMIN, "iam").get_role(RoleName="AWSCloudFormationStackSetAdministrationRole")
    for account in (DEV, PROD):
        client(url, account, "iam").get_role(RoleName="AWSCloudFormationStackSetExecutionRole")


def test_data_stack_in_each_account_uses_that_accounts_network(rolled_out):
    """network and data, from the templates of output/ as they are, reach every account through StackSets:
    each account's file system is encrypted, exported, mounted in that account's private subnets (one per
    AZ of the region) and has the four access points whose ids the service stack imports."""
    if names.DATA not in MOTO_STACKS:
        pytest.skip("HERD_MOTO_STACKS leaves the data stack out")
    url, _ = rolled_out

    def export(exports: dict, stack: str, output: str) -> str:
        return exports[names.export_name(stack, output)]

    for account, az_count in ((DEV, 2), (PROD, 3)):
        exports = {e["Name"]: e.get("Value") for e in
                   client(url, account, "cloudformation").list_exports()["Exports"]}
        efs = client(url, account, "efs")
        (file_system,) = efs.describe_file_systems()["FileSystems"]
        assert file_system["Encrypted"] is True
        assert file_system["FileSystemArn"].startswith(f"arn:aws:elasticfilesystem:eu-west-1:{account}:file-system/")
        assert export(exports, names.DATA, names.Data.OUT_FILE_SYSTEM_ID) == file_system["FileSystemId"]
        assert export(exports, names.DATA, names.Data.OUT_FILE_SYSTEM_ARN) == file_system["FileSystemArn"]
        private = export(exports, names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS).split(",")
        targets = efs.describe_mount_targets(FileSystemId=file_system["FileSystemId"])["MountTargets"]
        assert len(private) == az_count
        assert sorted(t["SubnetId"] for t in targets) == sorted(private)
        assert sorted(t["AvailabilityZoneName"] for t in targets) == [f"eu-west-1{z}" for z in "abc"[:az_count]]
        points = efs.describe_access_points(FileSystemId=file_system["FileSystemId"])["AccessPoints"]
        assert sorted(p["AccessPointId"] for p in points) == sorted(
            export(exports, names.DATA, output)
            for output in (names.Data.OUT_POSTGRES_ACCESS_POINT, names.Data.OUT_MANAGER_ACCESS_POINT,
                           names.Data.OUT_RESTORE_POSTGRES_ACCESS_POINT, names.Data.OUT_RESTORE_MANAGER_ACCESS_POINT,
                           names.Data.OUT_DUMPS_ACCESS_POINT))


def test_instance_stacks_are_named_as_aws_names_them(rolled_out):
    # StackSet-<stack set>-<uuid>: the names the bootstrap execution role's permissions are scoped to
    # (StackSet-herd-*), and free of the colon moto 5.2.5 uses, which generated physical names refuse.
    url, _ = rolled_out
    for account in (DEV, PROD):
        stacks = [s["StackName"] for s in client(url, account, "cloudformation").describe_stacks()["Stacks"]]
        made = [re.fullmatch(r"StackSet-herd-([a-z]+)-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", name)
                for name in stacks if name != "herd-stackset-execution"]
        assert all(made), stacks
        assert sorted(match.group(1) for match in made) == sorted(MOTO_STACKS)


def test_every_value_is_passed_per_instance(rolled_out):
    url, _ = rolled_out
    dev = overrides(url, "network", DEV)
    prod = overrides(url, "network", PROD)
    assert dev["VpcCidr"] == "10.20.0.0/16" and dev["FlowLogRetentionDays"] == "30"
    assert prod["VpcCidr"] == "10.30.0.0/16" and prod["FlowLogRetentionDays"] == "365"
    assert set(dev) == set(prod)  # every key, not only those that differ from the StackSet's values
    stackset = client(url, ADMIN, "cloudformation").describe_stack_set(StackSetName="herd-network")["StackSet"]
    assert stackset["AdministrationRoleARN"] == f"arn:aws:iam::{ADMIN}:role/AWSCloudFormationStackSetAdministrationRole"
    assert stackset["ExecutionRoleName"] == "AWSCloudFormationStackSetExecutionRole"
    assert stackset["PermissionModel"] == "SELF_MANAGED"


def test_second_rollout_only_reads(rolled_out, capsys):
    url, project = rolled_out
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project, *stack_args()) == 0
    assert calls.calls, "the recorder saw no calls at all"
    assert calls.mutating == []
    # Each StackSet is read once for all environments; each instance once.
    assert calls.count("DescribeStackSet") == len(MOTO_STACKS)
    assert calls.count("ListStackInstances") == len(MOTO_STACKS)
    assert calls.count("DescribeStackInstance") == 2 * len(MOTO_STACKS)
    out = capsys.readouterr().out
    assert out.count("no changes") == 2 * len(MOTO_STACKS)
    assert "rollout complete: 0 operation(s)" in out


def test_changed_parameter_updates_only_that_instance(rolled_out, capsys):
    url, project = rolled_out
    set_env_value(project, "dev", "network", "flow_log_retention_days", 60)
    capsys.readouterr()
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project, *stack_args()) == 0
    assert calls.mutating == [("cloudformation", "UpdateStackInstances")]
    out = capsys.readouterr().out
    assert f"dev {DEV}/eu-west-1 network: parameter FlowLogRetentionDays: 30 -> 60" in out
    assert f"prod {PROD}/eu-west-1 network: no changes" in out
    assert overrides(url, "network", DEV)["FlowLogRetentionDays"] == "60"
    assert overrides(url, "network", PROD)["FlowLogRetentionDays"] == "365"
    # moto records the new overrides but does not update the instance's stack (its UpdateStackInstances
    # leaves resources alone); AWS would update the flow log group's retention in the dev account.


def test_dry_run_shows_the_change_and_only_reads(rolled_out, capsys):
    url, project = rolled_out
    set_env_value(project, "prod", "network", "flow_log_retention_days", 400)
    capsys.readouterr()
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project, *stack_args(), "--dry-run") == 0
    assert calls.mutating == []
    out = capsys.readouterr().out
    assert f"prod {PROD}/eu-west-1 network: parameter FlowLogRetentionDays: 365 -> 400" in out
    assert "dry run: 1 of" in out
    assert overrides(url, "network", PROD)["FlowLogRetentionDays"] == "365"


def test_template_change_goes_to_dev_first_then_prod(rolled_out, capsys):
    url, project = rolled_out
    cfn = client(url, ADMIN, "cloudformation")
    body = (project / "output" / "templates" / "network.yaml").read_text()
    # Stand-in for "the StackSet runs last release's template": the same template, another description.
    older = body.replace("herd-cfn network stack:", "herd-cfn network stack (previous release):", 1)
    assert older != body
    cfn.update_stack_set(StackSetName="herd-network", TemplateBody=older,
                         Parameters=[{"ParameterKey": k, "UsePreviousValue": True}
                                     for k in overrides(url, "network", DEV)],
                         Capabilities=["CAPABILITY_NAMED_IAM"])
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project, "--stack", "network") == 0
    # dev: the StackSet update, limited to the dev instance; prod: its instance follows afterwards.
    # In between, moto needs dev's values passed again: its UpdateStackSet replaces the instance's overrides
    # with the StackSet's values. AWS keeps them, the read-back finds no difference and that call is not made.
    assert calls.mutating == [("cloudformation", "UpdateStackSet"), ("cloudformation", "UpdateStackInstances"),
                              ("cloudformation", "UpdateStackInstances")]
    assert overrides(url, "network", DEV)["VpcCidr"] == "10.20.0.0/16"
    assert overrides(url, "network", PROD)["VpcCidr"] == "10.30.0.0/16"
    out = capsys.readouterr().out
    assert "StackSet herd-network: template changed" in out
    assert out.index("dev 222222222222 network: UpdateStackSet") < out.index("prod 333333333333 network: "
                                                                               "UpdateStackInstances")
    assert cfn.describe_stack_set(StackSetName="herd-network")["StackSet"]["TemplateBody"] == body
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project, "--stack", "network") == 0
    assert calls.mutating == []
