"""Security groups, least privilege: internet -> load balancers only; ALB -> keycloak/manager 8080;
NLB -> manager 1883; manager/keycloak -> postgresql 5432; manager -> keycloak 8080. Tasks reach EFS
through the data stack's EFS client group, and AWS APIs (ECR, Secrets Manager, logs) on 443 via NAT.

Rules between two groups are separate resources: inline rules that point at each other would make a
dependency cycle.
"""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, Template, ec2

from herd_cfn import names
from herd_cfn.stacks.service.common import S, network

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
SMTP_PORTS = (465, 587)  # SMTPS and submission, for OR_EMAIL_* when an email secret is given


def _rule(port: int, cidr: object, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=description)


def _group(t: Template, name: str, description: str, ingress: list, egress: list) -> ec2.SecurityGroup:
    # Without inline egress CloudFormation keeps EC2's allow-all rule, so a group whose outbound rules
    # are all separate resources gets a rule that matches nothing (as AWS CDK does).
    if not egress:
        egress = [ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
                                        Description="no outbound traffic")]
    return t.add_resource(ec2.SecurityGroup(
        name, GroupDescription=description, VpcId=network(names.Network.OUT_VPC_ID),
        SecurityGroupIngress=ingress or NoValue, SecurityGroupEgress=egress,
    ))


def _allow(t: Template, source: str, destination: str, port: int, description: str) -> None:
    """Egress on the source group and ingress on the destination group, for one TCP port."""
    t.add_resource(ec2.SecurityGroupEgress(
        S.sg_rule("Egress", source, destination, port), GroupId=GetAtt(source, "GroupId"), IpProtocol="tcp",
        FromPort=port, ToPort=port, DestinationSecurityGroupId=GetAtt(destination, "GroupId"),
        Description=description,
    ))
    t.add_resource(ec2.SecurityGroupIngress(
        S.sg_rule("Ingress", source, destination, port), GroupId=GetAtt(destination, "GroupId"), IpProtocol="tcp",
        FromPort=port, ToPort=port, SourceSecurityGroupId=GetAtt(source, "GroupId"), Description=description,
    ))


def build(t: Template) -> None:
    aws_apis = _rule(HTTPS, ANYWHERE, "AWS APIs (ECR, Secrets Manager, CloudWatch Logs) and registries via NAT")
    _group(t, S.ALB_SG, "herd ALB: HTTP/HTTPS from the internet, test listener from the admin CIDR", [
        _rule(80, ANYWHERE, "HTTP, redirected to HTTPS"),
        _rule(HTTPS, ANYWHERE, "HTTPS"),
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=S.TEST_LISTENER_PORT, ToPort=S.TEST_LISTENER_PORT,
                              CidrIp=Ref(S.ADMIN_CIDR), Description="blue/green test listener, admins only"),
    ], [])
    _group(t, S.NLB_SG, "herd NLB: MQTT over TLS from the internet",
           [_rule(S.MQTT_TLS_PORT, ANYWHERE, "MQTT over TLS")], [])
    _group(t, S.MANAGER_SG, "herd manager tasks", [], [
        aws_apis,
        # The manager mails through the SMTP server of the email secret, only when there is one.
        *(If(S.HAS_EMAIL, _rule(port, ANYWHERE, "SMTP (OR_EMAIL_*)"), NoValue)
          for port in SMTP_PORTS),
    ])
    _group(t, S.KEYCLOAK_SG, "herd keycloak tasks", [], [aws_apis])
    _group(t, S.POSTGRES_SG, "herd postgresql task", [], [aws_apis])

    _allow(t, S.ALB_SG, S.MANAGER_SG, S.MANAGER_HTTP_PORT, "ALB to manager HTTP")
    _allow(t, S.ALB_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT, "ALB to keycloak HTTP")
    _allow(t, S.NLB_SG, S.MANAGER_SG, S.MANAGER_MQTT_PORT, "NLB to manager MQTT")
    _allow(t, S.MANAGER_SG, S.KEYCLOAK_SG, S.KEYCLOAK_HTTP_PORT, "manager to keycloak (OR_KEYCLOAK_HOST)")
    _allow(t, S.MANAGER_SG, S.POSTGRES_SG, S.POSTGRES_PORT, "manager to postgresql")
    _allow(t, S.KEYCLOAK_SG, S.POSTGRES_SG, S.POSTGRES_PORT, "keycloak to postgresql")
