"""Gaps of moto 5.2.5's CloudFormation that our templates hit, filled in the moto of this process.

Each fix makes moto answer what AWS documents, so the templates of output/ deploy unchanged to the
emulator (stacks and StackSets alike):

* ``Fn::GetAZs ''`` (the network stack's subnets): moto answers us-east-1a..d whatever the stack's
  region, so a VPC in eu-west-1 got subnets in us-east-1 zones (AWS refuses those). AWS answers the
  zones of the given region, or of the stack's region for ``''``; here: the zones moto's EC2 reports
  for that region in the stack's account.
* ``AWS::EFS::FileSystem`` (data stack): moto's model has no ``get_cfn_attribute``, so ``Fn::GetAtt
  [FileSystem, Arn]`` ends in an AttributeError (HTTP 500). Here: ``Arn`` and ``FileSystemId``.
* ``AWS::EFS::AccessPoint`` (data stack): no ``get_cfn_attribute`` either, and no physical resource
  id, so ``Ref`` gave the Python object's repr instead of the ``fsap-...`` id the service stack
  mounts. Here: ``Ref`` is the id; ``Arn`` and ``AccessPointId``.
* StackSet instance stacks: moto names them ``StackSet:<stack set>``; the colon breaks physical names
  CloudFormation generates from the stack name (target groups, load balancers), and it is not the name
  the bootstrap execution role's permissions are scoped to. AWS names them
  ``StackSet-<stack set>-<uuid>``, and so does moto here.

Installed by :meth:`herd_cfn.emulator.LocalAws.start`, so the tests, the benchmark and ``--local`` run
the same moto. Real AWS never sees any of this; nothing else in moto's behaviour is changed (what moto
still skips or gets wrong is listed in DESIGN.md §6 and pinned by the tests).
"""

from __future__ import annotations

from typing import Any

_installed = False

# The attributes AWS documents for Fn::GetAtt of each type, and where moto's model keeps each value.
EFS_ATTRIBUTES = {
    "AWS::EFS::FileSystem": {"Arn": "file_system_arn", "FileSystemId": "file_system_id"},
    "AWS::EFS::AccessPoint": {"Arn": "access_point_arn", "AccessPointId": "access_point_id"},
}


def _availability_zones(resources_map: Any, region: str) -> list[str]:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[resources_map["AWS::AccountId"]][region]
    return sorted(zone.name for zone in backend.describe_availability_zones())


def _install_get_azs() -> None:
    from moto.cloudformation import parsing

    original_clean = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = original_clean(resource_json["Fn::GetAZs"], resources_map) or resources_map["AWS::Region"]
            return _availability_zones(resources_map, region)
        return original_clean(resource_json, resources_map)

    # clean_json recurses through the module global, so a GetAZs nested in Select resolves here too.
    parsing.clean_json = clean_json


def _install_efs_attributes() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.efs.models import AccessPoint, FileSystem

    for model in (FileSystem, AccessPoint):
        attributes = EFS_ATTRIBUTES[model.cloudformation_type()]

        def has_cfn_attr(cls: type, attribute: str, _attributes: dict = attributes) -> bool:
            return attribute in _attributes

        def get_cfn_attribute(self: Any, attribute: str, _attributes: dict = attributes) -> Any:
            if attribute not in _attributes:
                raise UnformattedGetAttTemplateException()
            return getattr(self, _attributes[attribute])

        model.has_cfn_attr = classmethod(has_cfn_attr)
        model.get_cfn_attribute = get_cfn_attribute
    AccessPoint.physical_resource_id = property(lambda self: self.access_point_id)


_MOTO_INSTANCE_PREFIX = "StackSet:"


def _install_instance_stack_names() -> None:
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


def install() -> None:
    """Idempotent; changes moto's classes and functions in this process only."""
    global _installed
    if _installed:
        return
    _install_get_azs()
    _install_efs_attributes()
    _install_instance_stack_names()
    _installed = True
