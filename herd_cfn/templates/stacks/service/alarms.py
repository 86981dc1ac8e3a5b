"""Alarms to an encrypted SNS topic. The manager's unhealthy-host (blue and green) and 5xx alarms are
also CodeDeploy's rollback alarms (exported as a comma-separated list)."""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import AccountId, Join, Ref, Sub, Template, cloudwatch, kms, sns

from herd_cfn.templates.helpers import E, S, edge


def _key_policy() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[
        # Resource "*" in a key policy means this key. The account administers it through IAM.
        Statement(Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms_actions.Action("*")], Resource=["*"]),
        # CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns key: its policy
        # does not admit the CloudWatch service, hence this customer managed key.
        Statement(Effect=Allow, Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                  Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey], Resource=["*"],
                  Condition=Condition(StringEquals("aws:SourceAccount", AccountId))),
    ])


def _alarm(t: Template, name: str, alarm_name: str, namespace: str, metric: str,
           dimensions: dict, statistic: str, comparison: str, threshold: float, periods: int = 3,
           missing: str = "notBreaching") -> cloudwatch.Alarm:
    return t.add_resource(cloudwatch.Alarm(
        name, AlarmName=S.alarm_name(alarm_name), Namespace=namespace,
        MetricName=metric, Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        Statistic=statistic, Period=60, EvaluationPeriods=periods,
        ComparisonOperator=comparison, Threshold=threshold, TreatMissingData=missing,
        AlarmActions=[Ref(S.ALARM_TOPIC)],
    ))


def _load_balancer() -> dict:
    return {"LoadBalancer": edge(E.OUT_LOAD_BALANCER_FULL_NAME)}


def _target_group(full_name_output: str) -> dict:
    return {"TargetGroup": edge(full_name_output), **_load_balancer()}


def _service(name: str) -> dict:
    return {"ClusterName": Ref(S.CLUSTER), "ServiceName": name}


def build(t: Template) -> None:
    t.add_resource(kms.Key(
        S.ALARM_KEY, Description="herd alarm topic", EnableKeyRotation=True,
        KeyPolicy=_key_policy(),
    ))
    t.add_resource(sns.Topic(S.ALARM_TOPIC, DisplayName="herd alarms", KmsMasterKeyId=Ref(S.ALARM_KEY)))
    t.add_resource(sns.SubscriptionResource(
        S.ALARM_SUBSCRIPTION, Condition=S.HAS_ALARM_EMAIL, TopicArn=Ref(S.ALARM_TOPIC), Protocol="email",
        Endpoint=Ref(S.ALARM_EMAIL)))

    greater, less = "GreaterThanThreshold", "LessThanThreshold"
    alb = "AWS/ApplicationELB"
    _alarm(t, S.ALARM_BLUE_UNHEALTHY, "manager-unhealthy-blue", alb,
           "UnHealthyHostCount", _target_group(E.OUT_BLUE_TARGET_GROUP_FULL_NAME), "Maximum", greater, 0, periods=5)
    _alarm(t, S.ALARM_GREEN_UNHEALTHY, "manager-unhealthy-green", alb,
           "UnHealthyHostCount", _target_group(E.OUT_GREEN_TARGET_GROUP_FULL_NAME), "Maximum", greater, 0, periods=5)
    _manager_5xx(t, alb, greater)
    _alarm(t, S.ALARM_MANAGER_CPU, "manager-cpu", "AWS/ECS",
           "CPUUtilization", _service(S.MANAGER_SERVICE_NAME), "Average", greater, 90, periods=5)
    _alarm(t, S.ALARM_MANAGER_MEMORY, "manager-memory", "AWS/ECS",
           "MemoryUtilization", _service(S.MANAGER_SERVICE_NAME), "Average", greater, 90, periods=5)
    _alarm(t, S.ALARM_POSTGRES_DOWN, "postgresql-not-running",
           "ECS/ContainerInsights", "RunningTaskCount", _service(S.POSTGRES_SERVICE_NAME), "Maximum", less, 1,
           missing="breaching")


def _manager_5xx(t: Template, namespace: str, comparison: str) -> None:
    """5xx of the manager's target groups only (blue + green): the load balancer's total would count
    Keycloak's errors too and roll back a healthy manager deployment."""
    def count(query_id: str, full_name_output: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(Id=query_id, ReturnData=False, MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(Namespace=namespace, MetricName="HTTPCode_Target_5XX_Count", Dimensions=[
                cloudwatch.MetricDimension(Name=k, Value=v) for k, v in _target_group(full_name_output).items()]),
            Period=60, Stat="Sum"))

    t.add_resource(cloudwatch.Alarm(
        S.ALARM_TARGET_5XX, AlarmName=S.alarm_name("manager-5xx"), EvaluationPeriods=3,
        Metrics=[count("blue", E.OUT_BLUE_TARGET_GROUP_FULL_NAME), count("green", E.OUT_GREEN_TARGET_GROUP_FULL_NAME),
                 cloudwatch.MetricDataQuery(Id="manager", Expression="FILL(blue, 0) + FILL(green, 0)",
                                            Label="manager 5xx (blue + green)", ReturnData=True)],
        ComparisonOperator=comparison, Threshold=10, TreatMissingData="notBreaching",
        AlarmActions=[Ref(S.ALARM_TOPIC)],
    ))


def rollback_alarm_names() -> Join:
    """The alarms that make CodeDeploy roll a manager deployment back."""
    return Join(",", [Ref(a) for a in (S.ALARM_BLUE_UNHEALTHY, S.ALARM_GREEN_UNHEALTHY, S.ALARM_TARGET_5XX)])
