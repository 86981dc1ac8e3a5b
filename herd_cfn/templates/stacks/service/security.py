"""Security groups of the tasks, least privilege: the edge stack's ALB -> keycloak/manager 8080 and
NLB -> manager 1883; manager/keycloak -> postgresql 5432; manager -> keycloak 8080. Tasks reach EFS
through the data stack's EFS client group, and AWS APIs (ECR, Secrets Manager, logs) on 443 via NAT. The
manager also reaches devices and services on the ports of ``service.manager_egress`` (egress.py).

Ingress from another group is inline on the receiving group; the matching egress is a separate
resource, because two groups whose inline rules name each other would be a dependency cycle. The
load balancers' egress to the tasks lives here too: their groups are imported from the edge stack,
which cannot name groups made after it.
"""

from __future__ import annotations

from troposphere import GetAtt, Template, ec2

from herd_cfn.templates.helpers import ANYWHERE, HTTPS, E, N, S, cidr_rule, edge, network
from herd_cfn.templates.stacks.service.egress import DEFAULT_LAYOUT, SMTP_PORT, group_egress

# The edge stack's groups, by the logical ID that names them in rule descriptions.
LOAD_BALANCER_GROUPS = {E.ALB_SG: E.OUT_ALB_SECURITY_GROUP, E.NLB_SG: E.OUT_NLB_SECURITY_GROUP}


def group_id(group: str):
    """A task group of this stack, or a load balancer group imported from the edge stack."""
    if group in LOAD_BALANCER_GROUPS:
        return edge(LOAD_BALANCER_GROUPS[group])
    return GetAtt(group, "GroupId")


def _from(group: str, port: int) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port,
                                 SourceSecurityGroupId=group_id(group), Description=_short(group))


def _short(group: str) -> str:
    return group.removesuffix("SecurityGroup")


def _group(t: Template, name: str, description: str, ingress: list, egress: list | None = None) -> None:
    t.add_resource(ec2.SecurityGroup(
        name, GroupDescription=description, VpcId=network(N.OUT_VPC_ID), SecurityGroupIngress=ingress,
        SecurityGroupEgress=egress or [cidr_rule(HTTPS, ANYWHERE, "AWS APIs, registries")],
    ))


def _egress(t: Template, name: str, source: str, destination: str, port: int) -> None:
    t.add_resource(ec2.SecurityGroupEgress(
        name, GroupId=group_id(source), IpProtocol="tcp",
        FromPort=port, ToPort=port, DestinationSecurityGroupId=group_id(destination),
        Description=_short(destination),
    ))


def build(t: Template) -> None:
    # The default device rules; a project with other rules replaces them (egress.extension).
    _group(t, S.MANAGER_SG, "herd manager",
           [_from(E.ALB_SG, S.MANAGER_HTTP_PORT), _from(E.NLB_SG, S.MANAGER_MQTT_PORT)], group_egress(DEFAULT_LAYOUT))
    _group(t, S.KEYCLOAK_SG, "herd keycloak",
           [_from(E.ALB_SG, S.KEYCLOAK_HTTP_PORT), _from(S.MANAGER_SG, S.KEYCLOAK_HTTP_PORT)])
    _group(t, S.POSTGRES_SG, "herd postgresql",
           [_from(S.MANAGER_SG, S.POSTGRES_PORT), _from(S.KEYCLOAK_SG, S.POSTGRES_PORT),
            _from(S.RESTORE_SG, S.POSTGRES_PORT)])  # the dump task (pg_dump, pg_restore)

    # OpenRemote configures each realm's SMTP server in Keycloak from the manager's OR_EMAIL_* settings, so
    # Keycloak's own mail (password resets, e-mail verification) leaves from Keycloak's task.
    for rule, group in ((S.MANAGER_SMTP_EGRESS, S.MANAGER_SG), (S.KEYCLOAK_SMTP_EGRESS, S.KEYCLOAK_SG)):
        t.add_resource(ec2.SecurityGroupEgress(
            rule, Condition=S.HAS_EMAIL, GroupId=GetAtt(group, "GroupId"), IpProtocol="tcp",
            FromPort=SMTP_PORT, ToPort=SMTP_PORT, CidrIp=ANYWHERE, Description="SMTP"))
    _egress(t, S.ALB_TO_MANAGER_EGRESS, E.ALB_SG, S.MANAGER_SG, S.MANAGER_HTTP_PORT)
    _egress(t, S.ALB_TO_KEYCLOAK_EGRESS, E.ALB_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT)
    _egress(t, S.NLB_TO_MANAGER_EGRESS, E.NLB_SG, S.MANAGER_SG, S.MANAGER_MQTT_PORT)
    _egress(t, S.MANAGER_TO_KEYCLOAK_EGRESS, S.MANAGER_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT)
    _egress(t, S.MANAGER_TO_POSTGRES_EGRESS, S.MANAGER_SG, S.POSTGRES_SG, S.POSTGRES_PORT)
    _egress(t, S.KEYCLOAK_TO_POSTGRES_EGRESS, S.KEYCLOAK_SG, S.POSTGRES_SG, S.POSTGRES_PORT)
