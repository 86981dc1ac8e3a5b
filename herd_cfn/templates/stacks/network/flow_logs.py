"""VPC flow logs to CloudWatch Logs, with a role only flow logs of this account may use."""

from __future__ import annotations

from awacs import logs as logs_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, Ref, Sub, Template, ec2, iam, logs

from herd_cfn import names
from herd_cfn.templates.helpers import RETAIN

N = names.Network


def build(t: Template) -> None:
    group = t.add_resource(logs.LogGroup(
        N.FLOW_LOG_GROUP, **RETAIN, RetentionInDays=Ref(N.FLOW_LOG_RETENTION),
        Metadata={"checkov": {"skip": [{
            "id": "CKV_AWS_158",
            "comment": "Flow logs hold no secrets; CloudWatch Logs encrypts them at rest with an AWS-owned "
                       "key, and a customer managed KMS key would add cost and a key policy to maintain.",
        }]}},
    ))
    role = t.add_resource(iam.Role(
        N.FLOW_LOG_ROLE,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "vpc-flow-logs.amazonaws.com"), Action=[AssumeRole],
            # Confused-deputy guard: only flow logs of this account may use the role.
            Condition=Condition(StringEquals("aws:SourceAccount", AccountId)),
        )]),
        Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[Statement(
                Effect=Allow,
                Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents,
                        logs_actions.DescribeLogStreams],
                Resource=[GetAtt(group, "Arn"), Sub("${%s.Arn}:*" % N.FLOW_LOG_GROUP)],
            )],
        ))],
    ))
    t.add_resource(ec2.FlowLog(
        N.FLOW_LOG, ResourceId=Ref(N.VPC), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName=Ref(group),
        DeliverLogsPermissionArn=GetAtt(role, "Arn"), MaxAggregationInterval=600,
    ))
