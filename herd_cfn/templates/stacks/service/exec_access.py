"""ECS Exec: a shell in a running task (``herd-cfn shell``, ``herd-cfn psql``), every session logged.

The cluster sends each session's transcript to a retained log group encrypted with its own KMS key,
which also encrypts the session's data channel. The switch (``service.execute_command``) is an IAM
policy on the task roles: without the ssmmessages actions the SSM agent in a task cannot open a
channel, so nobody gets in. ECS's own flag follows the switch on the postgresql and keycloak services,
but stays on, constant, on the manager: that service belongs to CodeDeploy, and ECS documents
UpdateService on a CODE_DEPLOY service for desired count, deployment configuration, grace period,
placement, managed tags and tag propagation only — so no switch may ever reach its properties.
"""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs import logs as logs_actions
from awacs.aws import Action, Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, If, Ref, Sub, Template, ecs, iam, kms, logs

from herd_cfn.templates.helpers import S

SSM_MESSAGES = [Action("ssmmessages", name) for name in
                ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel")]
LOG_GROUP_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + S.EXEC_LOG_GROUP_NAME
TASK_ROLES = (S.POSTGRES_TASK_ROLE, S.KEYCLOAK_TASK_ROLE, S.MANAGER_TASK_ROLE)


def _key_policy() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[
        # Resource "*" in a key policy means this key. The account administers it (and lets operators
        # use it for their sessions: kms:GenerateDataKey) through IAM.
        Statement(Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms_actions.Action("*")], Resource=["*"]),
        # CloudWatch Logs encrypts the session log group with this key, for that log group only.
        Statement(Effect=Allow, Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                  Action=[kms_actions.Action(a) for a in ("Encrypt*", "Decrypt*", "ReEncrypt*", "GenerateDataKey*",
                                                          "Describe*")],
                  Resource=["*"],
                  Condition=Condition(ArnEquals("kms:EncryptionContext:aws:logs:arn", Sub(LOG_GROUP_ARN)))),
    ])


def cluster_configuration() -> ecs.ClusterConfiguration:
    return ecs.ClusterConfiguration(ExecuteCommandConfiguration=ecs.ExecuteCommandConfiguration(
        KmsKeyId=Ref(S.EXEC_KEY), Logging="OVERRIDE",
        # Encryption enabled: the agent refuses to log to the group unless it is encrypted.
        LogConfiguration=ecs.ExecuteCommandLogConfiguration(
            CloudWatchLogGroupName=Ref(S.EXEC_LOG_GROUP), CloudWatchEncryptionEnabled=True)))


def enabled_on_service() -> If:
    """EnableExecuteCommand of the ECS-controlled services: applies to the tasks started afterwards."""
    return If(S.HAS_EXEC, True, False)


def build(t: Template) -> None:
    t.add_resource(kms.Key(S.EXEC_KEY, Description="herd ECS Exec sessions", EnableKeyRotation=True,
                           KeyPolicy=_key_policy()))
    # Kept as long as the containers' logs: the transcripts are the audit trail of who did what.
    t.add_resource(logs.LogGroup(S.EXEC_LOG_GROUP, LogGroupName=S.EXEC_LOG_GROUP_NAME,
                                 RetentionInDays=Ref(S.LOG_RETENTION), KmsKeyId=GetAtt(S.EXEC_KEY, "Arn")))
    # The permissions ECS documents for the task role under ECS Exec with CloudWatch logging and a KMS key.
    t.add_resource(iam.PolicyType(
        S.EXEC_POLICY, Condition=S.HAS_EXEC, PolicyName="ecs-exec", Roles=[Ref(role) for role in TASK_ROLES],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            # Resource "*": the ssmmessages actions and logs:DescribeLogGroups have no resource type.
            Statement(Effect=Allow, Action=[*SSM_MESSAGES, logs_actions.DescribeLogGroups], Resource=["*"]),
            Statement(Effect=Allow, Action=[logs_actions.CreateLogStream, logs_actions.DescribeLogStreams,
                                            logs_actions.PutLogEvents],
                      Resource=[GetAtt(S.EXEC_LOG_GROUP, "Arn")]),
            Statement(Effect=Allow, Action=[kms_actions.Decrypt], Resource=[GetAtt(S.EXEC_KEY, "Arn")]),
        ]),
    ))
