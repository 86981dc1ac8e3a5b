"""The load balancers' security groups: the internet reaches the ALB on 80 and 443 and the NLB on
8883; only the admin CIDR reaches the test listener. Their egress to the tasks (ALB -> manager and
keycloak 8080, NLB -> manager 1883) is added by the service stack, which owns the tasks' groups and
imports these two."""

from __future__ import annotations

from troposphere import Ref, Template, ec2

from herd_cfn import names
from herd_cfn.templates.helpers import ANYWHERE, HTTPS, NO_EGRESS, cidr_rule, network, skip

E = names.Edge


def build(t: Template) -> None:
    def group(name: str, description: str, ingress: list, **extra) -> None:
        t.add_resource(ec2.SecurityGroup(
            name, GroupDescription=description, VpcId=network(names.Network.OUT_VPC_ID),
            SecurityGroupIngress=ingress, SecurityGroupEgress=[NO_EGRESS], **extra,
        ))

    group(E.ALB_SG, "herd ALB", [
        cidr_rule(80, ANYWHERE, "HTTP"),
        cidr_rule(HTTPS, ANYWHERE, "HTTPS"),
        cidr_rule(E.TEST_LISTENER_PORT, Ref(E.ADMIN_CIDR), "test listener"),
    ], Metadata=skip(("CKV_AWS_260", "Port 80 only redirects to HTTPS (443)")))
    group(E.NLB_SG, "herd MQTT NLB", [cidr_rule(E.MQTT_TLS_PORT, ANYWHERE, "MQTT over TLS")])
