"""A resource that names a replaced resource is updated to the replacement.

Gap: on a stack update moto modifies only the resources whose own template or parameters changed. When
one of them is replaced (a new physical id: a task definition's change registers a new revision), the
resources that ``Ref`` or ``Fn::GetAtt`` it kept the old one: Keycloak's ECS service stayed on the old
revision of its task definition after a change of Keycloak's size, where AWS moves it to the new one.
AWS: "Understand update behaviors of stack resources" (CloudFormation User Guide: a replacement has a new
physical ID; CloudFormation changes the references of other dependent resources to point to it, then
deletes the old one) and the AWS::ECS::TaskDefinition reference (its property changes require replacement).
"""

from __future__ import annotations

from typing import Any


def _names(node: Any, found: set[str]) -> None:
    """The logical ids a resource's properties name through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found.update(part.split("}")[0].split(".")[0] for part in text.split("${")[1:])
            _names(value, found)
    elif isinstance(node, list):
        for item in node:
            _names(item, found)


def _physical_ids(resource_map: Any) -> dict[str, Any]:
    """Physical ids of the parsed resources. moto keeps None for a modified resource whose type it cannot
    update (no update_from_cloudformation_json): that is no replacement, and has no id."""
    return {name: getattr(resource, "physical_resource_id", None)
            for name, resource in resource_map._parsed_resources.items() if resource is not None}


def install() -> None:
    from moto.cloudformation.parsing import ResourceMap, parse_and_update_resource

    original = ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        modified = set(self.build_resource_diff(template, parameters)["Modify"])
        before = _physical_ids(self)
        original(self, template, parameters)
        after = _physical_ids(self)
        replaced = {name for name in modified
                    if before.get(name) is not None and after.get(name) not in (None, before[name])}
        done = set(modified)
        while replaced:
            dependents = set()
            for name, resource_json in self._resource_json_map.items():
                if name in done or name not in self._parsed_resources:
                    continue
                named: set[str] = set()
                _names(resource_json.get("Properties", {}), named)
                if named & replaced:
                    dependents.add(name)
            replaced = set()
            for name in sorted(dependents):
                done.add(name)
                updated = parse_and_update_resource(name, self._resource_json_map[name], self,
                                                    account_id=self._account_id, region_name=self._region_name)
                if updated is None:  # a type moto cannot update: it keeps what it has
                    continue
                self._parsed_resources[name] = updated
                new_id = getattr(updated, "physical_resource_id", None)
                if new_id is not None and new_id != after.get(name):
                    replaced.add(name)  # its own dependents follow in the next round

    ResourceMap.update = update
