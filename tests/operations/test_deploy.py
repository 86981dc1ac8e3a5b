"""``herd-cfn deploy`` (one stack, change sets), ``bootstrap --print`` and the documented
``aws cloudformation deploy`` command lines, run with the real AWS CLI against moto."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from herd_cfn import cli
from herd_cfn.operations import aws as herd_aws
from tests.operations import test_deploy_by_hand as by_hand
from tests.rollout_support import ADMIN, DEV, PROD, client, run_cli

# The AWS CLI (v1) installed next to the Python running the tests, else the one on PATH.
AWS_CLI = Path(sys.executable).parent / "aws"
if not AWS_CLI.exists():
    AWS_CLI = Path(shutil.which("aws") or "aws")


def _stack(url: str, account: str, name: str):
    found = [s for s in client(url, account, "cloudformation").describe_stacks()["Stacks"] if s["StackName"] == name]
    return found[0] if found else None


def test_plan_shows_changes_and_deploys_nothing(aws, project_copy, capsys):
    with herd_aws.recording() as calls:
        assert run_cli("deploy", aws.endpoint_url, project_copy, "--env", "dev", "--stack", "network", "--plan") == 0
    out = capsys.readouterr().out
    assert "CREATE change set" in out
    assert "Add     Vpc AWS::EC2::VPC" in out
    assert "plan only; change set deleted, nothing deployed" in out
    assert ("cloudformation", "ExecuteChangeSet") not in calls.calls
    assert _stack(aws.endpoint_url, DEV, "herd-network") is None  # not even the REVIEW_IN_PROGRESS shell
    assert client(aws.endpoint_url, DEV, "cloudformation").list_change_sets(StackName="herd-network")[
        "Summaries"] == []


def test_deploy_twice_second_says_no_changes(aws, project_copy, capsys):
    url = aws.endpoint_url
    assert run_cli("deploy", url, project_copy, "--env", "prod", "--stack", "network") == 0
    assert _stack(url, PROD, "herd-network")["StackStatus"] == "CREATE_COMPLETE"
    cidrs = {v["CidrBlock"] for v in client(url, PROD, "ec2").describe_vpcs()["Vpcs"]}
    assert "10.30.0.0/16" in cidrs
    capsys.readouterr()
    with herd_aws.recording() as calls:
        assert run_cli("deploy", url, project_copy, "--env", "prod", "--stack", "network") == 0
    assert f"prod {PROD}/eu-west-1 herd-network: no changes" in capsys.readouterr().out
    assert ("cloudformation", "ExecuteChangeSet") not in calls.calls
    # moto ends the empty change set FAILED ("didn't contain changes"), as AWS does; it is removed again.
    # (moto still lists the first, executed change set; AWS drops executed ones from the list.)
    left = client(url, PROD, "cloudformation").list_change_sets(StackName="herd-network")["Summaries"]
    assert [c["ExecutionStatus"] for c in left] == ["EXECUTE_COMPLETE"]


def test_bootstrap_print_gives_one_command_per_account(project_copy, capsys):
    assert cli.main(["bootstrap", "--print", "--parameters-dir", str(project_copy / "parameters"),
                     "--output-dir", str(project_copy / "output")]) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("aws cloudformation deploy")]
    assert len(commands) == 3
    assert "--stack-name herd-stackset-administration" in commands[0]
    assert "TargetAccountIds=222222222222,333333333333" in commands[0]
    assert f"# stackset-administration in account {ADMIN} (administrator)" in out
    assert all("AdministratorAccountId=111111111111" in c for c in commands[1:])


def test_documented_aws_cli_command_deploys_network(aws, project_copy, capsys):
    """The printed `aws cloudformation deploy` line works as is (here with --endpoint-url added)."""
    assert cli.main(["deploy", "--print-aws-cli", "--env", "dev", "--stack", "network",
                     "--parameters-dir", str(project_copy / "parameters"),
                     "--output-dir", str(project_copy / "output")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("aws ")]
    assert len(lines) == 1
    argv = shlex.split(lines[0])
    assert argv[:3] == ["aws", "cloudformation", "deploy"]
    assert "VpcCidr=10.20.0.0/16" in argv
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([str(AWS_CLI), *argv[1:], "--endpoint-url", aws.endpoint_url], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # Plain fake credentials act in moto's default account.
    stack = _stack(aws.endpoint_url, "123456789012", "herd-network")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    vpcs = client(aws.endpoint_url, "123456789012", "ec2").describe_vpcs()["Vpcs"]
    assert "10.20.0.0/16" in {v["CidrBlock"] for v in vpcs}


def test_no_updates_error_also_means_no_changes(tmp_path):
    """Some implementations raise "No updates are to be performed." from CreateChangeSet instead of ending the
    change set FAILED; that is "no changes" too."""
    import botocore.session
    from botocore.stub import Stubber

    from herd_cfn.build.artifacts import BuiltStack
    from herd_cfn.operations.aws import AwsContext
    from herd_cfn.operations.deploy import Target, deploy
    from herd_cfn.operations.progress import Progress
    from herd_cfn.templates.registry import get

    cfn = botocore.session.get_session().create_client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")

    class Ctx(AwsContext):
        def session(self, account_id, region):
            return None

        def client(self, session, service):
            return cfn

    stack = get("network")
    built = BuiltStack(stack, stack.template_body(), {"VpcCidr": "10.20.0.0/16"}, tmp_path / "t", tmp_path / "p")
    stub = Stubber(cfn)
    stub.add_response("describe_stacks", {"Stacks": [{"StackName": "herd-network", "StackStatus": "UPDATE_COMPLETE",
                                                      "CreationTime": "2026-01-01T00:00:00Z"}]})
    stub.add_client_error("create_change_set", "ValidationError", "No updates are to be performed.")
    lines = []

    class Lines(Progress):
        def log(self, message):
            lines.append(message)

    with stub:
        result = deploy(Ctx(), Target("dev", DEV, "eu-west-1", "herd-network", {}), built, Lines())
    assert not result.changed and not result.executed
    assert lines == [f"dev {DEV}/eu-west-1 herd-network: no changes"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_documented_jq_block_deploys_with_the_v1_cli(aws, project_copy):
    """docs/deploy-by-hand.md's bash block, run unchanged (moto through AWS_ENDPOINT_URL)."""
    script = by_hand.block("tested: bash block")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=project_copy,
                          env=by_hand._cli_env(aws.endpoint_url), capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert by_hand._network_stack(aws.endpoint_url)["StackStatus"] == "CREATE_COMPLETE"
    vpcs = client(aws.endpoint_url, by_hand.MOTO_ACCOUNT, "ec2").describe_vpcs()["Vpcs"]
    assert "10.20.0.0/16" in {v["CidrBlock"] for v in vpcs}
