"""Structure of the network template as CloudFormation would create it for each combination of
AZ and NAT counts (conditions evaluated), and for the committed dev and prod values."""

from __future__ import annotations

import ipaddress
import json

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.templates import registry
from herd_cfn.templates.stacks.network import subnet_cidrs
from tests.template_support import parameter_values

N = names.Network
TEMPLATE = load_yaml(registry.get(names.NETWORK).template_body())


def evaluated(az_count: int, nat_count: int, cidr: str = "10.20.0.0/16") -> Evaluated:
    return Evaluated(TEMPLATE, {
        N.VPC_CIDR: cidr, N.AZ_COUNT: str(az_count), N.NAT_GATEWAY_COUNT: str(nat_count),
        N.PUBLIC_SUBNET_CIDRS: ",".join(subnet_cidrs(cidr, "public")),
        N.PRIVATE_SUBNET_CIDRS: ",".join(subnet_cidrs(cidr, "private")),
        N.FLOW_LOG_RETENTION: "30",
    })


COMBINATIONS = [(2, 1), (2, 2), (3, 1), (3, 3)]


def _subnets(ev: Evaluated, public: bool) -> dict:
    prefix = "PublicSubnet" if public else "PrivateSubnet"
    return {k: v for k, v in ev.of_type("AWS::EC2::Subnet").items() if k.startswith(prefix)}


@pytest.mark.parametrize(("azs", "nats"), COMBINATIONS)
def test_subnet_count_follows_az_count(azs, nats):
    ev = evaluated(azs, nats)
    assert len(_subnets(ev, public=True)) == azs
    assert len(_subnets(ev, public=False)) == azs
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in _subnets(ev, public=False).values()}
    assert len(zones) == azs, "each private subnet in its own AZ"


@pytest.mark.parametrize(("azs", "nats"), COMBINATIONS)
def test_nat_count_follows_its_parameter(azs, nats):
    ev = evaluated(azs, nats)
    assert len(ev.of_type("AWS::EC2::NatGateway")) == nats
    assert len(ev.of_type("AWS::EC2::EIP")) == nats
    for nat in ev.of_type("AWS::EC2::NatGateway").values():
        assert nat["Properties"]["SubnetId"]["Ref"].startswith("PublicSubnet")


@pytest.mark.parametrize(("azs", "nats"), COMBINATIONS)
def test_private_subnets_never_route_to_the_internet_gateway(azs, nats):
    ev = evaluated(azs, nats)
    resources = ev.resources()
    private_tables = {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in ev.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"].startswith("PrivateSubnet")
    }
    assert len(private_tables) == azs
    private_routes = [r for r in ev.of_type("AWS::EC2::Route").values()
                      if r["Properties"]["RouteTableId"]["Ref"] in private_tables]
    assert len(private_routes) == azs
    for route in private_routes:
        assert "GatewayId" not in route["Properties"]
        nat = route["Properties"]["NatGatewayId"]["Ref"]
        assert nat in resources, f"route to {nat}, which is not created with {nats} NAT gateway(s)"
    public_tables = {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in ev.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"].startswith("PublicSubnet")
    }
    assert public_tables.isdisjoint(private_tables)


@pytest.mark.parametrize(("azs", "nats"), COMBINATIONS)
def test_nat_per_az_keeps_traffic_in_its_zone(azs, nats):
    ev = evaluated(azs, nats)
    for letter in N.AZ_LETTERS[:azs]:
        route = ev.resources()[N.private_default_route(letter)]
        expected = N.nat_gateway(letter) if nats == azs and nats > 1 else N.nat_gateway("A")
        assert route["Properties"]["NatGatewayId"] == {"Ref": expected}


def test_no_subnet_assigns_public_ips_and_s3_endpoint_serves_private_tables():
    ev = evaluated(3, 3)
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in ev.of_type("AWS::EC2::Subnet").values())
    (endpoint,) = ev.of_type("AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert endpoint["Properties"]["RouteTableIds"] == [{"Ref": N.private_route_table(a)} for a in "ABC"]


def test_flow_logs_go_to_a_log_group_with_retention_and_a_scoped_role():
    ev = evaluated(2, 1)
    (flow_log,) = ev.of_type("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    group = ev.resources()[N.FLOW_LOG_GROUP]
    assert group["Properties"]["RetentionInDays"] == "30"
    role = ev.resources()[N.FLOW_LOG_ROLE]
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in statements:
        assert "*" not in statement["Resource"]
        assert all(not action.endswith("*") for action in statement["Action"])
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/20", "192.168.10.0/24"])
def test_subnets_are_disjoint_blocks_inside_the_vpc(cidr):
    vpc = ipaddress.IPv4Network(cidr)
    subnets = [ipaddress.IPv4Network(c) for kind in ("public", "private") for c in subnet_cidrs(cidr, kind)]
    assert len(subnets) == 6
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert all(s.prefixlen <= 28 for s in subnets), "AWS subnets are /28 or larger"
    assert subnets[0].prefixlen == vpc.prefixlen + 3


def test_each_subnet_takes_its_cidr_from_the_list_by_az_index():
    for index, az in enumerate(N.AZ_LETTERS):
        public = TEMPLATE["Resources"][N.public_subnet(az)]["Properties"]["CidrBlock"]
        private = TEMPLATE["Resources"][N.private_subnet(az)]["Properties"]["CidrBlock"]
        assert public == {"Fn::Select": [index, {"Ref": N.PUBLIC_SUBNET_CIDRS}]}
        assert private == {"Fn::Select": [index, {"Ref": N.PRIVATE_SUBNET_CIDRS}]}


def test_committed_parameters_match_environments():
    for env, azs, nats in (("dev", 2, 1), ("prod", 3, 3)):
        values = parameter_values(names.NETWORK, env)
        assert values[N.AZ_COUNT] == str(azs)
        assert values[N.NAT_GATEWAY_COUNT] == str(nats)
        ev = Evaluated(TEMPLATE, values)
        assert len(ev.of_type("AWS::EC2::NatGateway")) == nats


def test_exports_cover_what_other_stacks_import():
    ev = evaluated(3, 1)
    outputs = ev.outputs()
    for key in (N.OUT_VPC_ID, N.OUT_VPC_CIDR, N.OUT_PUBLIC_SUBNETS, N.OUT_PRIVATE_SUBNETS, N.OUT_AZ_COUNT):
        assert outputs[key]["Export"]["Name"] == f"herd-network-{key}"
    joined = outputs[N.OUT_PRIVATE_SUBNETS]["Value"]["Fn::Join"][1]
    assert joined == [{"Ref": N.private_subnet(a)} for a in "ABC"]
    two = evaluated(2, 1).outputs()[N.OUT_PRIVATE_SUBNETS]["Value"]["Fn::Join"][1]
    assert two == [{"Ref": N.private_subnet(a)} for a in "AB"]


def test_rule_refuses_mismatched_nat_count_at_deploy_time():
    """Direct deploys bypass our parameter files: the template's Rules enforce the same constraint."""
    rule = TEMPLATE["Rules"]["NatGatewayCountMatchesAzCount"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": N.NAT_GATEWAY_COUNT}, {"Ref": N.AZ_COUNT}]}
