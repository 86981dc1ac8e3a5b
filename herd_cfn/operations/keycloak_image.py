"""Keep Keycloak on the image the pipeline deployed.

The pipeline's ECS action deploys Keycloak with the custom project's themes: it registers a copy of the
service's current task-definition revision with the image of imagedefinitions.json and updates the
service (CodePipeline's ECS deploy action reference). The service stack names Keycloak's image in its
KeycloakImage parameter, which the parameters file sets to OpenRemote's image. An update of the service
stack that changes Keycloak's task definition (its size, settings, secrets) registers a revision with
that parameter's image and moves the service to it: Keycloak would lose the project's themes until the
next pipeline run. Before the rollout or ``deploy`` creates or updates a service instance, this reads the
image Keycloak's service runs now and, when the pipeline built it (it is in the data stack's Keycloak
repository), puts it in the parameter's place, as ``listeners`` does for the manager's target groups.

So once the pipeline has run, Keycloak's image changes only through the pipeline, like the manager's: a
new ``service.keycloak_image`` in the parameters file reaches Keycloak with the next build (the pipeline
stack's KeycloakBaseImage). Until the first run the parameters file's image stands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from herd_cfn import names
from herd_cfn.build.artifacts import BuiltStack
from herd_cfn.operations import outputs
from herd_cfn.operations.aws import AwsContext, translate_errors, unless_missing

S = names.Service
_REPOSITORY_EXPORT = names.export_name(names.DATA, names.Data.OUT_KEYCLOAK_ECR_REPOSITORY_URI)


def running_image(ecs: Any) -> str | None:
    """The Keycloak container's image in the revision Keycloak's service runs (its primary deployment's)."""
    found = unless_missing(lambda: ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.KEYCLOAK_SERVICE_NAME]),
                           "ClusterNotFoundException")  # no service stack yet
    active = [s for s in (found or {}).get("services", []) if s.get("status") == "ACTIVE"]
    if not active:
        return None
    task = ecs.describe_task_definition(taskDefinition=active[0]["taskDefinition"])["taskDefinition"]
    return next((c["image"] for c in task["containerDefinitions"] if c["name"] == S.KEYCLOAK_CONTAINER), None)


def pipeline_image(ctx: AwsContext, account_id: str, region: str) -> str | None:
    """The image Keycloak runs, if the pipeline built it; None before the first pipeline run (or the stacks)."""
    session = ctx.session(account_id, region)
    repository = outputs.exports(ctx.client(session, "cloudformation")).get(_REPOSITORY_EXPORT)
    if not repository:
        return None
    image = running_image(ctx.client(session, "ecs"))
    if image and image.startswith((f"{repository}:", f"{repository}@")):
        return image
    return None


def keep_pipeline_image(ctx: AwsContext, account_id: str, region: str, built: BuiltStack,
                        log: Callable[[str], None], where: str) -> BuiltStack:
    """``built`` with the image Keycloak runs in place of the parameters file's, when the pipeline built it
    (service stack only)."""
    if built.stack.name != names.SERVICE:
        return built
    with translate_errors(f"reading which image Keycloak runs in {account_id}"):
        image = pipeline_image(ctx, account_id, region)
    if image is None:
        return built
    filed = built.parameters.get(S.KEYCLOAK_IMAGE)
    if image != filed:
        log(f"{where}: {S.KEYCLOAK_IMAGE}={image} (instead of the parameters file's {filed}): Keycloak runs the "
            "pipeline's image with the project's themes; kept (a new base image arrives with the next build)")
    return dataclasses.replace(built, parameters={**built.parameters, S.KEYCLOAK_IMAGE: image})
