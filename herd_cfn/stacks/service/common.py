"""Imports from the network and data stacks, shared by the service stack's modules."""

from __future__ import annotations

from troposphere import ImportValue, Join, Split

from herd_cfn import names

S = names.Service
D = names.Data
N = names.Network


def data(output: str) -> ImportValue:
    return ImportValue(names.export_name(names.DATA, output))


def network(output: str) -> ImportValue:
    return ImportValue(names.export_name(names.NETWORK, output))


def secret_value(output: str, key: str) -> Join:
    """ECS ``valueFrom`` of one JSON key of a data-stack secret ({"username": ..., "password": ...})."""
    return Join("", [data(output), f":{key}::"])


def private_subnets() -> Split:
    return Split(",", network(N.OUT_PRIVATE_SUBNETS))


def public_subnets() -> Split:
    return Split(",", network(N.OUT_PUBLIC_SUBNETS))


def skip(*checks: tuple[str, str]) -> dict:
    """checkov skips with their reasons, in the resource's Metadata where a reviewer sees them."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in checks]}}
