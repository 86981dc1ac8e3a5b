"""A new stack's resources are created, in DependsOn order, before its outputs and exports are read.

Gap: moto's ``create_stack`` checks the new stack's export names before it creates the resources, and
reading an export's value creates the resource it refers to on the spot, outside the DependsOn order.
An ECS service that names its task definition by family (``TaskDefinition: herd-manager``, ordered by
``DependsOn``) was then created before that task definition ("Unable to describe task definition").
AWS: "DependsOn attribute" in the CloudFormation template reference (a resource is created only after
the resources it depends on), and "Outputs" (output values are resolved once the resources exist).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original_validate = CloudFormationBackend._validate_export_uniqueness

    def validate_export_uniqueness(self: Any, stack: Any) -> None:
        if stack.status == "CREATE_PENDING":
            # create_stack reads the exports here and creates the resources next: create them first, in
            # DependsOn order (the lazy resource map keeps them, so the second pass finds them made).
            stack.resource_map.create(stack.template_dict)
        original_validate(self, stack)

    CloudFormationBackend._validate_export_uniqueness = validate_export_uniqueness
