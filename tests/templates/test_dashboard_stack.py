"""The dashboard stack: every metric's dimensions come from exports that exist, and its widgets cover
what the issue names (traffic, target health, services, MQTT, EFS)."""

from __future__ import annotations

import json
import re

from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from herd_cfn.templates.stacks import dashboard

TEMPLATE = load_yaml(registry.get(names.DASHBOARD).template_body())


def _exports(stack: str) -> set[str]:
    outputs = registry.get(stack).template_dict().get("Outputs", {})
    return {names.export_name(stack, name) for name, out in outputs.items() if "Export" in out}


def test_every_placeholder_is_an_import_of_an_existing_export():
    body, variables = TEMPLATE["Resources"][names.Dashboard.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    used = set(re.findall(r"\$\{([A-Za-z]+)\}", body))
    assert used == set(variables)
    for variable in variables.values():
        export = variable["Fn::ImportValue"]
        stack = export.split("-")[1]
        assert export in _exports(stack), export


def test_widgets_cover_traffic_health_services_mqtt_and_efs():
    metrics = {m[1] for w in dashboard.widgets() for m in w["properties"]["metrics"]}
    assert {"RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "HealthyHostCount",
            "UnHealthyHostCount", "CPUUtilization", "MemoryUtilization", "ActiveFlowCount_TLS",
            "MeteredIOBytes", "BurstCreditBalance"} <= metrics
    services = {m[5] for w in dashboard.widgets() for m in w["properties"]["metrics"] if m[0] == "AWS/ECS"}
    assert services == {"postgresql", "keycloak", "manager"}


def test_body_is_json_once_substituted():
    body, variables = TEMPLATE["Resources"][names.Dashboard.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    for name in [*variables, "AWS::Region"]:
        body = body.replace("${%s}" % name, "x")
    assert len(json.loads(body)["widgets"]) == 8
