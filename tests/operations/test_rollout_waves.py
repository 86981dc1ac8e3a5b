"""Waves against moto on 127.0.0.1 with a latency per StackSet operation (0.2 s): the accounts of a wave
run at once, a refused instance stops the rollout before the next wave, and a no-op stays read-only."""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from herd_cfn.emulator.fixes import stackset_operation_latency
from herd_cfn.operations import aws as herd_aws
from tests.rollout_support import ADMIN, DEV, PROD, add_environments, client, instances, run_cli, stack_args

LATENCY = 0.2


@pytest.fixture
def latency():
    stackset_operation_latency.configure(LATENCY)
    yield LATENCY
    stackset_operation_latency.configure(None)


def _operations(url: str, stack: str) -> list[dict]:
    cfn = client(url, ADMIN, "cloudformation")
    summaries = cfn.list_stack_set_operations(StackSetName=f"herd-{stack}")["Summaries"]
    return [cfn.describe_stack_set_operation(StackSetName=f"herd-{stack}", OperationId=s["OperationId"]
                                             )["StackSetOperation"] for s in summaries]


def test_accounts_of_a_wave_run_at_once(aws, project_copy, latency, capsys):
    url = aws.endpoint_url
    staging = add_environments(project_copy, ["staging"])["staging"]
    assert run_cli("bootstrap", url, project_copy) == 0
    assert run_cli("rollout", url, project_copy, "--stack", "network") == 0
    out = capsys.readouterr().out
    # Default waves: dev alone, then prod and staging together.
    assert "== wave 1: 1 account(s): dev 222222222222" in out
    assert f"== wave 2: 2 account(s): prod {PROD}, staging {staging}" in out
    assert set(instances(url, "network")) == {DEV, PROD, staging}
    operations = _operations(url, "network")
    assert len(operations) == 3 and {o["Status"] for o in operations} == {"SUCCEEDED"}
    first, *wave2 = sorted(operations, key=lambda o: o["CreationTimestamp"])
    # Each operation ran for the emulated latency; wave 2 started after wave 1 had ended …
    assert all(o["EndTimestamp"] - o["CreationTimestamp"] >= _seconds(LATENCY) for o in operations)
    assert min(o["CreationTimestamp"] for o in wave2) >= first["EndTimestamp"]
    # … and its two operations overlapped: each started before the other ended.
    assert max(o["CreationTimestamp"] for o in wave2) < min(o["EndTimestamp"] for o in wave2)
    stackset = client(url, ADMIN, "cloudformation").describe_stack_set(StackSetName="herd-network")["StackSet"]
    assert stackset["ManagedExecution"] == {"Active": True}

    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project_copy, "--stack", "network") == 0
    assert calls.mutating == []
    assert calls.count("DescribeStackInstance") == 3  # one per account


def test_refused_instance_stops_before_the_next_wave(aws, project_copy, latency, capsys):
    url = aws.endpoint_url
    add_environments(project_copy, ["staging"], waves=[["dev", "prod"], ["staging"]])
    assert run_cli("bootstrap", url, project_copy) == 0
    # prod already has a stack exporting herd-network-VpcId (export names are unique per account and
    # region): its network instance is refused.
    squatter = ('{"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.99.0.0/16"}}}, '
                '"Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}, "Export": {"Name": "herd-network-VpcId"}}}}')
    client(url, PROD, "cloudformation").create_stack(StackName="old-network", TemplateBody=squatter)
    capsys.readouterr()
    assert run_cli("rollout", url, project_copy, *stack_args()) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: prod account {PROD} (eu-west-1) stack network: CreateStackInstances failed")
    assert "Export names must be unique" in err
    assert "wave 1: 1 of 2 account(s) failed (failure_tolerance 0); wave(s) 2 not started" in err
    assert set(instances(url, "network")) == {DEV}  # dev's ran in the same wave; staging's never started
    assert len(_operations(url, "network")) == 1  # staging's network was never started
    with pytest.raises(ClientError, match=r"StackSetNotFound"):
        client(url, ADMIN, "cloudformation").describe_stack_set(StackSetName="herd-data")  # nothing after it


def _seconds(value: float):
    from datetime import timedelta

    return timedelta(seconds=value * 0.9)


def test_serial_rollout_waits_for_each_operation_before_the_next(aws, project_copy, latency, capsys):
    url = aws.endpoint_url
    staging = add_environments(project_copy, ["staging"])["staging"]
    assert run_cli("bootstrap", url, project_copy) == 0
    assert run_cli("rollout", url, project_copy, "--stack", "network", "--serial") == 0
    assert "== prod: account 333333333333" in capsys.readouterr().out
    assert set(instances(url, "network")) == {DEV, PROD, staging}
    operations = sorted(_operations(url, "network"), key=lambda o: o["CreationTimestamp"])
    assert len(operations) == 3
    for earlier, later in itertools.pairwise(operations):
        assert later["CreationTimestamp"] >= earlier["EndTimestamp"]


def test_template_change_reaches_a_wave_in_one_stackset_operation(aws, project_copy, capsys):
    url = aws.endpoint_url
    staging = add_environments(project_copy, ["staging"], waves=[["dev", "prod"], ["staging"]])["staging"]
    assert run_cli("bootstrap", url, project_copy) == 0
    assert run_cli("rollout", url, project_copy, "--stack", "network") == 0
    cfn = client(url, ADMIN, "cloudformation")
    body = (project_copy / "output" / "templates" / "network.yaml").read_text()
    older = body.replace("herd-cfn network stack:", "herd-cfn network stack (previous release):", 1)
    keys = [p["ParameterKey"] for p in cfn.describe_stack_set(StackSetName="herd-network")["StackSet"]["Parameters"]]
    cfn.update_stack_set(StackSetName="herd-network", TemplateBody=older, Capabilities=["CAPABILITY_NAMED_IAM"],
                         Parameters=[{"ParameterKey": k, "UsePreviousValue": True} for k in keys])
    capsys.readouterr()
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project_copy, "--stack", "network") == 0
    # Wave 1: one UpdateStackSet for dev and prod together; wave 2: staging's instance follows with
    # UpdateStackInstances. (moto's UpdateStackSet replaces the instances' overrides, so dev and prod get
    # theirs passed again; on AWS the read-back finds no difference and those two calls are not made.)
    assert calls.count("UpdateStackSet") == 1
    assert calls.count("UpdateStackInstances") == 3
    covered = [sorted(r["Account"] for r in cfn.list_stack_set_operation_results(
        StackSetName="herd-network", OperationId=o["OperationId"])["Summaries"])
        for o in _operations(url, "network") if o["Action"] == "UPDATE" and o["OperationId"]]
    assert sorted([DEV, PROD]) in covered  # one operation named both accounts
    assert cfn.describe_stack_set(StackSetName="herd-network")["StackSet"]["TemplateBody"] == body
    assert set(instances(url, "network")) == {DEV, PROD, staging}
    with herd_aws.recording() as calls:
        assert run_cli("rollout", url, project_copy, "--stack", "network") == 0
    assert calls.mutating == []
