"""``herd-cfn shell`` and ``herd-cfn psql``: which task, which command, and every refusal.

The emulator has no ECS Exec (moto's ECS starts no tasks for a service and opens no sessions), so ECS
and CloudFormation answer through botocore's Stubber: each test says exactly which read-only calls
it expects, and a call it did not expect fails the test. On AWS, list_tasks/describe_tasks answer the
same shapes (Stubber validates them against botocore's model). The handoff to the real clients is
tested with a fake ``aws`` and ``session-manager-plugin`` on PATH: the fake records its argv and the
credentials it was given, so the tests assert the exact command an operator's AWS CLI would run.
"""

from __future__ import annotations

import json
import signal
import stat
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from herd_cfn import names
from herd_cfn.cli import main
from herd_cfn.cli.commands import shell as shell_command
from herd_cfn.operations import shell
from herd_cfn.operations.aws import AwsContext
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT

S = names.Service
CLUSTER = S.CLUSTER_NAME
ACCOUNT = "222222222222"  # parameters/dev.json
REGION = "eu-west-1"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0123456789abcdef0123456789abcdef"
OLDER_TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/fedcba9876543210fedcba9876543210"


def _export(output: str, value: str) -> dict:
    return {"ExportingStackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/herd-service/x",
            "Name": names.export_name(names.SERVICE, output), "Value": value}


def _task(arn: str, container: str, exec_on: bool = True, agent: str | None = "RUNNING",
          started: int = 10, status: str = "RUNNING") -> dict:
    agents = [{"name": "ExecuteCommandAgent", "lastStatus": agent}] if agent else []
    return {"taskArn": arn, "lastStatus": status, "enableExecuteCommand": exec_on,
            "startedAt": datetime(2026, 12, 1, started, tzinfo=UTC),
            "containers": [{"name": container, "managedAgents": agents}]}


def _client(service: str) -> Any:
    # Never reached: the Stubber answers every call, and one it does not expect fails.
    return boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9")


@dataclass
class StubbedContext(AwsContext):
    """An AwsContext whose CloudFormation and ECS clients are stubbed, in the dev account."""

    stubbed: dict[str, Any] = field(default_factory=dict)

    def session(self, account_id: str, region: str) -> boto3.session.Session:
        assert (account_id, region) == (ACCOUNT, REGION)
        return boto3.session.Session(aws_access_key_id="ASIAEXAMPLE", aws_secret_access_key="secret",
                                     aws_session_token="token", region_name=region)

    def client(self, session: Any, service: str) -> Any:
        return self.stubbed[service]


class Stubs:
    def __init__(self) -> None:
        self.cfn, self.ecs = _client("cloudformation"), _client("ecs")
        self.cfn_stub, self.ecs_stub = Stubber(self.cfn), Stubber(self.ecs)

    def context(self, **kwargs: Any) -> StubbedContext:
        return StubbedContext(stubbed={"cloudformation": self.cfn, "ecs": self.ecs}, **kwargs)

    def exports(self, exec_value: str | None = "true", cluster: bool = True) -> Stubs:
        exports = [_export(S.OUT_CLUSTER_NAME, CLUSTER)] if cluster else []
        if exec_value is not None:
            exports.append(_export(S.OUT_EXEC, exec_value))
        self.cfn_stub.add_response("list_exports", {"Exports": exports}, {})
        return self

    def tasks(self, service: str, *tasks: dict) -> Stubs:
        self.ecs_stub.add_response("list_tasks", {"taskArns": [t["taskArn"] for t in tasks]},
                                   {"cluster": CLUSTER, "serviceName": service, "desiredStatus": "RUNNING"})
        if tasks:
            self.ecs_stub.add_response("describe_tasks", {"tasks": list(tasks), "failures": []},
                                       {"cluster": CLUSTER, "tasks": [t["taskArn"] for t in tasks]})
        return self

    @contextmanager
    def active(self):
        with self.cfn_stub, self.ecs_stub:
            yield
        # Every expected call was made: a refusal that stopped early would leave some behind.
        self.cfn_stub.assert_no_pending_responses()
        self.ecs_stub.assert_no_pending_responses()


@pytest.fixture(scope="module")
def dev():
    return load_project(ROOT / "parameters").environment("dev")


# --- finding the task --------------------------------------------------------------------------------

def test_the_newest_running_task_of_the_service_with_a_profile(dev):
    stubs = Stubs().exports().tasks(S.MANAGER_SERVICE_NAME, _task(OLDER_TASK, "manager", started=8),
                                    _task(TASK, "manager", started=11))
    with stubs.active():
        session = shell.prepare(stubs.context(profile="ops"), dev, "manager", "/bin/sh")
    assert session.argv == ["aws", "--profile", "ops", "--region", REGION, "ecs", "execute-command",
                            "--cluster", CLUSTER, "--task", TASK, "--container", "manager",
                            "--interactive", "--command", "/bin/sh"]
    assert session.env == {} and session.note == ""


def test_a_task_still_stopping_or_started_without_exec_is_passed_over(dev):
    """During a deployment the old task (exec off) and a new one (exec on) run side by side."""
    stubs = Stubs().exports().tasks(S.KEYCLOAK_SERVICE_NAME, _task(TASK, "keycloak", started=8),
                                    _task(OLDER_TASK, "keycloak", exec_on=False, started=11))
    with stubs.active():
        session = shell.prepare(stubs.context(), dev, "keycloak", "/bin/sh")
    assert session.argv[session.argv.index("--task") + 1] == TASK
    assert session.argv[:3] == ["aws", "--region", REGION]  # the default credential chain


def test_account_profile_wins_and_an_endpoint_is_passed_on(dev):
    stubs = Stubs().exports().tasks(S.POSTGRES_SERVICE_NAME, _task(TASK, "postgresql"))
    ctx = stubs.context(profile="base", account_profiles={ACCOUNT: "dev-admin"}, endpoint_url="http://127.0.0.1:5000")
    with stubs.active():
        session = shell.prepare(ctx, dev, "postgresql", shell.PSQL_COMMAND)
    assert session.argv[:7] == ["aws", "--profile", "dev-admin", "--region", REGION,
                                "--endpoint-url", "http://127.0.0.1:5000"]
    assert session.argv[-2:] == ["--command", "psql -U postgres -d openremote"]


def test_an_assumed_role_hands_its_credentials_to_the_cli(dev):
    stubs = Stubs().exports().tasks(S.MANAGER_SERVICE_NAME, _task(TASK, "manager"))
    with stubs.active():
        session = shell.prepare(stubs.context(profile="base", role_name="OrganizationAccountAccessRole"),
                                dev, "manager", "/bin/sh")
    assert "--profile" not in session.argv  # the base profile acts in another account
    assert session.env == {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                           "AWS_SESSION_TOKEN": "token"}
    assert "OrganizationAccountAccessRole" in session.note and "secret" not in session.note
    assert shell.describe(session) == [session.note, session.shown()]


# --- refusals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "stubs", "expected"), [
    ("no running task", lambda: Stubs().exports().tasks(S.MANAGER_SERVICE_NAME),
     "manager has no running task in cluster herd"),
    ("only a stopping task", lambda: Stubs().exports().tasks(
        S.MANAGER_SERVICE_NAME, _task(TASK, "manager", status="DEACTIVATING")),
     "manager has no running task in cluster herd"),
    ("exec off on the task", lambda: Stubs().exports().tasks(
        S.MANAGER_SERVICE_NAME, _task(TASK, "manager", exec_on=False)),
     "ECS Exec is off on the running task of manager (0123456789abcdef0123456789abcdef): it started before"),
    ("agent not running", lambda: Stubs().exports().tasks(
        S.MANAGER_SERVICE_NAME, _task(TASK, "manager", agent="STOPPED")),
     "the ECS Exec agent in manager's task 0123456789abcdef0123456789abcdef is STOPPED, not RUNNING"),
    ("switch off in the environment", lambda: Stubs().exports(exec_value="false"),
     "ECS Exec is off in dev (" + str(ROOT / "parameters" / "dev.json") + ": service.execute_command is false)"),
    ("service stack missing", lambda: Stubs().exports(exec_value=None, cluster=False),
     "the service stack is not deployed in account 222222222222 (eu-west-1): no export herd-service-ClusterName"),
])
def test_refusals_say_why_in_one_line(dev, case, stubs, expected):
    stubs = stubs()
    with stubs.active(), pytest.raises(shell.DeploymentError) as raised:
        shell.prepare(stubs.context(), dev, "manager", "/bin/sh")
    assert raised.value.exit_code == 1
    assert expected in raised.value.message, case
    assert "\n" not in raised.value.message


def test_a_stack_from_before_the_switch_asks_the_task(dev):
    """No ExecuteCommand export: the task's own flag decides."""
    stubs = Stubs().exports(exec_value=None).tasks(S.MANAGER_SERVICE_NAME, _task(TASK, "manager"))
    with stubs.active():
        assert TASK in shell.prepare(stubs.context(), dev, "manager", "/bin/sh").argv


# --- the command line and the handoff ----------------------------------------------------------------

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    with open({record!r}, "a") as f:
        f.write(json.dumps({{"argv": sys.argv[1:], "key": os.environ.get("AWS_ACCESS_KEY_ID")}}) + "\\n")
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
""")


@pytest.fixture
def fake_clients(tmp_path, monkeypatch):
    """``aws`` and ``session-manager-plugin`` that only record how they were called; PATH holds nothing else."""
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls.jsonl"
    for name in ("aws", shell.PLUGIN):
        path = bin_dir / name
        path.write_text(FAKE.format(python=sys.executable, record=str(record)))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))

    def calls() -> list[dict]:
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    return bin_dir, calls


@pytest.fixture
def stubbed_cli(monkeypatch):
    """The CLI with its AWS access replaced by the stubbed context (no credentials check, no network)."""
    holder: dict[str, Any] = {}

    @contextmanager
    def access(args, project, progress, **_):
        holder["args"] = args
        yield holder["stubs"].context(profile=args.profile)

    monkeypatch.setattr(shell_command, "aws_access", access)
    return holder


def _main(*argv: str) -> int:
    return main([*argv, "--parameters-dir", str(ROOT / "parameters")])


def test_psql_runs_the_exact_command_through_the_aws_cli(fake_clients, stubbed_cli, capsys):
    _, calls = fake_clients
    stubs = stubbed_cli["stubs"] = Stubs().exports().tasks(S.POSTGRES_SERVICE_NAME, _task(TASK, "postgresql"))
    with stubs.active():
        code = _main("psql", "--env", "dev", "--profile", "ops")
    assert code == 0
    assert calls() == [{"argv": ["--profile", "ops", "--region", REGION, "ecs", "execute-command",
                                 "--cluster", CLUSTER, "--task", TASK, "--container", "postgresql",
                                 "--interactive", "--command", "psql -U postgres -d openremote"],
                        "key": "testing"}]
    assert "postgresql in dev: aws --profile ops" in capsys.readouterr().err


def test_shell_passes_the_command_and_the_session_exit_code(fake_clients, stubbed_cli, monkeypatch):
    _, calls = fake_clients
    monkeypatch.setenv("FAKE_EXIT", "3")
    stubs = stubbed_cli["stubs"] = Stubs().exports().tasks(S.KEYCLOAK_SERVICE_NAME, _task(TASK, "keycloak"))
    with stubs.active():
        code = _main("shell", "--env", "dev", "keycloak", "--command", "ls -la /opt/keycloak")
    assert code == 3
    (call,) = calls()
    assert call["argv"][-5:] == ["--container", "keycloak", "--interactive", "--command", "ls -la /opt/keycloak"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored after the session


def test_print_shows_the_command_and_runs_nothing(fake_clients, stubbed_cli, capsys):
    bin_dir, calls = fake_clients
    (bin_dir / shell.PLUGIN).unlink()  # --print needs no plugin: it runs nothing
    stubs = stubbed_cli["stubs"] = Stubs().exports().tasks(S.MANAGER_SERVICE_NAME, _task(TASK, "manager"))
    with stubs.active():
        assert _main("shell", "--env", "dev", "manager", "--print", "--profile", "ops") == 0
    assert capsys.readouterr().out == (f"aws --profile ops --region {REGION} ecs execute-command --cluster herd "
                                       f"--task {TASK} --container manager --interactive --command /bin/sh\n")
    assert calls() == []


@pytest.mark.parametrize(("missing", "expected"), [
    (shell.PLUGIN, "error: session-manager-plugin: not on PATH; the AWS CLI needs it for ECS Exec: install"),
    ("aws", "error: aws: the AWS CLI is not on PATH"),
])
def test_missing_clients_are_refused_before_any_aws_call(fake_clients, stubbed_cli, capsys, missing, expected):
    bin_dir, calls = fake_clients
    (bin_dir / missing).unlink()
    stubs = stubbed_cli["stubs"] = Stubs()  # no responses: any AWS call would fail the test
    with stubs.cfn_stub, stubs.ecs_stub:
        assert _main("psql", "--env", "dev") == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1
    assert "args" not in stubbed_cli and calls() == []


def test_refusal_from_aws_is_one_line_exit_1(fake_clients, stubbed_cli, capsys):
    _, calls = fake_clients
    stubs = stubbed_cli["stubs"] = Stubs().exports().tasks(S.MANAGER_SERVICE_NAME)
    with stubs.active():
        assert _main("shell", "--env", "dev", "manager") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: manager has no running task in cluster herd") and err.count("\n") == 1
    assert calls() == []


@pytest.mark.parametrize("argv", [("shell", "--env", "all", "manager"), ("shell", "--env", "dev", "mqtt"),
                                  ("psql", "--env", "staging")])
def test_bad_command_lines_exit_2(fake_clients, stubbed_cli, capsys, argv):
    stubbed_cli["stubs"] = Stubs()
    assert _main(*argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_psql_connects_as_the_owner_of_the_images_database():
    """The data stack's secret and the task say user postgres; OpenRemote's image creates openremote."""
    from herd_cfn.templates.stacks.service import tasks

    assert f"psql -U {tasks.DB_USER} -d openremote" == shell.PSQL_COMMAND
    assert "PGPASSWORD" not in shell.PSQL_COMMAND and "-W" not in shell.PSQL_COMMAND.split()
