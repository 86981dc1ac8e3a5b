"""What every stack module uses: other stacks' exports, its own outputs, names and tags, checkov skips
with their reasons, and the security-group rules stacks share."""

from __future__ import annotations

from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import (
    AccountId,
    Equals,
    Export,
    GetAtt,
    ImportValue,
    Join,
    Not,
    Output,
    Ref,
    Split,
    Sub,
    Tag,
    Tags,
    Template,
    ec2,
    iam,
)

from herd_cfn import names

S = names.Service
D = names.Data
E = names.Edge
N = names.Network
P = names.Pipeline

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
# Without inline egress CloudFormation keeps EC2's allow-all rule; this one matches nothing (as AWS CDK does).
NO_EGRESS = ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
                                  Description="none")
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def imported(stack: str, output: str) -> ImportValue:
    return ImportValue(names.export_name(stack, output))


def network(output: str) -> ImportValue:
    return imported(names.NETWORK, output)


def data(output: str) -> ImportValue:
    return imported(names.DATA, output)


def logs_key() -> ImportValue:
    """The data stack's key for log groups (KmsKeyId of every log group after the data stack)."""
    return data(D.OUT_LOGS_KEY_ARN)


def logs_key_use() -> Statement:
    """For a role that writes to a log group encrypted with the data stack's key: that key, only through
    CloudWatch Logs. CloudWatch Logs' guide ("Encrypt log data in CloudWatch Logs using AWS Key Management
    Service") asks for kms:ViaService on the roles that call CloudWatch Logs, in the key policy or in IAM."""
    from awacs.aws import Action

    return Statement(Effect=Allow, Action=[Action("kms", "GenerateDataKey"), Action("kms", "Decrypt")],
                     Resource=[logs_key()],
                     Condition=Condition(StringEquals("kms:ViaService", Sub("logs.${AWS::Region}.amazonaws.com"))))


def edge(output: str) -> ImportValue:
    return imported(names.EDGE, output)


def private_subnets() -> Split:
    return Split(",", network(N.OUT_PRIVATE_SUBNETS))


def public_subnets() -> Split:
    return Split(",", network(N.OUT_PUBLIC_SUBNETS))


def secret_value(output: str, key: str) -> Join:
    """ECS ``valueFrom`` of one JSON key of a data-stack secret ({"username": ..., "password": ...})."""
    return Join("", [data(output), f":{key}::"])


def given(parameter: str) -> Not:
    """Condition: an optional parameter (empty = off) was given."""
    return Not(Equals(Ref(parameter), ""))


def output(t: Template, stack: str, name: str, value: object, description: str | None = None,
           export: bool = True) -> None:
    """An output of ``stack``, exported as ``herd-<stack>-<name>`` unless ``export`` is False."""
    props: dict[str, object] = {"Value": value}
    if description:
        props["Description"] = description
    if export:
        props["Export"] = Export(names.export_name(stack, name))
    t.add_output(Output(name, **props))


def name_tags(suffix: str) -> Tags:
    return Tags(Tag("Name", f"{names.PROJECT}-{suffix}"))


def skip(*checks: tuple[str, str]) -> dict:
    """checkov skips with their reasons, in the resource's Metadata where a reviewer sees them."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in checks]}}


def cidr_rule(port: int, cidr: object, description: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr, Description=description)


# Services documented to send aws:SourceAccount when they assume a service role. Lambda does not document
# it for execution roles, and a trust condition the service does not satisfy breaks every deployment.
_SOURCE_ACCOUNT_AWARE = {"codebuild.amazonaws.com", "codepipeline.amazonaws.com", "codedeploy.amazonaws.com"}


def service_role(logical_id: str, service: str, statements: list, description: str, **extra) -> iam.Role:
    guard = {}
    if service in _SOURCE_ACCOUNT_AWARE:
        # Confused-deputy guard: only this account's use of the service may assume the role.
        guard = {"Condition": Condition(StringEquals("aws:SourceAccount", AccountId))}
    return iam.Role(
        logical_id,
        Description=description,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", service), Action=[AssumeRole], **guard,
        )]),
        **extra,
        # A plain document rather than awacs', so a statement may be an Fn::If (an optional secret).
        Policies=[iam.Policy(PolicyName="least-privilege",
                             PolicyDocument={"Version": "2012-10-17", "Statement": statements})],
    )


def log_group_arns(log_group: str) -> list:
    return [GetAtt(log_group, "Arn"), Sub("${%s.Arn}:*" % log_group)]
