"""StackSet instance stacks are named ``StackSet-<stack set>-<uuid>``.

Gap: moto names them ``StackSet:<stack set>``; the colon breaks physical names CloudFormation
generates from the stack name (target groups, load balancers), and it is not the name the bootstrap
execution role's permissions are scoped to.
AWS: the StackSets user guide ("stack instances": the stack of an instance is named
``StackSet-<stack set name>-<id>``).
"""

from __future__ import annotations

from typing import Any

_MOTO_INSTANCE_PREFIX = "StackSet:"


def install() -> None:
    import uuid

    from moto.cloudformation.models import CloudFormationBackend

    original_create = CloudFormationBackend.create_stack

    def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith(_MOTO_INSTANCE_PREFIX):
            name = f"StackSet-{name[len(_MOTO_INSTANCE_PREFIX):]}-{uuid.uuid4()}"
        return original_create(self, name, *args, **kwargs)

    # moto's StackInstance creates its stack through the backend and keeps the stack it gets back, so
    # later updates and deletes of the instance find it under the new name.
    CloudFormationBackend.create_stack = create_stack
