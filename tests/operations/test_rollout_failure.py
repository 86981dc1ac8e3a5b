"""A failing instance stops the rollout with its reason; the next environment stays untouched.

How moto fails differs from AWS, and both paths are covered:
* moto creates an instance's stack inside CreateStackInstances, so a failure comes back at once as the
  call's error, no operation is recorded and the half-made stack stays in the target account;
* AWS accepts the call, the operation ends FAILED and list_stack_set_operation_results carries each
  instance's StatusReason. That path is exercised below with botocore's Stubber.
"""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.stub import Stubber

from herd_cfn.errors import DeploymentError
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.rollout import Plan, Rollout
from herd_cfn.operations.waiting import Polling
from herd_cfn.templates.registry import load_project
from tests.rollout_support import DEV, PROD, ROOT, client, instances, run_cli, stack_args

SQUATTER = {
    "Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.99.0.0/16"}}},
    "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}, "Export": {"Name": "herd-network-VpcId"}}},
}


def test_conflicting_export_in_dev_stops_before_prod(aws, project_copy, capsys):
    url = aws.endpoint_url
    assert run_cli("bootstrap", url, project_copy) == 0
    # The conflict: a stack made by hand in dev already exports herd-network-VpcId (export names are unique
    # per account and region), e.g. an earlier network deployed with `aws cloudformation create-stack`.
    dev_cfn = client(url, DEV, "cloudformation")
    dev_cfn.create_stack(StackName="old-network", TemplateBody=json.dumps(SQUATTER))
    capsys.readouterr()
    with herd_aws.recording() as calls:
        code = run_cli("rollout", url, project_copy, *stack_args())
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: dev account 222222222222 (eu-west-1) stack network: CreateStackInstances failed")
    assert "Export names must be unique" in err
    assert ("cloudformation", "CreateStackInstances") in calls.mutating
    assert set(instances(url, "network")) == set()  # prod never got an instance
    prod_cidrs = {v["CidrBlock"] for v in client(url, PROD, "ec2").describe_vpcs()["Vpcs"]}
    assert "10.30.0.0/16" not in prod_cidrs

    # Fix the cause and run again: it converges.
    dev_cfn.delete_stack(StackName="old-network")
    # moto only: the failed CreateStackInstances left its half-made stack (StackSet-herd-network-<uuid>) in
    # dev, unknown to the StackSet, and moto's DeleteStack cannot remove it (it pops exports that were
    # never registered). AWS keeps the failed instance in the StackSet instead (OUTDATED, with its reason)
    # and the next rollout updates it; nothing needs removing by hand there.
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[DEV]["eu-west-1"]
    leftover = [sid for sid, stack in backend.stacks.items() if stack.name.startswith("StackSet-herd-network-")]
    assert len(leftover) == 1
    del backend.stacks[leftover[0]]
    assert run_cli("rollout", url, project_copy, *stack_args()) == 0
    assert {a: s["Status"] for a, s in instances(url, "network").items()} == {DEV: "CURRENT", PROD: "CURRENT"}


class _Ctx(AwsContext):
    """An AwsContext whose administrator client is a stubbed one."""

    def __init__(self, cfn, timeout: float, sleep):
        self.now = 0.0
        super().__init__(polling=Polling(initial=5, maximum=30, timeout=timeout), sleep=sleep or self._advance,
                         clock=lambda: self.now)
        self.cfn = cfn
        self.slept: list[float] = []

    def _advance(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _stubbed_rollout(timeout: float = 3600.0, sleep=None):
    cfn = botocore.session.get_session().create_client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    project = load_project(ROOT / "parameters")
    lines: list[str] = []

    class Lines(Progress):
        def log(self, message: str) -> None:
            lines.append(message)

    rollout = Rollout(_Ctx(cfn, timeout, sleep), project, ROOT / "output", Lines())
    rollout._cfn = cfn
    from herd_cfn.build import artifacts as built
    from herd_cfn.templates import registry

    stack = registry.get("network")
    env = project.environment("dev")
    plan = Plan(environment=env, stack=stack, built=built.load(ROOT / "output", stack, "dev"))
    return rollout, plan, Stubber(cfn), lines


def test_failed_operation_reports_each_instance_reason():
    rollout, plan, stub, _ = _stubbed_rollout()
    op = {"StackSetName": "herd-network", "OperationId": "op-1"}
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "RUNNING"}}, op)
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "FAILED"}}, op)
    stub.add_response("list_stack_set_operation_results", {"Summaries": [
        {"Account": DEV, "Region": "eu-west-1", "Status": "FAILED",
         "StatusReason": "ResourceLogicalId:Vpc, ResourceType:AWS::EC2::VPC, ResourceStatusReason:"
                         "The CIDR '10.20.0.0/16' conflicts with another subnet."}]}, op)
    stub.add_response("list_stack_instances", {"Summaries": [
        {"Account": DEV, "Region": "eu-west-1", "Status": "OUTDATED", "StatusReason": "see operation"}]},
        {"StackSetName": "herd-network"})
    with stub, pytest.raises(DeploymentError) as failure:
        rollout._wait(plan, "op-1", "UpdateStackInstances")
    message = failure.value.message
    assert "UpdateStackInstances on StackSet herd-network FAILED in dev (account 222222222222" in message
    assert f"account {DEV} eu-west-1 stack network: FAILED: ResourceLogicalId:Vpc" in message
    assert "later stacks and environments were not touched" in message


def test_operation_that_never_ends_times_out_with_how_to_watch_and_stop():
    rollout, plan, stub, _ = _stubbed_rollout(timeout=120)
    for _ in range(7):
        stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "RUNNING"}})
    with stub, pytest.raises(DeploymentError) as failure:
        rollout._wait(plan, "op-2", "CreateStackInstances")
    # Polling backs off from 5 s to at most 30 s instead of asking in a tight loop.
    assert rollout.ctx.slept == [5, 7.5, 11.25, 16.875, 25.3125, 30]
    message = failure.value.message
    assert "still RUNNING after 120s" in message
    assert "aws cloudformation stop-stack-set-operation --stack-set-name herd-network --operation-id op-2" in message


def test_ctrl_c_while_waiting_says_what_still_runs():
    def interrupt(_seconds):
        raise KeyboardInterrupt

    rollout, plan, stub, lines = _stubbed_rollout(sleep=interrupt)
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "RUNNING"}})
    with stub, pytest.raises(KeyboardInterrupt):
        rollout._wait(plan, "op-3", "UpdateStackInstances")
    said = "\n".join(lines)
    assert "UpdateStackInstances op-3 on StackSet herd-network (dev 222222222222) is still running in AWS" in said
    assert "stop-stack-set-operation --stack-set-name herd-network --operation-id op-3" in said
