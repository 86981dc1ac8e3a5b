"""The edge stack: the ingress every workload sits behind, Copilot's environment-level resources.

An ALB (HTTPS 443 production listener with ``/auth`` -> keycloak, 8443 test listener, 80 -> 443) and
an NLB (MQTT over TLS 8883), their security groups and target groups, the ACM certificate and the DNS
records. It changes with the domain, the certificate and who may reach what; the service stack,
which changes with every image and size, imports the target groups and security groups from here.

Modules: ``config`` (the parameters-file section and template parameters), ``security`` (the load
balancers' groups), ``load_balancers`` (load balancers, listeners, target groups, certificate, DNS),
``firewall`` (AWS WAF on the ALB, under ``edge.waf``).
"""

from __future__ import annotations

from functools import partial

from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Not,
    Or,
    Ref,
    Sub,
    Template,
)

from herd_cfn import names
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.helpers import given, output
from herd_cfn.templates.stacks.edge import access_logs, firewall, load_balancers, security
from herd_cfn.templates.stacks.edge.config import INPUTS, EdgeConfig, validate_project

E = names.Edge


def _conditions(t: Template) -> None:
    t.add_condition(E.HAS_HOSTED_ZONE, given(E.HOSTED_ZONE_ID))
    t.add_condition(E.HAS_ACCESS_LOGS, Equals(Ref(E.ACCESS_LOGS), "true"))
    t.add_condition(E.CREATE_LOG_BUCKET, And(Condition(E.HAS_ACCESS_LOGS), Equals(Ref(E.ACCESS_LOG_BUCKET), "")))
    t.add_condition(E.LIVE_ON_GREEN, Equals(Ref(E.LIVE_TARGET_GROUP), "green"))
    t.add_condition(E.TEST_ON_GREEN, Equals(Ref(E.TEST_TARGET_GROUP), "green"))
    t.add_condition(E.HAS_WAF, Not(Equals(Ref(E.WAF_MODE), "off")))
    t.add_condition(E.WAF_BLOCKS, Equals(Ref(E.WAF_MODE), "block"))
    t.add_rule("CertificateSource", {"Assertions": [{
        "Assert": Or(given(E.HOSTED_ZONE_ID), given(E.CERTIFICATE_ARN)),
        "AssertDescription": "Give HostedZoneId or CertificateArn",
    }]})


def _outputs(t: Template) -> None:
    out = partial(output, t, names.EDGE)
    out(E.OUT_APPLICATION_URL, Sub("https://${%s}" % E.DOMAIN), "The platform's address")
    out(E.OUT_MQTT_URL, Sub("mqtts://%s.${%s}:%d" % (E.MQTT_HOST_PREFIX, E.DOMAIN, E.MQTT_TLS_PORT)),
           "MQTT over TLS", export=False)
    out(E.OUT_DNS_INSTRUCTIONS, If(
        E.HAS_HOSTED_ZONE, "none",
        Sub("${%s} -> ${%s.DNSName}; %s.${%s} -> ${%s.DNSName}"
            % (E.DOMAIN, E.ALB, E.MQTT_HOST_PREFIX, E.DOMAIN, E.NLB)),
    ), "DNS records (alias or CNAME) to create by hand", export=False)
    out(E.OUT_ACCESS_LOG_BUCKET, If(E.HAS_ACCESS_LOGS, load_balancers.log_bucket(), "none"),
        "Where the load balancers' access logs go (alb/, nlb/)", export=False)
    out(E.OUT_LOAD_BALANCER_ARN, Ref(E.ALB))
    out(E.OUT_LOAD_BALANCER_FULL_NAME, GetAtt(E.ALB, "LoadBalancerFullName"), "Alarm dimension LoadBalancer")
    out(E.OUT_LOAD_BALANCER_DNS, GetAtt(E.ALB, "DNSName"))
    out(E.OUT_NLB_DNS, GetAtt(E.NLB, "DNSName"))
    out(E.OUT_ALB_SECURITY_GROUP, GetAtt(E.ALB_SG, "GroupId"))
    out(E.OUT_NLB_SECURITY_GROUP, GetAtt(E.NLB_SG, "GroupId"))
    out(E.OUT_HTTPS_LISTENER_ARN, Ref(E.HTTPS_LISTENER), "Production listener (CodeDeploy)")
    out(E.OUT_TEST_LISTENER_ARN, Ref(E.TEST_LISTENER), "Test listener (CodeDeploy)")
    out(E.OUT_TEST_LISTENER_PORT, str(E.TEST_LISTENER_PORT))
    out(E.OUT_BLUE_TARGET_GROUP_ARN, Ref(E.BLUE_TARGET_GROUP), "The manager service's target group")
    out(E.OUT_BLUE_TARGET_GROUP_NAME, GetAtt(E.BLUE_TARGET_GROUP, "TargetGroupName"))
    out(E.OUT_GREEN_TARGET_GROUP_NAME, GetAtt(E.GREEN_TARGET_GROUP, "TargetGroupName"))
    out(E.OUT_BLUE_TARGET_GROUP_FULL_NAME, GetAtt(E.BLUE_TARGET_GROUP, "TargetGroupFullName"))
    out(E.OUT_GREEN_TARGET_GROUP_FULL_NAME, GetAtt(E.GREEN_TARGET_GROUP, "TargetGroupFullName"))
    out(E.OUT_KEYCLOAK_TARGET_GROUP_ARN, Ref(E.KEYCLOAK_TARGET_GROUP))
    out(E.OUT_KEYCLOAK_TARGET_GROUP_FULL_NAME, GetAtt(E.KEYCLOAK_TARGET_GROUP, "TargetGroupFullName"))
    out(E.OUT_NLB_FULL_NAME, GetAtt(E.NLB, "LoadBalancerFullName"))
    out(E.OUT_MQTT_TARGET_GROUP_ARN, Ref(E.MQTT_TARGET_GROUP), "Targets kept by the reconcile function")


def build(t: Template) -> None:
    _conditions(t)
    security.build(t)
    access_logs.build(t)
    load_balancers.build(t)
    firewall.build(t)
    _outputs(t)


STACK = StackDefinition(
    name=names.EDGE,
    description="ALB (HTTPS, /auth, test listener), NLB (MQTT over TLS), target groups, certificate, DNS",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK,),
    config_key="edge",
    config_model=EdgeConfig,
    validate_project=validate_project,
)
