"""Helpers for the tests that read one stack's template and its committed parameter values."""

from __future__ import annotations

import json

from .conftest import ROOT

PARAMETERS = ROOT / "output" / "parameters"


def parameter_values(stack: str, env: str, **overrides: str) -> dict[str, str]:
    """The values output/parameters/<env>/<stack>.json passes, with some replaced."""
    values = json.loads((PARAMETERS / env / f"{stack}.json").read_text())
    return {**{p["ParameterKey"]: p["ParameterValue"] for p in values}, **overrides}


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]
