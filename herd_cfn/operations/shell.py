"""``herd-cfn shell`` and ``herd-cfn psql``: a command in the running task of one service, through ECS Exec.

herd-cfn finds the task (cluster from the service stack's exports, the service's RUNNING task whose
ECS Exec agent runs) and hands the terminal to the real clients: ``aws ecs execute-command``, which
opens the session with the Session Manager plugin. Everything that would make the session fail is
refused first, in one line: the plugin or the AWS CLI missing, the environment's switch off
(``service.execute_command``), no running task, or a task started without ECS Exec.

ECS Exec runs the command as root in the container. ``psql`` connects over the container's local
socket as the database owner, which OpenRemote's PostgreSQL image trusts: its base image's
docker-entrypoint.sh (timescaledb-docker-ha) runs initdb without ``--auth`` (local connections:
trust) and appends a password rule for ``host`` connections only. No password is ever copied.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from herd_cfn import names
from herd_cfn.config.environments import Environment
from herd_cfn.errors import DeploymentError, InputError
from herd_cfn.operations import outputs
from herd_cfn.operations.aws import AwsContext, translate_errors
from herd_cfn.templates.stacks.service.tasks import DB_USER

S = names.Service


@dataclass(frozen=True)
class Target:
    service: str  # the ECS service
    container: str  # its one container


TARGETS = {
    "manager": Target(S.MANAGER_SERVICE_NAME, S.MANAGER_CONTAINER),
    "keycloak": Target(S.KEYCLOAK_SERVICE_NAME, S.KEYCLOAK_CONTAINER),
    "postgresql": Target(S.POSTGRES_SERVICE_NAME, S.POSTGRES_CONTAINER),
}
# sh, not bash: the slimmed PostgreSQL image keeps a basic shell only.
DEFAULT_COMMAND = "/bin/sh"
DATABASE = "openremote"  # POSTGRES_DB of OpenRemote's image, the manager's OR_DB_NAME default
PSQL_COMMAND = f"psql -U {DB_USER} -d {DATABASE}"
PLUGIN = "session-manager-plugin"
PLUGIN_INSTALL = ("install the Session Manager plugin for the AWS CLI: https://docs.aws.amazon.com/systems-manager/"
                  "latest/userguide/session-manager-working-with-install-plugin.html")
AWS_CLI_INSTALL = "install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
EXEC_AGENT = "ExecuteCommandAgent"


@dataclass(frozen=True)
class Session:
    """What ``aws ecs execute-command`` is run with: its arguments and the environment they need."""

    argv: list[str]
    env: dict[str, str]
    note: str = ""  # said before the command when --print cannot show everything (assumed-role credentials)

    def shown(self) -> str:
        return shlex.join(self.argv)


def check_clients(which: Callable[[str], str | None] = shutil.which) -> None:
    """The AWS CLI and its Session Manager plugin, before anything is asked of AWS."""
    if which("aws") is None:
        raise InputError("aws", None, f"the AWS CLI is not on PATH; it opens the session: {AWS_CLI_INSTALL}")
    if which(PLUGIN) is None:
        raise InputError(PLUGIN, None, f"not on PATH; the AWS CLI needs it for ECS Exec: {PLUGIN_INSTALL}")


def _export(values: Mapping[str, str], output: str) -> str | None:
    return values.get(names.export_name(names.SERVICE, output))


def cluster_of(cfn: Any, env: Environment) -> str:
    """The cluster, from the service stack's exports; refuses when the environment switched exec off."""
    with translate_errors(f"reading the CloudFormation exports of account {env.account_id}"):
        values = outputs.exports(cfn)
    cluster = _export(values, S.OUT_CLUSTER_NAME)
    if not cluster:
        raise DeploymentError(f"the service stack is not deployed in account {env.account_id} ({env.region}): "
                              f"no export {names.export_name(names.SERVICE, S.OUT_CLUSTER_NAME)}")
    # A stack from before the switch has no such export; the task's own flag answers then.
    if _export(values, S.OUT_EXEC) == "false":
        raise DeploymentError(f"ECS Exec is off in {env.name} ({env.file}: service.execute_command is false); "
                              "set it to true and roll out the service stack first")
    return cluster


def _agent_status(task: Mapping[str, Any], container: str) -> str | None:
    for item in task.get("containers", []):
        if item.get("name") == container:
            for agent in item.get("managedAgents", []):
                if agent.get("name") == EXEC_AGENT:
                    return agent.get("lastStatus")
    return None


def running_task(ecs: Any, cluster: str, target: Target) -> str:
    """The ARN of the service's newest RUNNING task that can take a session."""
    doing = f"looking for the running task of {target.service}"
    with translate_errors(doing):
        arns = ecs.list_tasks(cluster=cluster, serviceName=target.service, desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    tasks = sorted((t for t in tasks if t.get("lastStatus") == "RUNNING"),
                   key=lambda t: str(t.get("startedAt", "")), reverse=True)
    if not tasks:
        raise DeploymentError(f"{target.service} has no running task in cluster {cluster}; "
                              f"see `aws ecs describe-services --cluster {cluster} --services {target.service}`")
    enabled = [t for t in tasks if t.get("enableExecuteCommand")]
    if not enabled:
        raise DeploymentError(
            f"ECS Exec is off on the running task of {target.service} ({_short(tasks[0]['taskArn'])}): it started "
            "before exec was turned on; a new task gets it (the manager's next deployment, or `aws ecs "
            f"update-service --cluster {cluster} --service {target.service} --force-new-deployment`)")
    status = _agent_status(enabled[0], target.container)
    if status not in (None, "RUNNING"):
        raise DeploymentError(f"the ECS Exec agent in {target.service}'s task {_short(enabled[0]['taskArn'])} is "
                              f"{status}, not RUNNING; it cannot take a session (is the task role's exec policy "
                              "there?)")
    return enabled[0]["taskArn"]


def _short(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def _access(ctx: AwsContext, env: Environment, session: Any) -> tuple[list[str], dict[str, str], str]:
    """How the AWS CLI gets the same credentials as herd-cfn: a profile when one names them, else the
    session's (assumed-role) credentials in its environment."""
    profile = ctx.account_profiles.get(env.account_id) or (None if ctx.role_name else ctx.profile)
    options = ["--region", env.region]
    if ctx.endpoint_url:
        options += ["--endpoint-url", ctx.endpoint_url]
    if profile:
        return ["--profile", profile, *options], {}, ""
    if not ctx.role_name:
        return options, {}, ""
    frozen = session.get_credentials().get_frozen_credentials()
    env_vars = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
                "AWS_SESSION_TOKEN": frozen.token or ""}
    return options, env_vars, (f"# with the credentials of role {ctx.role_name} in account {env.account_id} "
                               "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)")


def prepare(ctx: AwsContext, env: Environment, service: str, command: str) -> Session:
    """The session into ``service``'s running task: read-only calls, then the command to run."""
    target = TARGETS[service]
    session = ctx.session(env.account_id, env.region)
    cluster = cluster_of(ctx.client(session, "cloudformation"), env)
    task = running_task(ctx.client(session, "ecs"), cluster, target)
    options, env_vars, note = _access(ctx, env, session)
    argv = ["aws", *options, "ecs", "execute-command", "--cluster", cluster, "--task", task,
            "--container", target.container, "--interactive", "--command", command]
    return Session(argv, env_vars, note)


def run(session: Session, runner: Callable[..., Any] = subprocess.run) -> int:
    """Hand the terminal to the AWS CLI until the session ends; its exit code is ours."""
    # Ctrl-C belongs to the session (the plugin forwards it), not to herd-cfn waiting for it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return runner(session.argv, env={**os.environ, **session.env}, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)


def describe(session: Session) -> Sequence[str]:
    """The lines ``--print`` shows."""
    return [line for line in (session.note, session.shown()) if line]
