"""The appspec's BeforeAllowTraffic hook: a function inside the VPC that asks the replacement task set
for ``/api/master/info`` through the ALB's test listener before CodeDeploy moves production traffic.

The test listener admits only an admin CIDR on an internet-facing ALB, so the function runs in the
private subnets with its own security group, which the ALB's security group admits on the test
port. Its code is ``herd_cfn/templates/lambdas/before_allow_traffic.py``, embedded inline.
"""

from __future__ import annotations

from troposphere import GetAtt, Join, Ref, Split, Sub, Tag, Tags, Template, awslambda, ec2, events, logs

from herd_cfn import names
from herd_cfn.templates import lambdas
from herd_cfn.templates.helpers import RETAIN, imported, skip
from herd_cfn.templates.stacks.pipeline.iam import deploy_hooks_statements, hook_statements, service_role

P = names.Pipeline
E = names.Edge
S = names.Service
HEALTH_TIMEOUT_SECONDS = 240  # OpenRemote's manager takes a minute or two to start
FUNCTION_TIMEOUT_SECONDS = 300  # the health budget plus time to report to CodeDeploy
HTTPS_PORT = 443


def environment() -> dict:
    """What herd_cfn/templates/lambdas/before_allow_traffic.py reads."""
    return {
        "LOAD_BALANCER_ARN": imported(names.EDGE, E.OUT_LOAD_BALANCER_ARN),
        "TEST_LISTENER_PORT": imported(names.EDGE, E.OUT_TEST_LISTENER_PORT),
        "HEALTH_HOSTNAME": Ref(P.DOMAIN),
        "HEALTH_PATH": P.HEALTH_PATH,
        "HEALTH_TIMEOUT_SECONDS": str(HEALTH_TIMEOUT_SECONDS),
    }


def add(t: Template) -> None:
    test_port = imported(names.EDGE, E.OUT_TEST_LISTENER_PORT)
    alb_group = imported(names.EDGE, E.OUT_ALB_SECURITY_GROUP)
    t.add_resource(logs.LogGroup(
        P.HOOK_LOG_GROUP, **RETAIN, LogGroupName=f"/aws/lambda/{P.BEFORE_ALLOW_TRAFFIC_FUNCTION}",
        RetentionInDays=Ref(P.LOG_RETENTION),
        Metadata={"checkov": {"skip": [{
            "id": "CKV_AWS_158",
            "comment": "Health-check results only; CloudWatch Logs encrypts them at rest with an AWS-owned key.",
        }]}},
    ))
    role = service_role(
        P.HOOK_ROLE, "lambda.amazonaws.com", hook_statements(),
        "BeforeAllowTraffic hook: probe the replacement task set, report to CodeDeploy",
        # Lambda creates and deletes the function's network interfaces with this role; AWS's policy for it
        # tracks what Lambda needs (its EC2 actions take "*").
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")],
    )
    role.Metadata = {"checkov": {"skip": [{
        "id": "CKV_AWS_111",
        "comment": "The one write on * is codedeploy:PutLifecycleEventHookExecutionStatus, which has no "
                   "resource-level permissions; it can only answer hooks CodeDeploy is waiting on.",
    }]}}
    t.add_resource(role)
    t.add_resource(ec2.SecurityGroup(
        P.HOOK_SECURITY_GROUP, GroupDescription="BeforeAllowTraffic hook: reaches the ALB test listener and AWS APIs",
        VpcId=imported(names.NETWORK, names.Network.OUT_VPC_ID),
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=test_port, ToPort=test_port,
                                  DestinationSecurityGroupId=alb_group,
                                  Description="ALB test listener (the replacement task set)"),
            # The hook calls the EC2, ELB and CodeDeploy APIs through the NAT gateway.
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=HTTPS_PORT, ToPort=HTTPS_PORT, CidrIp="0.0.0.0/0",
                                  Description="AWS APIs over HTTPS"),
        ],
        Tags=Tags(Tag("Name", P.BEFORE_ALLOW_TRAFFIC_FUNCTION)),
    ))
    t.add_resource(ec2.SecurityGroupIngress(
        P.HOOK_TO_ALB_INGRESS, GroupId=alb_group, IpProtocol="tcp", FromPort=test_port, ToPort=test_port,
        SourceSecurityGroupId=Ref(P.HOOK_SECURITY_GROUP),
        Description="BeforeAllowTraffic hook probes the replacement task set",
    ))
    t.add_resource(awslambda.Function(
        P.HOOK_FUNCTION, FunctionName=P.BEFORE_ALLOW_TRAFFIC_FUNCTION,
        Description="CodeDeploy BeforeAllowTraffic: GET /api/master/info through the ALB test listener",
        Metadata={"checkov": {"skip": [
            {"id": "CKV_AWS_116", "comment": "The function reports its own failure to CodeDeploy, which then rolls "
                                             "back; a dead-letter queue would hold events nobody replays."},
            {"id": "CKV_AWS_115", "comment": "CodeDeploy runs one deployment per group at a time; reserved "
                                             "concurrency would fail in accounts at the minimum concurrency quota."},
            {"id": "CKV_AWS_173", "comment": "The environment holds no secrets (ARNs, a port, a host name)."},
        ]}},
        Runtime="python3.12", Handler="index.handler", Architectures=["arm64"],
        Code=awslambda.Code(ZipFile=lambdas.packed_source("before_allow_traffic")),
        Role=GetAtt(P.HOOK_ROLE, "Arn"), Timeout=FUNCTION_TIMEOUT_SECONDS, MemorySize=256,
        Environment=awslambda.Environment(Variables=environment()),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(P.HOOK_LOG_GROUP)),
        VpcConfig=awslambda.VPCConfig(
            SubnetIds=Split(",", imported(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS)),
            SecurityGroupIds=[Ref(P.HOOK_SECURITY_GROUP)],
        ),
    ))





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
        "RECONCILE_FUNCTION": imported(names.SERVICE, S.OUT_RECONCILE_FUNCTION_ARN),
    }


def add_deploy_hooks(t: Template) -> None:
    """BeforeInstall and AfterAllowTraffic (one function: appspec names one per event), and failed deployments:
    herd_cfn/templates/lambdas/deploy_hooks.py. In the VPC with the BeforeAllowTraffic hook's group (HTTPS
    out), since it calls the manager through the ALB's private IPs."""
    t.add_resource(logs.LogGroup(
        P.DEPLOY_HOOKS_LOG_GROUP, **RETAIN, LogGroupName=f"/aws/lambda/{P.DEPLOY_HOOKS_FUNCTION_NAME}",
        RetentionInDays=Ref(P.LOG_RETENTION),
        Metadata=skip(("CKV_AWS_158", "Ids and names only; encrypted with an AWS-owned key"))))
    role = service_role(
        P.DEPLOY_HOOKS_ROLE, "lambda.amazonaws.com", deploy_hooks_statements(), "Deploy hooks: dump, quiesce, resume",
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")])
    role.Metadata = skip(("CKV_AWS_111", "The writes on * are PutLifecycleEventHookExecutionStatus (no resource "
                                         "types) and the ENIs of AWS's VPC policy"))
    t.add_resource(role)
    t.add_resource(awslambda.Function(
        P.DEPLOY_HOOKS_FUNCTION, FunctionName=P.DEPLOY_HOOKS_FUNCTION_NAME,
        Description="CodeDeploy BeforeInstall/AfterAllowTraffic and failed deployments: dump, quiesce, resume",
        Metadata=skip(
            ("CKV_AWS_116", "Hooks report to CodeDeploy; EventBridge retries the failure event"),
            ("CKV_AWS_115", "One deployment at a time; reserving concurrency fails under the minimum quota"),
            ("CKV_AWS_173", "The environment holds no secrets (names, ARNs)"),
        ),
        Runtime="python3.12", Handler="index.handler", Architectures=["arm64"],
        Code=awslambda.Code(ZipFile=lambdas.packed_source("deploy_hooks")),
        Role=GetAtt(P.DEPLOY_HOOKS_ROLE, "Arn"), Timeout=DEPLOY_HOOKS_TIMEOUT_SECONDS, MemorySize=256,
        Environment=awslambda.Environment(Variables=deploy_hooks_environment()),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(P.DEPLOY_HOOKS_LOG_GROUP)),
        VpcConfig=awslambda.VPCConfig(
            SubnetIds=Split(",", imported(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS)),
            SecurityGroupIds=[Ref(P.HOOK_SECURITY_GROUP)]),
    ))
    rule = t.add_resource(events.Rule(
        P.DEPLOY_FAILED_RULE, EventPattern={
            "source": ["aws.codedeploy"], "detail-type": ["CodeDeploy Deployment State-change Notification"],
            "detail": {"state": DEPLOY_FAILED_STATES, "application": [P.DEPLOY_APPLICATION_NAME],
                       "deploymentGroup": [P.DEPLOYMENT_GROUP_NAME]}},
        Targets=[events.Target(Id="resume", Arn=GetAtt(P.DEPLOY_HOOKS_FUNCTION, "Arn"))]))
    t.add_resource(awslambda.Permission(
        P.DEPLOY_FAILED_PERMISSION, FunctionName=Ref(P.DEPLOY_HOOKS_FUNCTION), Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn")))
