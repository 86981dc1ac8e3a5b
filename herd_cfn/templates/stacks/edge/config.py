"""The ``edge`` section of an environment's parameters file and the template parameters made from it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from herd_cfn import names
from herd_cfn.errors import InputError
from herd_cfn.fields import (
    ARN_CHARSET,
    ARN_WORDS,
    LOG_RETENTION_DAYS,
    LogRetentionDays,
    StrictModel,
    Text,
    ip_network,
    matching,
    require_ipv4,
)
from herd_cfn.templates.base import Input, optional_input

E = names.Edge

CERTIFICATE_PATTERN = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}"
HOSTED_ZONE_PATTERN = r"Z[A-Z0-9]{1,31}"
BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"

CertificateArn = Annotated[
    str, Text(2048, ARN_CHARSET, ARN_WORDS, "an ACM certificate ARN"),
    matching(CERTIFICATE_PATTERN, "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>")]
HostedZoneId = Annotated[
    str, Text(32, r"[A-Z0-9]", "upper-case letters and digits", "a Route 53 hosted zone id"),
    matching(HOSTED_ZONE_PATTERN, "Z0123456789ABCDEFGHIJ (a Route 53 hosted zone id)")]
BucketName = Annotated[
    str, Text(63, r"[a-z0-9.-]", "lower-case letters, digits, '.' and '-'", "an S3 bucket name", min_length=3),
    matching(BUCKET_PATTERN, "an S3 bucket name such as herd-alb-logs-dev")]


# The test listener serves the new, untested manager before traffic moves: only a known network may reach it.
WIDEST_ADMIN_PREFIX = 8


def _admin_cidr(value: str) -> str:
    network = ip_network(value, what="the network allowed on the test listener", example="203.0.113.0/24")
    if network.prefixlen < WIDEST_ADMIN_PREFIX:
        raise ValueError(f"{value} opens the test listener (the untested new version) to "
                         f"{'the whole internet' if network.prefixlen == 0 else 'a large part of the internet'}; "
                         f"give the office or VPN network, /{WIDEST_ADMIN_PREFIX} or narrower")
    require_ipv4(network, "the load balancers are IPv4 only")
    return value


AdminCidr = Annotated[str, Text(43, r"[0-9a-fA-F.:/]", "digits, '.', ':' and '/'", "an IP network in CIDR notation"),
                      AfterValidator(_admin_cidr)]


class EdgeConfig(StrictModel):
    hosted_zone_id: HostedZoneId | None = Field(
        None, description="Route 53 zone of the domain: the stack then makes the certificate and DNS records")
    certificate_arn: CertificateArn | None = Field(
        None, description="Existing ACM certificate for <domain> and mqtt.<domain> when there is no hosted zone")
    admin_cidr: AdminCidr = Field(description="Who may reach the test listener (port 8443), e.g. the office VPN")
    access_logs: bool | None = Field(
        None, description="Access logs of the ALB and of the NLB's TLS listener; default: on in production")
    access_log_bucket: BucketName | None = Field(
        None, description="Your own S3 bucket for the access logs (its policy must allow ELB log delivery to "
                          "alb/ and nlb/, SSE-S3); none = the stack makes and retains one")
    access_log_retention_days: int = Field(
        90, ge=1, le=3650, description="Days the stack's own access-log bucket keeps the logs")
    waf: Literal["off", "count", "block"] | None = Field(
        None, description="AWS WAF on the ALB: off, count (rules only count, read the logs) or block; "
                          "none = count in production, off elsewhere")
    waf_log_retention_days: LogRetentionDays = Field(90, description="Retention of the WAF log group (days)")

    @model_validator(mode="after")
    def _one_certificate_source(self) -> EdgeConfig:
        if (self.hosted_zone_id is None) == (self.certificate_arn is None):
            raise ValueError(
                "give exactly one of hosted_zone_id (the stack creates a DNS-validated certificate and the DNS "
                "records) or certificate_arn (an existing ACM certificate; you create the DNS records)"
                + (", not both" if self.hosted_zone_id else "")
            )
        return self

    @model_validator(mode="after")
    def _bucket_needs_logs(self) -> EdgeConfig:
        if self.access_log_bucket and self.access_logs is False:
            raise ValueError("access_log_bucket is given but access_logs is false; drop one of them")
        return self


def access_logs_on(env) -> bool:
    """Access logs are on when asked for, or in production unless turned off."""
    edge = env.edge
    return edge.access_logs if edge.access_logs is not None else bool(env.production or edge.access_log_bucket)


WAF_MODES = ("off", "count", "block")


def waf_mode(env) -> str:
    return env.edge.waf or ("count" if env.production else "off")


# RFC 5280 limits a certificate's Common Name, ACM's DomainName, to 64 characters.
ACM_DOMAIN_NAME_MAX = 64


def validate_project(project) -> None:
    """An ALB/NLB certificate must live in the load balancers' account and region; a certificate the stack
    requests names the domain as its Common Name."""
    for env in project.environments.values():
        if env.edge.hosted_zone_id and len(env.domain) > ACM_DOMAIN_NAME_MAX:
            raise InputError(str(env.file), "domain",
                             f"at most {ACM_DOMAIN_NAME_MAX} characters when the stack requests the certificate "
                             f"(ACM's limit for a certificate's domain name), got {len(env.domain)}; shorten it or "
                             "give edge.certificate_arn instead of edge.hosted_zone_id")
        arn = env.edge.certificate_arn
        if arn:
            region, account = arn.split(":")[3:5]
            if (region, account) != (env.region, env.account_id):
                raise InputError(
                    str(env.file), "edge.certificate_arn",
                    f"the certificate is in {account}/{region} but the environment runs in "
                    f"{env.account_id}/{env.region}; ACM certificates for load balancers must be in the same "
                    "account and region")


INPUTS = (
    Input(E.DOMAIN, "Public DNS name (certificate, ALB record)",
          lambda env: env.domain, allowed_pattern=r"^[a-z0-9.-]+\.[a-z]{2,63}$"),
    optional_input(E.HOSTED_ZONE_ID, "Route 53 zone of the domain; empty: CertificateArn",
                   lambda env: env.edge.hosted_zone_id, HOSTED_ZONE_PATTERN),
    optional_input(E.CERTIFICATE_ARN, "ACM certificate for the domain and mqtt.domain",
                   lambda env: env.edge.certificate_arn, CERTIFICATE_PATTERN),
    Input(E.ADMIN_CIDR, "CIDR allowed on the test listener",
          lambda env: env.edge.admin_cidr, allowed_pattern=r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$"),
    Input(E.DELETION_PROTECTION, "Load balancer deletion protection",
          lambda env: env.production, allowed_values=("true", "false")),
    Input(E.ACCESS_LOGS, "ALB and NLB (TLS) access logs", access_logs_on, allowed_values=("true", "false"),
          default="true"),
    optional_input(E.ACCESS_LOG_BUCKET, "Own S3 bucket for access logs; empty: the stack's",
                   lambda env: env.edge.access_log_bucket, BUCKET_PATTERN),
    Input(E.WAF_MODE, "AWS WAF on the ALB", waf_mode, allowed_values=WAF_MODES),
    Input(E.WAF_LOG_RETENTION, "WAF log retention (days)", lambda env: env.edge.waf_log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    Input(E.ACCESS_LOG_RETENTION, "Days the stack's access-log bucket keeps logs",
          lambda env: env.edge.access_log_retention_days, type="Number", min_value=1, max_value=3650),
    # Always blue in the parameters files: the rollout and `deploy` put in what the listener serves now.
    Input(E.LIVE_TARGET_GROUP, "Target group the production listener forwards to (filled from the live listener)",
          lambda env: "blue", allowed_values=("blue", "green"), default="blue"),
    Input(E.TEST_TARGET_GROUP, "Target group the test listener forwards to (filled from the live listener)",
          lambda env: "blue", allowed_values=("blue", "green"), default="blue"),
)
