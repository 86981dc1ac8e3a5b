"""Check the values an environment passes against the template's declared Parameters, at build
time, the way CloudFormation would check them at deploy time (but before anything is deployed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from herd_cfn.errors import InputError


def check(parameters: Mapping[str, Any], values: Mapping[str, str], where: str, stack: str) -> None:
    """Raise InputError naming the file and the parameter for the first value CloudFormation would refuse."""
    for key in values:
        if key not in parameters:
            raise InputError(where, f"{stack}.{key}", "the template declares no such parameter")
    for key, declared in parameters.items():
        if key not in values:
            if "Default" in declared:
                continue
            raise InputError(where, f"{stack}.{key}", "no value given and the template has no default")
        _check_value(key, declared, values[key], where, stack)


def _check_value(key: str, declared: Mapping[str, Any], value: str, where: str, stack: str) -> None:
    label = f"{stack}.{key}"
    if not isinstance(value, str):
        raise InputError(where, label, f"parameter values must be strings, got {type(value).__name__}")
    kind = declared.get("Type", "String")
    items = [v.strip() for v in value.split(",")] if kind in ("CommaDelimitedList", "List<Number>") else [value]
    for item in items:
        if kind in ("Number", "List<Number>"):
            _check_number(item, kind, declared, where, label)
        _check_text(item, declared, where, label)


def _check_number(item: str, kind: str, declared: Mapping[str, Any], where: str, label: str) -> None:
    try:
        number = float(item)
    except ValueError:
        raise InputError(where, label, f"{item!r} is not a number (Type {kind})") from None
    if "MinValue" in declared and number < float(declared["MinValue"]):
        raise InputError(where, label, f"{item} is below MinValue {declared['MinValue']}")
    if "MaxValue" in declared and number > float(declared["MaxValue"]):
        raise InputError(where, label, f"{item} is above MaxValue {declared['MaxValue']}")


def _check_text(item: str, declared: Mapping[str, Any], where: str, label: str) -> None:
    allowed = declared.get("AllowedValues")
    if allowed is not None and item not in [str(a) for a in allowed]:
        raise InputError(where, label, f"{item!r} is not one of AllowedValues {', '.join(map(str, allowed))}")
    pattern = declared.get("AllowedPattern")
    # CloudFormation matches AllowedPattern against the whole value.
    if pattern is not None and not re.fullmatch(pattern, item):
        hint = declared.get("ConstraintDescription", f"AllowedPattern {pattern}")
        raise InputError(where, label, f"{item!r} does not match: {hint}")
    if "MinLength" in declared and len(item) < int(declared["MinLength"]):
        raise InputError(where, label, f"shorter than MinLength {declared['MinLength']}")
    if "MaxLength" in declared and len(item) > int(declared["MaxLength"]):
        raise InputError(where, label, f"longer than MaxLength {declared['MaxLength']}")
