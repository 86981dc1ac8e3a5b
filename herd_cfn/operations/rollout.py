"""Roll the StackSet stacks out: one StackSet per stack, one instance per environment, dev before prod.

For each environment in project order, and each stack in dependency order:

1. plan with read-only calls: is the StackSet new, has its template (or tags, roles) changed, is the
   environment's instance new, which of its parameter values change (old -> new);
2. show the plan; stop here with ``--dry-run``;
3. start at most the operations the plan needs, each limited to this environment's account and region,
   and wait for each (polling with backoff) before the next.

Nothing changed means no operation at all: real StackSet operations take minutes even when nothing
changes. Every parameter value is passed per instance (ParameterOverrides), so the result does not
depend on how a service merges StackSet values with overrides (AWS merges, moto replaces).

A failed operation raises DeploymentError with each failed instance's reason; later stacks and later
environments are left untouched. Running again after fixing the cause converges.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from herd_cfn import names
from herd_cfn.build import artifacts as built_files
from herd_cfn.config.environments import Environment, Project
from herd_cfn.errors import DeploymentError, InputError
from herd_cfn.operations import template_source
from herd_cfn.operations.aws import (
    STACKSET_NOT_FOUND,
    AwsContext,
    Retries,
    error_code,
    error_message,
    translate_errors,
    unless_missing,
)
from herd_cfn.operations.live_state import keep_live_state
from herd_cfn.operations.progress import Progress, Row
from herd_cfn.operations.waiting import Waiting
from herd_cfn.templates.base import StackDefinition

DONE_STATUSES = ("SUCCEEDED", "FAILED", "STOPPED")
NO_ECHO_MASK = "****"


@dataclass
class Plan:
    """What one (environment, stack) needs. Empty ``actions`` means nothing to do."""

    environment: Environment
    stack: StackDefinition
    built: built_files.BuiltStack
    stackset_exists: bool = False
    stackset_changes: list[str] = field(default_factory=list)  # why the StackSet itself needs an update
    instance_exists: bool = False
    instance_reasons: list[str] = field(default_factory=list)  # why the instance needs an update
    parameter_changes: list[tuple[str, str | None, str]] = field(default_factory=list)
    previous_keys: set[str] = field(default_factory=set)  # parameter keys the StackSet declares now
    other_instances: list[str] = field(default_factory=list)  # "account/region" of the StackSet's other instances

    @property
    def stackset_name(self) -> str:
        return names.stackset_name(self.stack.name)

    @property
    def actions(self) -> list[str]:
        actions = []
        if not self.stackset_exists:
            actions.append("CreateStackSet")
        elif self.stackset_changes:
            actions.append("UpdateStackSet")
        if not self.instance_exists:
            actions.append("CreateStackInstances")
        elif self.instance_reasons or self.parameter_changes:
            actions.append("UpdateStackInstances")
        return actions

    def describe(self) -> list[str]:
        env = self.environment
        where = f"{env.name} {env.account_id}/{env.region} {self.stack.name}"
        if not self.actions:
            return [f"{where}: no changes"]
        lines = []
        if not self.stackset_exists:
            lines.append(f"{where}: new StackSet {self.stackset_name}")
        for change in self.stackset_changes:
            lines.append(f"{where}: StackSet {self.stackset_name}: {change}")
        if not self.instance_exists:
            lines.append(f"{where}: new stack instance with {len(self.built.parameters)} parameters")
        for reason in self.instance_reasons:
            lines.append(f"{where}: instance: {reason}")
        for key, old, new in self.parameter_changes:
            lines.append(f"{where}: parameter {key}: {'(unset)' if old is None else old} -> {new}")
        return lines


@dataclass
class RolloutResult:
    plans: list[Plan] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)  # operation ids started

    @property
    def changed(self) -> list[Plan]:
        return [p for p in self.plans if p.actions]


class Rollout:
    def __init__(self, ctx: AwsContext, project: Project, output_dir: Path, progress: Progress,
                 template_bucket: str | None = None) -> None:
        self.ctx = ctx
        self.project = project
        self.output_dir = output_dir
        self.progress = progress
        self.template_bucket = template_bucket
        self.admin_account = project.settings.administrator_account_id
        self.admin_region = project.settings.administrator_region
        # StackSets whose template this run changed: later environments' instances must follow even
        # where the service does not mark them OUTDATED (moto never does).
        self._template_updated: set[str] = set()
        self._cfn: Any = None
        # Read once per StackSet while nothing changes it: a no-op rollout to N accounts then costs
        # N + 2 reads per stack instead of 3N (and ListStackInstances returns all N instances each time).
        self._stacksets: dict[str, dict[str, Any] | None] = {}
        self._summaries: dict[str, list[dict[str, Any]]] = {}

    # ----------------------------------------------------------------- accessors
    @property
    def cfn(self) -> Any:
        if self._cfn is None:
            session = self.ctx.session(self.admin_account, self.admin_region)
            self._cfn = self.ctx.client(session, "cloudformation")
        return self._cfn

    def administration_role_arn(self) -> str:
        return self.ctx.role_arn(self.admin_account, self.admin_region, names.ADMINISTRATION_ROLE_NAME)

    def stackset_tags(self, stack: StackDefinition) -> dict[str, str]:
        """A StackSet has one set of tags for all its instances: only tags equal in every environment."""
        per_env = [stack.tags(name) for name in self.project.environments]
        return {k: v for k, v in per_env[0].items() if all(t.get(k) == v for t in per_env)}

    # ----------------------------------------------------------------- planning (read-only)
    def plan(self, env: Environment, stack: StackDefinition, wave: frozenset[str] = frozenset()) -> Plan:
        """``wave``: "account/region" of the instances rolled out together with this one."""
        where = f"{env.name} {env.account_id}/{env.region} {stack.name}"
        built = built_files.load(self.output_dir, stack, env.name)
        built = keep_live_state(self.ctx, env.account_id, env.region, built, self.progress.log, where)
        plan = Plan(environment=env, stack=stack, built=built)
        name = plan.stackset_name
        with translate_errors(f"reading StackSet {name}"):
            stackset = self._stackset(name)
            if stackset is None:
                # In a dry run an earlier environment would have created it.
                plan.stackset_exists = name in self._template_updated
                return plan
            plan.stackset_exists = True
            self._compare_stackset(plan, stackset)
            if name in self._template_updated:
                plan.stackset_changes.clear()  # an earlier environment in this run updates (or updated) it
            instance = self._instance(plan)
        if instance is None:
            if plan.stackset_changes and plan.other_instances and not wave & set(plan.other_instances):
                # UpdateStackSet would have to run on the other environments' instances first.
                raise DeploymentError(
                    f"{env.name} {stack.name}: StackSet {name} has a changed template and no instance in "
                    f"{env.account_id}/{env.region} yet, but instances in {', '.join(plan.other_instances)}; roll "
                    "out the environments that have instances first (in wave order)")
            return plan
        plan.instance_exists = True
        status = instance.get("Status", "CURRENT")
        if status == "INOPERABLE":
            raise DeploymentError(
                f"{env.name} {env.account_id} {stack.name}: stack instance is INOPERABLE "
                f"({instance.get('StatusReason', 'no reason given')}); fix or delete it with "
                f"`aws cloudformation delete-stack-instances --stack-set-name {name} --accounts {env.account_id} "
                f"--regions {env.region} --retain-stacks`, then roll out again")
        if status != "CURRENT":
            reason = instance.get("StatusReason")
            plan.instance_reasons.append(f"status {status}" + (f" ({reason})" if reason else ""))
        elif name in self._template_updated:
            plan.instance_reasons.append("follows the StackSet's new template")
        plan.parameter_changes = parameter_changes(built, instance)
        return plan

    def _compare_stackset(self, plan: Plan, stackset: dict[str, Any]) -> None:
        if stackset.get("PermissionModel", "SELF_MANAGED") != "SELF_MANAGED":
            raise DeploymentError(f"StackSet {plan.stackset_name} uses {stackset['PermissionModel']} permissions; "
                                  "herd-cfn manages SELF_MANAGED StackSets only")
        plan.previous_keys = {p["ParameterKey"] for p in stackset.get("Parameters") or []}
        if not template_source.same_template(stackset.get("TemplateBody"), plan.built.template_body):
            plan.stackset_changes.append("template changed")
        wanted_keys = set(plan.built.parameters)
        if plan.previous_keys != wanted_keys and "template changed" not in plan.stackset_changes:
            plan.stackset_changes.append("parameter keys changed")
        tags = {t["Key"]: t["Value"] for t in stackset.get("Tags") or []}
        if tags != self.stackset_tags(plan.stack):
            plan.stackset_changes.append(f"tags {tags} -> {self.stackset_tags(plan.stack)}")
        admin_role = stackset.get("AdministrationRoleARN")
        if admin_role and admin_role != self.administration_role_arn():
            plan.stackset_changes.append(f"administration role {admin_role} -> {self.administration_role_arn()}")
        execution_role = stackset.get("ExecutionRoleName")
        if execution_role and execution_role != names.EXECUTION_ROLE_NAME:
            plan.stackset_changes.append(f"execution role {execution_role} -> {names.EXECUTION_ROLE_NAME}")
        if not (stackset.get("ManagedExecution") or {}).get("Active"):
            plan.stackset_changes.append("managed execution off -> on")
        capabilities = stackset.get("Capabilities")
        if capabilities is not None and sorted(capabilities) != sorted(plan.stack.capabilities):
            plan.stackset_changes.append(f"capabilities {sorted(capabilities)} -> {sorted(plan.stack.capabilities)}")

    def _stackset(self, name: str) -> dict[str, Any] | None:
        if name not in self._stacksets:
            self._stacksets[name] = unless_missing(
                lambda: self.cfn.describe_stack_set(StackSetName=name)["StackSet"], *STACKSET_NOT_FOUND)
        return self._stacksets[name]

    def _forget(self, name: str) -> None:
        self._stacksets.pop(name, None)
        self._summaries.pop(name, None)

    def _instance(self, plan: Plan) -> dict[str, Any] | None:
        env, name = plan.environment, plan.stackset_name
        if name not in self._summaries:
            self._summaries[name] = [summary for page in
                                     self.cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
                                     for summary in page.get("Summaries", [])]
        summaries = self._summaries[name]
        # Matched here rather than with the API's filters, which not every implementation honours.
        match = [s for s in summaries if s.get("Account") == env.account_id and s.get("Region") == env.region]
        plan.other_instances = [f"{s.get('Account')}/{s.get('Region')}" for s in summaries if s not in match]
        if not match:
            return None
        detail = self.cfn.describe_stack_instance(
            StackSetName=name, StackInstanceAccount=env.account_id, StackInstanceRegion=env.region,
        )["StackInstance"]
        return {**match[0], **detail}

    # ----------------------------------------------------------------- applying
    def apply(self, plan: Plan) -> list[str]:
        """Serial: start what ``plan`` needs and wait for each operation before the next."""
        operations = []
        if not plan.stackset_exists:
            self.create_stackset(plan)
        elif plan.stackset_changes:
            # Limited to this environment's instance; with no instance yet (and none elsewhere, see plan())
            # there is nothing to target.
            operation_id, covered = self.start_stackset_update([plan])
            operations.append(self._wait(plan, operation_id, "UpdateStackSet"))
            self.after_stackset_update([plan], covered)
        started = self.start_instance(plan)
        if started:
            operations.append(self._wait(plan, *started))
        return operations

    def _common(self, plan: Plan) -> dict[str, Any]:
        template = template_source.template_argument(
            self.ctx, plan.built, self.template_bucket, self.admin_account, self.admin_region)
        return {"StackSetName": plan.stackset_name, "Capabilities": list(plan.stack.capabilities),
                "AdministrationRoleARN": self.administration_role_arn(),
                "ExecutionRoleName": names.EXECUTION_ROLE_NAME,
                # Operations on different accounts run concurrently, conflicting ones queue (AWS
                # ManagedExecution); without it the StackSet refuses a second operation while one runs.
                "ManagedExecution": {"Active": True},
                "Tags": [{"Key": k, "Value": v} for k, v in self.stackset_tags(plan.stack).items()], **template}

    def create_stackset(self, plan: Plan) -> None:
        self._forget(plan.stackset_name)
        self._call(plan, "CreateStackSet", lambda: self.cfn.create_stack_set(
            **self._common(plan), PermissionModel="SELF_MANAGED", Description=plan.stack.description,
            # The StackSet must declare every parameter; each instance overrides every value.
            Parameters=plan.built.parameter_list()))
        self._template_updated.add(plan.stackset_name)

    def start_stackset_update(self, plans: list[Plan], tolerance: int = 0) -> tuple[str, list[Plan]]:
        """UpdateStackSet, limited to the instances of ``plans`` in one region (the first that has any).

        Returns the operation id and the plans whose instance it updates. Instances in other regions
        follow with UpdateStackInstances (:meth:`after_stackset_update`): every pair of Accounts and Regions of one call
        would name instances that do not exist.
        """
        first = plans[0]
        self._forget(first.stackset_name)
        with_instance = [p for p in plans if p.instance_exists]
        covered = [p for p in with_instance if p.environment.region == with_instance[0].environment.region
                   ] if with_instance else []
        scope: dict[str, Any] = {}
        if covered:
            region = covered[0].environment.region
            scope = {"Accounts": [p.environment.account_id for p in covered], "Regions": [region],
                     "OperationPreferences": operation_preferences([region], len(covered), tolerance)}
        operation_id = self._operation_id()
        response = self._call(first, "UpdateStackSet", lambda: self.cfn.update_stack_set(
            **self._common(first), OperationId=operation_id, **scope,
            Parameters=self._stackset_parameters(first)))
        self._template_updated.add(first.stackset_name)
        # AWS echoes our id; moto makes its own.
        return response.get("OperationId", operation_id), covered

    def after_stackset_update(self, plans: list[Plan], covered: list[Plan]) -> None:
        """What each instance still needs once UpdateStackSet succeeded."""
        name = plans[0].stackset_name
        self._forget(name)
        for plan in plans:
            if not plan.instance_exists:
                continue
            if plan not in covered:
                plan.instance_reasons.append("follows the StackSet's new template")
                continue
            plan.instance_reasons.clear()  # the update has just redeployed this instance
            if plan.parameter_changes:
                continue
            # AWS keeps an instance's overrides through UpdateStackSet; moto replaces them with the
            # StackSet's values. Reading them back (cheap) makes both end in the same state.
            with translate_errors(f"reading the instance of {name} back"):
                instance = self._instance(plan)
            if instance and parameter_changes(plan.built, instance):
                plan.instance_reasons.append("overrides differ after the StackSet update")
                self.progress.log(f"  {plan.environment.name} {plan.stack.name}: the instance's parameter values "
                                  "differ after the StackSet update; passing them again")

    def start_instance(self, plan: Plan) -> tuple[str, str] | None:
        """CreateStackInstances or UpdateStackInstances for this environment's instance, if it needs one:
        (operation id, action). One account per operation: each instance has its own overrides."""
        env, name = plan.environment, plan.stackset_name
        if plan.instance_exists and not (plan.instance_reasons or plan.parameter_changes):
            return None
        self._forget(name)
        action = "UpdateStackInstances" if plan.instance_exists else "CreateStackInstances"
        method = self.cfn.update_stack_instances if plan.instance_exists else self.cfn.create_stack_instances
        operation_id = self._operation_id()
        response = self._call(plan, action, lambda: method(
            StackSetName=name, OperationId=operation_id, ParameterOverrides=plan.built.parameter_list(),
            Accounts=[env.account_id], Regions=[env.region],
            OperationPreferences=operation_preferences([env.region])))
        # AWS echoes our id; moto makes its own.
        return response.get("OperationId", operation_id), action

    @staticmethod
    def _operation_id() -> str:
        # Our own id (idempotency token): after a Ctrl-C or a lost response we can still name the operation.
        return str(uuid.uuid4())

    def _stackset_parameters(self, plan: Plan) -> list[dict[str, Any]]:
        """Keep the StackSet's own values where it has them; new keys take this environment's value.

        The StackSet's values are never what an instance runs with (every instance overrides every
        value), so keeping them avoids touching what does not need to change.
        """
        return [{"ParameterKey": k, "UsePreviousValue": True} if k in plan.previous_keys
                else {"ParameterKey": k, "ParameterValue": v} for k, v in plan.built.parameters.items()]

    def _call(self, plan: Plan, action: str, call: Callable[[], Any]) -> Any:
        env = plan.environment
        try:
            with translate_errors(f"{env.name} account {env.account_id} ({env.region}) stack {plan.stack.name}: "
                                  f"{action} {plan.stackset_name}"):
                try:
                    return self._retried(call)
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) == "OperationInProgressException":
                        raise DeploymentError(
                            f"another operation is running on StackSet {plan.stackset_name}; watch it with "
                            f"`aws cloudformation list-stack-set-operations --stack-set-name {plan.stackset_name}` "
                            "and roll out again when it has finished") from None
                    # The service refused at once (moto does this for every failure; AWS for invalid requests).
                    raise DeploymentError(
                        f"{env.name} account {env.account_id} ({env.region}) stack {plan.stack.name}: {action} "
                        f"failed: {error_code(exc)}: {error_message(exc)}") from None
        except KeyboardInterrupt:
            self.progress.log(
                f"interrupted while sending {action} for StackSet {plan.stackset_name}: it may have started in AWS; "
                f"check `aws cloudformation list-stack-set-operations --stack-set-name {plan.stackset_name}`")
            raise

    def _retried(self, call: Callable[[], Any]) -> Any:
        """Throttling is retried at once with short jittered waits; a StackSet busy with another operation
        (one that is not managed yet, or someone else's) for as long as an operation may take. The same
        OperationId goes with every try, so a retry never starts a second operation."""
        polling = self.ctx.polling
        busy = Retries(attempts=12, base=polling.initial, cap=polling.maximum)
        return self.ctx.retrying(lambda: self.ctx.retrying(call), frozenset({"OperationInProgressException"}), busy)

    def _wait(self, plan: Plan, operation_id: str, action: str) -> str:
        env, name = plan.environment, plan.stackset_name
        key = f"{name}/{operation_id}"
        self.progress.start(key, Row(env.name, env.account_id, plan.stack.name, action))
        watch = (f"aws cloudformation describe-stack-set-operation --stack-set-name {name} "
                 f"--operation-id {operation_id} --region {self.admin_region}")
        stop = (f"aws cloudformation stop-stack-set-operation --stack-set-name {name} "
                f"--operation-id {operation_id} --region {self.admin_region}")

        def describe() -> str:
            with translate_errors(f"watching {action} on {name}"):
                return self.cfn.describe_stack_set_operation(
                    StackSetName=name, OperationId=operation_id)["StackSetOperation"]["Status"]

        def interrupted(message: str) -> None:
            self.progress.close()
            self.progress.log(message)

        waiting = Waiting(f"{action} {operation_id} on StackSet {name} ({env.name} {env.account_id})",
                          f"\n  watch: {watch}\n  stop:  {stop}")
        status = self.ctx.wait_for(waiting, describe, lambda s: s in DONE_STATUSES,
                                   lambda s, elapsed: self.progress.update(key, s, elapsed), interrupted)
        if status != "SUCCEEDED":
            raise DeploymentError(self._failure(plan, operation_id, action, status))
        return operation_id

    def _failure(self, plan: Plan, operation_id: str, action: str, status: str) -> str:
        env, name = plan.environment, plan.stackset_name
        lines = [f"{action} on StackSet {name} {status} in {env.name} (account {env.account_id}, {env.region})"]
        lines += self.failure_reasons(plan, operation_id, action, status)
        lines.append("later stacks and environments were not touched; fix the cause and roll out again")
        return "\n".join(lines)

    def failure_reasons(self, plan: Plan, operation_id: str, action: str, status: str) -> list[str]:
        """One line per instance the operation did not succeed on, with AWS's reason."""
        name = plan.stackset_name
        with translate_errors(f"reading why {action} on {name} {status}"):
            results = []
            for page in self.cfn.get_paginator("list_stack_set_operation_results").paginate(
                    StackSetName=name, OperationId=operation_id):
                results.extend(page.get("Summaries", []))
            instances = {(i.get("Account"), i.get("Region")): i
                         for page in self.cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
                         for i in page.get("Summaries", [])}
        lines = []
        for result in results:
            if result.get("Status") == "SUCCEEDED":
                continue
            instance = instances.get((result.get("Account"), result.get("Region")), {})
            reason = result.get("StatusReason") or instance.get("StatusReason") or "no reason given"
            lines.append(f"  account {result.get('Account')} {result.get('Region')} stack {plan.stack.name}: "
                         f"{result.get('Status')}: {reason}")
        return lines

    # ----------------------------------------------------------------- the whole rollout
    def run(self, environments: list[Environment], stacks: list[StackDefinition], dry_run: bool) -> RolloutResult:
        """One environment and one stack at a time, each operation waited for before the next
        (``herd-cfn rollout --serial``); herd_cfn.operations.waves rolls out in waves."""
        result = RolloutResult()
        for env in environments:
            self.progress.log(f"== {env.name}: account {env.account_id}, region {env.region}")
            for stack in stacks:
                plan = self.plan(env, stack)
                result.plans.append(plan)
                for line in plan.describe():
                    self.progress.log(f"  {line}")
                if dry_run:
                    if {"CreateStackSet", "UpdateStackSet"} & set(plan.actions):
                        self._template_updated.add(plan.stackset_name)
                    continue
                if plan.actions:
                    result.operations.extend(self.apply(plan))
        return result


def parameter_changes(built: built_files.BuiltStack, instance: dict[str, Any]
                      ) -> list[tuple[str, str | None, str]]:
    """(key, deployed, wanted) for every value the instance does not override as wanted."""
    deployed = {p["ParameterKey"]: p.get("ParameterValue") for p in instance.get("ParameterOverrides") or []
                if isinstance(p, dict)}
    declared = template_source.normalise(built.template_body).get("Parameters") or {}
    no_echo = {k for k, v in declared.items() if str(v.get("NoEcho", "")).lower() == "true"}
    changes: list[tuple[str, str | None, str]] = []
    for key, value in built.parameters.items():
        old = deployed.get(key)
        if key in no_echo and old == NO_ECHO_MASK:
            continue  # AWS masks NoEcho values, so they cannot be compared
        if old != value:
            changes.append((key, old, value))
    for key in sorted(set(deployed) - set(built.parameters)):
        changes.append((key, deployed[key], "(removed)"))
    return changes


def operation_preferences(regions: list[str], accounts: int = 1, tolerance: int = 0) -> dict[str, Any]:
    """One account: stop at its failure. Several (a wave's UpdateStackSet): all at once, and go on while
    at most ``tolerance`` fail (soft tolerance: AWS's default strict mode would cap the concurrency at
    tolerance + 1). Regions in parallel only when there are several."""
    regions_type = "PARALLEL" if len(set(regions)) > 1 else "SEQUENTIAL"
    if accounts <= 1:
        return {"FailureToleranceCount": 0, "MaxConcurrentCount": 1, "RegionConcurrencyType": regions_type}
    return {"FailureToleranceCount": tolerance, "MaxConcurrentPercentage": 100,
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "RegionConcurrencyType": regions_type}


def select_stacks(selected: list[str] | None) -> list[StackDefinition]:
    from herd_cfn.templates import registry

    if not selected:
        return list(registry.stackset_stacks())
    stacks = registry.select(selected)
    wrong = [s.name for s in stacks if s.scope != "stackset"]
    if wrong:
        raise InputError("--stack", None, f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} deployed by "
                         "`herd-cfn bootstrap`, not as a StackSet")
    return stacks
