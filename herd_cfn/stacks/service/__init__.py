"""The service stack: OpenRemote on ECS Fargate, behind the edge stack's ALB (HTTPS) and NLB (MQTT).

Modules: ``config`` (the parameters-file section and template parameters), ``security`` (the tasks'
security groups and the load balancers' egress to them), ``roles`` (IAM), ``tasks`` (cluster, Cloud
Map, task definitions, services — and why the CODE_DEPLOY manager service never changes),
``reconcile`` (the MQTT target function and its triggers), ``alarms``, ``restore`` (the task of
``herd-cfn restore``). Target groups, listeners and
the load balancers' security groups are imported from the edge stack.
"""

from __future__ import annotations

from troposphere import Equals, Export, GetAtt, Not, Output, Ref, Template

from herd_cfn import names
from herd_cfn.stacks.base import StackDefinition
from herd_cfn.stacks.service import alarms, reconcile, restore, roles, security, tasks
from herd_cfn.stacks.service.config import INPUTS, ServiceConfig

S = names.Service


def _conditions(t: Template) -> None:
    def given(parameter: str) -> Not:
        return Not(Equals(Ref(parameter), ""))

    t.add_condition(S.HAS_EMAIL, given(S.EMAIL_SECRET_ARN))
    t.add_condition(S.HAS_ALARM_EMAIL, given(S.ALARM_EMAIL))


def _outputs(t: Template) -> None:
    def output(name: str, value: object, description: str | None = None) -> None:
        extra = {"Description": description} if description else {}
        t.add_output(Output(name, Value=value, Export=Export(names.export_name(names.SERVICE, name)), **extra))

    output(S.OUT_CLUSTER_NAME, Ref(S.CLUSTER))
    output(S.OUT_MANAGER_SERVICE_NAME, GetAtt(S.MANAGER_SERVICE, "Name"))
    output(S.OUT_MANAGER_TASK_FAMILY, S.MANAGER_TASK_FAMILY, "Manager task family (deploy the newest revision)")
    output(S.OUT_RECONCILE_FUNCTION_ARN, GetAtt(S.RECONCILE_FUNCTION, "Arn"))
    output(S.OUT_ALARM_TOPIC_ARN, Ref(S.ALARM_TOPIC))
    output(S.OUT_ROLLBACK_ALARM_NAMES, alarms.rollback_alarm_names(), "Rollback alarms")
    output(S.OUT_MANAGER_TASK_ROLE_ARN, roles.arn(S.MANAGER_TASK_ROLE))
    output(S.OUT_MANAGER_EXECUTION_ROLE_ARN, roles.arn(S.EXECUTION_ROLE))
    output(S.OUT_MANAGER_SECURITY_GROUP, GetAtt(S.MANAGER_SG, "GroupId"))
    output(S.OUT_RESTORE_SECURITY_GROUP, restore.security_group(), "Group of herd-cfn restore's task")


def build(t: Template) -> None:
    _conditions(t)
    security.build(t)
    roles.build(t)
    tasks.build(t)
    restore.build(t)
    reconcile.build(t)
    alarms.build(t)
    _outputs(t)


STACK = StackDefinition(
    name=names.SERVICE,
    description="OpenRemote on Fargate: postgresql, keycloak, manager (CodeDeploy), MQTT reconcile, alarms",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK, names.DATA, names.EDGE),
    config_key="service",
    config_model=ServiceConfig,
)
