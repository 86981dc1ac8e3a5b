"""The appspec's BeforeInstall and AfterAllowTraffic hooks and the handler of failed deployments: one
function, ``herd_cfn/templates/lambdas/deploy_hooks.py``, embedded inline. It keeps its record in the
pipeline's artifact bucket, so it lives here; the BeforeAllowTraffic probe and the MQTT reconcile it calls
are in the traffic stack, which is rolled out first.
"""

from __future__ import annotations

from troposphere import GetAtt, Join, Ref, Split, Sub, Template, awslambda, events

from herd_cfn import names
from herd_cfn.templates.helpers import imported, service_role, skip
from herd_cfn.templates.lambdas.iam import VPC_ACCESS_POLICY
from herd_cfn.templates.lambdas.resources import add_function
from herd_cfn.templates.stacks.pipeline.iam import deploy_hooks_statements

P = names.Pipeline
E = names.Edge
S = names.Service
T = names.Traffic


DEPLOY_HOOKS_TIMEOUT_SECONDS = 900  # Lambda's maximum: a dump, then the API calls of the quiesce
DEPLOY_FAILED_STATES = ["FAILURE", "STOP"]  # detail.state of "CodeDeploy Deployment State-change Notification"


def deploy_hooks_environment() -> dict:
    """What herd_cfn/templates/lambdas/deploy_hooks.py reads."""
    return {
        "CLUSTER_NAME": S.CLUSTER_NAME, "SERVICE_NAME": S.MANAGER_SERVICE_NAME, "DUMP_TASK_FAMILY": S.DUMP_TASK_FAMILY,
        "SUBNETS": imported(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS),
        "SECURITY_GROUPS": Join(",", [imported(names.SERVICE, S.OUT_RESTORE_SECURITY_GROUP),
                                      imported(names.DATA, names.Data.OUT_EFS_CLIENT_SECURITY_GROUP)]),
        "LOAD_BALANCER_ARN": imported(names.EDGE, E.OUT_LOAD_BALANCER_ARN), "DOMAIN": Ref(P.DOMAIN),
        "ADMIN_SECRET_ARN": imported(names.DATA, names.Data.OUT_ADMIN_SECRET_ARN),
        "RECORD_BUCKET": Ref(P.ARTIFACT_BUCKET),
        "RECONCILE_FUNCTION": imported(names.TRAFFIC, T.OUT_RECONCILE_FUNCTION_ARN),
    }


def build(t: Template) -> None:
    """One function for both events (the appspec names one per event). In the VPC with the BeforeAllowTraffic
    hook's group (HTTPS out), since it calls the manager through the ALB's private IPs."""
    role = service_role(
        P.DEPLOY_HOOKS_ROLE, "lambda.amazonaws.com", deploy_hooks_statements(), "Deploy hooks: dump, quiesce, resume",
        ManagedPolicyArns=[Sub(VPC_ACCESS_POLICY)])
    role.Metadata = skip(("CKV_AWS_111", "The writes on * are PutLifecycleEventHookExecutionStatus (no resource "
                                         "types) and the ENIs of AWS's VPC policy"))
    t.add_resource(role)
    add_function(
        t, P.DEPLOY_HOOKS_FUNCTION, name=P.DEPLOY_HOOKS_FUNCTION_NAME, module="deploy_hooks", role=P.DEPLOY_HOOKS_ROLE,
        description="CodeDeploy BeforeInstall/AfterAllowTraffic and failed deployments: dump, quiesce, resume",
        log_group=P.DEPLOY_HOOKS_LOG_GROUP, retention=Ref(P.LOG_RETENTION), timeout=DEPLOY_HOOKS_TIMEOUT_SECONDS,
        variables=deploy_hooks_environment(),
        skips=(
            ("CKV_AWS_116", "Hooks report to CodeDeploy; EventBridge retries the failure event"),
            ("CKV_AWS_115", "One deployment at a time; reserving concurrency fails under the minimum quota"),
            ("CKV_AWS_173", "The environment holds no secrets (names, ARNs)"),
        ),
        vpc=awslambda.VPCConfig(SubnetIds=Split(",", imported(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS)),
                                SecurityGroupIds=[imported(names.TRAFFIC, T.OUT_HOOK_SECURITY_GROUP)]),
    )
    rule = t.add_resource(events.Rule(
        P.DEPLOY_FAILED_RULE, EventPattern={
            "source": ["aws.codedeploy"], "detail-type": ["CodeDeploy Deployment State-change Notification"],
            "detail": {"state": DEPLOY_FAILED_STATES, "application": [P.DEPLOY_APPLICATION_NAME],
                       "deploymentGroup": [P.DEPLOYMENT_GROUP_NAME]}},
        Targets=[events.Target(Id="resume", Arn=GetAtt(P.DEPLOY_HOOKS_FUNCTION, "Arn"))]))
    t.add_resource(awslambda.Permission(
        P.DEPLOY_FAILED_PERMISSION, FunctionName=Ref(P.DEPLOY_HOOKS_FUNCTION), Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn")))
