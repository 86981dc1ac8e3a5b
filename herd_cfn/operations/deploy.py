"""``herd-cfn deploy``: one stack in one account through a change set, for users who do not want StackSets.

The change set is shown before anything changes; ``--plan`` stops there and removes it. An empty
change set means "no changes" (AWS ends it FAILED with "The submitted information didn't contain
changes..."; some implementations raise "No updates are to be performed." instead: both are handled).
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from herd_cfn.build.artifacts import MAX_TEMPLATE_BODY_BYTES, BuiltStack
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.errors import DeploymentError
from herd_cfn.operations import template_source
from herd_cfn.operations.aws import AwsContext, error_code, error_message, translate_errors
from herd_cfn.operations.live_state import keep_live_state
from herd_cfn.operations.progress import Progress, Row
from herd_cfn.operations.waiting import Waiting

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
STACK_DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
              "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_COMPLETE",
              "DELETE_FAILED", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")


@dataclass(frozen=True)
class Target:
    """Where one stack goes."""

    label: str  # environment name, or "administrator"
    account_id: str
    region: str
    stack_name: str
    tags: dict[str, str]


@dataclass
class DeployResult:
    changed: bool
    executed: bool
    changes: list[str]


def _is_no_changes(reason: str | None) -> bool:
    return bool(reason) and any(text in reason for text in NO_CHANGES)


def deploy(ctx: AwsContext, target: Target, built: BuiltStack, progress: Progress, plan_only: bool = False,
           template_bucket: str | None = None) -> DeployResult:
    cfn = ctx.client(ctx.session(target.account_id, target.region), "cloudformation")
    where = f"{target.label} {target.account_id}/{target.region} {target.stack_name}"
    built = keep_live_state(ctx, target.account_id, target.region, built, progress.log, where)
    with translate_errors(f"deploying {target.stack_name} in {target.account_id}"):
        stack = _describe(cfn, target.stack_name)
        status = _deployable_status(stack, target, where)
        change_type = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
        name = f"herd-cfn-{time.strftime('%Y%m%d%H%M%S')}"
        template = template_source.template_argument(ctx, built, template_bucket, target.account_id, target.region)
        try:
            created = cfn.create_change_set(
                StackName=target.stack_name, ChangeSetName=name, ChangeSetType=change_type, **template,
                Parameters=built.parameter_list(), Capabilities=list(built.stack.capabilities),
                Tags=[{"Key": k, "Value": v} for k, v in target.tags.items()],
                Description=f"herd-cfn deploy of {built.stack.name}")
        except botocore.exceptions.ClientError as exc:
            if _is_no_changes(error_message(exc)):
                progress.log(f"{where}: no changes")
                return DeployResult(changed=False, executed=False, changes=[])
            raise
        change_set_id = created["Id"]

        def cleanup() -> None:
            cfn.delete_change_set(ChangeSetName=change_set_id)
            if change_type == "CREATE" and status is None:
                # A CREATE change set made an empty REVIEW_IN_PROGRESS stack; leave nothing behind.
                cfn.delete_stack(StackName=target.stack_name)

        change_set = _wait_change_set(ctx, cfn, change_set_id)
        if change_set["Status"] == "FAILED":
            reason = change_set.get("StatusReason", "")
            cleanup()
            if _is_no_changes(reason):
                progress.log(f"{where}: no changes")
                return DeployResult(changed=False, executed=False, changes=[])
            raise DeploymentError(f"{where}: change set failed: {reason}")
        changes = describe_changes(change_set, stack)
        progress.log(f"{where}: {change_type} change set {name}:")
        for line in changes:
            progress.log(f"  {line}")
        if plan_only:
            cleanup()
            for line in environment_plan(built):
                progress.log(f"{where}: {line}")
            progress.log(f"{where}: plan only; change set deleted, nothing deployed")
            return DeployResult(changed=True, executed=False, changes=changes)
        cfn.execute_change_set(ChangeSetName=change_set_id)
    _wait_stack(ctx, cfn, target, where, change_type, progress)
    return DeployResult(changed=True, executed=True, changes=changes)


def _deployable_status(stack: dict | None, target: Target, where: str) -> str | None:
    """The stack's status (None: no stack yet), or why no change set can start now."""
    status = stack["StackStatus"] if stack else None
    if status == "ROLLBACK_COMPLETE":
        raise DeploymentError(
            f"{where}: the stack's creation failed earlier (ROLLBACK_COMPLETE) and CloudFormation cannot update "
            f"it; delete it (`aws cloudformation delete-stack --stack-name {target.stack_name} --region "
            f"{target.region}`) and deploy again")
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeploymentError(f"{where}: another operation is running ({status}); wait for it and try again")
    return status


def environment_plan(built: BuiltStack) -> list[str]:
    """What this environment gets from the template: its Conditions evaluated with the environment's
    values, and the resources and outputs they keep or leave out (as CloudFormation decides at deploy
    time; an emulator's change set may list every resource)."""
    template = template_source.normalise(built.template_body) or {}
    evaluated = Evaluated(template, built.parameters)
    conditions = sorted(template.get("Conditions") or {})
    resources = template.get("Resources") or {}
    kept = evaluated.resources()
    left_out = [name for name in resources if name not in kept]
    lines = []
    if conditions:
        lines.append("conditions with these values: " + ", ".join(
            f"{name}={'true' if evaluated.condition(name) else 'false'}" for name in conditions))
    lines.append(f"this environment gets {len(kept)} of the template's {len(resources)} resources"
                 + (f"; left out by a Condition: {', '.join(left_out)}" if left_out else ""))
    outputs = template.get("Outputs") or {}
    missing = [name for name in outputs if name not in evaluated.outputs()]
    if missing:
        lines.append(f"outputs left out by a Condition: {', '.join(missing)}")
    return lines


def _describe(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return None
        raise


def _wait_change_set(ctx: AwsContext, cfn: Any, change_set_id: str) -> dict[str, Any]:
    latest: dict[str, Any] = {}

    def describe() -> str:
        latest.clear()
        latest.update(cfn.describe_change_set(ChangeSetName=change_set_id))
        return latest["Status"]

    ctx.wait_for(Waiting(f"change set {change_set_id}"), describe, lambda s: s in ("CREATE_COMPLETE", "FAILED"))
    # Changes are paginated; collect every page.
    pages = cfn.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id)
    latest["Changes"] = [change for page in pages for change in page.get("Changes", [])]
    return latest


def describe_changes(change_set: dict[str, Any], stack: dict[str, Any] | None) -> list[str]:
    lines = []
    old = {p["ParameterKey"]: p.get("ParameterValue") for p in (stack or {}).get("Parameters") or []}
    for parameter in change_set.get("Parameters") or []:
        key, value = parameter["ParameterKey"], parameter.get("ParameterValue")
        if stack and old.get(key) != value:
            lines.append(f"parameter {key}: {old.get(key, '(unset)')} -> {value}")
    for change in change_set.get("Changes") or []:
        rc = change.get("ResourceChange", {})
        replacement = rc.get("Replacement")
        suffix = f" (replacement: {replacement})" if rc.get("Action") == "Modify" and replacement else ""
        lines.append(f"{rc.get('Action', '?'):<7} {rc.get('LogicalResourceId')} {rc.get('ResourceType')}{suffix}")
    if not lines:
        lines.append("(the change set lists no resource changes)")
    return lines


def _wait_stack(ctx: AwsContext, cfn: Any, target: Target, where: str, change_type: str, progress: Progress
                ) -> None:
    key = f"{target.account_id}/{target.stack_name}"
    progress.start(key, Row(target.label, target.account_id, target.stack_name, change_type))

    def describe() -> str:
        with translate_errors(f"watching {target.stack_name}"):
            return cfn.describe_stacks(StackName=target.stack_name)["Stacks"][0]["StackStatus"]

    stop = (f"aws cloudformation cancel-update-stack --stack-name {target.stack_name} --region {target.region}"
            if change_type == "UPDATE" else
            f"aws cloudformation delete-stack --stack-name {target.stack_name} --region {target.region}")
    watch = f"aws cloudformation describe-stack-events --stack-name {target.stack_name} --region {target.region}"
    def interrupted(message: str) -> None:
        progress.close()
        progress.log(message)

    waiting = Waiting(f"{change_type} of {where}", f"\n  watch: {watch}\n  stop:  {stop}")
    status = ctx.wait_for(waiting, describe, lambda s: s in STACK_DONE, lambda s, e: progress.update(key, s, e),
                          interrupted)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeploymentError(f"{where}: {status}\n" + "\n".join(_failed_events(cfn, target.stack_name)))
    progress.log(f"{where}: {status}")


def _failed_events(cfn: Any, stack_name: str) -> list[str]:
    with translate_errors(f"reading events of {stack_name}"):
        events = cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])
    return [f"  {e.get('LogicalResourceId')} {e.get('ResourceStatus')}: {e.get('ResourceStatusReason')}"
            for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")][:10]


def aws_cli_command(target: Target, built: BuiltStack, template_bucket: str | None = None) -> str:
    """The equivalent ``aws cloudformation deploy`` (awscli v1 and v2): values as ``Key=Value`` pairs."""
    parts = ["aws", "cloudformation", "deploy", "--stack-name", target.stack_name, "--region", target.region,
             "--template-file", str(built.template_file), "--capabilities", *built.stack.capabilities,
             "--no-fail-on-empty-changeset"]
    if built.template_bytes > MAX_TEMPLATE_BODY_BYTES:
        parts += ["--s3-bucket", template_bucket or "YOUR-TEMPLATE-BUCKET"]
    if built.parameters:
        parts += ["--parameter-overrides", *(f"{k}={v}" for k, v in built.parameters.items())]
    if target.tags:
        parts += ["--tags", *(f"{k}={v}" for k, v in target.tags.items())]
    return " ".join(shlex.quote(p) for p in parts)
