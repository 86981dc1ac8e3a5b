"""ECS Exec: a shell in a running task (``herd-cfn shell``, ``herd-cfn psql``), every session logged.

The cluster sends each session's transcript to the data stack's log group ``/herd/exec``, encrypted
with the data stack's session key, which also encrypts the session's data channel. The switch
(``service.execute_command``) is an IAM policy on the task roles: without the ssmmessages actions the
SSM agent in a task cannot open a channel, so nobody gets in. ECS's own flag follows the switch on the
postgresql and keycloak services, but stays on, constant, on the manager: that service belongs to
CodeDeploy, and ECS documents UpdateService on a CODE_DEPLOY service for desired count, deployment
configuration, grace period, placement, managed tags and tag propagation only — so no switch may
ever reach its properties.
"""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs import logs as logs_actions
from awacs.aws import Action, Allow, PolicyDocument, Statement
from troposphere import If, Ref, Sub, Template, ecs, iam

from herd_cfn.templates.helpers import D, S, data

SSM_MESSAGES = [Action("ssmmessages", name) for name in
                ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel")]
# The group is the data stack's, by its fixed name: an ARN import would only add bytes here.
LOG_GROUP_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:%s:*" % D.EXEC_LOG_GROUP_NAME
TASK_ROLES = (S.POSTGRES_TASK_ROLE, S.KEYCLOAK_TASK_ROLE, S.MANAGER_TASK_ROLE)


def cluster_configuration() -> ecs.ClusterConfiguration:
    return ecs.ClusterConfiguration(ExecuteCommandConfiguration=ecs.ExecuteCommandConfiguration(
        KmsKeyId=data(D.OUT_EXEC_KEY_ARN), Logging="OVERRIDE",
        # Encryption enabled: the agent refuses to log to the group unless it is encrypted.
        LogConfiguration=ecs.ExecuteCommandLogConfiguration(
            CloudWatchLogGroupName=D.EXEC_LOG_GROUP_NAME, CloudWatchEncryptionEnabled=True)))


def enabled_on_service() -> If:
    """EnableExecuteCommand of the ECS-controlled services: applies to the tasks started afterwards."""
    return If(S.HAS_EXEC, True, False)


def build(t: Template) -> None:
    # The permissions ECS documents for the task role under ECS Exec with CloudWatch logging and a KMS key.
    t.add_resource(iam.PolicyType(
        S.EXEC_POLICY, Condition=S.HAS_EXEC, PolicyName="ecs-exec", Roles=[Ref(role) for role in TASK_ROLES],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            # Resource "*": the ssmmessages actions and logs:DescribeLogGroups have no resource type.
            Statement(Effect=Allow, Action=[*SSM_MESSAGES, logs_actions.DescribeLogGroups], Resource=["*"]),
            Statement(Effect=Allow, Action=[logs_actions.CreateLogStream, logs_actions.DescribeLogStreams,
                                            logs_actions.PutLogEvents], Resource=[Sub(LOG_GROUP_ARN)]),
            Statement(Effect=Allow, Action=[kms_actions.Decrypt], Resource=[data(D.OUT_EXEC_KEY_ARN)]),
        ]),
    ))
