"""A later rollout or deploy keeps the manager's listeners where CodeDeploy put them (issue 12, item 2).

On the emulator: the network and edge stacks deploy; the listeners move to green the way CodeDeploy
leaves them after a blue/green deployment (ModifyListener, green at weight 100, blue at 0); the SSL
policy changes in the template; the edge stack is rolled out (StackSets) or deployed (change set)
again; the listeners still forward to green, and carry the new policy. Without the live read the same
update puts them back on blue, which the last test shows so the others can fail.

The edge template goes to the emulator unchanged (its fixes take the listeners' weighted forward), with
a certificate from the emulator's ACM instead of a hosted zone.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from herd_cfn import names
from herd_cfn.build import artifacts
from herd_cfn.errors import DeploymentError
from herd_cfn.operations import listeners
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.deploy import Target, deploy
from herd_cfn.operations.local import EMULATOR_ROLE_NAME
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.rollout import Rollout
from herd_cfn.operations.waiting import EMULATOR_POLLING
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.edge.load_balancers import SSL_POLICY
from tests.rollout_support import DEV, overrides, run_cli, use_emulator_certificate

E = names.Edge
NEW_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
OTHER_POLICY = "ELBSecurityPolicy-TLS13-1-3-2021-06"


def _context(url: str) -> AwsContext:
    return AwsContext(endpoint_url=url, role_name=EMULATOR_ROLE_NAME, polling=EMULATOR_POLLING)


def _client(ctx: AwsContext, service: str):
    return ctx.client(ctx.session(DEV, "eu-west-1"), service)


def _change_ssl_policy(project_dir: Path, old: str, new: str) -> None:
    template = project_dir / "output" / "templates" / f"{names.EDGE}.yaml"
    body = template.read_text()
    assert body.count(old) == 3, "the two manager listeners and the MQTT listener name the policy"
    template.write_text(body.replace(old, new))


def _exports(ctx: AwsContext) -> dict[str, str]:
    return {e["Name"]: e.get("Value") for e in _client(ctx, "cloudformation").list_exports()["Exports"]}


def _listener_arns(ctx: AwsContext) -> list[str]:
    exports = _exports(ctx)
    return [exports[names.export_name(names.EDGE, output)] for output in (E.OUT_HTTPS_LISTENER_ARN,
                                                                        E.OUT_TEST_LISTENER_ARN)]


def _live(ctx: AwsContext) -> list[tuple[str, str]]:
    """(blue|green, SSL policy) of the production and the test listener."""
    exports = _exports(ctx)
    blue = exports[names.export_name(names.EDGE, E.OUT_BLUE_TARGET_GROUP_ARN)]
    found = _client(ctx, "elbv2").describe_listeners(ListenerArns=_listener_arns(ctx))["Listeners"]
    by_arn = {listener["ListenerArn"]: listener for listener in found}
    return [("blue" if listeners.forwarded_to(by_arn[arn]) == blue else "green", by_arn[arn]["SslPolicy"])
            for arn in _listener_arns(ctx)]


def _shift_to_green_as_codedeploy_does(ctx: AwsContext) -> None:
    exports = _exports(ctx)
    blue = exports[names.export_name(names.EDGE, E.OUT_BLUE_TARGET_GROUP_ARN)]
    (green,) = [g["TargetGroupArn"] for g in _client(ctx, "elbv2").describe_target_groups()["TargetGroups"]
                if g["TargetGroupArn"].endswith(":" + exports[names.export_name(
                    names.EDGE, E.OUT_GREEN_TARGET_GROUP_FULL_NAME)])]
    for arn in _listener_arns(ctx):
        _client(ctx, "elbv2").modify_listener(ListenerArn=arn, DefaultActions=[{
            "Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": green, "Weight": 100}, {"TargetGroupArn": blue, "Weight": 0}]}}])


def test_rollout_keeps_the_listeners_on_green(aws, project_copy, capsys):
    url = aws.endpoint_url
    assert run_cli("bootstrap", url, project_copy) == 0
    assert run_cli("rollout", url, project_copy, "--env", "dev", "--stack", names.NETWORK) == 0
    ctx = _context(url)
    use_emulator_certificate(ctx, project_copy)
    project = load_project(project_copy / "parameters")
    dev, edge = project.environment("dev"), registry.get(names.EDGE)

    def rollout() -> str:
        stream = io.StringIO()
        Rollout(_context(url), project, project_copy / "output", Progress(stream)).run([dev], [edge], dry_run=False)
        return stream.getvalue()

    first = rollout()
    assert "kept" not in first, "no listeners yet: the parameters file's blue stands"
    assert _live(ctx) == [("blue", SSL_POLICY), ("blue", SSL_POLICY)]

    _shift_to_green_as_codedeploy_does(ctx)
    _change_ssl_policy(project_copy, SSL_POLICY, NEW_POLICY)
    second = rollout()
    assert f"{E.LIVE_TARGET_GROUP}=green (instead of the parameters file's blue)" in second
    assert f"{E.TEST_TARGET_GROUP}=green (instead of the parameters file's blue)" in second
    assert "UpdateStackSet" in second or "template changed" in second
    values = overrides(url, names.EDGE, DEV)
    assert (values[E.LIVE_TARGET_GROUP], values[E.TEST_TARGET_GROUP]) == ("green", "green")

    # moto's StackSets record the update but leave the instance's stack as it was; AWS updates the stack
    # with the new template and the instance's values. Do that here, with what the rollout passed.
    cfn = _client(ctx, "cloudformation")
    (stack,) = [s for s in cfn.describe_stacks()["Stacks"] if "herd-edge" in s["StackName"]]
    cfn.update_stack(StackName=stack["StackId"], TemplateBody=(project_copy / "output" / "templates" /
                                                               f"{names.EDGE}.yaml").read_text(),
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    assert _live(ctx) == [("green", NEW_POLICY), ("green", NEW_POLICY)]
    # The next rollout has nothing to change: the instance already holds green.
    assert "no changes" in rollout()
    capsys.readouterr()


@pytest.fixture
def edge_stack(aws, project_copy):
    """network and edge as plain stacks in the dev account, the listeners moved to green by 'CodeDeploy'."""
    ctx = _context(aws.endpoint_url)
    use_emulator_certificate(ctx, project_copy)
    output = project_copy / "output"
    cfn = _client(ctx, "cloudformation")
    for stack in (names.NETWORK, names.EDGE):
        built = artifacts.load(output, registry.get(stack), "dev")
        cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=built.template_body,
                         Parameters=built.parameter_list(), Capabilities=["CAPABILITY_NAMED_IAM"])
    assert _live(ctx) == [("blue", SSL_POLICY), ("blue", SSL_POLICY)]
    _shift_to_green_as_codedeploy_does(ctx)
    return ctx, project_copy


def _deploy(ctx: AwsContext, project_dir: Path) -> str:
    stream = io.StringIO()
    edge = registry.get(names.EDGE)
    target = Target("dev", DEV, "eu-west-1", names.stack_name(names.EDGE), edge.tags("dev"))
    deploy(ctx, target, artifacts.load(project_dir / "output", edge, "dev"), Progress(stream))
    return stream.getvalue()


def test_deploy_keeps_the_listeners_on_green(edge_stack):
    ctx, project_dir = edge_stack
    _change_ssl_policy(project_dir, SSL_POLICY, NEW_POLICY)
    log = _deploy(ctx, project_dir)
    assert f"{E.LIVE_TARGET_GROUP}=green (instead of the parameters file's blue)" in log
    assert f"parameter {E.LIVE_TARGET_GROUP}: blue -> green" in log
    assert _live(ctx) == [("green", NEW_POLICY), ("green", NEW_POLICY)]
    stack = _client(ctx, "cloudformation").describe_stacks(StackName=names.stack_name(names.EDGE))["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}[E.TEST_TARGET_GROUP] == "green"


def test_without_the_live_read_the_same_update_moves_traffic_back_to_blue(edge_stack, monkeypatch):
    """The failure the live read prevents, shown on the same emulator: the tests above can fail."""
    ctx, project_dir = edge_stack
    monkeypatch.setattr(listeners, "keep_live_target_groups", lambda ctx, account, region, built, log, where: built)
    _change_ssl_policy(project_dir, SSL_POLICY, OTHER_POLICY)
    _deploy(ctx, project_dir)
    assert _live(ctx) == [("blue", OTHER_POLICY), ("blue", OTHER_POLICY)]


# --- reading a listener --------------------------------------------------------------------------

def test_a_plain_forward_and_codedeploys_weighted_forward_are_both_read():
    assert listeners.forwarded_to({"DefaultActions": [{"Type": "forward", "TargetGroupArn": "tg-a"}]}) == "tg-a"
    assert listeners.forwarded_to({"DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "tg-a", "Weight": 0}, {"TargetGroupArn": "tg-b", "Weight": 100}]}}]}) == "tg-b"


def test_traffic_split_between_both_groups_is_refused_with_what_to_do():
    with pytest.raises(DeploymentError, match="shifting traffic; wait"):
        listeners.forwarded_to({"ListenerArn": "arn:l", "DefaultActions": [{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": "a", "Weight": 90}, {"TargetGroupArn": "b", "Weight": 10}]}}]})


def test_a_listener_on_a_foreign_group_is_refused():
    exports = {names.export_name(names.EDGE, E.OUT_BLUE_TARGET_GROUP_ARN): "arn:blue",
               names.export_name(names.EDGE, E.OUT_GREEN_TARGET_GROUP_FULL_NAME): "targetgroup/g/1"}
    assert listeners._colour("arn:aws:x:targetgroup/g/1", exports, "test listener") == "green"
    with pytest.raises(DeploymentError, match="neither the blue nor the green"):
        listeners._colour("arn:other", exports, "test listener")


def test_other_stacks_pass_through_untouched(tmp_path):
    built = artifacts.BuiltStack(registry.get(names.NETWORK), "", {"A": "b"}, tmp_path, tmp_path)
    assert listeners.keep_live_target_groups(None, DEV, "eu-west-1", built, print, "x") is built



def test_the_printed_aws_cli_command_for_edge_says_to_fill_in_the_live_groups(project_copy, capsys):
    """The offline command cannot read the listeners: it says which values to set, and from where."""
    from herd_cfn import cli

    assert cli.main(["deploy", "--print-aws-cli", "--env", "dev", "--stack", names.EDGE,
                     "--parameters-dir", str(project_copy / "parameters"),
                     "--output-dir", str(project_copy / "output")]) == 0
    out = capsys.readouterr().out
    (note,) = [line for line in out.splitlines() if line.startswith("# CodeDeploy")]
    assert E.LIVE_TARGET_GROUP in note and E.TEST_TARGET_GROUP in note and "describe-listeners" in note
    assert f"{E.LIVE_TARGET_GROUP}=blue" in out
