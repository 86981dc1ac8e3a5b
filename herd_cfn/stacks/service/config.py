"""The ``service`` section of an environment's parameters file and the template parameters made from it."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from herd_cfn import names
from herd_cfn.errors import InputError
from herd_cfn.fields import LOG_RETENTION_DAYS, Cidr, LogRetentionDays, StrictModel
from herd_cfn.stacks.base import Input

S = names.Service

# Fargate accepts only these CPU units and, for each, this memory range (MiB) in these steps.
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 512),  # 512, 1024, 2048 (no 1536): special-cased below
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def fargate_memory_options(cpu: int) -> list[int]:
    low, high, step = FARGATE_SIZES[cpu]
    if cpu == 256:
        return [512, 1024, 2048]
    return list(range(low, high + 1, step))


ALL_CPU = tuple(str(c) for c in FARGATE_SIZES)
# The CPU/memory pairing is checked in the parameters file (TaskSize); the template keeps the range.
MEMORY_RANGE = {"type": "Number", "min_value": 512, "max_value": 122880}


class TaskSize(StrictModel):
    cpu: int = Field(description="Fargate CPU units of the task (256, 512, 1024, 2048, 4096, 8192, 16384)")
    memory: int = Field(description="Fargate memory of the task in MiB; must be valid for the CPU size")

    @model_validator(mode="after")
    def _valid_fargate_size(self) -> TaskSize:
        if self.cpu not in FARGATE_SIZES:
            raise ValueError(
                f"cpu {self.cpu} is not a Fargate size; use one of {', '.join(map(str, FARGATE_SIZES))}"
            )
        options = fargate_memory_options(self.cpu)
        if self.memory not in options:
            low, high, step = FARGATE_SIZES[self.cpu]
            allowed = "512, 1024 or 2048" if self.cpu == 256 else f"{low} to {high} in steps of {step}"
            raise ValueError(
                f"memory {self.memory} MiB is not valid on Fargate with cpu {self.cpu}; use {allowed}"
            )
        return self


_IMAGE = re.compile(r"[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})")
IMAGE_PATTERN = _IMAGE.pattern


def _pinned_image(value: str) -> str:
    if not _IMAGE.fullmatch(value):
        raise ValueError(f"must be an image reference with a tag or digest, e.g. openremote/manager:1.28.1, "
                         f"got {value!r}")
    if value.endswith(":latest") or value.rsplit(":", 1)[-1].startswith("latest"):
        raise ValueError(f"pin a version instead of a 'latest' tag so a restart cannot change the software, "
                         f"got {value!r}")
    return value


CERTIFICATE_PATTERN = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}"
SECRET_PATTERN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
HOSTED_ZONE_PATTERN = r"Z[A-Z0-9]{1,31}"
BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}"
SETUP_TYPE_PATTERN = r"[A-Za-z0-9_-]{1,32}"


def _matching(pattern: str, example: str):
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must look like {example}, got {value!r}")
        return value

    return AfterValidator(check)


def _time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValueError(f"must be an IANA time zone such as Europe/Amsterdam or UTC, got {value!r}")
    return value


Image = Annotated[str, AfterValidator(_pinned_image)]
CertificateArn = Annotated[str, _matching(CERTIFICATE_PATTERN, "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>")]
SecretArn = Annotated[str, _matching(SECRET_PATTERN, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:name-AbC")]
HostedZoneId = Annotated[str, _matching(HOSTED_ZONE_PATTERN, "Z0123456789ABCDEFGHIJ (a Route 53 hosted zone id)")]
BucketName = Annotated[str, _matching(BUCKET_PATTERN, "an S3 bucket name such as herd-alb-logs-dev")]
Email = Annotated[str, _matching(EMAIL_PATTERN, "ops@example.com")]
SetupType = Annotated[str, _matching(SETUP_TYPE_PATTERN, "production (letters, digits, '-', '_')")]
TimeZone = Annotated[str, AfterValidator(_time_zone)]


class ServiceConfig(StrictModel):
    manager_image: Image = Field(
        "openremote/manager:1.28.1",
        description="Image the manager runs until the first pipeline run (then the pipeline's ECR image)")
    keycloak_image: Image = Field("openremote/keycloak:23.0.7.5", description="OpenRemote's Keycloak image")
    postgres_image: Image = Field(
        "openremote/postgresql:17.9.0.1-slim",
        description="OpenRemote's PostgreSQL image (TimescaleDB + PostGIS; RDS cannot replace it)")
    manager: TaskSize = Field(description="Fargate size of the manager task")
    keycloak: TaskSize = Field(description="Fargate size of each keycloak task")
    postgres: TaskSize = Field(description="Fargate size of the postgresql task")
    keycloak_desired_count: int = Field(
        1, ge=1, le=3,
        description="Keycloak tasks (1-3); more than one keeps sessions per task, the load balancer pins clients")
    hosted_zone_id: HostedZoneId | None = Field(
        None, description="Route 53 zone of the domain: the stack then makes the certificate and DNS records")
    certificate_arn: CertificateArn | None = Field(
        None, description="Existing ACM certificate for <domain> and mqtt.<domain> when there is no hosted zone")
    admin_cidr: Cidr = Field(description="Who may reach the test listener (port 8443), e.g. the office VPN")
    email_secret_arn: SecretArn | None = Field(
        None, description="Secrets Manager secret with JSON keys host, port, user, password, from (SMTP); "
                          "none = no email")
    log_retention_days: LogRetentionDays = Field(description="Log retention (days)")
    access_log_bucket: BucketName | None = Field(
        None, description="S3 bucket for ALB access logs (its policy must allow ELB log delivery); none = off")
    alarm_email: Email | None = Field(None, description="Address subscribed to the alarm topic; none = no email")
    setup_type: SetupType = Field("production", description="OR_SETUP_TYPE, passed to the manager's setup tasks")
    time_zone: TimeZone = Field("Europe/Amsterdam", description="TZ of every container (they must agree)")

    @model_validator(mode="after")
    def _one_certificate_source(self) -> ServiceConfig:
        if (self.hosted_zone_id is None) == (self.certificate_arn is None):
            raise ValueError(
                "give exactly one of hosted_zone_id (the stack creates a DNS-validated certificate and the DNS "
                "records) or certificate_arn (an existing ACM certificate; you create the DNS records)"
                + (", not both" if self.hosted_zone_id else "")
            )
        return self


def validate_project(project) -> None:
    """An ALB/NLB certificate must live in the load balancers' account and region."""
    for env in project.environments.values():
        arn = env.service.certificate_arn
        if arn:
            region, account = arn.split(":")[3:5]
            if (region, account) != (env.region, env.account_id):
                raise InputError(
                    str(env.file), "service.certificate_arn",
                    f"the certificate is in {account}/{region} but the environment runs in "
                    f"{env.account_id}/{env.region}; ACM certificates for load balancers must be in the same "
                    "account and region")


def _opt(value: str | None) -> str:
    return value or ""


def _optional(pattern: str) -> str:
    return f"^$|^{pattern}$"


INPUTS = (
    Input(S.DOMAIN, "Public DNS name (OR_HOSTNAME)",
          lambda env: env.domain, allowed_pattern=r"^[a-z0-9.-]+\.[a-z]{2,63}$"),
    Input(S.HOSTED_ZONE_ID, "Route 53 zone of the domain; empty: CertificateArn",
          lambda env: _opt(env.service.hosted_zone_id), default="",
          allowed_pattern=_optional(HOSTED_ZONE_PATTERN)),
    Input(S.CERTIFICATE_ARN, "ACM certificate for the domain and mqtt.domain",
          lambda env: _opt(env.service.certificate_arn), default="", allowed_pattern=_optional(CERTIFICATE_PATTERN)),
    Input(S.ADMIN_CIDR, "CIDR allowed on the test listener",
          lambda env: env.service.admin_cidr, allowed_pattern=r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$"),
    Input(S.MANAGER_IMAGE, "Manager image before the first pipeline run", lambda env: env.service.manager_image),
    Input(S.KEYCLOAK_IMAGE, "Keycloak image", lambda env: env.service.keycloak_image),
    Input(S.POSTGRES_IMAGE, "PostgreSQL image", lambda env: env.service.postgres_image),
    Input(S.MANAGER_CPU, "Manager CPU units", lambda env: env.service.manager.cpu, allowed_values=ALL_CPU),
    Input(S.MANAGER_MEMORY, "Manager memory (MiB)", lambda env: env.service.manager.memory,
          **MEMORY_RANGE),
    Input(S.KEYCLOAK_CPU, "Keycloak CPU units", lambda env: env.service.keycloak.cpu, allowed_values=ALL_CPU),
    Input(S.KEYCLOAK_MEMORY, "Keycloak memory (MiB)", lambda env: env.service.keycloak.memory,
          **MEMORY_RANGE),
    Input(S.POSTGRES_CPU, "PostgreSQL CPU units", lambda env: env.service.postgres.cpu, allowed_values=ALL_CPU),
    Input(S.POSTGRES_MEMORY, "PostgreSQL memory (MiB)", lambda env: env.service.postgres.memory,
          **MEMORY_RANGE),
    Input(S.KEYCLOAK_COUNT, "Keycloak tasks", lambda env: env.service.keycloak_desired_count, type="Number",
          min_value=1, max_value=3),
    Input(S.SETUP_TYPE, "OR_SETUP_TYPE of the manager", lambda env: env.service.setup_type,
          allowed_pattern=f"^{SETUP_TYPE_PATTERN}$"),
    Input(S.TIME_ZONE, "TZ of every container", lambda env: env.service.time_zone,
          allowed_pattern=r"^[A-Za-z0-9_+/-]+$"),
    Input(S.LOG_RETENTION, "Log retention (days)", lambda env: env.service.log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    Input(S.DELETION_PROTECTION, "Load balancer deletion protection",
          lambda env: env.production, allowed_values=("true", "false")),
    Input(S.ACCESS_LOG_BUCKET, "S3 bucket for access logs; empty: none",
          lambda env: _opt(env.service.access_log_bucket), default="", allowed_pattern=_optional(BUCKET_PATTERN)),
    Input(S.EMAIL_SECRET_ARN, "SMTP secret (JSON host/port/user/password/from)",
          lambda env: _opt(env.service.email_secret_arn), default="", allowed_pattern=_optional(SECRET_PATTERN)),
    Input(S.ALARM_EMAIL, "Email for alarms; empty: none",
          lambda env: _opt(env.service.alarm_email), default="", allowed_pattern=_optional(EMAIL_PATTERN)),
)
