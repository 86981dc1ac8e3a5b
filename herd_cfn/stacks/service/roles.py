"""IAM roles of the three task families: an execution role each (pull, logs, their own secrets) and a
task role for the two that mount EFS (IAM-authorised mounts through their access point only)."""

from __future__ import annotations

from awacs import ecr, elasticfilesystem, logs, secretsmanager
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, If, NoValue, Ref, Sub, Template, iam

from herd_cfn.stacks.service.common import D, S, data


def _trust() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", "ecs-tasks.amazonaws.com"), Action=[AssumeRole],
        # Confused-deputy guard: only ECS tasks of this account may assume the role.
        Condition=Condition(StringEquals("aws:SourceAccount", AccountId)),
    )])


def _role(t: Template, name: str, statements: list[Statement]) -> None:
    t.add_resource(iam.Role(name, AssumeRolePolicyDocument=_trust(), Policies=[iam.Policy(
        PolicyName="task", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements),
    )]))


def _write_logs(log_group: str) -> Statement:
    return Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                     Resource=[Sub("${%s.Arn}:*" % log_group)])


def _read_secrets(*arns: object) -> Statement:
    return Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=list(arns))


def _mount(*access_point_outputs: str) -> Statement:
    return Statement(
        Effect=Allow, Action=[elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],
        Resource=[data(D.OUT_FILE_SYSTEM_ARN)],
        Condition=Condition(StringEquals(
            "elasticfilesystem:AccessPointArn", [data(output) for output in access_point_outputs])),
    )


def build(t: Template) -> None:
    db_secret = data(D.OUT_DB_SECRET_ARN)
    admin_secret = data(D.OUT_ADMIN_SECRET_ARN)
    _role(t, S.POSTGRES_EXECUTION_ROLE, [_write_logs(S.POSTGRES_LOG_GROUP), _read_secrets(db_secret)])
    _role(t, S.KEYCLOAK_EXECUTION_ROLE, [_write_logs(S.KEYCLOAK_LOG_GROUP), _read_secrets(db_secret, admin_secret)])
    _role(t, S.MANAGER_EXECUTION_ROLE, [
        _write_logs(S.MANAGER_LOG_GROUP),
        _read_secrets(db_secret, admin_secret, If(S.HAS_EMAIL, Ref(S.EMAIL_SECRET_ARN), NoValue)),
        # The pipeline's revisions run the image it pushed to the data stack's repository.
        Statement(Effect=Allow, Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage,
                                        ecr.GetDownloadUrlForLayer],
                  Resource=[data(D.OUT_ECR_REPOSITORY_ARN)]),
        # Resource "*": ecr:GetAuthorizationToken has no resource type; the token alone grants nothing.
        Statement(Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
    ])
    # PostgreSQL mounts the manager's /storage too: OpenRemote's data exports are written by the
    # database server (COPY ... TO) and read by the manager from the same path.
    _role(t, S.POSTGRES_TASK_ROLE, [_mount(D.OUT_POSTGRES_ACCESS_POINT_ARN, D.OUT_MANAGER_ACCESS_POINT_ARN)])
    _role(t, S.MANAGER_TASK_ROLE, [_mount(D.OUT_MANAGER_ACCESS_POINT_ARN)])


def arn(role: str) -> GetAtt:
    return GetAtt(role, "Arn")
