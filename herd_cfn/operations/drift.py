"""``herd-cfn status --drift``: CloudFormation drift detection of every stack instance, waited for, then
each drifted resource with its property differences.

What the deployments change by design is reported as expected, not as drift: each blue/green deployment
rewrites the production and test listeners' target groups (edge stack) and replaces the manager
service's task set and task definition (service stack); the pipeline's ECS action moves Keycloak's
service to its own revision of Keycloak's task definition. StackSets (``DetectStackSetDrift``) for the
instances of the rollout; stacks deployed with ``herd-cfn deploy`` (``DetectStackDrift``) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herd_cfn import names
from herd_cfn.config.environments import Environment, Project
from herd_cfn.errors import DeploymentError
from herd_cfn.operations.aws import STACKSET_NOT_FOUND, AwsContext, translate_errors, unless_missing
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.waiting import Waiting
from herd_cfn.templates import registry

E, S = names.Edge, names.Service
# (stack, logical id) -> property paths the deployments (CodeDeploy, the pipeline's ECS action) rewrite on purpose.
EXPECTED = {
    (names.EDGE, E.HTTPS_LISTENER): ("DefaultActions",),
    (names.EDGE, E.TEST_LISTENER): ("DefaultActions",),
    (names.SERVICE, S.MANAGER_SERVICE): ("TaskDefinition", "LoadBalancers", "TaskSets", "DesiredCount"),
    (names.SERVICE, S.KEYCLOAK_SERVICE): ("TaskDefinition",),
}
DRIFTED = ["MODIFIED", "DELETED"]
DETECTION_DONE = ("DETECTION_COMPLETE", "DETECTION_FAILED")


@dataclass
class ResourceDrift:
    environment: str
    account: str
    stack: str
    logical_id: str
    resource_type: str
    status: str
    differences: list[str] = field(default_factory=list)
    expected: bool = False

    def line(self) -> str:
        kind = "expected (deployment)" if self.expected else "DRIFT"
        head = f"{kind:<21} {self.environment:<8} {self.account} {self.stack:<10} {self.logical_id} " \
               f"{self.resource_type} {self.status}"
        return "\n".join([head, *(f"    {d}" for d in self.differences)])


def _is_expected(stack: str, logical_id: str, paths: list[str]) -> bool:
    allowed = EXPECTED.get((stack, logical_id), ())
    return bool(paths) and all(any(p.lstrip("/").startswith(a) for a in allowed) for p in paths)


def _differences(drift: dict[str, Any]) -> tuple[list[str], list[str]]:
    lines, paths = [], []
    for diff in drift.get("PropertyDifferences") or []:
        paths.append(diff["PropertyPath"])
        lines.append(f"{diff['PropertyPath']} {diff.get('DifferenceType', '')}: expected "
                     f"{diff.get('ExpectedValue')} actual {diff.get('ActualValue')}")
    return lines, paths


def _pages(cfn: Any, stack_id: str) -> Any:
    """DescribeStackResourceDrifts pages (boto3 has no paginator for it)."""
    token: dict[str, str] = {}
    while True:
        page = cfn.describe_stack_resource_drifts(StackName=stack_id, StackResourceDriftStatusFilters=DRIFTED,
                                                  **token)
        yield page
        if not page.get("NextToken"):
            return
        token = {"NextToken": page["NextToken"]}


def resource_drifts(cfn: Any, env: Environment, stack: str, stack_id: str) -> list[ResourceDrift]:
    result = []
    for page in _pages(cfn, stack_id):
        for drift in page.get("StackResourceDrifts", []):
            lines, paths = _differences(drift)
            logical_id = drift["LogicalResourceId"]
            result.append(ResourceDrift(env.name, env.account_id, stack, logical_id, drift["ResourceType"],
                                        drift["StackResourceDriftStatus"], lines,
                                        _is_expected(stack, logical_id, paths)))
    return result


class DriftCheck:
    def __init__(self, ctx: AwsContext, project: Project, progress: Progress) -> None:
        self.ctx, self.project, self.progress = ctx, project, progress
        settings = project.settings
        self.admin = ctx.client(ctx.session(settings.administrator_account_id, settings.administrator_region),
                                "cloudformation")

    def run(self, environments: list[Environment]) -> list[ResourceDrift]:
        found: list[ResourceDrift] = []
        for stack in registry.stackset_stacks():
            instances = self._stackset_instances(stack.name, environments)
            if instances:
                self._detect_stackset(stack.name)
            for env in environments:
                stack_id = instances.get(env.account_id) or self._detect_stack(env, stack.name)
                if stack_id:
                    cfn = self.ctx.client(self.ctx.session(env.account_id, env.region), "cloudformation")
                    with translate_errors(f"reading the drift of {stack.name} in {env.account_id}"):
                        found += resource_drifts(cfn, env, stack.name, stack_id)
        return found

    def _stackset_instances(self, stack: str, environments: list[Environment]) -> dict[str, str]:
        name = names.stackset_name(stack)
        accounts = {(env.account_id, env.region) for env in environments}
        with translate_errors(f"reading StackSet {name}"):
            pages = self.admin.get_paginator("list_stack_instances").paginate(StackSetName=name)
            summaries = unless_missing(lambda: [s for page in pages for s in page.get("Summaries", [])],
                                       *STACKSET_NOT_FOUND) or []
        return {s["Account"]: s["StackId"] for s in summaries
                if (s.get("Account"), s.get("Region")) in accounts and s.get("StackId")}

    def _detect_stackset(self, stack: str) -> None:
        name = names.stackset_name(stack)
        with translate_errors(f"detecting drift of StackSet {name}"):
            operation = self.admin.detect_stack_set_drift(StackSetName=name)["OperationId"]
            status = self.ctx.wait_for(
                Waiting(f"drift detection {operation} of StackSet {name}"),
                lambda: self.admin.describe_stack_set_operation(
                    StackSetName=name, OperationId=operation)["StackSetOperation"]["Status"],
                lambda s: s in ("SUCCEEDED", "FAILED", "STOPPED"))
        if status != "SUCCEEDED":
            raise DeploymentError(f"drift detection of StackSet {name} {status}")
        self.progress.log(f"drift detection of {name}: {status}")

    def _detect_stack(self, env: Environment, stack: str) -> str | None:
        """DetectStackDrift of the stack `herd-cfn deploy` made, if there is one; its id."""
        cfn = self.ctx.client(self.ctx.session(env.account_id, env.region), "cloudformation")
        stack_name = names.stack_name(stack)
        with translate_errors(f"detecting drift of {stack_name} in {env.account_id}"):
            found = unless_missing(lambda: cfn.describe_stacks(StackName=stack_name)["Stacks"][0], "ValidationError")
            if not found:
                return None
            detection = cfn.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"]
            status = self.ctx.wait_for(
                Waiting(f"drift detection of {stack_name} in {env.account_id}"),
                lambda: cfn.describe_stack_drift_detection_status(
                    StackDriftDetectionId=detection)["DetectionStatus"],
                lambda s: s in DETECTION_DONE)
        self.progress.log(f"drift detection of {stack_name} in {env.name}: {status}")
        return found["StackId"]
