"""The service stack: OpenRemote on ECS Fargate behind an ALB (HTTPS) and an NLB (MQTT over TLS).

Modules: ``config`` (the parameters-file section and template parameters), ``security`` (security
groups), ``roles`` (IAM), ``tasks`` (cluster, Cloud Map, task definitions, services — and why the
CODE_DEPLOY manager service never changes), ``load_balancers`` (ALB, NLB, certificate, DNS),
``reconcile`` (the MQTT target function and its triggers), ``alarms``.
"""

from __future__ import annotations

from troposphere import Equals, Export, GetAtt, If, Not, Or, Output, Ref, Sub, Template

from herd_cfn import names
from herd_cfn.stacks.base import StackDefinition
from herd_cfn.stacks.service import alarms, load_balancers, reconcile, roles, security, tasks
from herd_cfn.stacks.service.config import INPUTS, ServiceConfig, validate_project

S = names.Service


def _conditions(t: Template) -> None:
    def given(parameter: str) -> Not:
        return Not(Equals(Ref(parameter), ""))

    t.add_condition(S.HAS_HOSTED_ZONE, given(S.HOSTED_ZONE_ID))
    t.add_condition(S.HAS_EMAIL, given(S.EMAIL_SECRET_ARN))
    t.add_condition(S.HAS_ACCESS_LOGS, given(S.ACCESS_LOG_BUCKET))
    t.add_condition(S.HAS_ALARM_EMAIL, given(S.ALARM_EMAIL))
    t.add_rule("CertificateSource", {"Assertions": [{
        "Assert": Or(given(S.HOSTED_ZONE_ID), given(S.CERTIFICATE_ARN)),
        "AssertDescription": "Give HostedZoneId or CertificateArn",
    }]})


def _outputs(t: Template) -> None:
    def output(name: str, value: object, description: str | None = None, export: bool = True) -> None:
        # Exports named plainly need no description (the template size limit is close).
        extra = {"Export": Export(names.export_name(names.SERVICE, name))} if export else {}
        if description:
            extra["Description"] = description
        t.add_output(Output(name, Value=value, **extra))

    output(S.OUT_CLUSTER_NAME, Ref(S.CLUSTER))
    output(S.OUT_MANAGER_SERVICE_NAME, GetAtt(S.MANAGER_SERVICE, "Name"))
    output(S.OUT_MANAGER_TASK_FAMILY, S.MANAGER_TASK_FAMILY, "Manager task family (deploy the newest revision)")
    output(S.OUT_BLUE_TARGET_GROUP_NAME, GetAtt(S.BLUE_TARGET_GROUP, "TargetGroupName"))
    output(S.OUT_GREEN_TARGET_GROUP_NAME, GetAtt(S.GREEN_TARGET_GROUP, "TargetGroupName"))
    output(S.OUT_HTTPS_LISTENER_ARN, Ref(S.HTTPS_LISTENER), "Production listener")
    output(S.OUT_TEST_LISTENER_ARN, Ref(S.TEST_LISTENER))
    output(S.OUT_TEST_LISTENER_PORT, str(S.TEST_LISTENER_PORT))
    output(S.OUT_LOAD_BALANCER_ARN, Ref(S.ALB))
    output(S.OUT_LOAD_BALANCER_DNS, GetAtt(S.ALB, "DNSName"))
    output(S.OUT_NLB_DNS, GetAtt(S.NLB, "DNSName"))
    output(S.OUT_MQTT_TARGET_GROUP_ARN, Ref(S.MQTT_TARGET_GROUP))
    output(S.OUT_RECONCILE_FUNCTION_ARN, GetAtt(S.RECONCILE_FUNCTION, "Arn"))
    output(S.OUT_ALARM_TOPIC_ARN, Ref(S.ALARM_TOPIC))
    output(S.OUT_ROLLBACK_ALARM_NAMES, alarms.rollback_alarm_names(), "Rollback alarms")
    output(S.OUT_MANAGER_TASK_ROLE_ARN, roles.arn(S.MANAGER_TASK_ROLE))
    output(S.OUT_MANAGER_EXECUTION_ROLE_ARN, roles.arn(S.EXECUTION_ROLE))
    output(S.OUT_MANAGER_SECURITY_GROUP, GetAtt(S.MANAGER_SG, "GroupId"))
    output(S.OUT_ALB_SECURITY_GROUP, GetAtt(S.ALB_SG, "GroupId"))
    output(S.OUT_APPLICATION_URL, Sub("https://${%s}" % S.DOMAIN))
    output(S.OUT_MQTT_URL, Sub("mqtts://%s.${%s}:%d" % (S.MQTT_HOST_PREFIX, S.DOMAIN, S.MQTT_TLS_PORT)),
           "MQTT over TLS", export=False)
    output(S.OUT_DNS_INSTRUCTIONS, If(
        S.HAS_HOSTED_ZONE, "none",
        Sub("${%s} -> ${%s.DNSName}; %s.${%s} -> ${%s.DNSName}"
            % (S.DOMAIN, S.ALB, S.MQTT_HOST_PREFIX, S.DOMAIN, S.NLB)),
    ), "DNS records (alias or CNAME) to create by hand", export=False)


def build(t: Template) -> None:
    _conditions(t)
    security.build(t)
    roles.build(t)
    tasks.build(t)
    load_balancers.build(t)
    reconcile.build(t)
    alarms.build(t)
    _outputs(t)


STACK = StackDefinition(
    name=names.SERVICE,
    description="OpenRemote on Fargate: postgresql, keycloak, manager (CodeDeploy), ALB, NLB, DNS, alarms",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK, names.DATA),
    config_key="service",
    config_model=ServiceConfig,
    validate_project=validate_project,
)
