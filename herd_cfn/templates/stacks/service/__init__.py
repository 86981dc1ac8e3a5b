"""The service stack: OpenRemote on ECS Fargate, behind the edge stack's ALB (HTTPS) and NLB (MQTT).

Modules: ``config`` (the parameters-file section and template parameters), ``security`` (the tasks'
security groups and the load balancers' egress to them), ``roles`` (IAM), ``tasks`` (cluster, Cloud
Map, task definitions, services — and why the CODE_DEPLOY manager service never changes),
``alarms``, ``restore`` (the task of
``herd-cfn restore``), ``exec_access`` (ECS Exec: session key, log group, task permissions),
``dumps`` (pg_dump: task, schedule, alarms), ``egress`` (the manager's rules to devices, per environment),
``plugins`` (the manager's and Keycloak's plugin settings). Target groups, listeners and the load balancers' security
groups are imported from the edge stack.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from troposphere import (
    Equals,
    GetAtt,
    Ref,
    Template,
)

from herd_cfn import names
from herd_cfn.templates import docker_hub
from herd_cfn.templates.base import Extension, StackDefinition, combined
from herd_cfn.templates.helpers import given, output
from herd_cfn.templates.stacks.service import (
    alarms,
    dumps,
    egress,
    exec_access,
    plugins,
    restore,
    roles,
    security,
    tasks,
)
from herd_cfn.templates.stacks.service.config import INPUTS, ServiceConfig

S = names.Service


def _conditions(t: Template) -> None:
    t.add_condition(S.HAS_EMAIL, given(S.EMAIL_SECRET_ARN))
    t.add_condition(S.HAS_ALARM_EMAIL, given(S.ALARM_EMAIL))
    t.add_condition(S.HAS_EXEC, Equals(Ref(S.EXEC), "true"))
    docker_hub.add_condition(t)


def _outputs(t: Template) -> None:
    out = partial(output, t, names.SERVICE)
    out(S.OUT_CLUSTER_NAME, Ref(S.CLUSTER))
    out(S.OUT_MANAGER_SERVICE_NAME, GetAtt(S.MANAGER_SERVICE, "Name"))
    out(S.OUT_MANAGER_TASK_FAMILY, S.MANAGER_TASK_FAMILY, "Manager task family (deploy the newest revision)")
    out(S.OUT_ALARM_TOPIC_ARN, Ref(S.ALARM_TOPIC))
    out(S.OUT_ROLLBACK_ALARM_NAMES, alarms.rollback_alarm_names(), "Rollback alarms")
    out(S.OUT_MANAGER_TASK_ROLE_ARN, roles.arn(S.MANAGER_TASK_ROLE))
    out(S.OUT_KEYCLOAK_TASK_ROLE_ARN, roles.arn(S.KEYCLOAK_TASK_ROLE))
    out(S.OUT_MANAGER_EXECUTION_ROLE_ARN, roles.arn(S.EXECUTION_ROLE))
    out(S.OUT_MANAGER_SECURITY_GROUP, GetAtt(S.MANAGER_SG, "GroupId"))
    out(S.OUT_RESTORE_SECURITY_GROUP, restore.security_group(), "Group of herd-cfn restore's task")
    out(S.OUT_EXEC, Ref(S.EXEC), "ECS Exec into the tasks")
    out(S.OUT_DUMP_TASK_ROLE_ARN, roles.arn(S.RESTORE_TASK_ROLE))


def build(t: Template) -> None:
    _conditions(t)
    security.build(t)
    roles.build(t)
    exec_access.build(t)
    tasks.build(t)
    restore.build(t)
    dumps.build(t)
    alarms.build(t)
    _outputs(t)


def extension(project) -> Extension | None:
    """What the project's parameters files add to the template: plugin settings and the manager's egress."""
    return combined(plugins.extension(project), egress.extension(project))


def _body(project, part: Extension | None) -> str:
    """The template with one project-dependent part only (None: the stack's own template)."""
    if part is None:
        return STACK.template_body()
    return replace(STACK, extend=lambda _: part, _cache={}).for_project(project).template_body()


def validate_project(project) -> None:
    """The plugin settings and egress rules of every environment, then whether the one template carries them."""
    for env in project.environments.values():
        plugins.check_environment(env)
        egress.check_environment(env)
    plugins.check_same_names(project)
    egress.check_same_rules(project)
    egress.check_size(project, lambda part: _body(project, part))
    shaped = STACK.for_project(project)
    if shaped is not STACK:
        plugins.check_limits(project, shaped.template_body(), len(shaped.template_dict()["Parameters"]),
                             lambda: _body(project, egress.extension(project)))


STACK = StackDefinition(
    name=names.SERVICE,
    description="OpenRemote on Fargate: postgresql, keycloak, manager (CodeDeploy), alarms",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK, names.DATA, names.EDGE),
    config_key="service",
    config_model=ServiceConfig,
    validate_project=validate_project,
    extend=extension,
)
