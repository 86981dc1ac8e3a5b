"""``herd-cfn restore``: put the database and the manager's /storage back to an AWS Backup recovery point,
or (``--dump``, :class:`DumpRestore` below) the database alone back to a pg_dump file.

AWS Backup restores items to the source file system into a new directory ``aws-backup-restore_<time>``
at its root, next to the live data; it never overwrites anything. So the command:

1. scales ``manager`` and ``postgresql`` to 0 and waits until none of their tasks runs (PostgreSQL must
   have written its shutdown checkpoint before its files are moved);
2. starts the restore job of /postgresql and /manager-storage and waits for it;
3. runs the ``herd-restore`` task (service stack), which mounts the file system's root through the data
   stack's access points at "/" as each directory's owner, moves each live directory's content into
   ``<dir>/.before-restore-<stamp>`` and copies the restored files into place with ``cp -a``;
4. scales both services back to 1.

The previous content is kept inside each live directory, not next to it: EFS's root directory belongs to
root, and no mount may act as root (the file system policy), so the only places the task may create a
directory are the two directories it restores.

Every value comes from the stacks' exports; every step says what it does; a failure stops with one
message that says in which state the services and the data are.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from herd_cfn import names
from herd_cfn.config.environments import Environment
from herd_cfn.errors import DeploymentError
from herd_cfn.operations import outputs
from herd_cfn.operations.aws import AwsContext, translate_errors
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.waiting import Waiting
from herd_cfn.templates.stacks.data import MANAGER_STORAGE_PATH, POSTGRES_DATA_PATH
from herd_cfn.templates.stacks.service.dumps import DATABASE, DUMPS_MOUNT, RESTORE_SCRIPT
from herd_cfn.templates.stacks.service.restore import AS_MANAGER_MOUNT, AS_POSTGRES_MOUNT

D, N, S = names.Data, names.Network, names.Service
ITEMS = (POSTGRES_DATA_PATH, MANAGER_STORAGE_PATH)
# Stopped first, started last: the manager needs the database (and Keycloak, which keeps running).
SERVICES = (S.MANAGER_SERVICE_NAME, S.POSTGRES_SERVICE_NAME)
FAMILIES = {S.MANAGER_SERVICE_NAME: S.MANAGER_TASK_FAMILY,
            S.POSTGRES_SERVICE_NAME: f"{S.CLUSTER_NAME}-{S.POSTGRES_CONTAINER}"}
ASIDE_PREFIX = ".before-restore-"
STARTED_BY = "herd-cfn-restore"
RESTORE_JOB_DONE = ("COMPLETED", "FAILED", "ABORTED")

# Runs in busybox as the command of the herd-restore task; $1 is the stamp. Each mount is the file
# system's root as the owner of one directory, so the files it writes belong to that owner.
MOVE_SCRIPT = f"""set -eu
stamp="$1"
restored=$(ls -1d {AS_POSTGRES_MOUNT}/aws-backup-restore_* 2>/dev/null | sort | tail -n 1)
[ -n "$restored" ] || {{ echo "no aws-backup-restore_* directory at the file system's root" >&2; exit 3; }}
echo "restored files in /${{restored##*/}}"
move() {{
  live="$1/$2"; source="$1/${{restored##*/}}/$2"; aside="$live/{ASIDE_PREFIX}$stamp"
  [ -d "$source" ] || {{ echo "/${{restored##*/}}/$2 missing or unreadable as its owner" >&2; exit 4; }}
  mkdir "$aside"
  find "$live" -mindepth 1 -maxdepth 1 ! -name '{ASIDE_PREFIX}*' -exec mv {{}} "$aside/" \\;
  cp -a "$source/." "$live/"
  echo "/$2: restored; its previous content is in /$2/{ASIDE_PREFIX}$stamp"
}}
move {AS_POSTGRES_MOUNT} {POSTGRES_DATA_PATH.strip('/')}
move {AS_MANAGER_MOUNT} {MANAGER_STORAGE_PATH.strip('/')}
"""


@dataclass(frozen=True)
class Targets:
    """What the restore works on, from the network, data and service stacks' exports."""

    cluster: str
    file_system_id: str
    file_system_arn: str
    vault: str
    backup_role_arn: str
    subnets: list[str]
    security_groups: list[str]


_EXPORTS = {
    "cluster": (names.SERVICE, S.OUT_CLUSTER_NAME),
    "file_system_id": (names.DATA, D.OUT_FILE_SYSTEM_ID),
    "file_system_arn": (names.DATA, D.OUT_FILE_SYSTEM_ARN),
    "vault": (names.DATA, D.OUT_BACKUP_VAULT_NAME),
    "backup_role_arn": (names.DATA, D.OUT_BACKUP_ROLE_ARN),
    "subnets": (names.NETWORK, N.OUT_PRIVATE_SUBNETS),
    "efs_client": (names.DATA, D.OUT_EFS_CLIENT_SECURITY_GROUP),
    "restore_group": (names.SERVICE, S.OUT_RESTORE_SECURITY_GROUP),
}


def find_targets(cfn: Any, env: Environment) -> Targets:
    with translate_errors(f"reading the CloudFormation exports of account {env.account_id}"):
        exports = outputs.exports(cfn)
    values = {}
    for key, (stack, output) in _EXPORTS.items():
        export = names.export_name(stack, output)
        if export not in exports:
            raise DeploymentError(
                f"export {export} not found in account {env.account_id} ({env.region}): roll out the {stack} "
                f"stack first (herd-cfn rollout --env {env.name} --stack {stack})")
        values[key] = exports[export]
    return Targets(
        cluster=values["cluster"], file_system_id=values["file_system_id"],
        file_system_arn=values["file_system_arn"], vault=values["vault"],
        backup_role_arn=values["backup_role_arn"], subnets=values["subnets"].split(","),
        security_groups=[values["efs_client"], values["restore_group"]],
    )


def bring_back(cluster: str) -> str:
    return "; ".join(f"aws ecs update-service --cluster {cluster} --service {service} --desired-count 1"
                     for service in reversed(SERVICES))


class Restore:
    def __init__(self, ctx: AwsContext, env: Environment, progress: Progress, stamp: str | None = None) -> None:
        session = ctx.session(env.account_id, env.region)
        self.ctx, self.env, self.progress = ctx, env, progress
        self.cfn = ctx.client(session, "cloudformation")
        self.ecs = ctx.client(session, "ecs")
        self.backup = ctx.client(session, "backup")
        self.stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def say(self, message: str) -> None:
        self.progress.log(f"restore {self.env.name}: {message}")

    def prepare(self, recovery_point: str) -> Targets:
        """Read-only: the exports, and whether the recovery point is a finished backup of this file system."""
        targets = find_targets(self.cfn, self.env)
        with translate_errors(f"reading recovery point {recovery_point} in vault {targets.vault}"):
            point = self.backup.describe_recovery_point(BackupVaultName=targets.vault,
                                                        RecoveryPointArn=recovery_point)
        if point.get("ResourceArn") != targets.file_system_arn:
            raise DeploymentError(f"recovery point {recovery_point} is a backup of {point.get('ResourceArn')}, "
                                  f"not of the file system {targets.file_system_arn}; nothing was changed")
        if point.get("Status") != "COMPLETED":
            raise DeploymentError(f"recovery point {recovery_point} is {point.get('Status')}, not COMPLETED; "
                                  "nothing was changed")
        return targets

    def plan(self, recovery_point: str, targets: Targets) -> list[str]:
        return [
            f"scale {' and '.join(SERVICES)} in cluster {targets.cluster} to 0 and wait until none of their "
            "tasks runs",
            f"restore {', '.join(ITEMS)} from {recovery_point} into file system {targets.file_system_id} "
            f"(as {targets.backup_role_arn}); AWS Backup writes them to /aws-backup-restore_<time>",
            f"run task {S.RESTORE_TASK_FAMILY}: move the content of {' and '.join(ITEMS)} into "
            f"<dir>/{ASIDE_PREFIX}{self.stamp} and copy the restored files into place (cp -a)",
            f"scale {' and '.join(reversed(SERVICES))} back to 1",
        ]

    def run(self, recovery_point: str, targets: Targets) -> None:
        self.scale_down(targets)
        self.restore_job(recovery_point, targets)
        self.move_files(targets)
        self.scale_up(targets)
        self.say("done. The previous content is kept in "
                 + " and ".join(f"{item}/{ASIDE_PREFIX}{self.stamp}" for item in ITEMS)
                 + " (the restored copy stays in /aws-backup-restore_<time>). Once the platform works, delete "
                   "the kept content with: " + self.delete_command(targets))

    def delete_command(self, targets: Targets) -> str:
        paths = " ".join(f"{mount}{item}/{ASIDE_PREFIX}{self.stamp}"
                         for mount, item in ((AS_POSTGRES_MOUNT, ITEMS[0]), (AS_MANAGER_MOUNT, ITEMS[1])))
        overrides = json.dumps({"containerOverrides": [
            {"name": S.RESTORE_CONTAINER, "command": ["sh", "-c", f"rm -rf {paths}"]}]})
        network = json.dumps({"awsvpcConfiguration": self._network(targets)})
        return (f"aws ecs run-task --cluster {targets.cluster} --task-definition {S.RESTORE_TASK_FAMILY} "
                f"--launch-type FARGATE --network-configuration {shlex.quote(network)} "
                f"--overrides {shlex.quote(overrides)}")

    # Step 1
    def scale_down(self, targets: Targets) -> None:
        for service in SERVICES:
            self.say(f"scaling {service} to 0")
            with translate_errors(f"scaling {service} to 0; nothing else was changed"):
                self.ecs.update_service(cluster=targets.cluster, service=service, desiredCount=0)
        self.say(f"waiting until no task of {' or '.join(SERVICES)} runs")
        status = self._wait(lambda: f"{len(self._live_tasks(targets))} task(s) running",
                            lambda status: status.startswith("0 "),
                            f"waiting for the tasks of {' and '.join(SERVICES)} to stop", targets)
        self.say(f"all stopped ({status})")

    def _live_tasks(self, targets: Targets) -> list[str]:
        """Tasks of both services that still run, including those told to stop but not yet stopped (a
        PostgreSQL writing its shutdown checkpoint)."""
        live: list[str] = []
        for service in SERVICES:
            family = FAMILIES[service]
            live += self.ecs.list_tasks(cluster=targets.cluster, family=family, desiredStatus="RUNNING")["taskArns"]
            stopping = self.ecs.list_tasks(cluster=targets.cluster, family=family,
                                           desiredStatus="STOPPED")["taskArns"]
            if stopping:
                tasks = self.ecs.describe_tasks(cluster=targets.cluster, tasks=stopping[:100])["tasks"]
                live += [t["taskArn"] for t in tasks if t.get("lastStatus") != "STOPPED"]
        return live

    # Step 2
    def restore_job(self, recovery_point: str, targets: Targets) -> None:
        metadata = {
            "file-system-id": targets.file_system_id, "newFileSystem": "false",
            "Encrypted": "true", "PerformanceMode": "generalPurpose", "ItemsToRestore": json.dumps(list(ITEMS)),
        }
        self.say(f"starting the restore job of {', '.join(ITEMS)} from {recovery_point}")
        with translate_errors(f"starting the restore job; {self._services_down(targets)}"):
            job_id = self.backup.start_restore_job(
                RecoveryPointArn=recovery_point, IamRoleArn=targets.backup_role_arn, ResourceType="EFS",
                Metadata=metadata, IdempotencyToken=f"herd-restore-{self.stamp}")["RestoreJobId"]
        self.say(f"restore job {job_id} started; waiting for it")
        job: dict[str, Any] = {}

        def describe() -> str:
            job.update(self.backup.describe_restore_job(RestoreJobId=job_id))
            return job.get("Status", "UNKNOWN")

        status = self._wait(describe, lambda s: s in RESTORE_JOB_DONE, f"restore job {job_id}", targets)
        if status != "COMPLETED":
            raise DeploymentError(f"restore job {job_id} {status}: {job.get('StatusMessage', 'no message')}. "
                                  f"The live data was not touched; {self._services_down(targets)}")
        self.say(f"restore job {job_id} COMPLETED")

    # Step 3
    def move_files(self, targets: Targets) -> None:
        self.say(f"running task {S.RESTORE_TASK_FAMILY} to move the restored files into place")
        with translate_errors(f"starting task {S.RESTORE_TASK_FAMILY}; the restored files are in "
                              f"/aws-backup-restore_<time>, the live data was not touched; "
                              f"{self._services_down(targets)}"):
            started = self.ecs.run_task(
                cluster=targets.cluster, taskDefinition=S.RESTORE_TASK_FAMILY, launchType="FARGATE", count=1,
                startedBy=STARTED_BY, networkConfiguration={"awsvpcConfiguration": self._network(targets)},
                overrides={"containerOverrides": [{
                    "name": S.RESTORE_CONTAINER, "command": ["sh", "-c", MOVE_SCRIPT, "herd-restore", self.stamp],
                }]},
            )
        task_arn, task, container = self._run_to_the_end(
            started, S.RESTORE_TASK_FAMILY, S.RESTORE_CONTAINER, "the live data was not touched", targets)
        if container.get("exitCode") != 0:
            reason = container.get("reason") or task.get("stoppedReason", "no reason given")
            raise DeploymentError(
                f"task {task_arn} stopped with exit code {container.get('exitCode')}: {reason}. Its output is in "
                f"log group {S.log_group(S.RESTORE_CONTAINER)}. The live directories may be partly moved into "
                f"<dir>/{ASIDE_PREFIX}{self.stamp}; {self._services_down(targets)}")
        self.say(f"task {task_arn} moved the files into place (exit code 0)")

    # Step 4
    def scale_up(self, targets: Targets) -> None:
        for service in reversed(SERVICES):
            self.say(f"scaling {service} back to 1")
            with translate_errors(f"scaling {service} to 1; the data is restored; bring the services back with: "
                                  f"{bring_back(targets.cluster)}"):
                self.ecs.update_service(cluster=targets.cluster, service=service, desiredCount=1)

    def _network(self, targets: Targets) -> dict:
        return {"subnets": targets.subnets, "securityGroups": targets.security_groups, "assignPublicIp": "DISABLED"}

    def _run_to_the_end(self, started: dict[str, Any], family: str, container_name: str, untouched: str,
                        targets: Targets) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The task RunTask ``started``, waited for until it stopped: its ARN, description and container."""
        if not started.get("tasks"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip()
                                for f in started.get("failures", []))
            raise DeploymentError(f"task {family} did not start ({reasons or 'no reason given'}); {untouched}; "
                                  f"{self._services_down(targets)}")
        task_arn = started["tasks"][0]["taskArn"]
        task: dict[str, Any] = {}

        def describe() -> str:
            found = self.ecs.describe_tasks(cluster=targets.cluster, tasks=[task_arn])["tasks"]
            task.update(found[0] if found else {})
            return task.get("lastStatus", "UNKNOWN")

        self._wait(describe, lambda s: s == "STOPPED", f"task {task_arn}", targets)
        return task_arn, task, next((c for c in task.get("containers", []) if c.get("name") == container_name), {})

    def _services_down(self, targets: Targets) -> str:
        return (f"{' and '.join(SERVICES)} are still scaled to 0; bring them back with: "
                f"{bring_back(targets.cluster)}")

    def _wait(self, describe: Callable[[], str], done: Callable[[str], bool], what: str, targets: Targets) -> str:
        last = {"status": ""}

        def on_poll(status: str, elapsed: float) -> None:
            if status != last["status"]:
                self.say(f"{what}: {status} ({elapsed:.0f}s)")
                last["status"] = status

        down = self._services_down(targets)
        with translate_errors(f"{what}; {down}"):
            return self.ctx.wait_for(Waiting(what, f" {down}", goes_on_in_aws=False), describe, done, on_poll,
                                     lambda message: self.say(f"{message} {down}"))


def restore(ctx: AwsContext, env: Environment, recovery_point: str, progress: Progress, *, plan_only: bool,
            confirm: Callable[[str], bool], stamp: str | None = None) -> bool:
    """Returns False when the user said no (nothing changed)."""
    job = Restore(ctx, env, progress, stamp)
    targets = job.prepare(recovery_point)
    progress.log(f"restore {env.name} (account {env.account_id}, {env.region}), "
                 f"{'plan only' if plan_only else 'steps'}:")
    for number, step in enumerate(job.plan(recovery_point, targets), 1):
        progress.log(f"  {number}. {step}")
    if plan_only:
        progress.log("plan only: nothing was changed")
        return True
    if not confirm(f"Restore {env.name} from this recovery point? The platform is down until step 4. [y/N] "):
        progress.log("not confirmed: nothing was changed")
        return False
    job.run(recovery_point, targets)
    return True


# --- herd-cfn restore --dump -------------------------------------------------------------------------------

# The names the dump task writes (service/dumps.py) and names an operator may give a dump copied there by hand.
DUMP_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.dump"
# Stopped first, started last. Keycloak's tables are in the same database, which the restore drops.
DUMP_SERVICES = (S.MANAGER_SERVICE_NAME, S.KEYCLOAK_SERVICE_NAME)
DUMP_FAMILIES = {S.MANAGER_SERVICE_NAME: S.MANAGER_TASK_FAMILY,
                 S.KEYCLOAK_SERVICE_NAME: f"{S.CLUSTER_NAME}-{S.KEYCLOAK_CONTAINER}"}


class DumpRestore(Restore):
    """Puts the ``openremote`` database back to a ``pg_dump`` file in /dumps (the dump task's directory).

    1. scales the manager and Keycloak to 0 (both use the database; PostgreSQL keeps running) and waits until
       none of their tasks runs;
    2. runs the dump task with its restore script: drop and create the database, CREATE EXTENSION
       timescaledb, timescaledb_pre_restore(), pg_restore, timescaledb_post_restore();
    3. scales Keycloak back to its count, then the manager to 1.
    /storage is not touched: a dump holds the database only.
    """

    def prepare_dump(self) -> tuple[Targets, dict[str, int]]:
        """Read-only: the exports and the services' desired counts (Keycloak may run several)."""
        targets = find_targets(self.cfn, self.env)
        with translate_errors(f"reading services {', '.join(DUMP_SERVICES)} in cluster {targets.cluster}"):
            found = self.ecs.describe_services(cluster=targets.cluster, services=list(DUMP_SERVICES))["services"]
        counts = {s["serviceName"]: s["desiredCount"] for s in found}
        missing = [s for s in DUMP_SERVICES if s not in counts]
        if missing:
            raise DeploymentError(f"service(s) {', '.join(missing)} not found in cluster {targets.cluster}: roll out "
                                  f"the service stack first (herd-cfn rollout --env {self.env.name} --stack service)")
        self.counts = {service: max(count, 1) for service, count in counts.items()}
        return targets, self.counts

    def plan_dump(self, name: str, targets: Targets) -> list[str]:
        return [
            f"scale {' and '.join(DUMP_SERVICES)} in cluster {targets.cluster} to 0 and wait until none of their "
            "tasks runs (postgresql keeps running)",
            f"run task {S.DUMP_TASK_FAMILY}: drop and re-create database {DATABASE}, then pg_restore "
            f"{DUMPS_MOUNT}/{name} between timescaledb_pre_restore() and timescaledb_post_restore()",
            "scale " + " and ".join(f"{s} back to {self.counts[s]}" for s in reversed(DUMP_SERVICES)),
        ]

    def run_dump(self, name: str, targets: Targets) -> None:
        self.scale_services(targets, 0)
        self.restore_database(name, targets)
        self.scale_services(targets, None)
        self.say(f"done: database {DATABASE} is {name}; /storage was not changed")

    def scale_services(self, targets: Targets, count: int | None) -> None:
        order = DUMP_SERVICES if count == 0 else tuple(reversed(DUMP_SERVICES))
        for service in order:
            wanted = self.counts[service] if count is None else count
            self.say(f"scaling {service} to {wanted}")
            with translate_errors(f"scaling {service} to {wanted}; {self._services_down(targets)}"):
                self.ecs.update_service(cluster=targets.cluster, service=service, desiredCount=wanted)
        if count == 0:
            self.say(f"waiting until no task of {' or '.join(DUMP_SERVICES)} runs")
            self._wait(lambda: f"{len(self._live(targets))} task(s) running", lambda s: s.startswith("0 "),
                       f"waiting for the tasks of {' and '.join(DUMP_SERVICES)} to stop", targets)

    def _live(self, targets: Targets) -> list[str]:
        live: list[str] = []
        for family in DUMP_FAMILIES.values():
            live += self.ecs.list_tasks(cluster=targets.cluster, family=family, desiredStatus="RUNNING")["taskArns"]
            stopping = self.ecs.list_tasks(cluster=targets.cluster, family=family, desiredStatus="STOPPED")["taskArns"]
            if stopping:
                tasks = self.ecs.describe_tasks(cluster=targets.cluster, tasks=stopping[:100])["tasks"]
                live += [t["taskArn"] for t in tasks if t.get("lastStatus") != "STOPPED"]
        return live

    def restore_database(self, name: str, targets: Targets) -> None:
        self.say(f"running task {S.DUMP_TASK_FAMILY} to restore {name}")
        with translate_errors(f"starting task {S.DUMP_TASK_FAMILY}; the database was not touched; "
                              f"{self._services_down(targets)}"):
            started = self.ecs.run_task(
                cluster=targets.cluster, taskDefinition=S.DUMP_TASK_FAMILY, launchType="FARGATE", count=1,
                startedBy=STARTED_BY, networkConfiguration={"awsvpcConfiguration": self._network(targets)},
                overrides={"containerOverrides": [{
                    "name": S.DUMP_CONTAINER, "command": [RESTORE_SCRIPT, "herd-restore", DUMPS_MOUNT, name]}]})
        task_arn, task, container = self._run_to_the_end(
            started, S.DUMP_TASK_FAMILY, S.DUMP_CONTAINER, "the database was not touched", targets)
        code = container.get("exitCode")
        if code != 0:
            state = {3: f"there is no dump {name} in {DUMPS_MOUNT}; the database was not touched"}.get(
                code, f"database {DATABASE} may be partly restored: run the restore again (it starts from a new "
                      "database) or restore another dump")
            raise DeploymentError(
                f"task {task_arn} stopped with exit code {code}: "
                f"{container.get('reason') or task.get('stoppedReason')}. Its output is in log group "
                f"{S.log_group(S.DUMP_CONTAINER)}; {state}; {self._services_down(targets)}")
        self.say(f"task {task_arn} restored {name} (exit code 0)")

    def _services_down(self, targets: Targets) -> str:
        back = "; ".join(f"aws ecs update-service --cluster {targets.cluster} --service {s} --desired-count "
                         f"{self.counts[s]}" for s in reversed(DUMP_SERVICES))
        return f"{' and '.join(DUMP_SERVICES)} may be scaled to 0; bring them back with: {back}"


def restore_dump(ctx: AwsContext, env: Environment, name: str, progress: Progress, *, plan_only: bool,
                 confirm: Callable[[str], bool]) -> bool:
    """``herd-cfn restore --dump NAME``. Returns False when the user said no (nothing changed)."""
    job = DumpRestore(ctx, env, progress)
    targets, _ = job.prepare_dump()
    progress.log(f"restore {env.name} (account {env.account_id}, {env.region}) from dump {name}, "
                 f"{'plan only' if plan_only else 'steps'}:")
    for number, step in enumerate(job.plan_dump(name, targets), 1):
        progress.log(f"  {number}. {step}")
    if plan_only:
        progress.log("plan only: nothing was changed")
        return True
    if not confirm(f"Replace database {DATABASE} of {env.name} with {name}? The platform is down until step 3. "
                   "[y/N] "):
        progress.log("not confirmed: nothing was changed")
        return False
    job.run_dump(name, targets)
    return True
