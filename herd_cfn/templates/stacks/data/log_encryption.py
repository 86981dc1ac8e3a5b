"""The KMS key of the platform's log groups: the tasks', the functions', the build's and the web
firewall's. CloudWatch Logs encrypts what they hold with it ("Encrypt log data in CloudWatch Logs using
AWS KMS"): the key policy lets the logs service of this region use it for this account's herd log groups
only (the ``kms:EncryptionContext:aws:logs:arn`` condition), and readers need no KMS permission, since the
service decrypts. Retained like everything here: the logs outlive the stacks that wrote them.

The VPC flow logs (network) and the web firewall's logs (edge) keep CloudWatch Logs' own encryption:
those stacks do not wait for this one, and making them would lengthen every rollout by a step.
"""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement
from troposphere import Sub, Template, kms

from herd_cfn import names
from herd_cfn.templates.helpers import RETAIN

D = names.Data
LOG_GROUPS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
# The encryption context CloudWatch Logs sends: the log group's ARN.
LOG_GROUP_CONTEXT = "kms:EncryptionContext:aws:logs:arn"
# The names herd gives its log groups: names.Service.log_group, and Lambda's and CodeBuild's defaults for
# herd's functions and project.
LOG_GROUP_PATTERNS = (f"/{names.PROJECT}/*", f"/aws/lambda/{names.PROJECT}-*", f"/aws/codebuild/{names.PROJECT}-*")


def key_policy_for_logs(log_groups: object) -> PolicyDocument:
    """The policy of a key CloudWatch Logs encrypts with: the account administers it through IAM, and the
    logs service of the region may use it for the log groups the ``log_groups`` condition names."""
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=[kms_actions.Action("*")], Resource=["*"]),  # "*" = this key, in a key policy
        Statement(Effect=Allow, Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                  Action=[kms_actions.Action(a) for a in ("Encrypt*", "Decrypt*", "ReEncrypt*", "GenerateDataKey*",
                                                          "Describe*")],
                  Resource=["*"],  # "*" = this key, in a key policy
                  Condition=Condition(log_groups)),
    ])


def build(t: Template) -> None:
    t.add_resource(kms.Key(D.LOGS_KEY, Description="herd log groups", EnableKeyRotation=True,
                           KeyPolicy=key_policy_for_logs(ArnLike(LOG_GROUP_CONTEXT, [
                               Sub(LOG_GROUPS + pattern) for pattern in LOG_GROUP_PATTERNS])), **RETAIN))
