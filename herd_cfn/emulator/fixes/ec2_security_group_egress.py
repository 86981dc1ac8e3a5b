"""``AWS::EC2::SecurityGroupEgress`` as an outbound rule of its group.

Gap: moto's CloudFormation has no model of this type (it has SecurityGroupIngress): the service stack's
egress rules between the load balancers, manager, Keycloak and PostgreSQL were skipped, so
``ec2.describe_security_groups`` showed none of them.
AWS: the CloudFormation resource reference of AWS::EC2::SecurityGroupEgress (Ref and GetAtt ``Id``: the
rule id ``sgr-...``; ``CidrIp``/``CidrIpv6``/``DestinationSecurityGroupId``/``DestinationPrefixListId``
with IpProtocol, FromPort, ToPort; Description updates in place, the rest replaces the rule), as
AuthorizeSecurityGroupEgress adds it.
"""

from __future__ import annotations

from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def _rule(properties: dict[str, Any]) -> dict[str, Any]:
    description = properties.get("Description")
    ip_ranges = [{"CidrIp": properties["CidrIp"], **({"Description": description} if description else {})}
                 ] if properties.get("CidrIp") else []
    if properties.get("CidrIpv6"):
        ip_ranges.append({"CidrIpv6": properties["CidrIpv6"], **({"Description": description} if description else {})})
    groups = [{"GroupId": properties["DestinationSecurityGroupId"],
               **({"Description": description} if description else {})}
              ] if properties.get("DestinationSecurityGroupId") else []
    prefixes = [{"PrefixListId": properties["DestinationPrefixListId"]}
                ] if properties.get("DestinationPrefixListId") else []
    protocol = str(properties["IpProtocol"])
    return {"group_name_or_id": properties["GroupId"], "ip_protocol": protocol,
            "from_port": properties.get("FromPort", -1 if protocol == "-1" else None),
            "to_port": properties.get("ToPort", -1 if protocol == "-1" else None),
            "ip_ranges": ip_ranges, "source_groups": groups, "prefix_list_ids": prefixes}


class SecurityGroupEgress(Resource):
    TYPE = "AWS::EC2::SecurityGroupEgress"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        rules, _ = _backend(account_id, region).authorize_security_group_egress(**_rule(properties))
        return cls(rules[0].id, {"Id": rules[0].id})

    def remove(self) -> None:
        rule = _rule(self.properties)
        _backend(self.account_id, self.region_name).revoke_security_group_egress(**rule)


def install() -> None:
    register(SecurityGroupEgress)
