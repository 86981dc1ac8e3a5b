"""Keep the manager's listeners where CodeDeploy put them.

Every blue/green deployment moves the edge stack's production (443) and test (8443) listeners to the
replacement target group, leaving the other one behind them at weight 0. The edge template says which
group is live through two parameters (ManagerLiveTargetGroup, ManagerTestTargetGroup: blue|green);
the parameters files always say blue. Before the rollout or ``deploy`` creates or updates an edge
instance, this reads which group each listener forwards to now and puts that in its place, so an
update of the stack (certificate, SSL policy) never sends the traffic back to a group that has no
tasks. The manager's task sets are CodeDeploy's: nothing here reads or changes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from herd_cfn import names
from herd_cfn.build.artifacts import BuiltStack
from herd_cfn.errors import DeploymentError
from herd_cfn.operations import outputs
from herd_cfn.operations.aws import AwsContext, translate_errors

E = names.Edge
# (parameter, export of the listener's ARN, what to call the listener)
LISTENERS = ((E.LIVE_TARGET_GROUP, E.OUT_HTTPS_LISTENER_ARN, "production listener (443)"),
             (E.TEST_TARGET_GROUP, E.OUT_TEST_LISTENER_ARN, f"test listener ({E.TEST_LISTENER_PORT})"))
def forwarded_to(listener: dict[str, Any]) -> str:
    """The ARN of the one target group the listener's default action sends traffic to."""
    arn = listener.get("ListenerArn", "the listener")
    for action in listener.get("DefaultActions", []):
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": action.get("TargetGroupArn"), "Weight": 1}]
        serving = [g["TargetGroupArn"] for g in groups if g.get("Weight", 1) > 0]
        if len(serving) != 1:
            raise DeploymentError(
                f"{arn} splits traffic between {', '.join(serving) or 'no target group'}: a deployment is shifting "
                "traffic; wait until it has finished (aws deploy list-deployments), then run again")
        return serving[0]
    raise DeploymentError(f"{arn} has no forward action: it was changed by hand; put it back on the manager's "
                          "live target group, then run again")


def _colour(target_group: str, exports: dict[str, str], listener: str) -> str:
    if target_group == exports.get(names.export_name(names.EDGE, E.OUT_BLUE_TARGET_GROUP_ARN)):
        return "blue"
    green = exports.get(names.export_name(names.EDGE, E.OUT_GREEN_TARGET_GROUP_FULL_NAME))
    if green and target_group.endswith(":" + green):
        return "green"
    raise DeploymentError(f"the {listener} forwards to {target_group}, neither the blue nor the green target group "
                          "of the edge stack; put it back on one of them, then run again")


def live_target_groups(ctx: AwsContext, account_id: str, region: str) -> dict[str, str]:
    """{parameter: blue|green} as the listeners forward now; empty while the edge stack has no listeners."""
    session = ctx.session(account_id, region)
    exports = outputs.exports(ctx.client(session, "cloudformation"))
    arns = {parameter: exports.get(names.export_name(names.EDGE, output)) for parameter, output, _ in LISTENERS}
    if not all(arns.values()):
        return {}
    found = ctx.client(session, "elbv2").describe_listeners(ListenerArns=list(arns.values()))["Listeners"]
    by_arn = {listener["ListenerArn"]: listener for listener in found}
    return {parameter: _colour(forwarded_to(by_arn[arns[parameter]]), exports, label)
            for parameter, _, label in LISTENERS}


def keep_live_target_groups(ctx: AwsContext, account_id: str, region: str, built: BuiltStack,
                            log: Callable[[str], None], where: str) -> BuiltStack:
    """``built`` with the listeners' live target groups in place of the parameters file's (edge only)."""
    if built.stack.name != names.EDGE:
        return built
    with translate_errors(f"reading which target groups the edge listeners of {account_id} forward to"):
        live = live_target_groups(ctx, account_id, region)
    if not live:
        return built
    for parameter, _, label in LISTENERS:
        filed = built.parameters.get(parameter)
        note = "" if filed == live[parameter] else f" (instead of the parameters file's {filed})"
        log(f"{where}: {parameter}={live[parameter]}{note}: the {label} forwards to the {live[parameter]} target "
            "group now (CodeDeploy's choice); kept")
    return dataclasses.replace(built, parameters={**built.parameters, **live})
