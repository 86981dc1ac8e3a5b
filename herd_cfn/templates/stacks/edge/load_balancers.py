"""The ALB (HTTPS 443 production listener, 8443 test listener, 80 -> 443), the NLB (MQTT over TLS
8883 -> manager 1883), their target groups, the certificate and the DNS records.

``<domain>`` aliases the ALB and ``mqtt.<domain>`` the NLB: one name cannot alias two load balancers,
and OpenRemote's MQTT broker does not check the host name clients connect to.
"""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, Select, Sub, Template, certificatemanager, route53
from troposphere import elasticloadbalancingv2 as elb

from herd_cfn import names
from herd_cfn.templates.helpers import network, public_subnets

E = names.Edge
N = names.Network
S = names.Service  # the container ports the target groups forward to

# TLS 1.3 and 1.2 with forward-secret AEAD ciphers only (AWS's recommended policy since 2023).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Websocket connections (/websocket/events) stay open while idle; the ALB would cut them after 60 s.
IDLE_TIMEOUT_SECONDS = 900
DEREGISTRATION_SECONDS = 30  # keeps the blue/green overlap of the singleton manager short
MANAGER_HEALTH_PATH = "/api/master/info"  # answered without login once the manager is up
KEYCLOAK_HEALTH_PATH = "/auth/health/ready"
AUTH_PATHS = ["/auth", "/auth/*"]
MQTT_NAME = Sub(f"{E.MQTT_HOST_PREFIX}.${{{E.DOMAIN}}}")


def certificate_arn() -> If:
    return If(E.HAS_HOSTED_ZONE, Ref(E.CERTIFICATE), Ref(E.CERTIFICATE_ARN))


def _attributes(*pairs: tuple[str, object]) -> list:
    return [elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in pairs]


def log_bucket(after_policy: bool = False) -> If:
    """The access-log bucket: the user's (AccessLogBucket) or the stack's own.

    ``after_policy``: ELB checks at once that it may write to the bucket, so a load balancer must wait
    for the bucket's policy; a DependsOn cannot be conditional, a reference inside the If can.
    """
    own = Select(0, [Ref(E.LOG_BUCKET), Ref(E.LOG_BUCKET_POLICY)]) if after_policy else Ref(E.LOG_BUCKET)
    return If(E.CREATE_LOG_BUCKET, own, Ref(E.ACCESS_LOG_BUCKET))


def _access_logs(prefix: str) -> list:
    # The NLB writes logs for its TLS listener only, which is all it has.
    return [
        # The parameter itself (default "true"), so a reader, and checkov, sees logs on unless turned off.
        elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value=Ref(E.ACCESS_LOGS)),
        If(E.HAS_ACCESS_LOGS, elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=log_bucket(True)),
           NoValue),
        If(E.HAS_ACCESS_LOGS, elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=prefix), NoValue),
    ]


def _forward(target_group: object) -> list[elb.Action]:
    return [elb.Action(Type="forward", TargetGroupArn=target_group)]


def _blue_and_green(on_green: str) -> list[elb.Action]:
    """Both manager groups, weighted as CodeDeploy leaves them after a deployment (live 100, other 0).

    The idle group stays attached to the load balancer at weight 0, as CodeDeploy's own rewrites keep
    it (so the next deployment's replacement tasks pass ELB health checks before traffic moves).
    """
    return [elb.Action(Type="forward", ForwardConfig=elb.ForwardConfig(TargetGroups=[
        elb.TargetGroupTuple(TargetGroupArn=Ref(E.BLUE_TARGET_GROUP), Weight=If(on_green, 0, 100)),
        elb.TargetGroupTuple(TargetGroupArn=Ref(E.GREEN_TARGET_GROUP), Weight=If(on_green, 100, 0)),
    ]))]


def _http_target_group(t: Template, name: str, health_path: str, *attributes: tuple[str, str]) -> None:
    t.add_resource(elb.TargetGroup(
        name, TargetType="ip", Protocol="HTTP", Port=S.MANAGER_HTTP_PORT, VpcId=network(N.OUT_VPC_ID),
        HealthCheckPath=health_path, HealthCheckIntervalSeconds=15, HealthyThresholdCount=2,  # matcher: 200
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key=k, Value=v) for k, v in (
            ("deregistration_delay.timeout_seconds", str(DEREGISTRATION_SECONDS)), *attributes)],
    ))


def build(t: Template) -> None:
    t.add_resource(certificatemanager.Certificate(
        E.CERTIFICATE, Condition=E.HAS_HOSTED_ZONE, DomainName=Ref(E.DOMAIN), SubjectAlternativeNames=[MQTT_NAME],
        ValidationMethod="DNS", DomainValidationOptions=[
            certificatemanager.DomainValidationOption(DomainName=name, HostedZoneId=Ref(E.HOSTED_ZONE_ID))
            for name in (Ref(E.DOMAIN), MQTT_NAME)],
    ))
    _alb(t)
    _nlb(t)
    for record, name, balancer in ((E.APP_DNS_RECORD, Ref(E.DOMAIN), E.ALB), (E.MQTT_DNS_RECORD, MQTT_NAME, E.NLB)):
        t.add_resource(route53.RecordSetType(
            record, Condition=E.HAS_HOSTED_ZONE, HostedZoneId=Ref(E.HOSTED_ZONE_ID), Name=name, Type="A",
            AliasTarget=route53.AliasTarget(DNSName=GetAtt(balancer, "DNSName"),
                                            HostedZoneId=GetAtt(balancer, "CanonicalHostedZoneID"),
                                            EvaluateTargetHealth=False),
        ))


def _alb(t: Template) -> None:
    t.add_resource(elb.LoadBalancer(
        E.ALB, Type="application", Scheme="internet-facing", Subnets=public_subnets(),
        SecurityGroups=[GetAtt(E.ALB_SG, "GroupId")],
        LoadBalancerAttributes=[
            *_attributes(("deletion_protection.enabled", Ref(E.DELETION_PROTECTION)),
                         ("routing.http.drop_invalid_header_fields.enabled", "true"),
                         ("idle_timeout.timeout_seconds", str(IDLE_TIMEOUT_SECONDS))),
            *_access_logs(E.ALB_LOG_PREFIX),
        ],
    ))
    for name in (E.BLUE_TARGET_GROUP, E.GREEN_TARGET_GROUP):
        _http_target_group(t, name, MANAGER_HEALTH_PATH)
    # Keycloak keeps sessions per task when there are several (no cluster discovery on Fargate).
    _http_target_group(t, E.KEYCLOAK_TARGET_GROUP, KEYCLOAK_HEALTH_PATH,
                       ("stickiness.enabled", "true"), ("stickiness.type", "lb_cookie"))

    t.add_resource(elb.Listener(
        E.HTTP_LISTENER, LoadBalancerArn=Ref(E.ALB), Port=80, Protocol="HTTP",
        DefaultActions=[elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))],
    ))
    for listener, port, on_green in ((E.HTTPS_LISTENER, 443, E.LIVE_ON_GREEN),
                                     (E.TEST_LISTENER, E.TEST_LISTENER_PORT, E.TEST_ON_GREEN)):
        # CodeDeploy moves the default action between blue and green at every deployment; an update of
        # this stack must leave it where CodeDeploy put it, which the rollout reads into the parameter.
        t.add_resource(elb.Listener(
            listener, LoadBalancerArn=Ref(E.ALB), Port=port, Protocol="HTTPS", SslPolicy=SSL_POLICY,
            Certificates=[elb.Certificate(CertificateArn=certificate_arn())],
            DefaultActions=_blue_and_green(on_green),
        ))
    # /auth stays on keycloak. The test listener needs no such rule: logins go to KC_HOSTNAME on 443.
    t.add_resource(elb.ListenerRule(
        E.HTTPS_AUTH_RULE, ListenerArn=Ref(E.HTTPS_LISTENER), Priority=10,
        Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(E.KEYCLOAK_TARGET_GROUP))],
        Conditions=[elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=AUTH_PATHS))],
    ))


def _nlb(t: Template) -> None:
    t.add_resource(elb.LoadBalancer(
        E.NLB, Type="network", Scheme="internet-facing", Subnets=public_subnets(),
        SecurityGroups=[GetAtt(E.NLB_SG, "GroupId")],
        LoadBalancerAttributes=[
            *_attributes(("deletion_protection.enabled", Ref(E.DELETION_PROTECTION)),
                         # One manager task sits in one AZ; every NLB node must reach it.
                         ("load_balancing.cross_zone.enabled", "true")),
            *_access_logs(E.NLB_LOG_PREFIX),
        ],
    ))
    # Not attached to the ECS service (CODE_DEPLOY allows one target group pair): the reconcile
    # function keeps its only target equal to the running manager task's IP.
    t.add_resource(elb.TargetGroup(
        E.MQTT_TARGET_GROUP, TargetType="ip", Protocol="TCP", Port=S.MANAGER_MQTT_PORT, VpcId=network(N.OUT_VPC_ID),
        HealthCheckProtocol="TCP", HealthCheckIntervalSeconds=10, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2,
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key=k, Value=v) for k, v in (
            ("deregistration_delay.timeout_seconds", str(DEREGISTRATION_SECONDS)),
            # Clients of a replaced task reconnect at once instead of hanging on a dead connection.
            ("deregistration_delay.connection_termination.enabled", "true"))],
    ))
    t.add_resource(elb.Listener(
        E.MQTT_LISTENER, LoadBalancerArn=Ref(E.NLB), Port=E.MQTT_TLS_PORT, Protocol="TLS", SslPolicy=SSL_POLICY,
        Certificates=[elb.Certificate(CertificateArn=certificate_arn())],
        DefaultActions=_forward(Ref(E.MQTT_TARGET_GROUP)),
    ))
