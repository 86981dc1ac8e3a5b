"""What deployments changed since the last rollout, kept: before the rollout or ``deploy`` creates or
updates a stack instance, each keeper reads the account and puts the live value in the parameter's
place (the listeners' target groups that CodeDeploy moved, the Keycloak image the pipeline deployed).
The one list both commands use, so neither can forget one."""

from __future__ import annotations

from collections.abc import Callable

from herd_cfn.build.artifacts import BuiltStack
from herd_cfn.operations import keycloak_image, listeners
from herd_cfn.operations.aws import AwsContext


def keep_live_state(ctx: AwsContext, account_id: str, region: str, built: BuiltStack,
                    log: Callable[[str], None], where: str) -> BuiltStack:
    # Looked up on each call: each keeper acts on its own stack only and returns ``built`` otherwise.
    for keep in (listeners.keep_live_target_groups, keycloak_image.keep_pipeline_image):
        built = keep(ctx, account_id, region, built, log, where)
    return built
