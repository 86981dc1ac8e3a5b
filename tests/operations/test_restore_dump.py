"""``herd-cfn restore --dump``: the database back to a pg_dump file, against botocore Stubbers that stand for
AWS (moto crashes on ECS run_task with awsvpc networking, DESIGN.md §6). Each stubbed response is what ECS
answers at that point; the Stubber also checks every request's parameters, in order, so a call that is not
stubbed (a scale-up after a failure, a task run by --plan) fails the test. The script the task runs is
tested for real in tests/templates/test_dumps.py.
"""

from __future__ import annotations

import io

import pytest
from botocore.stub import Stubber

from herd_cfn import cli, names
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.restore import restore_dump
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.service.dumps import RESTORE_SCRIPT
from tests.operations.test_restore import CLUSTER, GROUPS, SUBNETS, TASK, _exports, run_stubbed
from tests.rollout_support import DEV, REGION, ROOT, StubContext, stub_client

S = names.Service
DUMP = "openremote-20261202T023000Z.dump"
OLD_KC = f"arn:aws:ecs:{REGION}:{DEV}:task/herd/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


class Aws:
    def __init__(self) -> None:
        # backup: created by Restore, never called here (the Stubber would refuse any call).
        self.clients = {name: stub_client(name) for name in ("cloudformation", "ecs", "backup")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        self.ctx = StubContext(self.clients)
        self.ctx.sleep = lambda _: None

    def read(self, keycloak_count: int = 2) -> None:
        self.stubs["cloudformation"].add_response("list_exports", _exports(), {})
        self.stubs["ecs"].add_response("describe_services", {"services": [
            {"serviceName": "manager", "desiredCount": 1},
            {"serviceName": "keycloak", "desiredCount": keycloak_count}]},
            {"cluster": CLUSTER, "services": ["manager", "keycloak"]})

    def scale(self, *counts: tuple[str, int]) -> None:
        for service, count in counts:
            self.stubs["ecs"].add_response("update_service", {"service": {"serviceName": service}},
                                           {"cluster": CLUSTER, "service": service, "desiredCount": count})

    def poll(self, stopping: dict[str, list[tuple[str, str]]]) -> None:
        for family in ("herd-manager", "herd-keycloak"):
            self.stubs["ecs"].add_response("list_tasks", {"taskArns": []},
                                           {"cluster": CLUSTER, "family": family, "desiredStatus": "RUNNING"})
            told = stopping.get(family, [])
            self.stubs["ecs"].add_response("list_tasks", {"taskArns": [arn for arn, _ in told]},
                                           {"cluster": CLUSTER, "family": family, "desiredStatus": "STOPPED"})
            if told:
                self.stubs["ecs"].add_response(
                    "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": last} for arn, last in told]},
                    {"cluster": CLUSTER, "tasks": [arn for arn, _ in told]})

    def run_task(self, exit_code: int = 0) -> None:
        self.stubs["ecs"].add_response("run_task", {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}]}, {
            "cluster": CLUSTER, "taskDefinition": "herd-dump", "launchType": "FARGATE", "count": 1,
            "startedBy": "herd-cfn-restore",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": SUBNETS, "securityGroups": GROUPS, "assignPublicIp": "DISABLED"}},
            "overrides": {"containerOverrides": [{
                "name": "dump", "command": [RESTORE_SCRIPT, "herd-restore", "/dumps", DUMP]}]},
        })
        self.stubs["ecs"].add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]},
                                       {"cluster": CLUSTER, "tasks": [TASK]})
        self.stubs["ecs"].add_response("describe_tasks", {"tasks": [{
            "taskArn": TASK, "lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "dump", "exitCode": exit_code}]}]}, {"cluster": CLUSTER, "tasks": [TASK]})

    def run(self, **kwargs) -> str:
        out = io.StringIO()
        env = load_project(ROOT / "parameters").environment("dev")
        return run_stubbed(self.stubs.values(), out, lambda: restore_dump(
            self.ctx, env, DUMP, Progress(out), confirm=kwargs.pop("confirm", lambda _: True),
            plan_only=kwargs.pop("plan_only", False)))


def test_restore_dump_stops_manager_and_keycloak_restores_and_brings_back_their_counts():
    aws = Aws()
    aws.read(keycloak_count=2)
    aws.scale(("manager", 0), ("keycloak", 0))
    aws.poll({"herd-keycloak": [(OLD_KC, "DEACTIVATING")]})  # Keycloak still closing its connections
    aws.poll({"herd-keycloak": [(OLD_KC, "STOPPED")]})
    aws.run_task(exit_code=0)
    aws.scale(("keycloak", 2), ("manager", 1))
    out = aws.run()
    assert "error:" not in out, out
    for step in ("scaling manager to 0", "scaling keycloak to 0", "1 task(s) running", "0 task(s) running",
                 f"restored {DUMP} (exit code 0)", "scaling keycloak to 2", "scaling manager to 1"):
        assert step in out, (step, out)
    assert out.splitlines()[-1].endswith(f"done: database openremote is {DUMP}; /storage was not changed")


def test_plan_reads_and_changes_nothing():
    aws = Aws()
    aws.read()
    out = aws.run(plan_only=True)
    assert "1. scale manager and keycloak in cluster herd to 0" in out
    assert f"2. run task herd-dump: drop and re-create database openremote, then pg_restore /dumps/{DUMP}" in out
    assert "3. scale keycloak back to 2 and manager back to 1" in out
    assert "plan only: nothing was changed" in out


def test_not_confirmed_changes_nothing():
    aws = Aws()
    aws.read()
    assert "not confirmed: nothing was changed" in aws.run(confirm=lambda _: False)


@pytest.mark.parametrize(("code", "state"), [
    (3, f"there is no dump {DUMP} in /dumps; the database was not touched"),
    (4, "database openremote may be partly restored"),
])
def test_a_failed_restore_leaves_the_services_down_and_says_how_to_bring_them_back(code, state):
    aws = Aws()
    aws.read(keycloak_count=1)
    aws.scale(("manager", 0), ("keycloak", 0))
    aws.poll({})
    aws.run_task(exit_code=code)
    out = aws.run()  # the Stubber proves no scale-up followed
    [error] = [line for line in out.splitlines() if line.startswith("error:")]
    assert f"stopped with exit code {code}" in error and state in error
    assert "log group /herd/dump" in error
    assert ("aws ecs update-service --cluster herd --service keycloak --desired-count 1; "
            "aws ecs update-service --cluster herd --service manager --desired-count 1") in error


@pytest.mark.parametrize("bad", ["../postgresql/PG_VERSION", "dump.sql", "/dumps/x.dump", "-x.dump"])
def test_a_bad_dump_name_is_refused_before_any_call(capsys, bad):
    with herd_aws.recording() as calls:
        code = cli.main(["restore", "--env", "dev", f"--dump={bad}", "--yes", "--endpoint-url",
                         "http://127.0.0.1:9", "--parameters-dir", str(ROOT / "parameters")])
    assert code == 2 and calls.calls == []
    err = capsys.readouterr().err
    assert "--dump" in err and "must be a file name in /dumps ending in .dump" in err


def test_dump_and_recovery_point_are_mutually_exclusive(capsys):
    with herd_aws.recording() as calls:
        code = cli.main(["restore", "--env", "dev", "--dump", DUMP, "--recovery-point",
                         "arn:aws:backup:eu-west-1:222222222222:recovery-point:1a2b3c", "--yes"])
    assert code == 2 and calls.calls == []
    assert "not allowed with argument" in capsys.readouterr().err
