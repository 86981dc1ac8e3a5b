"""Where ECS Exec sessions (``herd-cfn shell``, ``herd-cfn psql``) are recorded: a log group encrypted
with its own KMS key, which also encrypts the sessions' data channel (the service stack's cluster names
it). Both are retained like everything here: the record of who did what in a task outlives the task,
the service stack and this stack."""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, Template, kms, logs

from herd_cfn import names
from herd_cfn.templates.helpers import RETAIN

D = names.Data
LOG_GROUP_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + D.EXEC_LOG_GROUP_NAME


def _key_policy() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[
        # Resource "*" in a key policy means this key. The account administers it, and lets the task
        # roles (kms:Decrypt) and operators (kms:GenerateDataKey) use it, through IAM.
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


def build(t: Template) -> None:
    t.add_resource(kms.Key(D.EXEC_KEY, Description="herd ECS Exec sessions", EnableKeyRotation=True,
                           KeyPolicy=_key_policy(), **RETAIN))
    t.add_resource(logs.LogGroup(D.EXEC_LOG_GROUP, LogGroupName=D.EXEC_LOG_GROUP_NAME,
                                 RetentionInDays=Ref(D.EXEC_LOG_RETENTION), KmsKeyId=GetAtt(D.EXEC_KEY, "Arn"),
                                 **RETAIN))
