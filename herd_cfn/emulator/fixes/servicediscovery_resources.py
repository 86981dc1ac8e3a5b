"""``AWS::ServiceDiscovery::PrivateDnsNamespace`` and ``AWS::ServiceDiscovery::Service`` in Cloud Map.

Gap: moto's CloudFormation has no model of these types (moto's Cloud Map backend has them): the
service stack's namespace and discovery services were skipped, and ``Fn::GetAtt [PostgresDiscoveryService,
Arn]`` failed "references undefined resource".
AWS: the CloudFormation resource reference of AWS::ServiceDiscovery::PrivateDnsNamespace (Ref: the
namespace id; GetAtt ``Id``, ``Arn``, ``HostedZoneId``; Name and Vpc replace it) and
AWS::ServiceDiscovery::Service (Ref: the service id; GetAtt ``Id``, ``Arn``, ``Name``; Name, NamespaceId
and Type replace it, the rest updates in place as UpdateService does).
"""

from __future__ import annotations

from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[account_id][region]


def _tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in tags or []]


class PrivateDnsNamespace(Resource):
    TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    ATTRIBUTES = ("Id", "Arn", "HostedZoneId")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        backend = _backend(account_id, region)
        operation_id = backend.create_private_dns_namespace(
            name=properties["Name"], creator_request_id=None, description=properties.get("Description"),
            vpc=properties["Vpc"], tags=_tags(properties.get("Tags")), properties=properties.get("Properties"))
        namespace = backend.get_namespace(backend.get_operation(operation_id).targets["NAMESPACE"])
        return cls(namespace.id, {"Id": namespace.id, "Arn": namespace.arn,
                                  "HostedZoneId": namespace.dns_properties["HostedZoneId"].split("/")[-1]})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if any(properties.get(k) != self.properties.get(k) for k in ("Name", "Vpc")):
            return super().update(name, properties)
        namespace = _backend(self.account_id, self.region_name).get_namespace(self.ref)
        namespace.description = properties.get("Description")
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_namespace(self.ref)


class DiscoveryService(Resource):
    TYPE = "AWS::ServiceDiscovery::Service"
    ATTRIBUTES = ("Id", "Arn", "Name")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        backend = _backend(account_id, region)
        dns_config = properties.get("DnsConfig")
        namespace_id = properties.get("NamespaceId") or (dns_config or {}).get("NamespaceId")
        service = backend.create_service(
            name=properties.get("Name", name), namespace_id=namespace_id, creator_request_id=None,
            description=properties.get("Description"), dns_config=dns_config,
            health_check_config=properties.get("HealthCheckConfig"),
            health_check_custom_config=properties.get("HealthCheckCustomConfig"),
            tags=_tags(properties.get("Tags")), service_type=properties.get("Type"))
        return cls(service.id, {"Id": service.id, "Arn": service.arn, "Name": service.name})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if any(properties.get(k) != self.properties.get(k) for k in ("Name", "NamespaceId", "Type")):
            return super().update(name, properties)
        details = {k: properties[k] for k in ("Description", "DnsConfig", "HealthCheckConfig") if k in properties}
        if "DnsConfig" in details:
            details["DnsConfig"] = {"DnsRecords": details["DnsConfig"].get("DnsRecords", [])}
        _backend(self.account_id, self.region_name).update_service(self.ref, details)
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_service(self.ref)


def install() -> None:
    register(PrivateDnsNamespace, DiscoveryService)
