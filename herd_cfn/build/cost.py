"""The monthly cost of an environment, from its templates and its parameters.

Every billable resource is read from the templates as CloudFormation would create them for that
environment (its Conditions evaluated: one NAT gateway in dev, three in prod…); what the templates
cannot know (GB through the NAT, pushes a month, stored GB) is an assumption, printed with the
estimate and overridable (``--assume pushes_per_month=40``). Prices come from a table shipped per
region (its date and sources inside) or, with ``--live``, from the AWS Price List API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.config.environments import Environment
from herd_cfn.errors import InputError
from herd_cfn.templates import registry

HOURS_PER_MONTH = 730  # AWS's own monthly figure (365 x 24 / 12)


@dataclass(frozen=True)
class Assumption:
    value: float
    description: str


# What the templates cannot know. Defaults are for a small platform (tens of devices, a few users).
ASSUMPTIONS: dict[str, Assumption] = {
    "nat_gb": Assumption(20, "GB a month through the NAT gateways (image pulls, agents, e-mail)"),
    "alb_lcu": Assumption(1, "average load balancer capacity units of the ALB"),
    "nlb_nlcu": Assumption(1, "average capacity units of the NLB (MQTT)"),
    "efs_gb": Assumption(10, "GB stored on EFS (database, /storage), all in Standard"),
    "efs_read_gb": Assumption(30, "GB a month read from EFS (elastic throughput)"),
    "efs_write_gb": Assumption(30, "GB a month written to EFS (elastic throughput)"),
    "backup_gb": Assumption(20, "GB of AWS Backup recovery points kept (incremental)"),
    "logs_gb": Assumption(5, "GB of logs ingested a month (all log groups)"),
    "ecr_gb": Assumption(5, "GB of images kept in ECR"),
    "dump_minutes": Assumption(10, "minutes each scheduled database dump runs (one a day)"),
    "pushes_per_month": Assumption(20, "pipeline runs a month"),
    "build_minutes": Assumption(8, "CodeBuild minutes a run (warm cache)"),
    "pipeline_action_minutes": Assumption(12, "CodePipeline action minutes a run (source, build, deploy)"),
}


@dataclass(frozen=True)
class Line:
    item: str          # the same in every environment: the row of a side-by-side table
    quantity: float
    unit: str
    unit_price: float
    detail: str = ""   # what differs per environment (counts, sizes)

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Prices:
    region: str
    as_of: str
    source: str
    values: Mapping[str, float]

    def __getitem__(self, key: str) -> float:
        return self.values[key]


def shipped_prices(region: str) -> Prices:
    try:
        text = resources.files("herd_cfn").joinpath("assets", "prices", f"{region}.json").read_text()
    except FileNotFoundError:
        table_dir = resources.files("herd_cfn").joinpath("assets", "prices")
        known = sorted(p.name.removesuffix(".json") for p in table_dir.iterdir())
        raise InputError("--region", region, f"no price table for {region} (shipped: {', '.join(known)}); "
                         "use --live to read prices from the AWS Price List API") from None
    data = json.loads(text)
    return Prices(data["region"], data["as_of"], "table", data["prices"])


def parse_assumptions(items: Iterable[str]) -> dict[str, float]:
    """``name=value`` pairs over the defaults; unknown names and non-numbers refused."""
    values = {name: a.value for name, a in ASSUMPTIONS.items()}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in ASSUMPTIONS:
            raise InputError("--assume", item, f"expected NAME=NUMBER with NAME one of {', '.join(ASSUMPTIONS)}")
        try:
            value = float(text)
        except ValueError:
            raise InputError("--assume", item, f"{text!r} is not a number") from None
        if value < 0:
            raise InputError("--assume", item, "must not be negative")
        values[name] = value
    return values


class _Stacks:
    """Each stack of one environment as CloudFormation would create it."""

    def __init__(self, env: Environment) -> None:
        self.by_name = {s.name: Evaluated(s.template_dict(), s.parameter_values(env))
                        for s in registry.stackset_stacks()}

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r.get("Properties", {}) for ev in self.by_name.values() for r in ev.of_type(resource_type).values()]

    def count(self, resource_type: str) -> int:
        return len(self.of_type(resource_type))


def _fargate(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    definitions = {td.get("Family"): td for td in stacks.of_type("AWS::ECS::TaskDefinition")}
    by_logical = {name: r["Properties"] for ev in stacks.by_name.values()
                  for name, r in ev.of_type("AWS::ECS::TaskDefinition").items()}
    lines = []
    for service in stacks.of_type("AWS::ECS::Service"):
        ref = service.get("TaskDefinition")
        task = by_logical.get(ref["Ref"]) if isinstance(ref, dict) else definitions.get(ref)
        count = float(service.get("DesiredCount", 1))
        vcpu, gb = int(task["Cpu"]) / 1024, int(task["Memory"]) / 1024
        hours = count * HOURS_PER_MONTH
        name = service.get("ServiceName", task.get("Family"))
        lines.append(Line(f"Fargate {name} vCPU", vcpu * hours, "vCPU-hours", p["fargate_vcpu_hour"],
                          f"{count:g} x {vcpu:g} vCPU"))
        lines.append(Line(f"Fargate {name} memory", gb * hours, "GB-hours", p["fargate_gb_hour"],
                          f"{count:g} x {gb:g} GB"))
    return lines + _scheduled_tasks(stacks, by_logical, p, a)


def _scheduled_tasks(stacks: _Stacks, by_logical: dict[str, Any], p: Prices, a: Mapping[str, float]) -> list[Line]:
    """Tasks EventBridge starts on a schedule (the daily database dump): runs a month x minutes each."""
    lines = []
    for rule in stacks.of_type("AWS::Events::Rule"):
        for target in rule.get("Targets", []):
            ref = (target.get("EcsParameters") or {}).get("TaskDefinitionArn")
            if not (isinstance(ref, dict) and ref.get("Ref") in by_logical):
                continue
            task = by_logical[ref["Ref"]]
            hours = 30 * a["dump_minutes"] / 60
            vcpu, gb = int(task["Cpu"]) / 1024, int(task["Memory"]) / 1024
            lines.append(Line(f"Fargate {task['Family']} (scheduled)", vcpu * hours, "vCPU-hours",
                              p["fargate_vcpu_hour"], f"30 x {a['dump_minutes']:g} min"))
            lines.append(Line(f"Fargate {task['Family']} memory (scheduled)", gb * hours, "GB-hours",
                              p["fargate_gb_hour"], f"30 x {a['dump_minutes']:g} min"))
    return lines


def _network(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    nats = stacks.count("AWS::EC2::NatGateway")
    azs = int(stacks.by_name[names.NETWORK].values[names.Network.AZ_COUNT])
    load_balancers = stacks.count("AWS::ElasticLoadBalancingV2::LoadBalancer")
    # Public IPv4 addresses: the NAT gateways' EIPs and one per AZ of each internet-facing load balancer.
    addresses = stacks.count("AWS::EC2::EIP") + load_balancers * azs
    return [
        Line("NAT gateways", nats * HOURS_PER_MONTH, "hours", p["nat_gateway_hour"], f"{nats}"),
        Line("NAT data processed", a["nat_gb"], "GB", p["nat_gateway_gb"]),
        Line("public IPv4 addresses", addresses * HOURS_PER_MONTH, "hours", p["public_ipv4_hour"],
             f"{addresses}"),
    ]


def _load_balancers(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    lines = []
    for lb in stacks.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if lb.get("Type") == "network":
            lines += [Line("NLB (MQTT)", HOURS_PER_MONTH, "hours", p["nlb_hour"]),
                      Line("NLB capacity units", a["nlb_nlcu"] * HOURS_PER_MONTH, "NLCU-hours", p["nlb_nlcu_hour"])]
        else:
            lines += [Line("ALB (HTTPS)", HOURS_PER_MONTH, "hours", p["alb_hour"]),
                      Line("ALB capacity units", a["alb_lcu"] * HOURS_PER_MONTH, "LCU-hours", p["alb_lcu_hour"])]
    return lines


def _storage(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    lines = [Line("EFS storage (Standard)", a["efs_gb"], "GB-months", p["efs_standard_gb_month"])]
    if any(fs.get("ThroughputMode") == "elastic" for fs in stacks.of_type("AWS::EFS::FileSystem")):
        lines += [Line("EFS elastic throughput, reads", a["efs_read_gb"], "GB", p["efs_elastic_read_gb"]),
                  Line("EFS elastic throughput, writes", a["efs_write_gb"], "GB", p["efs_elastic_write_gb"])]
    lines += [Line("AWS Backup (EFS, warm)", a["backup_gb"], "GB-months", p["backup_efs_warm_gb_month"]),
              Line("ECR images", a["ecr_gb"], "GB-months", p["ecr_gb_month"])]
    return lines


def _logs(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    groups = stacks.of_type("AWS::Logs::LogGroup")
    retention = [int(g.get("RetentionInDays", 3653)) for g in groups]  # none set: kept forever (10 years here)
    # Each group taken to ingest an equal share; once its retention has filled up, a group stores its share
    # of a month's ingestion times its retention in months.
    stored = a["logs_gb"] * sum(days / 30 for days in retention) / max(len(retention), 1)
    average = sum(retention) / max(len(retention), 1)
    return [Line("CloudWatch Logs ingestion", a["logs_gb"], "GB", p["logs_ingest_gb"], f"{len(groups)} log groups"),
            Line("CloudWatch Logs storage", stored, "GB-months", p["logs_storage_gb_month"],
                 f"{average:.0f} days kept on average"),
            Line("CloudWatch alarms", stacks.count("AWS::CloudWatch::Alarm"), "alarms", p["alarm_month"])]


def _keys_and_secrets(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    return [Line("Secrets Manager secrets", stacks.count("AWS::SecretsManager::Secret"), "secrets",
                 p["secret_month"]),
            Line("KMS keys", stacks.count("AWS::KMS::Key"), "keys", p["kms_key_month"])]


def _delivery(stacks: _Stacks, p: Prices, a: Mapping[str, float]) -> list[Line]:
    lines = [Line("CodePipeline V2 action minutes", a["pushes_per_month"] * a["pipeline_action_minutes"], "minutes",
                  p["codepipeline_v2_action_minute"])]
    for project in stacks.of_type("AWS::CodeBuild::Project"):
        compute = project["Environment"]["ComputeType"]
        lines.append(Line("CodeBuild", a["pushes_per_month"] * a["build_minutes"], "minutes",
                          p[f"codebuild_minute_{compute}"], compute))
    return lines


ITEMS: tuple[Callable[[_Stacks, Prices, Mapping[str, float]], list[Line]], ...] = (
    _fargate, _network, _load_balancers, _storage, _logs, _keys_and_secrets, _delivery,
)


def estimate(env: Environment, prices: Prices, assumptions: Mapping[str, float]) -> list[Line]:
    """Every line item of ``env``'s monthly cost, in the order of ITEMS."""
    stacks = _Stacks(env)
    return [line for item in ITEMS for line in item(stacks, prices, assumptions)]


def total(lines: Iterable[Line]) -> float:
    return sum(line.monthly for line in lines)
