"""Helpers for the tests that read one stack's template and its committed parameter values."""

from __future__ import annotations

import json

from tests.conftest import ROOT

PARAMETERS = ROOT / "output" / "parameters"


def parameter_values(stack: str, env: str, **overrides: str) -> dict[str, str]:
    """The values output/parameters/<env>/<stack>.json passes, with some replaced."""
    values = json.loads((PARAMETERS / env / f"{stack}.json").read_text())
    return {**{p["ParameterKey"]: p["ParameterValue"] for p in values}, **overrides}


NO_VALUE = {"Ref": "AWS::NoValue"}


def branches(item) -> list:
    """An entry of a list as it may appear: itself, or both values of its Fn::If (AWS::NoValue dropped)."""
    if isinstance(item, dict) and set(item) == {"Fn::If"}:
        _, then, otherwise = item["Fn::If"]
        return [value for branch in (then, otherwise) if branch != NO_VALUE for value in branches(branch)]
    return [item]


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def imports(node) -> set[str]:
    """Every export name a template (or a part of one) imports with Fn::ImportValue."""
    if isinstance(node, dict):
        found = {node["Fn::ImportValue"]} if set(node) == {"Fn::ImportValue"} else set()
        return found.union(*(imports(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(imports(item) for item in node))
    return set()
