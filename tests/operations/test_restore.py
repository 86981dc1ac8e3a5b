"""``herd-cfn restore`` and what it runs on: the access points at "/", the herd-restore task, the command.

moto has no AWS Backup restore jobs and crashes on ECS run_task with awsvpc networking (DESIGN.md §6),
so the command runs against botocore Stubbers that stand for AWS: each stubbed response is what the
real API answers at that point (ECS still listing a PostgreSQL task in DEACTIVATING after its desired
status became STOPPED, a restore job going RUNNING -> COMPLETED, a task going PROVISIONING -> STOPPED
with the container's exit code). The Stubber also checks every request's parameters, in order.
The shell script the task runs is executed for real, with the two EFS mounts replaced by directories.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from botocore.stub import Stubber
from cfn_flip import load_yaml

from herd_cfn import cli, names
from herd_cfn.errors import DeploymentError
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.restore import MOVE_SCRIPT, restore
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.service.restore import AS_MANAGER_MOUNT, AS_POSTGRES_MOUNT
from tests.rollout_support import DEV, REGION, ROOT, StubContext, stub_client
from tests.template_support import props

D, S = names.Data, names.Service
FS_ID = "fs-0123456789abcdef0"
FS_ARN = f"arn:aws:elasticfilesystem:{REGION}:{DEV}:file-system/{FS_ID}"
POINT = f"arn:aws:backup:{REGION}:{DEV}:recovery-point:1a2b3c4d-5678-90ab-cdef-1234567890ab"
ROLE = f"arn:aws:iam::{DEV}:role/StackSet-herd-data-BackupRole-ABC"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
GROUPS = ["sg-0efsclient", "sg-0restore"]
CLUSTER = "herd"
STAMP = "20261126T201500Z"
TASK = f"arn:aws:ecs:{REGION}:{DEV}:task/herd/0123456789abcdef0123456789abcdef"
OLD_PG = f"arn:aws:ecs:{REGION}:{DEV}:task/herd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
JOB = "9f8e7d6c-0000-4000-8000-000000000001"


def template(stack: str) -> dict:
    return load_yaml(registry.get(stack).template_body())


# --- templates -------------------------------------------------------------------------------------------

def test_root_access_points_act_as_the_owners_and_are_retained():
    data = template(names.DATA)
    owners = {D.RESTORE_POSTGRES_ACCESS_POINT: ("70", "70"), D.RESTORE_MANAGER_ACCESS_POINT: ("1000", "1000")}
    for logical_id, (uid, gid) in owners.items():
        resource = data["Resources"][logical_id]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        p = resource["Properties"]
        assert p["RootDirectory"] == {"Path": "/"}
        assert p["PosixUser"] == {"Uid": uid, "Gid": gid}
    # The live access points use the same owners, so restored files belong to whoever reads them.
    assert props(data, D.POSTGRES_ACCESS_POINT)["PosixUser"] == {"Uid": "70", "Gid": "70"}
    assert props(data, D.MANAGER_ACCESS_POINT)["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    outputs = data["Outputs"]
    for out in (D.OUT_RESTORE_POSTGRES_ACCESS_POINT, D.OUT_RESTORE_POSTGRES_ACCESS_POINT_ARN,
                D.OUT_RESTORE_MANAGER_ACCESS_POINT, D.OUT_RESTORE_MANAGER_ACCESS_POINT_ARN, D.OUT_BACKUP_ROLE_ARN):
        assert outputs[out]["Export"]["Name"] == names.export_name(names.DATA, out)


def test_file_system_policy_still_refuses_root_and_mounts_without_access_point():
    statements = {s["Sid"]: s for s in props(template(names.DATA), D.FILE_SYSTEM)["FileSystemPolicy"]["Statement"]}
    assert statements["DenyRootAccess"]["Effect"] == "Deny"
    assert statements["DenyRootAccess"]["Action"] == ["elasticfilesystem:ClientRootAccess"]
    assert statements["DenyMountWithoutAccessPoint"]["Condition"] == {
        "Null": {"elasticfilesystem:AccessPointArn": "true"}}
    assert statements["DenyUnencryptedTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not [s for s in statements.values() if s["Effect"] == "Allow"]


def _import(stack: str, output: str) -> dict:
    return {"Fn::ImportValue": names.export_name(stack, output)}


def test_restore_task_role_mounts_only_through_the_root_access_points():
    service = template(names.SERVICE)
    role = props(service, S.RESTORE_TASK_ROLE)
    [policy] = role["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert statement["Resource"] == [_import(names.DATA, D.OUT_FILE_SYSTEM_ARN)]
    # ...and /dumps: the dump task (pg_dump, restore --dump) runs as this role, its task definition mounts /dumps
    # only (tests/templates/test_dumps.py); through "/" as uid 70 this role reached /dumps anyway.
    assert statement["Condition"] == {"StringEquals": {"elasticfilesystem:AccessPointArn": [
        _import(names.DATA, D.OUT_RESTORE_POSTGRES_ACCESS_POINT_ARN),
        _import(names.DATA, D.OUT_RESTORE_MANAGER_ACCESS_POINT_ARN),
        _import(names.DATA, D.OUT_DUMPS_ACCESS_POINT_ARN)]}}
    # Nor may any other task role use them.
    for other in (S.POSTGRES_TASK_ROLE, S.MANAGER_TASK_ROLE):
        assert "RestoreAs" not in json.dumps(props(service, other))


def test_restore_task_definition_mounts_with_tls_and_iam_and_logs_with_retention():
    service = template(names.SERVICE)
    task = props(service, S.RESTORE_TASK)
    assert task["Family"] == S.RESTORE_TASK_FAMILY == "herd-restore"
    assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
    assert task["TaskRoleArn"] == {"Fn::GetAtt": [S.RESTORE_TASK_ROLE, "Arn"]}
    volumes = {v["Name"]: v["EFSVolumeConfiguration"] for v in task["Volumes"]}
    assert {v["AuthorizationConfig"]["AccessPointId"]["Fn::ImportValue"] for v in volumes.values()} == {
        names.export_name(names.DATA, D.OUT_RESTORE_POSTGRES_ACCESS_POINT),
        names.export_name(names.DATA, D.OUT_RESTORE_MANAGER_ACCESS_POINT)}
    for volume in volumes.values():
        assert volume["TransitEncryption"] == "ENABLED"
        assert volume["AuthorizationConfig"]["IAM"] == "ENABLED"
    [container] = task["ContainerDefinitions"]
    assert container["Image"].startswith("public.ecr.aws/docker/library/busybox:")
    assert container["Image"].rsplit(":", 1)[1][0].isdigit(), "a pinned version, not latest"
    assert {m["ContainerPath"] for m in container["MountPoints"]} == {AS_POSTGRES_MOUNT, AS_MANAGER_MOUNT}
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": S.RESTORE_LOG_GROUP}
    assert props(service, S.RESTORE_LOG_GROUP)["RetentionInDays"] == {"Ref": S.LOG_RETENTION}
    # The shared execution role may write the restore task's logs.
    execution = json.dumps(props(service, S.EXECUTION_ROLE))
    assert "${%s.Arn}:*" % S.RESTORE_LOG_GROUP in execution


def test_service_template_stays_well_below_the_size_limit():
    # 51,200 bytes is CloudFormation's limit; what is left is the room for the plugin settings of the
    # parameters files (about 230 bytes each, docs/plugins.md): at least eight of them.
    assert len(registry.get(names.SERVICE).template_body().encode()) < 51_200 - 8 * 230


# --- the script the task runs --------------------------------------------------------------------------

def _run_script(tmp_path: Path, restored: bool = True) -> subprocess.CompletedProcess:
    """MOVE_SCRIPT with both mounts pointing at one directory, as both access points show the same root."""
    root = tmp_path / "efs"
    for live, files in (("postgresql", {"PG_VERSION": "15", "base/1": "old"}), ("manager-storage", {"x": "old"})):
        for name, text in files.items():
            (root / live / name).parent.mkdir(parents=True, exist_ok=True)
            (root / live / name).write_text(text)
    (root / "postgresql" / ".hidden").write_text("old")
    if restored:
        for older, text in (("aws-backup-restore_2026-01-01T00-00-00-000Z", "older"),
                            ("aws-backup-restore_2026-11-26T20-16-00-000Z", "new")):
            (root / older / "postgresql" / "base").mkdir(parents=True)
            (root / older / "postgresql" / "PG_VERSION").write_text("15")
            (root / older / "postgresql" / "base" / "1").write_text(text)
            (root / older / "manager-storage").mkdir()
            (root / older / "manager-storage" / "y").write_text(text)
    script = MOVE_SCRIPT.replace(AS_POSTGRES_MOUNT, str(root)).replace(AS_MANAGER_MOUNT, str(root))
    return subprocess.run(["sh", "-c", script, "herd-restore", STAMP], capture_output=True, text=True, check=False)


def test_script_moves_live_content_aside_and_copies_the_newest_restore_into_place(tmp_path):
    result = _run_script(tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "efs"
    assert (root / "postgresql" / "base" / "1").read_text() == "new"
    assert not (root / "postgresql" / ".hidden").exists()
    aside = root / "postgresql" / f".before-restore-{STAMP}"
    assert (aside / "base" / "1").read_text() == "old" and (aside / ".hidden").read_text() == "old"
    assert (root / "manager-storage" / "y").read_text() == "new"
    assert (root / "manager-storage" / f".before-restore-{STAMP}" / "x").read_text() == "old"
    assert not (root / "manager-storage" / "x").exists()
    assert "aws-backup-restore_2026-11-26T20-16-00-000Z" in result.stdout


def test_script_without_a_restore_directory_fails_and_touches_nothing(tmp_path):
    result = _run_script(tmp_path, restored=False)
    assert result.returncode == 3
    assert "no aws-backup-restore_* directory" in result.stderr
    assert (tmp_path / "efs" / "postgresql" / "base" / "1").read_text() == "old"


# --- the command, against Stubbers ----------------------------------------------------------------------

def _exports() -> dict:
    def export(stack, output, value):
        return {"Name": names.export_name(stack, output), "Value": value, "ExportingStackId": "x"}

    return {"Exports": [
        export(names.SERVICE, S.OUT_CLUSTER_NAME, CLUSTER), export(names.DATA, D.OUT_FILE_SYSTEM_ID, FS_ID),
        export(names.DATA, D.OUT_FILE_SYSTEM_ARN, FS_ARN), export(names.DATA, D.OUT_BACKUP_VAULT_NAME, "herd-data"),
        export(names.DATA, D.OUT_BACKUP_ROLE_ARN, ROLE),
        export(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS, ",".join(SUBNETS)),
        export(names.DATA, D.OUT_EFS_CLIENT_SECURITY_GROUP, GROUPS[0]),
        export(names.SERVICE, S.OUT_RESTORE_SECURITY_GROUP, GROUPS[1]),
    ]}


class Aws:
    """Stubbed clients that stand for one account's AWS; responses are added in the order AWS is called."""

    def __init__(self) -> None:
        self.clients = {name: stub_client(name) for name in ("cloudformation", "backup", "ecs")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        self.ctx = StubContext(self.clients)
        self.ctx.sleep = lambda _: None

    def read(self, point_status: str = "COMPLETED") -> None:
        self.stubs["cloudformation"].add_response("list_exports", _exports(), {})
        self.stubs["backup"].add_response(
            "describe_recovery_point",
            {"RecoveryPointArn": POINT, "ResourceArn": FS_ARN, "ResourceType": "EFS", "Status": point_status},
            {"BackupVaultName": "herd-data", "RecoveryPointArn": POINT})

    def scale(self, count: int, services=("manager", "postgresql")) -> None:
        for service in services:
            self.stubs["ecs"].add_response("update_service", {"service": {"serviceName": service}},
                                           {"cluster": CLUSTER, "service": service, "desiredCount": count})

    def tasks(self, running: dict[str, list[str]], stopping: dict[str, list[tuple[str, str]]]) -> None:
        """One poll of _live_tasks: per family the RUNNING list, then the STOPPED list and its lastStatus."""
        for family in ("herd-manager", "herd-postgresql"):
            self.stubs["ecs"].add_response("list_tasks", {"taskArns": running.get(family, [])},
                                           {"cluster": CLUSTER, "family": family, "desiredStatus": "RUNNING"})
            told = stopping.get(family, [])
            self.stubs["ecs"].add_response("list_tasks", {"taskArns": [arn for arn, _ in told]},
                                           {"cluster": CLUSTER, "family": family, "desiredStatus": "STOPPED"})
            if told:
                self.stubs["ecs"].add_response(
                    "describe_tasks", {"tasks": [{"taskArn": arn, "lastStatus": last} for arn, last in told]},
                    {"cluster": CLUSTER, "tasks": [arn for arn, _ in told]})

    def restore_job(self, *statuses: str, message: str = "") -> None:
        self.stubs["backup"].add_response("start_restore_job", {"RestoreJobId": JOB}, {
            "RecoveryPointArn": POINT, "IamRoleArn": ROLE, "ResourceType": "EFS",
            "IdempotencyToken": f"herd-restore-{STAMP}",
            "Metadata": {"file-system-id": FS_ID, "newFileSystem": "false", "Encrypted": "true",
                         "PerformanceMode": "generalPurpose", "ItemsToRestore": '["/postgresql", "/manager-storage"]'},
        })
        for status in statuses:
            response = {"RestoreJobId": JOB, "Status": status}
            if message and status in ("FAILED", "ABORTED"):
                response["StatusMessage"] = message
            self.stubs["backup"].add_response("describe_restore_job", response, {"RestoreJobId": JOB})

    def run_task(self, exit_code: int = 0, stopped_reason: str = "Essential container in task exited") -> None:
        self.stubs["ecs"].add_response("run_task", {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}]}, {
            "cluster": CLUSTER, "taskDefinition": "herd-restore", "launchType": "FARGATE", "count": 1,
            "startedBy": "herd-cfn-restore",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": SUBNETS, "securityGroups": GROUPS, "assignPublicIp": "DISABLED"}},
            "overrides": {"containerOverrides": [{
                "name": "restore", "command": ["sh", "-c", MOVE_SCRIPT, "herd-restore", STAMP]}]},
        })
        self.stubs["ecs"].add_response("describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]},
                                       {"cluster": CLUSTER, "tasks": [TASK]})
        self.stubs["ecs"].add_response("describe_tasks", {"tasks": [{
            "taskArn": TASK, "lastStatus": "STOPPED", "stoppedReason": stopped_reason,
            "containers": [{"name": "restore", "exitCode": exit_code}]}]}, {"cluster": CLUSTER, "tasks": [TASK]})

    def run(self, **kwargs) -> str:
        out = io.StringIO()
        env = load_project(ROOT / "parameters").environment("dev")
        return run_stubbed(self.stubs.values(), out, lambda: restore(
            self.ctx, env, POINT, Progress(out), confirm=kwargs.pop("confirm", lambda _: True), stamp=STAMP,
            plan_only=kwargs.pop("plan_only", False)))


def run_stubbed(stubs, out: io.StringIO, call) -> str:
    """``call()`` with every Stubber active, a DeploymentError written as the command would; each Stubber
    must have been asked for all its responses."""
    for stub in stubs:
        stub.activate()
    try:
        call()
    except DeploymentError as exc:
        out.write(f"error: {exc}\n")
    for stub in stubs:
        stub.assert_no_pending_responses()
        stub.deactivate()
    return out.getvalue()


def test_restore_scales_down_restores_moves_and_scales_up_in_that_order():
    aws = Aws()
    aws.read()
    aws.scale(0)
    # First poll: ECS still shows the old PostgreSQL task stopping (its shutdown checkpoint); then none.
    aws.tasks({}, {"herd-postgresql": [(OLD_PG, "DEACTIVATING")]})
    aws.tasks({}, {"herd-postgresql": [(OLD_PG, "STOPPED")]})
    aws.restore_job("PENDING", "RUNNING", "COMPLETED")
    aws.run_task(exit_code=0)
    aws.scale(1, services=("postgresql", "manager"))
    out = aws.run()
    assert "error:" not in out, out
    lines = out.splitlines()
    for step in ("scaling manager to 0", "scaling postgresql to 0", "1 task(s) running", "0 task(s) running",
                 f"restore job {JOB} COMPLETED", "moved the files into place", "scaling postgresql back to 1",
                 "scaling manager back to 1"):
        assert any(step in line for line in lines), (step, out)
    done = lines[-1]
    assert f"/postgresql/.before-restore-{STAMP}" in done and f"/manager-storage/.before-restore-{STAMP}" in done
    assert "aws ecs run-task --cluster herd --task-definition herd-restore" in done
    assert f"rm -rf {AS_POSTGRES_MOUNT}/postgresql/.before-restore-{STAMP}" in done


def test_plan_reads_but_changes_nothing():
    aws = Aws()
    aws.read()  # only these two reads are stubbed: any other call would make the Stubber raise
    out = aws.run(plan_only=True)
    assert "plan only: nothing was changed" in out
    assert "1. scale manager and postgresql in cluster herd to 0" in out
    assert f"restore /postgresql, /manager-storage from {POINT} into file system {FS_ID}" in out


def test_a_recovery_point_of_another_file_system_is_refused_before_any_change():
    aws = Aws()
    aws.stubs["cloudformation"].add_response("list_exports", _exports(), {})
    aws.stubs["backup"].add_response("describe_recovery_point", {
        "RecoveryPointArn": POINT, "ResourceArn": FS_ARN.replace("0123", "9999"), "Status": "COMPLETED"},
        {"BackupVaultName": "herd-data", "RecoveryPointArn": POINT})
    out = aws.run()
    assert "not of the file system" in out and "nothing was changed" in out


def test_failed_restore_job_leaves_services_down_and_says_how_to_bring_them_back():
    aws = Aws()
    aws.read()
    aws.scale(0)
    aws.tasks({}, {})
    aws.restore_job("RUNNING", "FAILED", message="Access denied to file system")
    out = aws.run()  # the Stubber proves no run_task and no scale-up followed
    [error] = [line for line in out.splitlines() if line.startswith("error:")]
    assert f"restore job {JOB} FAILED: Access denied to file system" in error
    assert "The live data was not touched" in error
    assert "manager and postgresql are still scaled to 0" in error
    assert "aws ecs update-service --cluster herd --service postgresql --desired-count 1" in error


def test_task_exiting_non_zero_names_its_reason_and_leaves_services_down():
    aws = Aws()
    aws.read()
    aws.scale(0)
    aws.tasks({}, {})
    aws.restore_job("COMPLETED")
    aws.run_task(exit_code=4, stopped_reason="Essential container in task exited")
    out = aws.run()
    [error] = [line for line in out.splitlines() if line.startswith("error:")]
    assert f"task {TASK} stopped with exit code 4: Essential container in task exited" in error
    assert "/herd/restore" in error and "still scaled to 0" in error


def test_not_confirmed_changes_nothing():
    aws = Aws()
    aws.read()
    out = aws.run(confirm=lambda _: False)
    assert "not confirmed: nothing was changed" in out


def test_without_a_terminal_and_without_yes_restore_is_refused_before_any_call(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a TTY, as in CI or a pipe
    with herd_aws.recording() as calls:
        code = cli.main(["restore", "--env", "dev", "--recovery-point", POINT,
                         "--endpoint-url", "http://127.0.0.1:9", "--parameters-dir", str(ROOT / "parameters")])
    assert code == 2
    assert calls.calls == []
    assert "no terminal to answer on; pass --yes" in capsys.readouterr().err


@pytest.mark.parametrize("missing", [(names.SERVICE, S.OUT_RESTORE_SECURITY_GROUP),
                                     (names.DATA, D.OUT_BACKUP_ROLE_ARN)])
def test_missing_export_names_the_stack_to_roll_out(missing):
    aws = Aws()
    exports = _exports()
    exports["Exports"] = [e for e in exports["Exports"] if e["Name"] != names.export_name(*missing)]
    aws.stubs["cloudformation"].add_response("list_exports", exports, {})
    out = aws.run()
    assert f"export {names.export_name(*missing)} not found in account {DEV}" in out
    assert f"herd-cfn rollout --env dev --stack {missing[0]}" in out
