"""``Ref`` and ``Fn::GetAtt`` of EFS file systems and access points.

Gap: moto's EFS models have no ``get_cfn_attribute``, so ``Fn::GetAtt [FileSystem, Arn]`` ends in an
AttributeError (HTTP 500); an access point has no physical resource id, so ``Ref`` gave the Python
object's repr instead of the ``fsap-...`` id.
AWS: the CloudFormation resource reference of AWS::EFS::FileSystem (GetAtt ``Arn``, ``FileSystemId``)
and AWS::EFS::AccessPoint (Ref: the access point id; GetAtt ``Arn``, ``AccessPointId``).
"""

from __future__ import annotations

from typing import Any

# The attributes AWS documents for Fn::GetAtt of each type, and where moto's model keeps each value.
EFS_ATTRIBUTES = {
    "AWS::EFS::FileSystem": {"Arn": "file_system_arn", "FileSystemId": "file_system_id"},
    "AWS::EFS::AccessPoint": {"Arn": "access_point_arn", "AccessPointId": "access_point_id"},
}


def install() -> None:
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
