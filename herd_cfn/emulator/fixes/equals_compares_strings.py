"""``Fn::Equals`` compares a Number parameter as the string it was given.

Gap: moto turns a ``Type: Number`` parameter into an int, and ``Fn::Equals [!Ref Days, '0']`` then
compares ``0`` with ``'0'``: never equal. The data stack's WeeklyBackups/MonthlyBackups conditions were
true with a retention of 0, so dev got weekly and monthly backup rules it does not have on AWS.
AWS: "Condition functions" in the CloudFormation template reference (Fn::Equals compares two values of
the same type; parameter values, Number ones included, are strings in the template's functions, so
``!Ref Days`` equals ``'0'`` when 0 was passed).
"""

from __future__ import annotations

from typing import Any


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def install() -> None:
    from moto.cloudformation import parsing

    original = parsing.parse_condition

    def parse_condition(condition: Any, resources_map: Any, condition_map: dict[str, Any]) -> bool:
        if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
            left, right = (condition_map[v["Condition"]] if isinstance(v, dict) and "Condition" in v
                           else parsing.clean_json(v, resources_map) for v in condition["Fn::Equals"])
            return _text(left) == _text(right)
        return original(condition, resources_map, condition_map)

    # load_conditions and Fn::Not/And/Or look parse_condition up in the module, so this covers nesting.
    parsing.parse_condition = parse_condition
