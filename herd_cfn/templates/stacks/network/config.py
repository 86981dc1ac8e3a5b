"""The network section of an environment's parameters file, its template inputs and its rule across
environments."""

from __future__ import annotations

import ipaddress
from itertools import combinations

from pydantic import Field, model_validator

from herd_cfn import names
from herd_cfn.config.environments import Project
from herd_cfn.errors import InputError
from herd_cfn.fields import LOG_RETENTION_DAYS, LogRetentionDays, StrictModel, VpcCidr
from herd_cfn.templates.base import Input

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


def validate_project(project: Project) -> None:
    """VPC CIDRs of different environments must not overlap (they may be peered or share a VPN later)."""
    envs = list(project.environments.values())
    for first, second in combinations(envs, 2):
        a = ipaddress.IPv4Network(first.network.vpc_cidr)
        b = ipaddress.IPv4Network(second.network.vpc_cidr)
        if a.overlaps(b):
            raise InputError(str(second.file), "network.vpc_cidr",
                             f"{b} overlaps {a} of environment {first.name!r} ({first.file}); "
                             "give each environment its own address range")
