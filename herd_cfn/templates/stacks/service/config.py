"""The ``service`` section of an environment's parameters file and the template parameters made from it."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from herd_cfn import fields, names
from herd_cfn.fields import (
    LOG_RETENTION_DAYS,
    LogRetentionDays,
    StrictModel,
    Text,
    ip_network,
    matching,
    require_ipv4,
)
from herd_cfn.templates import docker_hub
from herd_cfn.templates.base import Input, optional_input
from herd_cfn.templates.helpers import ANYWHERE

S = names.Service
KEYCLOAK_MAX_TASKS = 3  # the database's max_connections is sized for this many (tasks.MAX_CONNECTIONS)

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


class ContainerSettings(TaskSize):
    """A task's size and the plugin settings of its container (rules: herd_cfn.templates.stacks.service.plugins)."""

    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment of the container, name -> value (OR_* settings, the plugins' own "
                    "variables); the same names in every environment, empty value = not set")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Extra secrets of the container, name -> complete Secrets Manager secret ARN (optionally "
                    "with ':<json key>::') or SSM parameter ARN; the same names in every environment, "
                    "empty = not set")


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


SECRET_PATTERN = fields.SECRET_ARN_PATTERN
EMAIL_PATTERN = fields.EMAIL_PATTERN
SETUP_TYPE_PATTERN = r"[A-Za-z0-9_-]{1,32}"


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk (~0.2 s): once per process, not per environment.
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError(f"must be an IANA time zone such as Europe/Amsterdam or UTC, got {value!r}")
    return value


# ECS: up to 255 characters before a digest (letters, digits, '-', '_', ':', '.', '/', '#'); '@sha256:<64 hex>'
# may follow: the part before '@' is checked first, then the whole reference (at most 255 + 72).
IMAGE_MAX_LENGTH = 255


def _image_length(value: str) -> str:
    name = value.split("@", 1)[0]
    if len(name) > IMAGE_MAX_LENGTH:
        raise ValueError(f"at most {IMAGE_MAX_LENGTH} characters before any '@sha256:' digest (ECS's limit for an "
                         f"image), got {len(name):,}")
    return value


Image = Annotated[str, AfterValidator(_image_length),
                  Text(IMAGE_MAX_LENGTH + 72, r"[A-Za-z0-9_:./#@-]", "letters, digits and - _ : . / # @",
                       "an image reference, as ECS allows"),
                  AfterValidator(_pinned_image)]
SecretArn = Annotated[str, fields.SECRET_ARN_TEXT, matching(SECRET_PATTERN, fields.SECRET_ARN_EXAMPLE)]
Email = Annotated[str, fields.EMAIL_TEXT, matching(EMAIL_PATTERN, "ops@example.com")]
SetupType = Annotated[str, Text(32, r"[A-Za-z0-9_-]", "letters, digits, '-' and '_'",
                                "OR_SETUP_TYPE names a setup class of the manager"),
                      matching(SETUP_TYPE_PATTERN, "production (letters, digits, '-', '_')")]
TimeZone = Annotated[str, Text(64, r"[A-Za-z0-9_+/-]", "letters, digits and _ + / -",
                               "an IANA time zone name"), AfterValidator(_time_zone)]


# --- service.manager_egress: the manager's outbound rules (egress.py: per-project checks, template) ---------

PROTOCOLS = ("tcp", "udp")
HIGHEST_PORT = 65535


def _egress_protocol(value: str) -> str:
    if value not in PROTOCOLS:
        raise ValueError(f"unknown protocol {value!r}: a rule is 'tcp' or 'udp' (lower case); ICMP and all-traffic "
                         "rules are not offered")
    return value


def _egress_port(value: int) -> int:
    if not 0 <= value <= HIGHEST_PORT:
        raise ValueError(f"port {value} is out of range: TCP and UDP ports are 0 to {HIGHEST_PORT}")
    return value


def _egress_cidr(value: str) -> str:
    require_ipv4(ip_network(value, what="the network", example="10.50.0.0/16"),
                 "the VPC and its NAT gateways are IPv4 only")
    return value


EgressProtocol = Annotated[str, Text(16, r"[A-Za-z0-9-]", "letters, digits and '-'", "a protocol name, tcp or udp"),
                     AfterValidator(_egress_protocol)]
EgressPort = Annotated[int, AfterValidator(_egress_port)]
# IPv6 characters pass the length/character check, so that an IPv6 network is told it is one.
EgressCidr = Annotated[str, Text(43, r"[0-9a-fA-F.:/]", "digits, '.', ':' and '/'", "an IP network in CIDR notation"),
                       AfterValidator(_egress_cidr)]
# EC2's IpRange.Description: up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*
RuleDescription = Annotated[str, Text(255, r"[A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]",
                                  "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
                                  "a security group rule description (EC2)")]


class EgressRule(StrictModel):
    """One outbound rule of the manager: a port (or a range) to a network."""

    protocol: EgressProtocol = Field(description="tcp or udp")
    port: EgressPort | None = Field(None, description="One port; or give from_port and to_port for a range")
    from_port: EgressPort | None = Field(None, description="First port of a range (with to_port)")
    to_port: EgressPort | None = Field(None, description="Last port of a range (with from_port)")
    cidr: EgressCidr = Field(description="The IPv4 network the manager may reach, e.g. 0.0.0.0/0 or 10.50.0.0/16")
    description: RuleDescription = Field(description="What the rule is for (EC2 shows it next to the rule)")

    @model_validator(mode="after")
    def _one_port_or_a_range(self) -> EgressRule:
        if self.port is not None and (self.from_port is not None or self.to_port is not None):
            raise ValueError(f"rule {self._named()}: give either port or from_port and to_port, not both")
        if self.port is None and (self.from_port is None or self.to_port is None):
            raise ValueError(f"rule {self._named()}: give port, or both from_port and to_port")
        if self.first > self.last:
            raise ValueError(f"rule {self._named()}: from_port {self.first} is above to_port {self.last}")
        return self

    def _named(self) -> str:
        ports = self.port if self.port is not None else f"{self.from_port}-{self.to_port}"
        return f"{self.protocol} {ports} to {self.cidr} ({self.description!r})"

    @property
    def first(self) -> int:
        return self.port if self.port is not None else self.from_port  # type: ignore[return-value]

    @property
    def last(self) -> int:
        return self.port if self.port is not None else self.to_port  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[str, int, int, str]:
        """What the template fixes for every environment: all but the CIDR."""
        return self.protocol, self.first, self.last, self.description

    @property
    def identity(self) -> tuple[str, int, int, str]:
        """What EC2 compares: two rules equal in this are one rule (the description does not count)."""
        return self.protocol, self.first, self.last, self.cidr

    def label(self) -> str:
        ports = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return f"{self.protocol} {ports} to {self.cidr} ({self.description!r})"


def _rule(protocol: str, port: int, description: str) -> EgressRule:
    return EgressRule(protocol=protocol, port=port, cidr=ANYWHERE, description=description)


# OpenRemote 1.28.1's agents (agent/src/main/java/org/openremote/agent/protocol) and the ports they use by
# default or by standard; docs/operating.md has the whole list and the agents left out.
DEFAULT_MANAGER_EGRESS = (
    _rule("tcp", 80, "HTTP (HTTP, WebSocket, LoRaWAN agents)"),
    _rule("tcp", 502, "Modbus TCP agent"),
    _rule("tcp", 993, "IMAPS (mail agent)"),
    _rule("tcp", 995, "POP3S (mail agent)"),
    _rule("tcp", 1883, "MQTT (MQTT agent, LoRaWAN servers)"),
    _rule("tcp", 8883, "MQTT over TLS (MQTT agent)"),
    _rule("udp", 3671, "KNXnet/IP (KNX agent)"),
)


def default_rules() -> list[EgressRule]:
    return list(DEFAULT_MANAGER_EGRESS)



class ServiceConfig(StrictModel):
    manager_image: Image = Field(
        "openremote/manager:1.28.1",
        description="Image the manager runs until the first pipeline run (then the pipeline's ECR image)")
    keycloak_image: Image = Field("openremote/keycloak:23.0.7.5", description="OpenRemote's Keycloak image")
    postgres_image: Image = Field(
        "openremote/postgresql:17.9.0.1-slim",
        description="OpenRemote's PostgreSQL image (TimescaleDB + PostGIS; RDS cannot replace it)")
    manager: ContainerSettings = Field(description="Fargate size and plugin settings of the manager task")
    keycloak: ContainerSettings = Field(description="Fargate size and extra settings of each keycloak task")
    postgres: TaskSize = Field(description="Fargate size of the postgresql task")
    keycloak_desired_count: int = Field(
        1, ge=1, le=KEYCLOAK_MAX_TASKS,
        description="Keycloak tasks (1-3); more than one keeps sessions per task, the load balancer pins clients")
    email_secret_arn: SecretArn | None = Field(
        None, description="Secrets Manager secret with JSON keys host, port, user, password, from (SMTP, e.g. "
                          "SES); port must be 587 (STARTTLS), the one SMTP port the manager may reach; "
                          "none = no email")
    log_retention_days: LogRetentionDays = Field(description="Log retention (days)")
    alarm_email: Email | None = Field(None, description="Address subscribed to the alarm topic; none = no email")
    setup_type: SetupType = Field("production", description="OR_SETUP_TYPE, passed to the manager's setup tasks")
    time_zone: TimeZone = Field("Europe/Amsterdam", description="TZ of every container (they must agree)")
    execute_command: bool = Field(
        True, description="ECS Exec into the tasks (herd-cfn shell, herd-cfn psql), every session logged to "
                          f"{names.Data.EXEC_LOG_GROUP_NAME}; false = nobody gets a shell in any task")
    manager_egress: list[EgressRule] = Field(
        default_factory=default_rules,
        description="The manager's outbound rules to devices and services, each {protocol tcp|udp, port (or from_port "
                    "and to_port), cidr, description}; every environment lists the same rules, only cidr may differ; "
                    "none = the defaults for OpenRemote's standard agents (docs/operating.md)")
    dump_retention_days: int = Field(
        7, ge=1, le=3650, description="Days the database dumps (daily and before each deployment) stay on EFS; "
                                      "AWS Backup keeps its own copies for its retention")


INPUTS = (
    Input(S.DOMAIN, "Public DNS name (OR_HOSTNAME)",
          lambda env: env.domain, allowed_pattern=r"^[a-z0-9.-]+\.[a-z]{2,63}$"),
    # Docker Hub images through ECR's pull-through cache when the environment has one (templates/docker_hub.py).
    Input(S.MANAGER_IMAGE, "Manager image before the first pipeline run",
          lambda env: docker_hub.image(env, env.service.manager_image)),
    Input(S.KEYCLOAK_IMAGE, "Keycloak image", lambda env: docker_hub.image(env, env.service.keycloak_image)),
    Input(S.POSTGRES_IMAGE, "PostgreSQL image", lambda env: docker_hub.image(env, env.service.postgres_image)),
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
          min_value=1, max_value=KEYCLOAK_MAX_TASKS),
    Input(S.SETUP_TYPE, "OR_SETUP_TYPE of the manager", lambda env: env.service.setup_type,
          allowed_pattern=f"^{SETUP_TYPE_PATTERN}$"),
    Input(S.TIME_ZONE, "TZ of every container", lambda env: env.service.time_zone,
          allowed_pattern=r"^[A-Za-z0-9_+/-]+$"),
    Input(S.LOG_RETENTION, "Log retention (days)", lambda env: env.service.log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    Input(S.DUMP_RETENTION, "Days to keep database dumps", lambda env: env.service.dump_retention_days,
          type="Number", min_value=1, max_value=3650),
    optional_input(S.EMAIL_SECRET_ARN, "SMTP secret (JSON host/port/user/password/from)",
                   lambda env: env.service.email_secret_arn, SECRET_PATTERN),
    optional_input(S.ALARM_EMAIL, "Email for alarms; empty: none",
                   lambda env: env.service.alarm_email, EMAIL_PATTERN),
    Input(S.EXEC, "ECS Exec into the tasks", lambda env: env.service.execute_command,
          allowed_values=("true", "false")),
    docker_hub.mirror_input(),
)
