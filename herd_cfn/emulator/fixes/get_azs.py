"""``Fn::GetAZs`` answers the zones of the stack's region.

Gap: moto answers us-east-1a..d whatever the stack's region, so a VPC in eu-west-1 got subnets in
us-east-1 zones (AWS refuses those).
AWS: "Fn::GetAZs" in the CloudFormation template reference (intrinsic functions): the zones of the
given region, or of the stack's region for ``''``. Here: the zones moto's EC2 reports for that region
in the stack's account.
"""

from __future__ import annotations

from typing import Any


def _availability_zones(resources_map: Any, region: str) -> list[str]:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[resources_map["AWS::AccountId"]][region]
    return sorted(zone.name for zone in backend.describe_availability_zones())


def install() -> None:
    from moto.cloudformation import parsing

    original_clean = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = original_clean(resource_json["Fn::GetAZs"], resources_map) or resources_map["AWS::Region"]
            return _availability_zones(resources_map, region)
        return original_clean(resource_json, resources_map)

    # clean_json recurses through the module global, so a GetAZs nested in Select resolves here too.
    parsing.clean_json = clean_json
