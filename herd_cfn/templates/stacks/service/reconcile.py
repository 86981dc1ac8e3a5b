"""The MQTT target reconcile function: keeps the NLB's ``ip`` target group equal to the running
manager task's IP. ECS does not manage that target group (a CODE_DEPLOY service may hold only its
blue/green pair), so the function runs on every task state change of the manager service, every five
minutes as a safety net, and as CodeDeploy's AfterAllowTraffic hook (wired in the pipeline stack)."""

from __future__ import annotations

from awacs import logs
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, Template, awslambda, events, iam
from troposphere import logs as cfn_logs

from herd_cfn.templates.helpers import RETAIN, E, S, edge, skip
from herd_cfn.templates.lambdas.iam import code_statements, lambda_trust

MODULE = "mqtt_reconcile"
SCHEDULE = "rate(5 minutes)"
# Until herd_cfn.templates.lambdas is merged, a function that fails loudly keeps the template buildable.
_PLACEHOLDER = (
    "def handler(event, context):\n"
    "    raise RuntimeError('herd_cfn.templates.lambdas.mqtt_reconcile was not packaged into this template')\n"
)


def source() -> str:
    try:
        from herd_cfn.templates.lambdas import packed_source
    except ImportError:
        return _PLACEHOLDER
    return packed_source(MODULE)


def _policy() -> PolicyDocument:
    from herd_cfn.templates.lambdas import MQTT_RECONCILE_IAM

    return PolicyDocument(Version="2012-10-17", Statement=[
        *code_statements(MQTT_RECONCILE_IAM, ClusterName=S.CLUSTER_NAME, ServiceName=S.MANAGER_SERVICE_NAME,
                         TargetGroupArn=edge(E.OUT_MQTT_TARGET_GROUP_ARN)),
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[Sub("${%s.Arn}:*" % S.RECONCILE_LOG_GROUP)]),
    ])


def build(t: Template) -> None:
    t.add_resource(cfn_logs.LogGroup(
        S.RECONCILE_LOG_GROUP, **RETAIN, LogGroupName=f"/aws/lambda/{S.RECONCILE_FUNCTION_NAME}",
        RetentionInDays=Ref(S.LOG_RETENTION),
        Metadata=skip(("CKV_AWS_158", "No secrets in logs; encrypted with an AWS-owned key")),
    ))
    t.add_resource(iam.Role(
        S.RECONCILE_ROLE,
        AssumeRolePolicyDocument=lambda_trust(),
        Policies=[iam.Policy(PolicyName="reconcile-mqtt-targets", PolicyDocument=_policy())],
    ))
    t.add_resource(awslambda.Function(
        S.RECONCILE_FUNCTION, FunctionName=S.RECONCILE_FUNCTION_NAME, Runtime="python3.12",
        Handler="index.handler", Code=awslambda.Code(ZipFile=source()), Role=GetAtt(S.RECONCILE_ROLE, "Arn"),
        Timeout=60,
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(S.RECONCILE_LOG_GROUP)),
        Environment=awslambda.Environment(Variables={
            "CLUSTER_NAME": Ref(S.CLUSTER), "SERVICE_NAME": S.MANAGER_SERVICE_NAME,
            "TARGET_GROUP_ARN": edge(E.OUT_MQTT_TARGET_GROUP_ARN), "TARGET_PORT": str(S.MANAGER_MQTT_PORT),
            # MQTT follows the task set the production listener serves, even before it is PRIMARY.
            "LISTENER_ARN": edge(E.OUT_HTTPS_LISTENER_ARN),
        }),
        Metadata=skip(
            ("CKV_AWS_116", "Callers retry; the schedule repairs missed events"),
            ("CKV_AWS_117", "Calls AWS APIs only, nothing in the VPC"),
            ("CKV_AWS_115", "Idempotent; reserving concurrency fails under the default quota"),
            ("CKV_AWS_173", "The environment holds no secrets, only names"),
            ("CKV_AWS_272", "Inline code reviewed in this repository"),
        ),
    ))
    task_changes = t.add_resource(events.Rule(
        S.RECONCILE_TASK_RULE,
        EventPattern={"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {
            "clusterArn": [GetAtt(S.CLUSTER, "Arn")], "group": [f"service:{S.MANAGER_SERVICE_NAME}"]}},
        Targets=[events.Target(Id="reconcile", Arn=GetAtt(S.RECONCILE_FUNCTION, "Arn"))],
    ))
    schedule = t.add_resource(events.Rule(
        S.RECONCILE_SCHEDULE_RULE, ScheduleExpression=SCHEDULE,
        Targets=[events.Target(Id="reconcile", Arn=GetAtt(S.RECONCILE_FUNCTION, "Arn"))],
    ))
    for permission, rule in ((S.RECONCILE_TASK_PERMISSION, task_changes), (S.RECONCILE_SCHEDULE_PERMISSION, schedule)):
        t.add_resource(awslambda.Permission(
            permission, FunctionName=Ref(S.RECONCILE_FUNCTION), Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn"),
        ))
