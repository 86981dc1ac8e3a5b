"""Current prices from the AWS Price List API (``pricing:GetProducts``) for ``herd-cfn cost --live``.

The Price List API answers in us-east-1 (and a few other regions) for every region; products are
found by their usage type, which carries a region prefix (``EU-`` for eu-west-1). Prices the mapping
below does not cover keep the shipped table's value, and the command says which ones.
"""

from __future__ import annotations

import json
from typing import Any

from herd_cfn.build.cost import Prices
from herd_cfn.errors import DeploymentError
from herd_cfn.operations.aws import AwsContext, translate_errors

PRICING_REGION = "us-east-1"
# The usage-type prefix of each region (AWS's billing codes); a region not listed is not looked up.
USAGE_PREFIX = {"eu-west-1": "EU-", "us-east-1": "", "eu-central-1": "EUC1-", "eu-west-2": "EUW2-"}

# price key -> (service code, usage type without the region prefix)
LIVE = {
    "fargate_vcpu_hour": ("AmazonECS", "Fargate-vCPU-Hours:perCPU"),
    "fargate_gb_hour": ("AmazonECS", "Fargate-GB-Hours"),
    "nat_gateway_hour": ("AmazonEC2", "NatGateway-Hours"),
    "nat_gateway_gb": ("AmazonEC2", "NatGateway-Bytes"),
    "public_ipv4_hour": ("AmazonVPC", "PublicIPv4:InUseAddress"),
    "alb_hour": ("AWSELB", "LoadBalancerUsage"),
    "alb_lcu_hour": ("AWSELB", "LCUUsage"),
    "nlb_hour": ("AWSELB", "LoadBalancerUsage"),
    "nlb_nlcu_hour": ("AWSELB", "LCUUsage"),
    "secret_month": ("AWSSecretsManager", "AWSSecretsManager-Secrets"),
}
# ALB and NLB share usage types; the product family tells them apart.
PRODUCT_FAMILY = {"alb_hour": "Load Balancer-Application", "alb_lcu_hour": "Load Balancer-Application",
                  "nlb_hour": "Load Balancer-Network", "nlb_nlcu_hour": "Load Balancer-Network"}


def _on_demand_usd(price_item: str) -> float | None:
    terms = json.loads(price_item).get("terms", {}).get("OnDemand", {})
    for term in terms.values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", 0))
            if usd > 0:  # the first non-zero tier: free tiers and zero-priced dimensions skipped
                return usd
    return None


def live_prices(ctx: AwsContext, table: Prices) -> tuple[Prices, list[str]]:
    """``table`` with every price the API answers replaced; also the keys that kept the table's value."""
    if table.region not in USAGE_PREFIX:
        raise DeploymentError(f"--live knows no usage-type prefix for {table.region}; use the shipped table")
    client = ctx.client(ctx.base_session(PRICING_REGION), "pricing")
    values: dict[str, float] = dict(table.values)
    kept = [key for key in table.values if key not in LIVE]
    for key, (service, usage) in LIVE.items():
        filters: list[dict[str, Any]] = [
            {"Type": "TERM_MATCH", "Field": "usagetype", "Value": USAGE_PREFIX[table.region] + usage}]
        if key in PRODUCT_FAMILY:
            filters.append({"Type": "TERM_MATCH", "Field": "productFamily", "Value": PRODUCT_FAMILY[key]})
        with translate_errors(f"reading the price of {key} from the AWS Price List API"):
            items = client.get_products(ServiceCode=service, Filters=filters, MaxResults=10).get("PriceList", [])
        found = next((p for p in map(_on_demand_usd, items) if p is not None), None)
        if found is None:
            kept.append(key)
        else:
            values[key] = found
    return Prices(table.region, "live", "AWS Price List API", values), sorted(kept)
