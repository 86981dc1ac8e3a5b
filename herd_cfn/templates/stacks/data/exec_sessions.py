"""Where ECS Exec sessions (``herd-cfn shell``, ``herd-cfn psql``) are recorded: a log group encrypted
with its own KMS key, which also encrypts the sessions' data channel (the service stack's cluster names
it). Both are retained like everything here: the record of who did what in a task outlives the task,
the service stack and this stack."""

from __future__ import annotations

from awacs.aws import ArnEquals
from troposphere import GetAtt, Ref, Sub, Template, kms, logs

from herd_cfn import names
from herd_cfn.templates.helpers import RETAIN
from herd_cfn.templates.stacks.data.log_encryption import LOG_GROUP_CONTEXT, LOG_GROUPS, key_policy_for_logs

D = names.Data


def build(t: Template) -> None:
    t.add_resource(kms.Key(D.EXEC_KEY, Description="herd ECS Exec sessions", EnableKeyRotation=True,
                           # The task roles (kms:Decrypt) and operators (kms:GenerateDataKey) use it through IAM;
                           # CloudWatch Logs for the session log group only.
                           KeyPolicy=key_policy_for_logs(ArnEquals(
                               LOG_GROUP_CONTEXT, Sub(LOG_GROUPS + D.EXEC_LOG_GROUP_NAME))), **RETAIN))
    t.add_resource(logs.LogGroup(D.EXEC_LOG_GROUP, LogGroupName=D.EXEC_LOG_GROUP_NAME,
                                 RetentionInDays=Ref(D.EXEC_LOG_RETENTION), KmsKeyId=GetAtt(D.EXEC_KEY, "Arn"),
                                 **RETAIN))
