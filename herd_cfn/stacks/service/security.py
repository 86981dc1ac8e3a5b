"""Security groups, least privilege: internet -> load balancers only; ALB -> keycloak/manager 8080;
NLB -> manager 1883; manager/keycloak -> postgresql 5432; manager -> keycloak 8080. Tasks reach EFS
through the data stack's EFS client group, and AWS APIs (ECR, Secrets Manager, logs) on 443 via NAT.

Ingress from another group is inline on the receiving group; the matching egress is a separate
resource, because two groups whose inline rules name each other would be a dependency cycle.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, ec2

from herd_cfn import names
from herd_cfn.stacks.service.common import S, network, skip

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
SMTP_PORT = 587  # submission with STARTTLS (OR_EMAIL_TLS=true), e.g. SES; only with an email secret
# Without inline egress CloudFormation keeps EC2's allow-all rule; this one matches nothing (as AWS CDK does).
NO_EGRESS = ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
                                  Description="none")


def _cidr(port: int, cidr: object, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=description)


def _from(group: str, port: int) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port,
                                 SourceSecurityGroupId=GetAtt(group, "GroupId"), Description=_short(group))


def _short(group: str) -> str:
    return group.removesuffix("SecurityGroup")


def _group(t: Template, name: str, description: str, ingress: list, egress: list, **extra) -> None:
    t.add_resource(ec2.SecurityGroup(
        name, GroupDescription=description, VpcId=network(names.Network.OUT_VPC_ID),
        SecurityGroupIngress=ingress, SecurityGroupEgress=egress or [NO_EGRESS], **extra,
    ))


def _egress(t: Template, name: str, source: str, destination: str, port: int) -> None:
    t.add_resource(ec2.SecurityGroupEgress(
        name, GroupId=GetAtt(source, "GroupId"), IpProtocol="tcp",
        FromPort=port, ToPort=port, DestinationSecurityGroupId=GetAtt(destination, "GroupId"),
        Description=_short(destination),
    ))


def build(t: Template) -> None:
    aws_apis = _cidr(HTTPS, ANYWHERE, "AWS APIs, registries")
    _group(t, S.ALB_SG, "herd ALB", [
        _cidr(80, ANYWHERE, "HTTP"),
        _cidr(HTTPS, ANYWHERE, "HTTPS"),
        _cidr(S.TEST_LISTENER_PORT, Ref(S.ADMIN_CIDR), "test listener"),
    ], [], Metadata=skip(("CKV_AWS_260", "Port 80 only redirects to HTTPS (443)")))
    _group(t, S.NLB_SG, "herd MQTT NLB", [_cidr(S.MQTT_TLS_PORT, ANYWHERE, "MQTT over TLS")], [])
    _group(t, S.MANAGER_SG, "herd manager",
           [_from(S.ALB_SG, S.MANAGER_HTTP_PORT), _from(S.NLB_SG, S.MANAGER_MQTT_PORT)],
           [aws_apis])
    _group(t, S.KEYCLOAK_SG, "herd keycloak",
           [_from(S.ALB_SG, S.KEYCLOAK_HTTP_PORT), _from(S.MANAGER_SG, S.KEYCLOAK_HTTP_PORT)], [aws_apis])
    _group(t, S.POSTGRES_SG, "herd postgresql",
           [_from(S.MANAGER_SG, S.POSTGRES_PORT), _from(S.KEYCLOAK_SG, S.POSTGRES_PORT)], [aws_apis])

    t.add_resource(ec2.SecurityGroupEgress(
        S.MANAGER_SMTP_EGRESS, Condition=S.HAS_EMAIL, GroupId=GetAtt(S.MANAGER_SG, "GroupId"), IpProtocol="tcp",
        FromPort=SMTP_PORT, ToPort=SMTP_PORT, CidrIp=ANYWHERE, Description="SMTP"))
    _egress(t, S.ALB_TO_MANAGER_EGRESS, S.ALB_SG, S.MANAGER_SG, S.MANAGER_HTTP_PORT)
    _egress(t, S.ALB_TO_KEYCLOAK_EGRESS, S.ALB_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT)
    _egress(t, S.NLB_TO_MANAGER_EGRESS, S.NLB_SG, S.MANAGER_SG, S.MANAGER_MQTT_PORT)
    _egress(t, S.MANAGER_TO_KEYCLOAK_EGRESS, S.MANAGER_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT)
    _egress(t, S.MANAGER_TO_POSTGRES_EGRESS, S.MANAGER_SG, S.POSTGRES_SG, S.POSTGRES_PORT)
    _egress(t, S.KEYCLOAK_TO_POSTGRES_EGRESS, S.KEYCLOAK_SG, S.POSTGRES_SG, S.POSTGRES_PORT)
