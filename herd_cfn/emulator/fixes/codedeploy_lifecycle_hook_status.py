"""``codedeploy:PutLifecycleEventHookExecutionStatus``: a lifecycle hook reports its result.

Gap: moto 5.2.5's CodeDeploy has no PutLifecycleEventHookExecutionStatus (botocore raised "Not yet
implemented"), so no appspec hook function could report to the emulator.
AWS: the CodeDeploy API reference of PutLifecycleEventHookExecutionStatus (request deploymentId,
lifecycleEventHookExecutionId, status; "only Succeeded and Failed can be passed successfully"; the response
echoes lifecycleEventHookExecutionId; errors DeploymentDoesNotExistException,
InvalidLifecycleEventHookExecutionStatusException, LifecycleEventAlreadyCompletedException,
UnsupportedActionForDeploymentTypeException for a deployment that is neither ECS nor Lambda).
What stays the emulator's: CodeDeploy issues the execution ids when it invokes a hook; nothing in the emulator
invokes hooks, so any id of an existing deployment is taken and its status recorded once. :func:`hook_statuses`
gives what was recorded (a test driver playing CodeDeploy reads it, as CodeDeploy would wait for it).
"""

from __future__ import annotations

from typing import Any

REPORTABLE = ("Succeeded", "Failed")


def _error(code: str, message: str) -> Exception:
    from moto.codedeploy.exceptions import CodeDeployException

    return CodeDeployException(code, message)


def _statuses(deployment: Any) -> dict[str, str]:
    if not hasattr(deployment, "herd_hook_statuses"):
        deployment.herd_hook_statuses = {}
    return deployment.herd_hook_statuses


def put_status(backend: Any, deployment_id: str, execution_id: str, status: str) -> str:
    deployment = backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
    if deployment.application.compute_platform not in ("ECS", "Lambda"):
        raise _error("UnsupportedActionForDeploymentTypeException",
                     "PutLifecycleEventHookExecutionStatus is for ECS and Lambda deployments only")
    if status not in REPORTABLE:
        raise _error("InvalidLifecycleEventHookExecutionStatusException",
                     f"status must be one of {', '.join(REPORTABLE)}, not {status!r}")
    if not execution_id:
        raise _error("InvalidLifecycleEventHookExecutionIdException", "lifecycleEventHookExecutionId is required")
    statuses = _statuses(deployment)
    if execution_id in statuses:
        raise _error("LifecycleEventAlreadyCompletedException",
                     f"lifecycle event hook execution {execution_id} already reported {statuses[execution_id]}")
    statuses[execution_id] = status
    return execution_id


def hook_statuses(account_id: str, region: str, deployment_id: str) -> dict[str, str]:
    """{execution id: status} the hooks of a deployment reported so far."""
    from moto.codedeploy.models import codedeploy_backends

    return dict(_statuses(codedeploy_backends[account_id][region].get_deployment(deployment_id)))


def install() -> None:
    from moto.codedeploy.responses import CodeDeployResponse
    from moto.core.responses import ActionResult

    def put_lifecycle_event_hook_execution_status(self: Any) -> Any:
        execution_id = put_status(self.codedeploy_backend, self._get_param("deploymentId"),
                                  self._get_param("lifecycleEventHookExecutionId"), self._get_param("status"))
        return ActionResult({"lifecycleEventHookExecutionId": execution_id})

    CodeDeployResponse.put_lifecycle_event_hook_execution_status = put_lifecycle_event_hook_execution_status
