"""The database dumps: the dump task's script runs for real in bash with a fake ``pg_dump`` (and, for
``herd-cfn restore --dump``, fake ``psql``/``pg_restore``) on PATH, with the environment the task
definition gives it; the schedule, the alarm and the network rules are read from the template.

What cannot run here: OpenRemote's PostgreSQL image itself (that its bash has EPOCHSECONDS and its -slim
variant keeps mv and rm is checked by the first real run), EFS, EventBridge and CloudWatch.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from herd_cfn import names
from herd_cfn.templates import registry
from herd_cfn.templates.stacks.data import DUMPS_PATH, POSTGRES_UID
from herd_cfn.templates.stacks.service import dumps
from tests.template_support import props

S, D = names.Service, names.Data

FAKE_PG_DUMP = """#!/usr/bin/env bash
printf 'pg_dump %s host=%s user=%s db=%s password=%s\\n' \\
  "$*" "$PGHOST" "$PGUSER" "$PGDATABASE" "$PGPASSWORD" >> "$CALLS"
[ -z "${FAIL:-}" ] || { echo "pg_dump: error: connection refused" >&2; exit 1; }
while [ $# -gt 0 ]; do [ "$1" = -f ] && { echo dump-bytes > "$2"; }; shift; done
"""
FAKE_RECORDER = """#!/usr/bin/env bash
printf '%s %s\\n' "${0##*/}" "$*" >> "$CALLS"
[ "${0##*/}" != "${FAIL:-}" ] || exit 1
"""


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.SERVICE).template_dict()


def _container(template: dict) -> dict:
    (container,) = props(template, S.DUMP_TASK)["ContainerDefinitions"]
    return container


def _tools(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pg_dump", FAKE_PG_DUMP), ("psql", FAKE_RECORDER), ("pg_restore", FAKE_RECORDER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _run(template: dict, tmp_path: Path, command: list[str] | None = None, **extra: str):
    """The container's entry point and command in bash, with the task definition's environment."""
    container = _container(template)
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    env["KEEP_DAYS"] = "7"  # the parameter's value (Ref DumpRetentionDays)
    calls = tmp_path / "calls.log"
    env.update(PATH=f"{_tools(tmp_path)}:{os.environ['PATH']}", CALLS=str(calls), PGPASSWORD="secret", **extra)
    command = command or container["Command"]
    # The task mounts /dumps; the test gives the script a directory of its own instead.
    argv = [*container["EntryPoint"], command[0], command[1], str(tmp_path / "dumps"), *command[3:]]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    return result, calls.read_text() if calls.exists() else ""


def _day(days_ago: int) -> str:
    return time.strftime("%Y%m%d", time.gmtime(time.time() - days_ago * 86400))


def test_dump_writes_a_dated_custom_format_file_and_prunes_only_older_ones(template, tmp_path):
    directory = tmp_path / "dumps"
    directory.mkdir()
    old = [f"openremote-{_day(d)}T023000Z.dump" for d in (9, 30)]
    kept = [f"openremote-{_day(d)}T023000Z.dump" for d in (1, 6)] + [f"openremote-{_day(3)}T101500Z-d-OLD1.dump"]
    for name in old + kept + ["notes.txt"]:
        (directory / name).write_text("x")

    result, calls = _run(template, tmp_path)

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"pg_dump -Fc -f {directory}/\.openremote-{_day(0)}T\d{{6}}Z\.dump\.partial "
                        r"host=postgresql\.herd\.internal user=postgres db=openremote password=secret\n", calls)
    new = sorted(p.name for p in directory.glob("openremote-*.dump") if p.name not in kept)
    assert len(new) == 1 and new[0].startswith(f"openremote-{_day(0)}T") and new[0].endswith("Z.dump")
    assert (directory / new[0]).read_text() == "dump-bytes\n"
    assert sorted(p.name for p in directory.iterdir()) == sorted(kept + new + ["notes.txt"])  # no partial left
    for name in old:
        assert f"herd-dump: pruned {name}" in result.stdout
    # The metric filter counts exactly this line as a success.
    assert result.stdout.strip().splitlines()[-1] == f"{dumps.DONE} {new[0]}"


def test_a_deployment_dump_carries_the_deployment_id(template, tmp_path):
    (tmp_path / "dumps").mkdir()
    result, _ = _run(template, tmp_path, DUMP_LABEL="d-ABC123XYZ")
    assert result.returncode == 0, result.stderr
    (dump,) = (tmp_path / "dumps").glob("*.dump")
    assert dump.name.endswith("Z-d-ABC123XYZ.dump")


def test_a_failed_dump_exits_non_zero_keeps_old_dumps_and_never_says_done(template, tmp_path):
    directory = tmp_path / "dumps"
    directory.mkdir()
    old = directory / f"openremote-{_day(30)}T023000Z.dump"
    old.write_text("x")
    result, _ = _run(template, tmp_path, FAIL="1")
    assert result.returncode != 0
    assert "herd-dump: FAILED writing openremote-" in result.stderr
    assert dumps.DONE not in result.stdout + result.stderr
    assert sorted(p.name for p in directory.iterdir()) == [old.name]  # partial removed, nothing pruned


def _restore(template, tmp_path, name, **extra):
    command = [dumps.RESTORE_SCRIPT, "herd-restore", "/dumps", name]
    return _run(template, tmp_path, command, **extra)


def test_restore_recreates_the_database_with_timescaledb_pre_and_post_restore(template, tmp_path):
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "openremote-20261201T023000Z.dump").write_text("x")
    result, calls = _restore(template, tmp_path, "openremote-20261201T023000Z.dump")
    assert result.returncode == 0, result.stderr
    dump = tmp_path / "dumps" / "openremote-20261201T023000Z.dump"
    assert calls.splitlines() == [
        "psql -d postgres -v ON_ERROR_STOP=1 -c DROP DATABASE IF EXISTS openremote WITH (FORCE) "
        "-c CREATE DATABASE openremote",
        "psql -v ON_ERROR_STOP=1 -c CREATE EXTENSION IF NOT EXISTS timescaledb -c SELECT timescaledb_pre_restore()",
        f"pg_restore -d openremote {dump}",
        "psql -v ON_ERROR_STOP=1 -c SELECT timescaledb_post_restore()",
    ]
    assert "herd-restore: done openremote-20261201T023000Z.dump" in result.stdout


def test_restore_ends_timescaledb_restoring_mode_even_when_pg_restore_fails(template, tmp_path):
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "x.dump").write_text("x")
    result, calls = _restore(template, tmp_path, "x.dump", FAIL="pg_restore")
    assert result.returncode == 4
    assert calls.splitlines()[-1] == "psql -v ON_ERROR_STOP=1 -c SELECT timescaledb_post_restore()"
    assert "pg_restore reported errors" in result.stderr


@pytest.mark.parametrize("name", ["missing.dump", "../etc/passwd"])
def test_restore_refuses_a_dump_that_is_not_in_the_directory(template, tmp_path, name):
    (tmp_path / "dumps").mkdir()
    result, calls = _restore(template, tmp_path, name)
    assert result.returncode == 3 and calls == ""
    assert f"herd-restore: no dump {name}" in result.stderr


# --- the template ------------------------------------------------------------------------------------------

def test_dump_task_bypasses_the_images_entrypoint_and_uses_the_databases_image(template):
    container = _container(template)
    # or-entrypoint.sh would append "-c max_connections=50" to pg_dump's arguments.
    assert container["EntryPoint"] == ["bash", "-c"]
    assert container["Command"][0] == dumps.DUMP_SCRIPT
    (postgres,) = props(template, S.POSTGRES_TASK)["ContainerDefinitions"]
    assert container["Image"] == postgres["Image"] == {"Ref": S.POSTGRES_IMAGE}
    assert container["Secrets"] == [{"Name": "PGPASSWORD", "ValueFrom": {"Fn::Join": ["", [
        {"Fn::ImportValue": names.export_name(names.DATA, D.OUT_DB_SECRET_ARN)}, ":password::"]]}}]
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"SourceVolume": "dumps", "ContainerPath": dumps.DUMPS_MOUNT}]
    (volume,) = props(template, S.DUMP_TASK)["Volumes"]
    assert volume["EFSVolumeConfiguration"]["AuthorizationConfig"] == {
        "AccessPointId": {"Fn::ImportValue": names.export_name(names.DATA, D.OUT_DUMPS_ACCESS_POINT)}, "IAM": "ENABLED"}


def test_dumps_live_in_their_own_retained_access_point_owned_by_postgres():
    data = registry.get(names.DATA).template_dict()
    resource = data["Resources"][D.DUMPS_ACCESS_POINT]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    p = resource["Properties"]
    assert p["PosixUser"] == {"Uid": POSTGRES_UID, "Gid": POSTGRES_UID}
    assert p["RootDirectory"]["Path"] == DUMPS_PATH
    assert p["RootDirectory"]["CreationInfo"]["Permissions"] == "0700"


def test_schedule_runs_the_dump_before_the_daily_backup(template):
    from herd_cfn.templates.stacks.data import DAILY_SCHEDULE

    rule = props(template, S.DUMP_SCHEDULE_RULE)
    assert rule["ScheduleExpression"] == "cron(30 2 * * ? *)" and DAILY_SCHEDULE == "cron(0 3 * * ? *)"
    (target,) = rule["Targets"]
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": S.DUMP_TASK}
    network = target["EcsParameters"]["NetworkConfiguration"]["AwsVpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    statements = props(template, S.DUMP_SCHEDULE_ROLE)["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements[0]["Action"] == ["ecs:RunTask"] and statements[0]["Resource"] == [{"Ref": S.DUMP_TASK}]
    assert statements[1]["Action"] == ["iam:PassRole"]


def test_dump_task_reaches_postgresql_and_nothing_else_new(template):
    ingress = props(template, S.POSTGRES_SG)["SecurityGroupIngress"]
    assert {"Fn::GetAtt": [S.RESTORE_SG, "GroupId"]} in [r["SourceSecurityGroupId"] for r in ingress]
    egress = props(template, S.DUMP_TO_POSTGRES_EGRESS)
    assert (egress["FromPort"], egress["ToPort"]) == (5432, 5432)
    assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": [S.POSTGRES_SG, "GroupId"]}


def test_missing_dump_alarm_fires_after_26_hours_without_a_success(template):
    alarm = props(template, S.ALARM_DUMP_MISSING)
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 26 * 3600
    assert alarm["Period"] >= 3600  # below an hour CloudWatch caps the evaluation range at one day
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 7 * 86400
    assert (alarm["TreatMissingData"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "breaching", "LessThanThreshold", 1)
    assert alarm["AlarmActions"] == [{"Ref": S.ALARM_TOPIC}]
    metric_filter = props(template, S.DUMP_SUCCESS_FILTER)
    assert metric_filter["FilterPattern"] == f'"{dumps.DONE}"'
    assert metric_filter["MetricTransformations"][0]["MetricName"] == alarm["MetricName"]
