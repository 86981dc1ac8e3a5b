"""Bad input to the AWS commands: one clear message, a non-zero exit, and no API call that changes anything."""

from __future__ import annotations

import pytest

from herd_cfn import cli
from herd_cfn.build.artifacts import BuiltStack
from herd_cfn.emulator.server import free_port
from herd_cfn.errors import InputError
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.template_source import template_argument
from herd_cfn.templates.registry import get
from tests.rollout_support import ADMIN, aws_args, client


def _fails(capsys, argv, expected: str) -> herd_aws.CallRecorder:
    with herd_aws.recording() as calls:
        code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert calls.mutating == []
    return calls


@pytest.mark.parametrize("extra, expected", [
    (["--env", "staging"], "unknown environment 'staging'"),
    (["--stack", "netwrk"], "did you mean 'network'?"),
    (["--stack", "stackset-execution"], "deployed by `herd-cfn bootstrap`"),
])
def test_unknown_names(aws, project_copy, capsys, extra, expected):
    calls = _fails(capsys, ["rollout", *aws_args(aws.endpoint_url, project_copy), *extra], expected)
    assert calls.calls == []  # refused before any call


def test_missing_output_file(aws, project_copy, capsys):
    (project_copy / "output" / "parameters" / "prod" / "network.json").unlink()
    calls = _fails(capsys, ["rollout", *aws_args(aws.endpoint_url, project_copy)],
                   "output/parameters/prod/network.json: is missing")
    assert calls.calls == []


def test_stale_output(aws, project_copy, capsys):
    template = project_copy / "output" / "templates" / "network.yaml"
    template.write_text(template.read_text().replace("FlowLogGroup", "FlowLogGroupX", 1))
    _fails(capsys, ["rollout", *aws_args(aws.endpoint_url, project_copy)],
           "network.yaml: differs from what the code builds: output/ is stale; run `python build_templates.py`")
    _fails(capsys, ["deploy", *aws_args(aws.endpoint_url, project_copy), "--env", "dev", "--stack", "network"],
           "output/ is stale")


def test_unreachable_endpoint(project_copy, capsys, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    url = f"http://127.0.0.1:{free_port()}"
    _fails(capsys, ["rollout", *aws_args(url, project_copy)], f"cannot reach {url}/")


def test_missing_credentials(project_copy, capsys, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    url = f"http://127.0.0.1:{free_port()}"  # never reached: credentials are checked first
    _fails(capsys, ["rollout", *aws_args(url, project_copy)], "no AWS credentials found")


def test_credentials_of_another_account(aws, project_copy, capsys):
    """Without --role-name or --account-profile the base credentials must already be the administrator's."""
    argv = ["rollout", *aws_args(aws.endpoint_url, project_copy)]
    at = argv.index("--role-name")
    del argv[at:at + 2]
    _fails(capsys, argv, f"act in account 123456789012, but account {ADMIN} is needed; pass --account-profile")


def test_local_and_endpoint_together(aws, project_copy, capsys):
    _fails(capsys, ["rollout", "--local", *aws_args(aws.endpoint_url, project_copy)], "drop --endpoint-url")


def test_large_template_needs_a_bucket_and_then_goes_through_s3(aws, tmp_path):
    from herd_cfn.operations.aws import AwsContext
    from herd_cfn.operations.local import EMULATOR_ROLE_NAME

    stack = get("network")
    padding = "#" + "x" * 99 + "\n"
    big = stack.template_body() + padding * 520  # YAML comments: the same template, over 51,200 bytes
    built = BuiltStack(stack, big, {}, tmp_path / "network.yaml", tmp_path / "network.json")
    ctx = AwsContext(endpoint_url=aws.endpoint_url, role_name=EMULATOR_ROLE_NAME)
    with pytest.raises(InputError, match="over CloudFormation's inline limit of 51200; pass --template-bucket"):
        template_argument(ctx, built, None, ADMIN, "eu-west-1")
    client(aws.endpoint_url, ADMIN, "s3").create_bucket(
        Bucket="herd-templates", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    argument = template_argument(ctx, built, "herd-templates", ADMIN, "eu-west-1")
    assert argument["TemplateURL"].startswith("https://herd-templates.s3.eu-west-1.amazonaws.com/herd-cfn/network/")
    cfn = client(aws.endpoint_url, ADMIN, "cloudformation")
    cfn.create_stack_set(StackSetName="herd-big", PermissionModel="SELF_MANAGED", **argument,
                         Parameters=[{"ParameterKey": "VpcCidr", "ParameterValue": "10.0.0.0/16"}])
    assert cfn.describe_stack_set(StackSetName="herd-big")["StackSet"]["TemplateBody"] == big

