"""``AWS::CloudWatch::Alarm`` in moto's CloudWatch, metric-math alarms included.

Gap: moto's CloudWatch has no CloudFormation model of alarms: the service stack's alarms were skipped
("No Moto CloudFormation support"), ``cloudwatch.describe_alarms`` was empty and ``Ref`` of an alarm gave
``None`` (the rollback alarm names CodeDeploy watches came out as "None,None,None").
AWS: the CloudFormation resource reference of AWS::CloudWatch::Alarm (Ref: the alarm name; GetAtt
``Arn``; every property but AlarmName updates in place, as PutMetricAlarm on the same name does), with
``Metrics`` as PutMetricAlarm's MetricDataQuery list.
"""

from __future__ import annotations

from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account_id][region]


def _queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    if not metrics:
        return None
    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(metric_name=metric["MetricName"], namespace=metric.get("Namespace"),
                              dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]),
                period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        queries.append(MetricDataQuery(
            query_id=query["Id"], label=query.get("Label"), period=query.get("Period"),
            return_data=query.get("ReturnData"), expression=query.get("Expression"), metric_stat=metric_stat))
    return queries


def put_alarm(account_id: str, region: str, name: str, properties: dict[str, Any]) -> Any:
    """PutMetricAlarm with the alarm's CloudFormation properties."""
    return _backend(account_id, region).put_metric_alarm(
        name=name, namespace=properties.get("Namespace"), metric_name=properties.get("MetricName"),
        metric_data_queries=_queries(properties.get("Metrics")),
        comparison_operator=properties["ComparisonOperator"],
        evaluation_periods=properties["EvaluationPeriods"], datapoints_to_alarm=properties.get("DatapointsToAlarm"),
        period=properties.get("Period"), threshold=properties.get("Threshold"),
        statistic=properties.get("Statistic"), extended_statistic=properties.get("ExtendedStatistic"),
        description=properties.get("AlarmDescription"), dimensions=properties.get("Dimensions") or [],
        alarm_actions=properties.get("AlarmActions") or [], ok_actions=properties.get("OKActions") or [],
        insufficient_data_actions=properties.get("InsufficientDataActions") or [],
        unit=properties.get("Unit"), actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
        treat_missing_data=properties.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
        threshold_metric_id=properties.get("ThresholdMetricId"), rule=None, tags=properties.get("Tags") or [])


class Alarm(Resource):
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        alarm = put_alarm(account_id, region, name, properties)
        return cls(alarm.name, {"Arn": alarm.alarm_arn})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if name != self.name:
            return super().update(name, properties)
        put_alarm(self.account_id, self.region_name, name, properties)
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_alarms([self.ref])


def install() -> None:
    register(Alarm)
