"""A listener's forward action may be a weighted ``ForwardConfig`` in CloudFormation too.

Gap: moto's CloudFormation reads only ``TargetGroupArn`` of a listener's forward action
(``convert_and_validate_properties``: KeyError on an action that has a ``ForwardConfig`` instead), though
its CreateListener/ModifyListener API takes weighted target groups. The edge stack's CodeDeploy
listeners forward to the blue/green pair with weights (the live group 100, the other 0), as CodeDeploy
itself leaves them.
AWS: the CloudFormation resource reference of AWS::ElasticLoadBalancingV2::Listener, Action
(``ForwardConfig``: ``TargetGroups`` of ``TargetGroupArn`` + ``Weight``, ``TargetGroupStickinessConfig``;
"if you specify both ForwardConfig and TargetGroupArn, you can specify only one target group").
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.convert_and_validate_properties

    def convert_and_validate_properties(self: Any, properties: dict[str, Any]) -> list[dict[str, Any]]:
        weighted = {i: action for i, action in enumerate(properties["DefaultActions"])
                    if action.get("Type") == "forward" and "ForwardConfig" in action}
        plain = {**properties, "DefaultActions": [
            {"Type": "forward", "TargetGroupArn": a["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]}
            if i in weighted else a for i, a in enumerate(properties["DefaultActions"])]}
        actions = original(self, plain)
        for i, action in weighted.items():
            groups = [{"TargetGroupArn": g["TargetGroupArn"], "Weight": int(g.get("Weight", 1))}
                      for g in action["ForwardConfig"]["TargetGroups"]]
            actions[i] = {"Type": "forward", "ForwardConfig": {**action["ForwardConfig"], "TargetGroups": groups}}
        return actions

    ELBv2Backend.convert_and_validate_properties = convert_and_validate_properties
