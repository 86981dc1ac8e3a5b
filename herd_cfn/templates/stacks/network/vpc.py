"""The VPC: subnets over 2 or 3 AZs (the third under a Condition), an internet gateway, NAT gateways (one,
or one per AZ) and an S3 gateway endpoint."""

from __future__ import annotations

from troposphere import (
    And,
    Equals,
    GetAtt,
    GetAZs,
    If,
    Join,
    Not,
    Ref,
    Select,
    Sub,
    Template,
    ec2,
)
from troposphere import (
    Condition as CfnCondition,
)

from herd_cfn import names
from herd_cfn.templates.helpers import name_tags

N = names.Network


def _az_condition(az: str) -> str | None:
    return N.THREE_AZS if az == "C" else None


def _nat_for(az: str) -> object:
    """The NAT gateway a private subnet in ``az`` routes through: its own, or A's when there is one."""
    if az == "A":
        return Ref(N.nat_gateway("A"))
    return If(N.NAT_PER_AZ, Ref(N.nat_gateway(az)), Ref(N.nat_gateway("A")))


def _nat_condition(az: str) -> str | None:
    return {"A": None, "B": N.NAT_PER_AZ, "C": N.NAT_PER_AZ_AND_THREE_AZS}[az]


def subnet_list(kind: str) -> object:
    ref = {"public": N.public_subnet, "private": N.private_subnet}[kind]
    return If(N.THREE_AZS,
              Join(",", [Ref(ref("A")), Ref(ref("B")), Ref(ref("C"))]),
              Join(",", [Ref(ref("A")), Ref(ref("B"))]))


def conditions(t: Template) -> None:
    t.add_condition(N.THREE_AZS, Equals(Ref(N.AZ_COUNT), "3"))
    t.add_condition(N.NAT_PER_AZ, Not(Equals(Ref(N.NAT_GATEWAY_COUNT), "1")))
    t.add_condition(N.NAT_PER_AZ_AND_THREE_AZS, And(CfnCondition(N.NAT_PER_AZ), CfnCondition(N.THREE_AZS)))
    t.add_rule("NatGatewayCountMatchesAzCount", {
        "RuleCondition": Not(Equals(Ref(N.NAT_GATEWAY_COUNT), "1")),
        "Assertions": [{
            "Assert": Equals(Ref(N.NAT_GATEWAY_COUNT), Ref(N.AZ_COUNT)),
            "AssertDescription": "NatGatewayCount must be 1 or equal to AzCount",
        }],
    })


def vpc(t: Template) -> None:
    t.add_resource(ec2.VPC(
        N.VPC, CidrBlock=Ref(N.VPC_CIDR), EnableDnsHostnames=True, EnableDnsSupport=True, Tags=name_tags("vpc"),
    ))
    t.add_resource(ec2.InternetGateway(N.INTERNET_GATEWAY, Tags=name_tags("igw")))
    t.add_resource(ec2.VPCGatewayAttachment(
        N.GATEWAY_ATTACHMENT, VpcId=Ref(N.VPC), InternetGatewayId=Ref(N.INTERNET_GATEWAY),
    ))
    t.add_resource(ec2.RouteTable(N.PUBLIC_ROUTE_TABLE, VpcId=Ref(N.VPC), Tags=name_tags("public")))
    t.add_resource(ec2.Route(
        N.PUBLIC_DEFAULT_ROUTE, DependsOn=N.GATEWAY_ATTACHMENT, RouteTableId=Ref(N.PUBLIC_ROUTE_TABLE),
        DestinationCidrBlock="0.0.0.0/0", GatewayId=Ref(N.INTERNET_GATEWAY),
    ))


def availability_zone(t: Template, index: int, az: str) -> None:
    """Everything of one AZ: its public and private subnet, the private route table and the NAT gateway."""
    condition = _az_condition(az)
    extra = {"Condition": condition} if condition else {}
    # GetAZs "" is the stack's own region (same as AWS::Region, and understood by moto too).
    zone = Select(index, GetAZs(""))
    _public_subnet(t, index, az, zone, extra)
    _private_subnet(t, index, az, zone, extra)
    _nat_gateway(t, az)


def _public_subnet(t: Template, index: int, az: str, zone: Select, extra: dict) -> None:
    t.add_resource(ec2.Subnet(
        N.public_subnet(az), VpcId=Ref(N.VPC), AvailabilityZone=zone,
        CidrBlock=Select(index, Ref(N.PUBLIC_SUBNET_CIDRS)),
        # Only the load balancers and NAT gateways live here, and they get their own addresses.
        MapPublicIpOnLaunch=False, Tags=name_tags(f"public-{az.lower()}"), **extra,
    ))
    t.add_resource(ec2.SubnetRouteTableAssociation(
        N.public_subnet_route(az), SubnetId=Ref(N.public_subnet(az)),
        RouteTableId=Ref(N.PUBLIC_ROUTE_TABLE), **extra,
    ))


def _private_subnet(t: Template, index: int, az: str, zone: Select, extra: dict) -> None:
    t.add_resource(ec2.Subnet(
        N.private_subnet(az), VpcId=Ref(N.VPC), AvailabilityZone=zone,
        CidrBlock=Select(index, Ref(N.PRIVATE_SUBNET_CIDRS)), MapPublicIpOnLaunch=False,
        Tags=name_tags(f"private-{az.lower()}"), **extra,
    ))
    t.add_resource(ec2.RouteTable(
        N.private_route_table(az), VpcId=Ref(N.VPC), Tags=name_tags(f"private-{az.lower()}"), **extra,
    ))
    t.add_resource(ec2.SubnetRouteTableAssociation(
        N.private_subnet_route(az), SubnetId=Ref(N.private_subnet(az)),
        RouteTableId=Ref(N.private_route_table(az)), **extra,
    ))
    t.add_resource(ec2.Route(
        N.private_default_route(az), RouteTableId=Ref(N.private_route_table(az)),
        DestinationCidrBlock="0.0.0.0/0", NatGatewayId=_nat_for(az), **extra,
    ))


def _nat_gateway(t: Template, az: str) -> None:
    nat_condition = _nat_condition(az)
    nat_extra = {"Condition": nat_condition} if nat_condition else {}
    t.add_resource(ec2.EIP(
        N.nat_eip(az), DependsOn=N.GATEWAY_ATTACHMENT, Domain="vpc", Tags=name_tags(f"nat-{az.lower()}"),
        **nat_extra,
    ))
    t.add_resource(ec2.NatGateway(
        N.nat_gateway(az), AllocationId=GetAtt(N.nat_eip(az), "AllocationId"),
        SubnetId=Ref(N.public_subnet(az)), Tags=name_tags(f"nat-{az.lower()}"), **nat_extra,
    ))


def s3_endpoint(t: Template) -> None:
    t.add_resource(ec2.VPCEndpoint(
        N.S3_ENDPOINT, VpcId=Ref(N.VPC), VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
        RouteTableIds=If(N.THREE_AZS,
                         [Ref(N.private_route_table(az)) for az in N.AZ_LETTERS],
                         [Ref(N.private_route_table(az)) for az in N.AZ_LETTERS[:2]]),
    ))
