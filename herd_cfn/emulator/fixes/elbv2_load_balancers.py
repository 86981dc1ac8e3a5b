"""Load balancers keep their Type, Scheme and attributes; the documented GetAtt of load balancers and
target groups.

Gap: moto's CloudFormation created every AWS::ElasticLoadBalancingV2::LoadBalancer as an application
load balancer (so the NLB's TLS listener was refused: "must be one of HTTP, HTTPS"), with ``app/`` in
every ARN (the API does the same for ``Type: network``), without its LoadBalancerAttributes; GetAtt
``LoadBalancerFullName``, ``CanonicalHostedZoneID`` and ``SecurityGroups`` gave nothing, and a target
group had no GetAtt at all and lost its TargetGroupAttributes.
AWS: the CloudFormation resource reference of AWS::ElasticLoadBalancingV2::LoadBalancer (Ref: the ARN,
``arn:...:loadbalancer/app|net/<name>/<id>``; GetAtt ``LoadBalancerFullName`` = ``app|net/<name>/<id>``,
``LoadBalancerName``, ``DNSName``, ``CanonicalHostedZoneID``, ``SecurityGroups``, ``LoadBalancerArn``;
attributes, subnets and security groups update in place, Name/Type/Scheme replace) and of
AWS::ElasticLoadBalancingV2::TargetGroup (GetAtt ``TargetGroupName``, ``TargetGroupFullName`` =
``targetgroup/<name>/<id>``, ``TargetGroupArn``, ``LoadBalancerArns``); the Elastic Load Balancing
endpoints table for the canonical hosted zone ids (only the regions below; moto's placeholder elsewhere).
"""

from __future__ import annotations

from typing import Any

# Route 53 hosted zone ids of Elastic Load Balancing ("Elastic Load Balancing endpoints and quotas").
CANONICAL_HOSTED_ZONES = {
    ("eu-west-1", "application"): "Z32O12XQLNTSW2",
    ("eu-west-1", "network"): "Z2IFOLAFXWLO4F",
    ("us-east-1", "application"): "Z35SXDOTRQ7X7K",
    ("us-east-1", "network"): "Z26RNL4JYFTOTI",
}
_TYPE_PREFIX = {"application": "app", "network": "net", "gateway": "gwy"}
LOAD_BALANCER_ATTRIBUTES = ("DNSName", "LoadBalancerName", "CanonicalHostedZoneID", "LoadBalancerFullName",
                            "SecurityGroups", "LoadBalancerArn")
TARGET_GROUP_ATTRIBUTES = ("TargetGroupName", "TargetGroupFullName", "TargetGroupArn", "LoadBalancerArns")


def _backend(account_id: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account_id][region]


def _pairs(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {item["Key"]: str(item["Value"]).lower() if isinstance(item["Value"], bool) else str(item["Value"])
            for item in items or [] if item}  # AWS::NoValue leaves None in a list


def _full_name(arn: str, marker: str) -> str:
    return arn.split(marker, 1)[1]


def _retype_arn(backend: Any, balancer: Any) -> None:
    """moto's ARN always says app/; AWS: loadbalancer/net/<name>/<id> for a network load balancer."""
    prefix = _TYPE_PREFIX.get(balancer.type, "app")
    if prefix == "app":
        return
    old = balancer.arn
    balancer.arn = old.replace(":loadbalancer/app/", f":loadbalancer/{prefix}/")
    backend.load_balancers[balancer.arn] = backend.load_balancers.pop(old)
    tags = backend.tagging_service.tags.pop(old, None)
    if tags is not None:
        backend.tagging_service.tags[balancer.arn] = tags


def install() -> None:
    _install_load_balancers()
    _install_target_groups()


def _install_load_balancers() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer

    original_create = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original_create(self, *args, **kwargs)
        _retype_arn(self, balancer)
        balancer.canonical_hosted_zone_id = CANONICAL_HOSTED_ZONES.get(
            (self.region_name, balancer.type), balancer.canonical_hosted_zone_id)
        return balancer

    @classmethod  # type: ignore[misc]
    def create_balancer_from_cfn(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                 region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        balancer = backend.create_load_balancer(
            resource_name, properties.get("SecurityGroups") or [], properties.get("Subnets") or [],
            subnet_mappings=properties.get("SubnetMappings"), scheme=properties.get("Scheme", "internet-facing"),
            loadbalancer_type=properties.get("Type", "application"),
            ip_address_type=properties.get("IpAddressType", "ipv4"), tags=properties.get("Tags"))
        attributes = _pairs(properties.get("LoadBalancerAttributes"))
        if attributes:
            backend.modify_load_balancer_attributes(balancer.arn, attributes)
        return balancer

    @classmethod  # type: ignore[misc]
    def update_balancer_from_cfn(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                 account_id: str, region_name: str) -> Any:
        properties = cloudformation_json["Properties"]
        replaced = (new_resource_name != original_resource.name
                    or properties.get("Type", "application") != original_resource.type
                    or properties.get("Scheme", "internet-facing") != original_resource.scheme)
        if replaced:
            new = create_balancer_from_cfn.__func__(cls, new_resource_name, cloudformation_json, account_id,
                                                    region_name)
            original_resource.delete(account_id, region_name)
            return new
        backend = _backend(account_id, region_name)
        if properties.get("SecurityGroups"):
            backend.set_security_groups(original_resource.arn, properties["SecurityGroups"])
        attributes = _pairs(properties.get("LoadBalancerAttributes"))
        if attributes:
            backend.modify_load_balancer_attributes(original_resource.arn, attributes)
        return original_resource

    def balancer_attribute(self: Any, attribute_name: str) -> Any:
        values = {
            "DNSName": self.dns_name, "LoadBalancerName": self.name, "LoadBalancerArn": self.arn,
            "CanonicalHostedZoneID": self.canonical_hosted_zone_id, "SecurityGroups": list(self.security_groups),
            "LoadBalancerFullName": _full_name(self.arn, ":loadbalancer/"),
        }
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    ELBv2Backend.create_load_balancer = create_load_balancer
    FakeLoadBalancer.create_from_cloudformation_json = create_balancer_from_cfn
    FakeLoadBalancer.update_from_cloudformation_json = update_balancer_from_cfn
    FakeLoadBalancer.has_cfn_attr = classmethod(lambda cls, attr: attr in LOAD_BALANCER_ATTRIBUTES)
    FakeLoadBalancer.get_cfn_attribute = balancer_attribute


def _install_target_groups() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeTargetGroup

    original_group_create = FakeTargetGroup.create_from_cloudformation_json.__func__

    @classmethod  # type: ignore[misc]
    def create_group_from_cfn(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                              region_name: str, **kwargs: Any) -> Any:
        group = original_group_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        attributes = _pairs(cloudformation_json["Properties"].get("TargetGroupAttributes"))
        if attributes:
            _backend(account_id, region_name).modify_target_group_attributes(group.arn, attributes)
        return group

    def group_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name not in TARGET_GROUP_ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return {
            "TargetGroupName": self.name, "TargetGroupArn": self.arn,
            "TargetGroupFullName": self.arn.split(":", 5)[5],
            "LoadBalancerArns": list(self.load_balancer_arns),
        }[attribute_name]

    FakeTargetGroup.create_from_cloudformation_json = create_group_from_cfn
    FakeTargetGroup.has_cfn_attr = classmethod(lambda cls, attr: attr in TARGET_GROUP_ATTRIBUTES)
    FakeTargetGroup.get_cfn_attribute = group_attribute
