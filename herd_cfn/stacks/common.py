"""Helpers every stack module may use: another stack's exports, and checkov skips with reasons."""

from __future__ import annotations

from troposphere import ImportValue, Split

from herd_cfn import names


def imported(stack: str, output: str) -> ImportValue:
    return ImportValue(names.export_name(stack, output))


def network(output: str) -> ImportValue:
    return imported(names.NETWORK, output)


def private_subnets() -> Split:
    return Split(",", network(names.Network.OUT_PRIVATE_SUBNETS))


def public_subnets() -> Split:
    return Split(",", network(names.Network.OUT_PUBLIC_SUBNETS))


def skip(*checks: tuple[str, str]) -> dict:
    """checkov skips with their reasons, in the resource's Metadata where a reviewer sees them."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in checks]}}
