"""The dashboard stack: one CloudWatch dashboard per environment with what an operator looks at first.

Traffic (ALB requests, 5xx, latency), target health of the manager (blue and green) and Keycloak, CPU
and memory of each ECS service, the NLB's MQTT flows, EFS throughput and burst credits. Dimensions come
from the other stacks' exports, so the dashboard follows blue/green and replaced resources.
`herd-cfn status` prints its address.
"""

from __future__ import annotations

import json

from troposphere import Ref, Sub, Template, cloudwatch

from herd_cfn import names
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.helpers import data, edge, output

B, E, S = names.Dashboard, names.Edge, names.Service
WIDTH, HEIGHT = 12, 6
ECS_SERVICES = (S.POSTGRES_SERVICE_NAME, S.KEYCLOAK_SERVICE_NAME, S.MANAGER_SERVICE_NAME)
# Fn::Sub variables: each import under a short name the widgets use as ${Name}.
VARIABLES = {
    "Alb": (edge, E.OUT_LOAD_BALANCER_FULL_NAME),
    "Nlb": (edge, E.OUT_NLB_FULL_NAME),
    "Blue": (edge, E.OUT_BLUE_TARGET_GROUP_FULL_NAME),
    "Green": (edge, E.OUT_GREEN_TARGET_GROUP_FULL_NAME),
    "Keycloak": (edge, E.OUT_KEYCLOAK_TARGET_GROUP_FULL_NAME),
    "FileSystem": (data, names.Data.OUT_FILE_SYSTEM_ID),
}


def _widget(title: str, metrics: list, stat: str = "Sum", **extra: object) -> dict:
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": {
        "title": title, "region": "${AWS::Region}", "stat": stat, "period": 300, "view": "timeSeries",
        "metrics": metrics, **extra}}


def _target_health(group: str, label: str) -> list:
    return [["AWS/ApplicationELB", metric, "TargetGroup", f"${{{group}}}", "LoadBalancer", "${Alb}",
             {"label": f"{label} {metric.removesuffix('HostCount').lower()}"}]
            for metric in ("HealthyHostCount", "UnHealthyHostCount")]


def widgets() -> list[dict]:
    alb = ["AWS/ApplicationELB"]
    return [
        _widget("ALB requests and errors", [
            [*alb, "RequestCount", "LoadBalancer", "${Alb}"],
            [*alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", "${Alb}"],
            [*alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", "${Alb}"],
        ]),
        _widget("ALB latency (p95, seconds)", [[*alb, "TargetResponseTime", "LoadBalancer", "${Alb}"]], "p95"),
        _widget("Target health", [*_target_health("Blue", "manager blue"), *_target_health("Green", "manager green"),
                                  *_target_health("Keycloak", "keycloak")], "Minimum"),
        _widget("MQTT over TLS (NLB)", [["AWS/NetworkELB", "ActiveFlowCount_TLS", "LoadBalancer", "${Nlb}"],
                                        ["AWS/NetworkELB", "NewFlowCount_TLS", "LoadBalancer", "${Nlb}"]]),
        _widget("CPU of each service (%)", [["AWS/ECS", "CPUUtilization", "ClusterName", S.CLUSTER_NAME,
                                             "ServiceName", service] for service in ECS_SERVICES], "Average"),
        _widget("Memory of each service (%)", [["AWS/ECS", "MemoryUtilization", "ClusterName", S.CLUSTER_NAME,
                                                "ServiceName", service] for service in ECS_SERVICES], "Average"),
        _widget("EFS throughput (bytes)", [["AWS/EFS", "MeteredIOBytes", "FileSystemId", "${FileSystem}"],
                                           ["AWS/EFS", "PermittedThroughput", "FileSystemId", "${FileSystem}",
                                            {"stat": "Average"}]]),
        _widget("EFS burst credits (bursting mode)", [["AWS/EFS", "BurstCreditBalance", "FileSystemId",
                                                       "${FileSystem}"]], "Minimum"),
    ]


def build(t: Template) -> None:
    body = json.dumps({"widgets": widgets()}, separators=(",", ":"))
    variables = {name: source(export) for name, (source, export) in VARIABLES.items()}
    t.add_resource(cloudwatch.Dashboard(B.DASHBOARD, DashboardName=B.DASHBOARD_NAME,
                                        DashboardBody=Sub(body, **variables)))
    output(t, names.DASHBOARD, B.OUT_DASHBOARD_NAME, Ref(B.DASHBOARD), "The environment's dashboard")


STACK = StackDefinition(
    name=names.DASHBOARD,
    description="A CloudWatch dashboard: traffic, target health, services, MQTT, EFS",
    build=build,
    depends_on=(names.DATA, names.EDGE, names.SERVICE),
)
