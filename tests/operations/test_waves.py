"""The wave scheduler on a simulated clock: what starts together, what waits for what, what a failure
stops and says; and the retries of throttled or busy calls (botocore's Stubber: moto never throttles)."""

from __future__ import annotations

import shutil

import botocore.session
import pytest
from botocore.stub import Stubber

from herd_cfn.build import artifacts as built_files
from herd_cfn.errors import DeploymentError
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.rollout import Plan, Rollout
from herd_cfn.operations.waiting import Polling
from herd_cfn.operations.waves import Operation, WaveRollout, plan_waves
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.rollout_support import ROOT, add_environments

OPERATION_SECONDS = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Lines(Progress):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


class FakeCloudFormation:
    """Operations that take OPERATION_SECONDS of the simulated clock; ``failing`` ones end FAILED."""

    def __init__(self, clock: Clock, failing: dict[tuple[str, str], str]) -> None:
        self.clock = clock
        self.failing = failing  # (stack, account) -> reason
        self.operations: dict[str, tuple[str, str, float]] = {}  # id -> (stack, account, end)
        self.polls = 0

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict:
        self.polls += 1
        stack, account, end = self.operations[OperationId]
        status = "RUNNING" if self.clock() < end else "FAILED" if (stack, account) in self.failing else "SUCCEEDED"
        return {"StackSetOperation": {"Status": status}}

    def get_paginator(self, name: str):
        fake = self

        class Pages:
            def paginate(self, StackSetName: str, OperationId: str | None = None):
                if name == "list_stack_instances":
                    return [{"Summaries": []}]
                stack, account, _ = fake.operations[OperationId]
                return [{"Summaries": [{"Account": account, "Region": "eu-west-1", "Status": "FAILED",
                                        "StatusReason": fake.failing[(stack, account)]}]}]
        return Pages()


class FakeRollout(Rollout):
    """Plans that always need a new instance; operations on the fake CloudFormation."""

    def __init__(self, project, clock: Clock, failing=None) -> None:
        ctx = AwsContext(polling=Polling(initial=1, maximum=4, timeout=600), sleep=clock.sleep, clock=clock)
        super().__init__(ctx, project, ROOT / "output", Lines())
        self.clock = clock
        self._cfn = FakeCloudFormation(clock, failing or {})
        self.started: list[tuple[str, str, float]] = []  # (stack, environment, when)

    def plan(self, env, stack, wave=frozenset()):
        built = built_files.load(ROOT / "output", stack, "dev")  # the values do not matter here
        return Plan(environment=env, stack=stack, built=built, stackset_exists=True)

    def start_instance(self, plan):
        env, stack = plan.environment, plan.stack.name
        operation_id = f"{stack}-{env.name}"
        self.started.append((stack, env.name, self.clock()))
        self._cfn.operations[operation_id] = (stack, env.account_id, self.clock() + OPERATION_SECONDS)
        return operation_id, "CreateStackInstances"

    def ended(self, stack: str, env: str) -> float:
        return self._cfn.operations[f"{stack}-{env}"][2]

    def start_of(self, stack: str, env: str) -> float:
        return next(when for s, e, when in self.started if (s, e) == (stack, env))


@pytest.fixture
def parameters_copy(tmp_path):
    shutil.copytree(ROOT / "parameters", tmp_path / "parameters")
    return tmp_path


@pytest.fixture
def project(parameters_copy):
    add_environments(parameters_copy, ["staging", "customer-a", "customer-b"], build=False,
                     waves=[["dev"], ["staging", "customer-*"], ["prod"]])
    return load_project(parameters_copy / "parameters")


def _run(project, failing=None) -> FakeRollout:
    rollout = FakeRollout(project, Clock(), failing)
    stacks = list(registry.stackset_stacks())
    WaveRollout(rollout, stacks, dry_run=False).run(plan_waves(project.waves, list(project.environments.values())))
    return rollout


def test_independent_stacks_start_together_and_dependents_wait(project):
    rollout = _run(project)
    for env in project.environments:
        # data and edge need only network: both are submitted before either has finished.
        assert rollout.start_of("data", env) == rollout.start_of("edge", env)
        assert rollout.start_of("edge", env) < min(rollout.ended("data", env), rollout.ended("edge", env))
        assert rollout.start_of("data", env) >= rollout.ended("network", env)
        assert rollout.start_of("service", env) >= max(rollout.ended("data", env), rollout.ended("edge", env))
        assert rollout.start_of("pipeline", env) >= rollout.ended("service", env)


def test_accounts_of_a_wave_start_together_and_waves_follow_each_other(project):
    rollout = _run(project)
    wave2 = ("staging", "customer-a", "customer-b")
    assert len({rollout.start_of("network", env) for env in wave2}) == 1
    assert rollout.start_of("network", "staging") >= rollout.ended("pipeline", "dev")
    assert rollout.start_of("network", "prod") >= max(rollout.ended("pipeline", env) for env in wave2)
    # Each wave takes one operation length per dependency level (stacks of a level start together), three
    # waves in a row, each noticed at most one longest poll interval (4 s) late; one at a time it would be
    # every stack in every account in a row.
    lengths = 3 * _dependency_levels()
    in_a_row = len(registry.stackset_stacks()) * len(project.environments)
    assert rollout.clock() <= lengths * (OPERATION_SECONDS + 4) < in_a_row * OPERATION_SECONDS


def _dependency_levels() -> int:
    level: dict[str, int] = {}
    for stack in registry.stackset_stacks():  # dependencies first
        level[stack.name] = 1 + max((level[d] for d in stack.depends_on if d in level), default=0)
    return max(level.values())


def test_one_waiter_polls_with_backoff(project):
    rollout = _run(project)
    assert max(rollout.clock.slept) == 4 and min(rollout.clock.slept) == 1
    # Polls grow with the accounts open at once, not with waits per account in a row: every operation
    # (a stack in an account) of 10 s was followed with about one describe per operation per 4 s.
    operations = len(registry.stackset_stacks()) * len(project.environments)
    assert rollout._cfn.polls < operations * (OPERATION_SECONDS / 4 + 3)


def test_failure_stops_before_the_next_wave_and_says_why(project):
    account = project.environment("customer-a").account_id
    reason = "ResourceLogicalId:Vpc, ResourceType:AWS::EC2::VPC, ResourceStatusReason:CIDR conflicts"
    with pytest.raises(DeploymentError) as failure:
        _run_keep(project, {("network", account): reason})
    rollout = _last[0]
    message = failure.value.message
    assert f"CreateStackInstances on StackSet herd-network FAILED (customer-a {account}, stack network)" in message
    assert f"account {account} eu-west-1 stack network: FAILED: {reason}" in message
    assert "wave 2: 1 of 3 account(s) failed (failure_tolerance 0); wave(s) 3 not started" in message
    started = {(stack, env) for stack, env, _ in rollout.started}
    assert ("network", "staging") in started and ("network", "customer-b") in started  # same wave, already running
    assert not any(env == "prod" for _, env in started)  # the next wave never started
    assert not any(stack != "network" for stack, env in started if env != "dev")  # nothing new after the failure


def test_failure_within_tolerance_goes_on_without_that_account(parameters_copy):
    add_environments(parameters_copy, ["staging", "customer-a", "customer-b"], build=False,
                     waves=[["dev"], {"environments": ["staging", "customer-*"], "failure_tolerance": 1}, ["prod"]])
    project = load_project(parameters_copy / "parameters")
    account = project.environment("customer-a").account_id
    with pytest.raises(DeploymentError) as failure:
        _run_keep(project, {("data", account): "EFS quota reached"})
    rollout = _last[0]
    started = {(stack, env) for stack, env, _ in rollout.started}
    assert ("pipeline", "prod") in started and ("pipeline", "customer-b") in started
    assert ("edge", "customer-a") in started and ("service", "customer-a") not in started
    assert "within their wave's failure_tolerance" in failure.value.message
    assert "EFS quota reached" in failure.value.message


_last: list[FakeRollout] = []


def _run_keep(project, failing):
    _last.clear()
    rollout = FakeRollout(project, Clock(), failing)
    _last.append(rollout)
    stacks = list(registry.stackset_stacks())
    waves = plan_waves(project.waves, list(project.environments.values()))
    return WaveRollout(rollout, stacks, dry_run=False).run(waves)


# ----------------------------------------------------------------- retries (Stubber)
def _stubbed():
    clock = Clock()
    cfn = botocore.session.get_session().create_client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    project = load_project(ROOT / "parameters")
    ctx = AwsContext(polling=Polling(initial=5, maximum=30, timeout=3600), sleep=clock.sleep, clock=clock)
    rollout = Rollout(ctx, project, ROOT / "output", Lines())
    rollout._cfn = cfn
    stack, env = registry.get("network"), project.environment("dev")
    plan = Plan(environment=env, stack=stack, built=built_files.load(ROOT / "output", stack, "dev"),
                stackset_exists=True)
    return rollout, plan, Stubber(cfn), clock


def test_throttled_submit_is_retried_with_jittered_backoff():
    rollout, plan, stub, clock = _stubbed()
    stub.add_client_error("create_stack_instances", service_error_code="Throttling", http_status_code=400)
    stub.add_client_error("create_stack_instances", service_error_code="TooManyRequestsException",
                          http_status_code=400)
    stub.add_response("create_stack_instances", {"OperationId": "op-1"})
    with stub:
        assert rollout.start_instance(plan) == ("op-1", "CreateStackInstances")
    stub.assert_no_pending_responses()
    # Full jitter: a random wait below 0.5 s, then below 1 s.
    assert len(clock.slept) == 2 and 0 <= clock.slept[0] <= 0.5 and 0 <= clock.slept[1] <= 1.0


def test_busy_stackset_is_waited_for_then_the_same_operation_is_sent():
    rollout, plan, stub, clock = _stubbed()
    stub.add_client_error("update_stack_instances", service_error_code="OperationInProgressException",
                          http_status_code=400)
    stub.add_response("update_stack_instances", {"OperationId": "op-2"})
    plan.instance_exists, plan.instance_reasons = True, ["status OUTDATED"]
    sent: list[str] = []
    rollout._cfn.meta.events.register("provide-client-params.cloudformation.UpdateStackInstances",
                                      lambda params, **_: sent.append(params["OperationId"]))
    with stub:
        assert rollout.start_instance(plan) == ("op-2", "UpdateStackInstances")
    assert len(sent) == 2 and sent[0] == sent[1]  # the same OperationId: a retry never starts a second operation
    assert len(clock.slept) == 1 and clock.slept[0] <= 5


def test_busy_stackset_for_too_long_says_what_to_do():
    rollout, plan, stub, clock = _stubbed()
    for _ in range(12):
        stub.add_client_error("create_stack_instances", service_error_code="OperationInProgressException",
                              http_status_code=400)
    with stub, pytest.raises(DeploymentError, match="another operation is running on StackSet herd-network"):
        rollout.start_instance(plan)
    assert max(clock.slept) <= 30


def test_throttled_poll_is_retried():
    rollout, plan, stub, clock = _stubbed()
    waves = WaveRollout(rollout, [plan.stack], dry_run=False)
    operation = Operation("herd-network", "op-3", "CreateStackInstances", [plan], started=0.0)
    waves.open["op-3"] = operation
    stub.add_client_error("describe_stack_set_operation", service_error_code="Throttling", http_status_code=400)
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "SUCCEEDED"}})
    rollout.progress.start("herd-network/op-3/222222222222", _row(plan))
    with stub:
        waves._poll()
    assert operation.status == "SUCCEEDED" and waves.open == {} and waves.failures == []
    assert len(clock.slept) == 1


def _row(plan):
    from herd_cfn.operations.progress import Row

    return Row(plan.environment.name, plan.environment.account_id, plan.stack.name, "CreateStackInstances")


def test_live_table_keeps_50_accounts_readable_and_the_summary_counts_them():
    import io

    from rich.console import Console

    from herd_cfn.operations.progress import LiveProgress, Row

    progress = LiveProgress(io.StringIO())
    try:
        for i in range(50):
            account = f"{200000000000 + i:012d}"
            for stack in ("network", "data"):
                progress.start(f"{stack}/{account}", Row(f"customer-{i}", account, stack, "CreateStackInstances"))
                progress.update(f"{stack}/{account}", "SUCCEEDED" if i < 45 else "RUNNING", 3.0)
        console = Console(file=io.StringIO(), width=140, record=True)
        console.print(progress._table())
        text = console.export_text()
    finally:
        progress.close()
    header = next(line for line in text.splitlines() if "account" in line)
    assert "network" in header and "data" in header  # stacks across, accounts down
    assert "customer-49" in text and "RUNNING" in text  # what still runs is always shown
    assert "more account(s) where every stack SUCCEEDED" in text
    lines = Lines()
    lines.rows = progress.rows
    lines.summary()
    assert lines.lines[0].startswith("summary network: 5 RUNNING, 45 SUCCEEDED of 50 account(s)")
