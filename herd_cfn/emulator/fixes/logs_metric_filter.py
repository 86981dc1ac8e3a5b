"""``AWS::Logs::MetricFilter`` in moto's CloudWatch Logs.

Gap: moto's CloudWatch Logs has PutMetricFilter but no CloudFormation model of it: the service stack's
filter that turns the dump task's success line into a metric was skipped, so DescribeMetricFilters
showed nothing and the "no dump in 26 hours" alarm watched a metric nothing would ever write.
AWS: the CloudFormation resource reference of AWS::Logs::MetricFilter (Ref: the filter name; FilterName
optional, generated otherwise; LogGroupName and FilterName replace, FilterPattern and
MetricTransformations update in place, as PutMetricFilter on the same name does).
"""

from __future__ import annotations

import uuid
from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account_id][region]


def _transformations(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"metricName": t["MetricName"], "metricNamespace": t["MetricNamespace"],
             "metricValue": str(t["MetricValue"]), **({"defaultValue": float(t["DefaultValue"])}
                                                     if "DefaultValue" in t else {})}
            for t in properties["MetricTransformations"]]


class MetricFilter(Resource):
    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        name = properties.get("FilterName") or f"{name}-{uuid.uuid4().hex[:12]}"
        _backend(account_id, region).put_metric_filter(
            name, properties["FilterPattern"], properties["LogGroupName"], _transformations(properties))
        return cls(name, group=properties["LogGroupName"])

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if properties["LogGroupName"] != self.state["group"] or properties.get("FilterName", self.ref) != self.ref:
            return super().update(name, properties)
        _backend(self.account_id, self.region_name).put_metric_filter(
            self.ref, properties["FilterPattern"], properties["LogGroupName"], _transformations(properties))
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_metric_filter(self.ref, self.state["group"])


def install() -> None:
    register(MetricFilter)
