"""Imports from the network, data and edge stacks, shared by the service stack's modules."""

from __future__ import annotations

from troposphere import ImportValue, Join

from herd_cfn import names
from herd_cfn.stacks.common import imported, network, private_subnets, skip

S = names.Service
D = names.Data
E = names.Edge
N = names.Network

__all__ = ["D", "E", "N", "S", "data", "edge", "network", "private_subnets", "secret_value", "skip"]


def data(output: str) -> ImportValue:
    return imported(names.DATA, output)


def edge(output: str) -> ImportValue:
    return imported(names.EDGE, output)


def secret_value(output: str, key: str) -> Join:
    """ECS ``valueFrom`` of one JSON key of a data-stack secret ({"username": ..., "password": ...})."""
    return Join("", [data(output), f":{key}::"])
