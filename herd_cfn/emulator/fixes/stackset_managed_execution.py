"""StackSets keep the ManagedExecution they were created or updated with.

Gap: moto 5.2.5 ignores ``ManagedExecution`` on CreateStackSet and UpdateStackSet and always describes
a StackSet with ``{"Active": false}``, so a rollout that asks for managed execution would see it off
and update the StackSet again on every run.
AWS: the CloudFormation API reference, ManagedExecution ("When true, StackSets performs
non-conflicting operations concurrently and queues conflicting operations"); DescribeStackSet returns
it, UpdateStackSet without it leaves it as it is.
"""

from __future__ import annotations

from typing import Any

_ATTRIBUTE = "_herd_managed_execution"


def is_managed(stackset: Any) -> bool:
    return bool(getattr(stackset, _ATTRIBUTE, False))


def _active(value: Any) -> bool | None:
    if isinstance(value, dict):
        value = value.get("Active")
    if value is None:
        return None
    return value is True or str(value).lower() == "true"


def install() -> None:
    from moto.cloudformation.models import StackSet
    from moto.cloudformation.responses import CloudFormationResponse

    StackSet.managed_execution = property(lambda self: {"Active": is_managed(self)})  # type: ignore[assignment]

    def recording(original: Any) -> Any:
        def handler(self: Any) -> Any:
            result = original(self)
            wanted = _active(self._get_param("ManagedExecution"))
            if wanted is not None:
                stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
                setattr(stackset, _ATTRIBUTE, wanted)
            return result
        return handler

    for action in ("create_stack_set", "update_stack_set"):
        setattr(CloudFormationResponse, action, recording(getattr(CloudFormationResponse, action)))
