"""``herd-cfn status``: each StackSet instance per account (status, detailed status, drift) and whether the
pipeline's GitHub connection is usable. Read-only; works before anything is deployed."""

from __future__ import annotations

from dataclasses import dataclass

from herd_cfn import names
from herd_cfn.config.environments import Environment, Project
from herd_cfn.operations.aws import STACKSET_NOT_FOUND, AwsContext, translate_errors, unless_missing
from herd_cfn.operations.progress import Progress
from herd_cfn.templates import registry

CONNECTION_CONSOLE = ("https://console.aws.amazon.com/codesuite/settings/connections?region={region} "
                      "(choose the connection, then 'Update pending connection')")


@dataclass
class InstanceStatus:
    environment: str
    account: str
    region: str
    stack: str
    status: str  # CURRENT, OUTDATED, INOPERABLE, or NOT DEPLOYED
    detailed: str = ""
    reason: str = ""
    drift: str = ""
    stack_id: str = ""

    def line(self) -> str:
        parts = [f"{self.environment:<8} {self.account} {self.region:<12} {self.stack:<12} {self.status}"]
        if self.detailed:
            parts.append(f"({self.detailed})")
        if self.drift:
            parts.append(f"drift: {self.drift}")
        if self.reason:
            parts.append(f"reason: {self.reason}")
        return " ".join(parts)


def instances(ctx: AwsContext, project: Project, environments: list[Environment]) -> list[InstanceStatus]:
    settings = project.settings
    cfn = ctx.client(ctx.session(settings.administrator_account_id, settings.administrator_region),
                     "cloudformation")
    result = []
    for stack in registry.stackset_stacks():
        name = names.stackset_name(stack.name)
        with translate_errors(f"reading StackSet {name}"):
            pages = cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
            summaries = unless_missing(lambda pages=pages: [s for page in pages for s in page.get("Summaries", [])],
                                       *STACKSET_NOT_FOUND) or []
        for env in environments:
            found = [s for s in summaries if s.get("Account") == env.account_id and s.get("Region") == env.region]
            if not found:
                result.append(InstanceStatus(env.name, env.account_id, env.region, stack.name, "NOT DEPLOYED"))
                continue
            s = found[0]
            result.append(InstanceStatus(
                env.name, env.account_id, env.region, stack.name, s.get("Status", "?"),
                detailed=(s.get("StackInstanceStatus") or {}).get("DetailedStatus", ""),
                reason=s.get("StatusReason", ""), drift=s.get("DriftStatus", ""), stack_id=s.get("StackId", "")))
    return result


def connection_arn(ctx: AwsContext, instance: InstanceStatus) -> str | None:
    """The GitHub connection's ARN from the pipeline stack's outputs, if that stack exists and has one."""
    if not instance.stack_id:
        return None
    cfn = ctx.client(ctx.session(instance.account, instance.region), "cloudformation")
    with translate_errors(f"reading the outputs of {instance.stack} in {instance.account}"):
        stack = unless_missing(lambda: cfn.describe_stacks(StackName=instance.stack_id)["Stacks"][0],
                               "ValidationError")  # "Stack with id ... does not exist"
    if stack is None:
        return None
    for output in stack.get("Outputs") or []:
        value = str(output.get("OutputValue", ""))
        if ":codeconnections:" in value or ":codestar-connections:" in value:
            return value
    return None


def connection_state(ctx: AwsContext, arn: str, account: str, region: str) -> str:
    """AVAILABLE, PENDING, ERROR (or UNKNOWN), as CodeConnections reports it."""
    service = "codestar-connections" if ":codestar-connections:" in arn else "codeconnections"
    client = ctx.client(ctx.session(account, region), service)
    with translate_errors(f"reading connection {arn}"):
        connection = client.get_connection(ConnectionArn=arn)["Connection"]
    return connection.get("ConnectionStatus", "UNKNOWN")


def connection_status(ctx: AwsContext, arn: str, account: str, region: str) -> str:
    status = connection_state(ctx, arn, account, region)
    if status == "PENDING":
        return (f"PENDING: activate it once in the console: {CONNECTION_CONSOLE.format(region=region)}; the "
                "pipeline cannot read GitHub until then")
    if status == "ERROR":
        return "ERROR: the GitHub app lost access; update the connection in the console: " \
               + CONNECTION_CONSOLE.format(region=region)
    return status


def report(ctx: AwsContext, project: Project, environments: list[Environment], progress: Progress) -> None:
    rows = instances(ctx, project, environments)
    progress.log("StackSet instances:")
    for row in rows:
        progress.log(f"  {row.line()}")
    pipeline = [r for r in rows if r.stack == names.PIPELINE]
    progress.log("GitHub connections:")
    if not pipeline:
        progress.log("  no pipeline stack in this project")
    for row in pipeline:
        where = f"{row.environment:<8} {row.account}"
        if row.status == "NOT DEPLOYED":
            progress.log(f"  {where}: pipeline stack not deployed yet (no connection)")
            continue
        arn = connection_arn(ctx, row)
        if arn is None:
            progress.log(f"  {where}: no connection ARN in the pipeline stack's outputs")
            continue
        progress.log(f"  {where}: {arn}: {connection_status(ctx, arn, row.account, row.region)}")
    _dashboards(rows, progress)


DASHBOARD_CONSOLE = ("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
                     "#dashboards/dashboard/{name}")


def _dashboards(rows: list[InstanceStatus], progress: Progress) -> None:
    progress.log("Dashboards:")
    for row in (r for r in rows if r.stack == names.DASHBOARD):
        where = f"{row.environment:<8} {row.account}"
        if row.status == "NOT DEPLOYED":
            progress.log(f"  {where}: dashboard stack not deployed yet")
        else:
            url = DASHBOARD_CONSOLE.format(region=row.region, name=names.Dashboard.DASHBOARD_NAME)
            progress.log(f"  {where}: {url}")
