"""herd-cfn cost: figures computed by hand from the shipped eu-west-1 table and the committed parameters."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from herd_cfn.build import cost
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.cli import main
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.pricing import live_prices
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT

PROJECT = load_project(ROOT / "parameters")


def _lines(env_name: str, *assume: str) -> dict[str, cost.Line]:
    env = PROJECT.environment(env_name)
    lines = cost.estimate(env, cost.shipped_prices(env.region), cost.parse_assumptions(assume))
    return {line.item: line for line in lines}


def test_fargate_follows_each_environments_sizes():
    # dev's manager: 1 task x 1 vCPU x 730 h x $0.04048; prod's: 2 vCPU.
    assert _lines("dev")["Fargate manager vCPU"].monthly == pytest.approx(1 * 730 * 0.04048)
    assert _lines("prod")["Fargate manager vCPU"].monthly == pytest.approx(2 * 730 * 0.04048)
    assert _lines("prod")["Fargate manager memory"].monthly == pytest.approx(8 * 730 * 0.004445)


def test_nat_gateways_one_in_dev_one_per_az_in_prod():
    assert _lines("dev")["NAT gateways"].monthly == pytest.approx(35.04)     # 1 x 730 x 0.048
    assert _lines("prod")["NAT gateways"].monthly == pytest.approx(105.12)   # 3 x 730 x 0.048


def test_public_addresses_count_nat_eips_and_load_balancer_nodes():
    # dev: 1 NAT EIP + ALB and NLB in 2 AZs = 5 addresses; prod: 3 + 2 x 3 = 9.
    assert _lines("dev")["public IPv4 addresses"].detail == "5"
    assert _lines("prod")["public IPv4 addresses"].monthly == pytest.approx(9 * 730 * 0.005)


def test_log_storage_follows_retention():
    for env_name in ("dev", "prod"):
        env = PROJECT.environment(env_name)
        days = [int(p["RetentionInDays"]) for s in registry.stackset_stacks()
                for p in (r["Properties"] for r in Evaluated(s.template_dict(), s.parameter_values(env))
                          .of_type("AWS::Logs::LogGroup").values())]
        # 5 GB a month spread evenly over the groups, each kept for its retention.
        assert _lines(env_name)["CloudWatch Logs storage"].quantity == pytest.approx(5 * sum(d / 30 for d in days)
                                                                                     / len(days))
    assert _lines("prod")["CloudWatch Logs storage"].monthly > _lines("dev")["CloudWatch Logs storage"].monthly


def test_an_assumption_overridden():
    assert _lines("dev", "pushes_per_month=40")["CodeBuild"].monthly == pytest.approx(40 * 8 * 0.01)


def test_every_line_named_by_the_issue_is_there():
    items = set(_lines("prod"))
    for expected in ("NAT gateways", "NAT data processed", "ALB (HTTPS)", "ALB capacity units", "NLB (MQTT)",
                     "NLB capacity units", "EFS storage (Standard)", "AWS Backup (EFS, warm)",
                     "CloudWatch Logs ingestion", "CloudWatch Logs storage", "Secrets Manager secrets", "KMS keys",
                     "ECR images", "CodePipeline V2 action minutes", "CodeBuild", "Fargate postgresql vCPU",
                     "Fargate keycloak vCPU"):
        assert expected in items


def test_json_total_is_the_sum_of_its_lines(capsys):
    assert main(["cost", "--format", "json", "--parameters-dir", str(ROOT / "parameters")]) == 0
    data = json.loads(capsys.readouterr().out)
    for env in ("dev", "prod"):
        lines = data["environments"][env]["lines"]
        assert data["environments"][env]["total"] == pytest.approx(sum(line["monthly"] for line in lines), abs=0.05)
    assert data["environments"]["prod"]["total"] > data["environments"]["dev"]["total"]


def test_table_puts_dev_beside_prod(capsys):
    assert main(["cost", "--parameters-dir", str(ROOT / "parameters")]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert header.split()[-2:] == ["dev", "prod"]
    total = next(row for row in rows if row.startswith("total"))
    assert len(total.split()) == 3
    assert "pushes_per_month=20" in out


@pytest.mark.parametrize("assume, rule", [
    ("pushes=40", "expected NAME=NUMBER"),
    ("pushes_per_month=many", "'many' is not a number"),
    ("nat_gb=-1", "must not be negative"),
])
def test_bad_assumption_refused(capsys, assume, rule):
    assert main(["cost", "--assume", assume, "--parameters-dir", str(ROOT / "parameters")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --assume") and rule in err


def _price_item(usd: str) -> str:
    return json.dumps({"terms": {"OnDemand": {"t": {"priceDimensions": {
        "free": {"pricePerUnit": {"USD": "0.0000000000"}}, "paid": {"pricePerUnit": {"USD": usd}}}}}}})


def test_live_prices_replace_the_table_where_the_api_answers():
    table = cost.shipped_prices("eu-west-1")
    client = boto3.client("pricing", region_name="us-east-1")
    ctx = AwsContext()
    ctx.client = lambda _session, _service: client  # type: ignore[method-assign]
    ctx.base_session = lambda _region: None  # type: ignore[method-assign]
    with Stubber(client) as stub:
        for key in ("fargate_vcpu_hour", "fargate_gb_hour", "nat_gateway_hour", "nat_gateway_gb",
                    "public_ipv4_hour", "alb_hour", "alb_lcu_hour", "nlb_hour", "nlb_nlcu_hour", "secret_month"):
            answer = [_price_item("0.0500000000")] if key == "fargate_vcpu_hour" else []
            stub.add_response("get_products", {"PriceList": answer})
        prices, kept = live_prices(ctx, table)
    assert prices["fargate_vcpu_hour"] == 0.05          # the first non-zero tier
    assert prices["nat_gateway_hour"] == table["nat_gateway_hour"]
    assert "nat_gateway_hour" in kept and "fargate_vcpu_hour" not in kept and "kms_key_month" in kept


def test_the_scheduled_dump_counts_its_runs():
    # One run a day of 10 minutes: 30 x 10 / 60 = 5 task-hours at the dump task's size.
    line = _lines("dev")["Fargate herd-dump (scheduled)"]
    assert line.quantity == pytest.approx(5 * 0.5) and line.detail == "30 x 10 min"  # 512 CPU units
    assert _lines("dev", "dump_minutes=20")["Fargate herd-dump (scheduled)"].quantity == pytest.approx(10 * 0.5)
