"""A stack's resources are deleted in reverse dependency order.

Gap: moto's ``ResourceMap.delete`` deletes the resources of a stack in set order and retries what failed,
until a pass deletes nothing; a security group rule whose group went first then fails every pass
("InvalidGroup.NotFound"), and DeleteStackInstances of the service stack failed.
AWS: the CloudFormation user guide, "DependsOn attribute" ("resources are deleted in the reverse order of
their creation"; a resource that references another through Ref or Fn::GetAtt depends on it): dependents
go first. Resources with ``DeletionPolicy: Retain`` are kept, as moto already does.
"""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from typing import Any

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")


def references(node: Any, names: set[str]) -> set[str]:
    """The resources ``node`` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in names:
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(n for n in _SUB_NAME.findall(str(text)) if n in names)
                if isinstance(value, list) and len(value) > 1:
                    found |= references(value[1], names)
            else:
                found |= references(value, names)
    elif isinstance(node, list):
        for item in node:
            found |= references(item, names)
    return found


def deletion_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Logical ids, dependents before what they depend on."""
    names = set(resources)
    graph = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else list(depends)
        graph[name] = (references(resource.get("Properties") or {}, names) | set(depends)) & names - {name}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except Exception:  # a cycle (invalid on AWS): moto's order
        return list(resources)
    return list(reversed(order))


def install() -> None:
    from moto.cloudformation.parsing import ResourceMap

    if getattr(ResourceMap.delete, "_herd_ordered", False):
        return
    original = ResourceMap.delete

    def delete(self: Any) -> None:
        ordered = deletion_order(self._resource_json_map)
        for logical_id in ordered:
            resource_json = self._resource_json_map[logical_id]
            parsed = self._parsed_resources.get(logical_id)
            if resource_json.get("DeletionPolicy") == "Retain" or parsed is None or isinstance(parsed, str):
                continue
            try:
                self._delete_resource(parsed, resource_json)
            except Exception:  # left to moto's passes below, as before
                continue
            self._parsed_resources.pop(logical_id, None)
        # What failed in order (and moto's bookkeeping of what is left) goes through moto's own passes.
        original(self)

    delete._herd_ordered = True  # type: ignore[attr-defined]
    ResourceMap.delete = delete
