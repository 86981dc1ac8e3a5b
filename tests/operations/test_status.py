"""``herd-cfn status``: instances per account before and after a rollout, and the GitHub connection."""

from __future__ import annotations

from botocore.stub import Stubber

from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.status import InstanceStatus, connection_arn, connection_status
from tests.rollout_support import DEV, MOTO_STACKS, StubContext, run_cli, stack_args, stub_client


def test_status_before_anything_is_deployed(aws, project_copy, capsys):
    with herd_aws.recording() as calls:
        assert run_cli("status", aws.endpoint_url, project_copy) == 0
    assert calls.mutating == []
    out = capsys.readouterr().out
    assert f"dev      {DEV} eu-west-1    network      NOT DEPLOYED" in out
    assert "GitHub connections:" in out
    assert f"dev      {DEV}: dashboard stack not deployed yet" in out


def test_status_after_rollout(aws, project_copy, capsys):
    assert run_cli("bootstrap", aws.endpoint_url, project_copy) == 0
    assert run_cli("rollout", aws.endpoint_url, project_copy, *stack_args()) == 0
    capsys.readouterr()
    with herd_aws.recording() as calls:
        assert run_cli("status", aws.endpoint_url, project_copy, "--env", "prod") == 0
    assert calls.mutating == []
    out = capsys.readouterr().out
    for stack in MOTO_STACKS:
        assert f"prod     333333333333 eu-west-1    {stack:<12} CURRENT (SUCCEEDED)" in out
    assert "dev " not in out  # --env prod shows prod only


def test_pending_connection_says_to_activate_it_in_the_console():
    # moto implements neither codeconnections nor codestar-connections: stubbed responses as AWS sends them.
    arn = f"arn:aws:codeconnections:eu-west-1:{DEV}:connection/5c3d2e1f-0000-4000-8000-000000000000"
    cfn, connections = stub_client("cloudformation"), stub_client("codeconnections")
    ctx = StubContext({"cloudformation": cfn, "codeconnections": connections})
    with Stubber(cfn) as cfn_stub, Stubber(connections) as conn_stub:
        cfn_stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": "StackSet-herd-pipeline-1", "StackStatus": "CREATE_COMPLETE",
            "CreationTime": "2026-01-01T00:00:00Z",
            "Outputs": [{"OutputKey": "BuildProjectName", "OutputValue": "herd-build"},
                        {"OutputKey": "GitHubConnectionArn", "OutputValue": arn}]}]})
        conn_stub.add_response("get_connection", {"Connection": {"ConnectionArn": arn, "ConnectionStatus": "PENDING"}},
                               {"ConnectionArn": arn})
        row = InstanceStatus("dev", DEV, "eu-west-1", "pipeline", "CURRENT", stack_id="arn:stack/x")
        found = connection_arn(ctx, row)
        assert found == arn
        status = connection_status(ctx, found, DEV, "eu-west-1")
    assert status.startswith("PENDING: activate it once in the console")
    assert "console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1" in status


def test_no_connection_without_a_pipeline_stack():
    row = InstanceStatus("dev", DEV, "eu-west-1", "pipeline", "NOT DEPLOYED")
    assert connection_arn(StubContext({}), row) is None
