"""``AWS::NoValue`` in a list removes the element.

Gap: moto resolves ``Ref: AWS::NoValue`` to None and keeps it in a list, so a list with a conditional element
(``- !If [Cond, {...}, !Ref AWS::NoValue]``) reached the resource with a null in it. The service stack's task
definitions hold such environment variables and secrets: moto registered them with nulls, DescribeTaskDefinition
returned the nulls, and the buildspec's taskdef.json could not be registered again ("Invalid type for parameter
containerDefinitions[0].environment[13], value: None"). Several other fixes skipped None in lists one by one.
AWS: the CloudFormation template reference, "Pseudo parameters" (AWS::NoValue "removes the corresponding resource
property when specified as a return value in the Fn::If intrinsic function") and "Condition functions" (Fn::If
examples that leave an element out of a list with AWS::NoValue).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.cloudformation import parsing

    if getattr(parsing.clean_json, "_herd_no_value", False):
        return
    original_clean = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        cleaned = original_clean(resource_json, resources_map)
        if isinstance(resource_json, list) and isinstance(cleaned, list):
            return [item for item in cleaned if item is not None]
        return cleaned

    # clean_json recurses through the module global: nested lists are cleaned here too.
    clean_json._herd_no_value = True  # type: ignore[attr-defined]
    parsing.clean_json = clean_json
