"""The network stack: a VPC over 2 or 3 AZs with public and private subnets, NAT, an S3 gateway
endpoint and flow logs. dev and prod use the same template; AZ and NAT counts are parameters."""

from __future__ import annotations

import ipaddress
from functools import partial
from itertools import combinations

from awacs import logs as logs_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from pydantic import Field, model_validator
from troposphere import (
    AccountId,
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
    iam,
    logs,
)
from troposphere import (
    Condition as CfnCondition,
)

from herd_cfn import names
from herd_cfn.errors import InputError
from herd_cfn.fields import LOG_RETENTION_DAYS, LogRetentionDays, StrictModel, VpcCidr
from herd_cfn.templates.base import Input, StackDefinition
from herd_cfn.templates.helpers import RETAIN, name_tags, output

N = names.Network
# Subnets are carved from the VPC CIDR in 8 equal blocks: private A-C take blocks 0-2, public A-C 3-5,
# blocks 6-7 stay free for later use (e.g. database or transit subnets).
SUBNET_BLOCKS = 8
PRIVATE_BLOCK = {"A": 0, "B": 1, "C": 2}
PUBLIC_BLOCK = {"A": 3, "B": 4, "C": 5}


class NetworkConfig(StrictModel):
    vpc_cidr: VpcCidr = Field(description="IPv4 CIDR of the VPC, /16 to /24; must not overlap other environments")
    az_count: int = Field(ge=2, le=3, description="Availability zones to spread subnets over (2 or 3)")
    nat_gateway_count: int = Field(ge=1, le=3, description="1 (cheaper) or one per AZ (no cross-AZ dependency)")
    flow_log_retention_days: LogRetentionDays = Field(description="Days to keep VPC flow logs")

    @model_validator(mode="after")
    def _nat_matches_azs(self) -> NetworkConfig:
        if self.nat_gateway_count not in (1, self.az_count):
            raise ValueError(
                f"nat_gateway_count must be 1 or equal to az_count ({self.az_count}): one shared NAT gateway or "
                f"one per AZ, got {self.nat_gateway_count}"
            )
        return self


def subnet_cidrs(vpc_cidr: str, kind: str) -> list[str]:
    """The three subnet CIDRs of one kind (A, B, C), computed here rather than with Fn::Cidr so the
    exact ranges are visible in output/parameters and reviewed with every change."""
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(network.subnets(prefixlen_diff=SUBNET_BLOCKS.bit_length() - 1))
    index = PRIVATE_BLOCK if kind == "private" else PUBLIC_BLOCK
    return [str(blocks[index[az]]) for az in N.AZ_LETTERS]


INPUTS = (
    Input(N.VPC_CIDR, "IPv4 CIDR block of the VPC (/16 to /24)", lambda env: env.network.vpc_cidr,
          allowed_pattern=r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-4])$",
          constraint="an IPv4 CIDR block from /16 to /24"),
    Input(N.AZ_COUNT, "Number of availability zones (2 or 3)", lambda env: env.network.az_count,
          allowed_values=("2", "3")),
    Input(N.NAT_GATEWAY_COUNT, "NAT gateways: 1, or one per availability zone",
          lambda env: env.network.nat_gateway_count, allowed_values=("1", "2", "3")),
    Input(N.PUBLIC_SUBNET_CIDRS, "CIDRs of the public subnets in AZ A, B and C (C used only with 3 AZs)",
          lambda env: subnet_cidrs(env.network.vpc_cidr, "public"), type="CommaDelimitedList"),
    Input(N.PRIVATE_SUBNET_CIDRS, "CIDRs of the private subnets in AZ A, B and C (C used only with 3 AZs)",
          lambda env: subnet_cidrs(env.network.vpc_cidr, "private"), type="CommaDelimitedList"),
    Input(N.FLOW_LOG_RETENTION, "Days to keep VPC flow logs", lambda env: env.network.flow_log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
)


def _az_condition(az: str) -> str | None:
    return N.THREE_AZS if az == "C" else None


def _nat_for(az: str) -> object:
    """The NAT gateway a private subnet in ``az`` routes through: its own, or A's when there is one."""
    if az == "A":
        return Ref(N.nat_gateway("A"))
    return If(N.NAT_PER_AZ, Ref(N.nat_gateway(az)), Ref(N.nat_gateway("A")))


def _nat_condition(az: str) -> str | None:
    return {"A": None, "B": N.NAT_PER_AZ, "C": N.NAT_PER_AZ_AND_THREE_AZS}[az]


def _subnet_list(kind: str) -> object:
    ref = {"public": N.public_subnet, "private": N.private_subnet}[kind]
    return If(N.THREE_AZS,
              Join(",", [Ref(ref("A")), Ref(ref("B")), Ref(ref("C"))]),
              Join(",", [Ref(ref("A")), Ref(ref("B"))]))


def build(t: Template) -> None:
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

    for index, az in enumerate(N.AZ_LETTERS):
        condition = _az_condition(az)
        extra = {"Condition": condition} if condition else {}
        # GetAZs "" is the stack's own region (same as AWS::Region, and understood by moto too).
        zone = Select(index, GetAZs(""))
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

    t.add_resource(ec2.VPCEndpoint(
        N.S3_ENDPOINT, VpcId=Ref(N.VPC), VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
        RouteTableIds=If(N.THREE_AZS,
                         [Ref(N.private_route_table(az)) for az in N.AZ_LETTERS],
                         [Ref(N.private_route_table(az)) for az in N.AZ_LETTERS[:2]]),
    ))

    _flow_logs(t)
    _outputs(t)


def _flow_logs(t: Template) -> None:
    group = t.add_resource(logs.LogGroup(
        N.FLOW_LOG_GROUP, **RETAIN, RetentionInDays=Ref(N.FLOW_LOG_RETENTION),
        Metadata={"checkov": {"skip": [{
            "id": "CKV_AWS_158",
            "comment": "Flow logs hold no secrets; CloudWatch Logs encrypts them at rest with an AWS-owned "
                       "key, and a customer managed KMS key would add cost and a key policy to maintain.",
        }]}},
    ))
    role = t.add_resource(iam.Role(
        N.FLOW_LOG_ROLE,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "vpc-flow-logs.amazonaws.com"), Action=[AssumeRole],
            # Confused-deputy guard: only flow logs of this account may use the role.
            Condition=Condition(StringEquals("aws:SourceAccount", AccountId)),
        )]),
        Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[Statement(
                Effect=Allow,
                Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents,
                        logs_actions.DescribeLogStreams],
                Resource=[GetAtt(group, "Arn"), Sub("${%s.Arn}:*" % N.FLOW_LOG_GROUP)],
            )],
        ))],
    ))
    t.add_resource(ec2.FlowLog(
        N.FLOW_LOG, ResourceId=Ref(N.VPC), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName=Ref(group),
        DeliverLogsPermissionArn=GetAtt(role, "Arn"), MaxAggregationInterval=600,
    ))


def _outputs(t: Template) -> None:
    out = partial(output, t, names.NETWORK)
    out(N.OUT_VPC_ID, Ref(N.VPC), "VPC id")
    out(N.OUT_VPC_CIDR, GetAtt(N.VPC, "CidrBlock"), "VPC IPv4 CIDR block")
    out(N.OUT_PUBLIC_SUBNETS, _subnet_list("public"), "Public subnet ids, comma-separated (load balancers)")
    out(N.OUT_PRIVATE_SUBNETS, _subnet_list("private"), "Private subnet ids, comma-separated (tasks, EFS)")
    out(N.OUT_AZ_COUNT, Ref(N.AZ_COUNT), "Number of availability zones in use")


def validate_project(project) -> None:
    """VPC CIDRs of different environments must not overlap (they may be peered or share a VPN later)."""
    envs = list(project.environments.values())
    for first, second in combinations(envs, 2):
        a = ipaddress.IPv4Network(first.network.vpc_cidr)
        b = ipaddress.IPv4Network(second.network.vpc_cidr)
        if a.overlaps(b):
            raise InputError(str(second.file), "network.vpc_cidr",
                             f"{b} overlaps {a} of environment {first.name!r} ({first.file}); "
                             "give each environment its own address range")


STACK = StackDefinition(
    name=names.NETWORK,
    description="VPC, public and private subnets over 2 or 3 AZs, NAT, S3 endpoint and flow logs",
    build=build,
    inputs=INPUTS,
    config_key="network",
    config_model=NetworkConfig,
    validate_project=validate_project,
)
