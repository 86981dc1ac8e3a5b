"""The network stack: a VPC over 2 or 3 AZs with public and private subnets, NAT, an S3 gateway
endpoint and flow logs. dev and prod use the same template; AZ and NAT counts are parameters."""

from __future__ import annotations

from functools import partial

from troposphere import GetAtt, Ref, Template

from herd_cfn import names
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.helpers import output
from herd_cfn.templates.stacks.network import flow_logs, vpc
from herd_cfn.templates.stacks.network.config import INPUTS, NetworkConfig, subnet_cidrs, validate_project

N = names.Network

__all__ = ["STACK", "subnet_cidrs"]


def build(t: Template) -> None:
    vpc.conditions(t)
    vpc.vpc(t)
    for index, az in enumerate(N.AZ_LETTERS):
        vpc.availability_zone(t, index, az)
    vpc.s3_endpoint(t)
    flow_logs.build(t)
    _outputs(t)


def _outputs(t: Template) -> None:
    out = partial(output, t, names.NETWORK)
    out(N.OUT_VPC_ID, Ref(N.VPC), "VPC id")
    out(N.OUT_VPC_CIDR, GetAtt(N.VPC, "CidrBlock"), "VPC IPv4 CIDR block")
    out(N.OUT_PUBLIC_SUBNETS, vpc.subnet_list("public"), "Public subnet ids, comma-separated (load balancers)")
    out(N.OUT_PRIVATE_SUBNETS, vpc.subnet_list("private"), "Private subnet ids, comma-separated (tasks, EFS)")
    out(N.OUT_AZ_COUNT, Ref(N.AZ_COUNT), "Number of availability zones in use")


STACK = StackDefinition(
    name=names.NETWORK,
    description="VPC, public and private subnets over 2 or 3 AZs, NAT, S3 endpoint and flow logs",
    build=build,
    inputs=INPUTS,
    config_key="network",
    config_model=NetworkConfig,
    validate_project=validate_project,
)
