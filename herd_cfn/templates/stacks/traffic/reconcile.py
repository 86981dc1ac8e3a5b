"""The MQTT target reconcile function: keeps the NLB's ``ip`` target group equal to the running
manager task's IP. ECS does not manage that target group (a CODE_DEPLOY service may hold only its
blue/green pair), so the function runs on every task state change of the manager service, every five
minutes as a safety net, and from CodeDeploy's AfterAllowTraffic hook (the pipeline's deploy hooks call it)."""

from __future__ import annotations

from awacs import logs
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, Template, awslambda, events, iam

from herd_cfn import names
from herd_cfn.templates import lambdas
from herd_cfn.templates.helpers import E, S, edge, imported, logs_key_use
from herd_cfn.templates.lambdas.iam import code_statements, lambda_trust
from herd_cfn.templates.lambdas.resources import add_function

T = names.Traffic
MODULE = "mqtt_reconcile"
SCHEDULE = "rate(5 minutes)"
def _policy() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[
        *code_statements(lambdas.MQTT_RECONCILE_IAM, ClusterName=S.CLUSTER_NAME, ServiceName=S.MANAGER_SERVICE_NAME,
                         TargetGroupArn=edge(E.OUT_MQTT_TARGET_GROUP_ARN)),
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[Sub("${%s.Arn}:*" % T.RECONCILE_LOG_GROUP)]),
        logs_key_use(),
    ])


def cluster_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}",
               Cluster=imported(names.SERVICE, S.OUT_CLUSTER_NAME))


def build(t: Template) -> None:
    t.add_resource(iam.Role(
        T.RECONCILE_ROLE,
        AssumeRolePolicyDocument=lambda_trust(),
        Policies=[iam.Policy(PolicyName="reconcile-mqtt-targets", PolicyDocument=_policy())],
    ))
    add_function(
        t, T.RECONCILE_FUNCTION, name=T.RECONCILE_FUNCTION_NAME, module=MODULE, role=T.RECONCILE_ROLE,
        description="Keeps the NLB's MQTT target group on the task the production listener serves",
        log_group=T.RECONCILE_LOG_GROUP, retention=Ref(T.LOG_RETENTION), timeout=60, memory=128,
        variables={
            "CLUSTER_NAME": imported(names.SERVICE, S.OUT_CLUSTER_NAME), "SERVICE_NAME": S.MANAGER_SERVICE_NAME,
            "TARGET_GROUP_ARN": edge(E.OUT_MQTT_TARGET_GROUP_ARN), "TARGET_PORT": str(S.MANAGER_MQTT_PORT),
            # MQTT follows the task set the production listener serves, even before it is PRIMARY.
            "LISTENER_ARN": edge(E.OUT_HTTPS_LISTENER_ARN),
        },
        skips=(
            ("CKV_AWS_116", "Callers retry; the schedule repairs missed events"),
            ("CKV_AWS_117", "Calls AWS APIs only, nothing in the VPC"),
            ("CKV_AWS_115", "Idempotent; reserving concurrency fails under the default quota"),
            ("CKV_AWS_173", "The environment holds no secrets, only names"),
            ("CKV_AWS_272", "Inline code reviewed in this repository"),
        ),
    )
    task_changes = t.add_resource(events.Rule(
        T.RECONCILE_TASK_RULE,
        EventPattern={"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {
            "clusterArn": [cluster_arn()], "group": [f"service:{S.MANAGER_SERVICE_NAME}"]}},
        Targets=[events.Target(Id="reconcile", Arn=GetAtt(T.RECONCILE_FUNCTION, "Arn"))],
    ))
    schedule = t.add_resource(events.Rule(
        T.RECONCILE_SCHEDULE_RULE, ScheduleExpression=SCHEDULE,
        Targets=[events.Target(Id="reconcile", Arn=GetAtt(T.RECONCILE_FUNCTION, "Arn"))],
    ))
    for permission, rule in ((T.RECONCILE_TASK_PERMISSION, task_changes), (T.RECONCILE_SCHEDULE_PERMISSION, schedule)):
        t.add_resource(awslambda.Permission(
            permission, FunctionName=Ref(T.RECONCILE_FUNCTION), Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn"),
        ))
