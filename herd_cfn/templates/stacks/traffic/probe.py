"""The appspec's BeforeAllowTraffic hook: a function inside the VPC that asks the replacement task set
for ``/api/master/info`` through the ALB's test listener before CodeDeploy moves production traffic.

The test listener admits only an admin CIDR on an internet-facing ALB, so the function runs in the
private subnets with its own security group, which the ALB's security group admits on the test
port (the pipeline's deploy hooks run in the same group). Its code is
``herd_cfn/templates/lambdas/before_allow_traffic.py``, embedded inline.
"""

from __future__ import annotations

from troposphere import Ref, Sub, Tag, Tags, Template, awslambda, ec2

from herd_cfn import names
from herd_cfn.templates import lambdas
from herd_cfn.templates.helpers import (
    HTTPS,
    edge,
    log_group_arns,
    logs_key_use,
    network,
    private_subnets,
    service_role,
    skip,
)
from herd_cfn.templates.lambdas.iam import VPC_ACCESS_POLICY, code_statements
from herd_cfn.templates.lambdas.resources import add_function

T = names.Traffic
E = names.Edge
HEALTH_TIMEOUT_SECONDS = 240  # OpenRemote's manager takes a minute or two to start
FUNCTION_TIMEOUT_SECONDS = 300  # the health budget plus time to report to CodeDeploy


def environment() -> dict:
    """What herd_cfn/templates/lambdas/before_allow_traffic.py reads."""
    return {
        "LOAD_BALANCER_ARN": edge(E.OUT_LOAD_BALANCER_ARN),
        "TEST_LISTENER_PORT": edge(E.OUT_TEST_LISTENER_PORT),
        "HEALTH_HOSTNAME": Ref(T.DOMAIN),
        "HEALTH_PATH": T.HEALTH_PATH,
        "HEALTH_TIMEOUT_SECONDS": str(HEALTH_TIMEOUT_SECONDS),
    }


def statements() -> list:
    """The hook code's own needs (herd_cfn.templates.lambdas.BEFORE_ALLOW_TRAFFIC_IAM) and its log stream;
    the network interfaces come from AWS's managed VPC access policy."""
    from awacs.aws import Action, Allow, Statement

    return [Statement(Effect=Allow, Action=[Action("logs", "CreateLogStream"), Action("logs", "PutLogEvents")],
                      Resource=log_group_arns(T.HOOK_LOG_GROUP)),
            logs_key_use(), *code_statements(lambdas.BEFORE_ALLOW_TRAFFIC_IAM)]


def build(t: Template) -> None:
    test_port = edge(E.OUT_TEST_LISTENER_PORT)
    alb_group = edge(E.OUT_ALB_SECURITY_GROUP)
    role = service_role(
        T.HOOK_ROLE, "lambda.amazonaws.com", statements(),
        "BeforeAllowTraffic hook: probe the replacement task set, report to CodeDeploy",
        ManagedPolicyArns=[Sub(VPC_ACCESS_POLICY)],
    )
    role.Metadata = skip(("CKV_AWS_111", "The one write on * is codedeploy:PutLifecycleEventHookExecutionStatus, "
                                         "which has no resource-level permissions; it can only answer hooks "
                                         "CodeDeploy is waiting on."))
    t.add_resource(role)
    t.add_resource(ec2.SecurityGroup(
        T.HOOK_SECURITY_GROUP, GroupDescription="BeforeAllowTraffic hook: reaches the ALB test listener and AWS APIs",
        VpcId=network(names.Network.OUT_VPC_ID),
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=test_port, ToPort=test_port,
                                  DestinationSecurityGroupId=alb_group,
                                  Description="ALB test listener (the replacement task set)"),
            # The hooks call the EC2, ELB and CodeDeploy APIs through the NAT gateway.
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
                                  Description="AWS APIs over HTTPS"),
        ],
        Tags=Tags(Tag("Name", T.BEFORE_ALLOW_TRAFFIC_FUNCTION)),
    ))
    t.add_resource(ec2.SecurityGroupIngress(
        T.HOOK_TO_ALB_INGRESS, GroupId=alb_group, IpProtocol="tcp", FromPort=test_port, ToPort=test_port,
        SourceSecurityGroupId=Ref(T.HOOK_SECURITY_GROUP),
        Description="BeforeAllowTraffic hook probes the replacement task set",
    ))
    add_function(
        t, T.HOOK_FUNCTION, name=T.BEFORE_ALLOW_TRAFFIC_FUNCTION, module="before_allow_traffic", role=T.HOOK_ROLE,
        description="CodeDeploy BeforeAllowTraffic: GET /api/master/info through the ALB test listener",
        log_group=T.HOOK_LOG_GROUP, retention=Ref(T.LOG_RETENTION), timeout=FUNCTION_TIMEOUT_SECONDS,
        variables=environment(),
        skips=(
            ("CKV_AWS_116", "The function reports its own failure to CodeDeploy, which then rolls back; a "
                            "dead-letter queue would hold events nobody replays."),
            ("CKV_AWS_115", "CodeDeploy runs one deployment per group at a time; reserved concurrency would fail "
                            "in accounts at the minimum concurrency quota."),
            ("CKV_AWS_173", "The environment holds no secrets (ARNs, a port, a host name)."),
        ),
        vpc=awslambda.VPCConfig(SubnetIds=private_subnets(), SecurityGroupIds=[Ref(T.HOOK_SECURITY_GROUP)]),
    )
