"""UpdateStackInstances and UpdateStackSet update the stacks of the instances.

Gap: moto (5.2.5) records new ParameterOverrides on the stack instance ("Calling this will update the
parameters, but the actual resources are not updated", its docstring) and UpdateStackSet keeps the new
template on the stack set only: the instance's stack kept its old parameter values and template, so a
changed parameter never reached a resource.
AWS: the CloudFormation API reference of UpdateStackInstances ("updates the parameter values for stack
instances ... the stack instances' stacks are updated") and UpdateStackSet (the stack set's template and
parameters are applied to the stack instances in the given accounts and Regions); each instance's stack
gets the stack set's parameter values with the instance's overrides on top.
"""

from __future__ import annotations

from typing import Any


def _values(parameters: Any) -> dict[str, str]:
    if isinstance(parameters, dict):
        return {str(k): str(v) for k, v in parameters.items()}
    return {p["ParameterKey"]: p["ParameterValue"] for p in parameters or [] if "ParameterValue" in p}


def install() -> None:
    from moto.cloudformation.models import StackSet

    if getattr(StackSet.update_instances, "_herd_updates_stacks", False):
        return
    original = StackSet.update_instances

    def update_instances(self: Any, accounts: list[str], regions: list[str], parameters: Any) -> Any:
        operation = original(self, accounts, regions, parameters)
        for account in accounts:
            for region in regions:
                instance = self.instances.get_instance(account, region)
                stack = getattr(instance, "stack", None)
                if stack is None:
                    continue
                values = {**_values(self.parameters), **_values(instance.parameters)}
                stack.update(self.template, parameters=values)
        return operation

    update_instances._herd_updates_stacks = True  # type: ignore[attr-defined]
    StackSet.update_instances = update_instances
