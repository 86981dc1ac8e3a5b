"""A stack instance's ``StackId`` is the id of the stack it made.

Gap: moto's ``StackInstance.to_dict`` (ListStackInstances, DescribeStackInstance) generates a new random
stack id on every call, so ``describe_stacks(StackName=<instance StackId>)`` finds nothing ("Stack with
id ... does not exist"): ``herd-cfn status`` and ``doctor`` could not read the pipeline stack's outputs
(the GitHub connection).
AWS: the CloudFormation API reference of StackInstanceSummary and StackInstance: ``StackId``, "the ID of
the stack instance", the ARN of the stack in the target account and region.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.cloudformation.models import StackInstance

    if getattr(StackInstance.to_dict, "_herd_stack_id", False):
        return
    original = StackInstance.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        result = original(self)
        stack = getattr(self, "stack", None)
        if stack is not None:
            result["StackId"] = stack.stack_id
        return result

    to_dict._herd_stack_id = True  # type: ignore[attr-defined]
    StackInstance.to_dict = to_dict
