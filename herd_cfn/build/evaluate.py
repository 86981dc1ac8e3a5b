"""Evaluate a template's Conditions for given parameter values, the way CloudFormation does at
deploy time, so tests (and the architecture picture) can see what each environment really gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_NO_VALUE = object()


class Evaluated:
    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str]) -> None:
        self.template = template
        parameters = template.get("Parameters", {}) or {}
        self.values = {k: str(values.get(k, p.get("Default", ""))) for k, p in parameters.items()}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._bool(self.template["Conditions"][name])
        return self._conditions[name]

    def _bool(self, expr: Any) -> bool:
        if isinstance(expr, Mapping) and len(expr) == 1:
            (fn, args), = expr.items()
            if fn == "Condition":
                return self.condition(args)
            if fn == "Fn::Equals":
                return str(self.value(args[0])) == str(self.value(args[1]))
            if fn == "Fn::Not":
                return not self._bool(args[0])
            if fn == "Fn::And":
                return all(self._bool(a) for a in args)
            if fn == "Fn::Or":
                return any(self._bool(a) for a in args)
        raise ValueError(f"unsupported condition expression: {expr!r}")

    def value(self, expr: Any) -> Any:
        """Resolve Ref to parameters and Fn::If; leave everything else (GetAtt, Sub…) as it is."""
        if isinstance(expr, Mapping):
            if expr == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            if len(expr) == 1:
                (fn, args), = expr.items()
                if fn == "Ref" and args in self.values:
                    return self.values[args]
                if fn == "Fn::If":
                    chosen = args[1] if self.condition(args[0]) else args[2]
                    return self.value(chosen)
                if fn == "Fn::Select":
                    items = self.value(args[1])
                    if isinstance(items, str):  # a CommaDelimitedList parameter's value
                        items = items.split(",")
                    if isinstance(items, list) and isinstance(args[0], int):
                        return self.value(items[args[0]])
            resolved = {k: self.value(v) for k, v in expr.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(expr, list):
            return [v for v in (self.value(item) for item in expr) if v is not _NO_VALUE]
        return expr

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources CloudFormation would create, with Fn::If resolved in their properties."""
        result = {}
        for name, resource in self.template.get("Resources", {}).items():
            condition = resource.get("Condition")
            if condition is None or self.condition(condition):
                result[name] = self.value(resource)
        return result

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources().items() if v["Type"] == resource_type}

    def outputs(self) -> dict[str, Any]:
        result = {}
        for name, output in self.template.get("Outputs", {}).items():
            condition = output.get("Condition")
            if condition is None or self.condition(condition):
                result[name] = self.value(output)
        return result
