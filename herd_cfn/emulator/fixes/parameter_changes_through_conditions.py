"""A changed parameter reaches the resources that use it through a Condition.

Gap: on a stack update with the same template, moto modifies only the resources that ``Ref`` a changed
parameter directly; a resource whose properties depend on it through a Condition
(``Fn::If [LiveOnGreen, …]``) kept its old properties. The edge stack's CodeDeploy listeners choose their
live target group with ``Fn::If [LiveOnGreen, …]`` on ``ManagerLiveTargetGroup``: the rollout passed
green, the stack recorded green, and the listeners stayed on blue.
AWS: "Conditions" of the CloudFormation template reference (conditions are evaluated with the stack's
parameter values on every create and update, and the resources and properties they choose follow);
UpdateStack with new parameter values updates every resource whose resolved properties change.
"""

from __future__ import annotations

from typing import Any


def _refs(node: Any, found: set[str], conditions: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Condition" and isinstance(value, str):
                conditions.add(value)
            elif key == "Fn::If" and isinstance(value, list) and value and isinstance(value[0], str):
                conditions.add(value[0])
            _refs(value, found, conditions)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found, conditions)


def _condition_parameters(name: str, all_conditions: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    """The parameters a condition reads, through the conditions it names."""
    seen = seen if seen is not None else set()
    if name in seen or name not in all_conditions:
        return set()
    seen.add(name)
    params: set[str] = set()
    nested: set[str] = set()
    _refs(all_conditions[name], params, nested)
    for other in nested:
        params |= _condition_parameters(other, all_conditions, seen)
    return params


def install() -> None:
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
                            ) -> dict[str, Any]:
        actions = original(self, other_template, parameters)
        if not parameters:
            return actions
        changed = {p for p in parameters if self.input_parameters.get(p) != parameters[p]}
        conditions = other_template.get("Conditions") or {}
        old = self._resource_json_map
        for name, resource in other_template["Resources"].items():
            if name not in old or name in actions["Modify"]:
                continue
            refs: set[str] = set()
            used: set[str] = set()
            # Properties only: a resource whose own Condition turns on or off is added or removed, which is
            # another matter than updating it.
            _refs(resource.get("Properties", {}), refs, used)
            if any(_condition_parameters(c, conditions) & changed for c in used):
                actions["Modify"].append(name)
        return actions

    ResourceMap.build_resource_diff = build_resource_diff
