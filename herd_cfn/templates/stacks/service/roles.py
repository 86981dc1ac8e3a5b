"""IAM roles of the tasks. One execution role serves the three task families: ECS's agent uses it to
pull images (from the data stack's repository and, with the Docker Hub cache, from ECR's cached
repositories), write logs and fetch the secrets a task definition names (its credentials never reach a
container). The task roles, which containers do get, only allow the EFS mounts of their own access
points (IAM-authorised mounts)."""

from __future__ import annotations

from awacs import ecr, elasticfilesystem, logs, secretsmanager
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, If, NoValue, Ref, Sub, Template, iam

from herd_cfn.templates import docker_hub
from herd_cfn.templates.helpers import D, S, data, logs_key_use


def _role(t: Template, name: str, statements: list[Statement], *more_policies: If) -> None:
    policies = [iam.Policy(PolicyName="task", PolicyDocument=PolicyDocument(
        Version="2012-10-17", Statement=statements))] if statements else []
    policies += more_policies
    t.add_resource(iam.Role(
        name,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "ecs-tasks.amazonaws.com"), Action=[AssumeRole],
            # Confused-deputy guard: only ECS tasks of this account may assume the role.
            Condition=Condition(StringEquals("aws:SourceAccount", AccountId)),
        )]),
        **({"Policies": policies} if policies else {}),
    ))


def _mount(*access_point_outputs: str) -> Statement:
    return Statement(
        Effect=Allow, Action=[elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],
        Resource=[data(D.OUT_FILE_SYSTEM_ARN)],
        Condition=Condition(StringEquals(
            "elasticfilesystem:AccessPointArn", [data(output) for output in access_point_outputs])),
    )


def build(t: Template) -> None:
    _role(t, S.EXECUTION_ROLE, [
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[
            Sub("${%s.Arn}:*" % group) for group in (S.POSTGRES_LOG_GROUP, S.KEYCLOAK_LOG_GROUP, S.MANAGER_LOG_GROUP,
                                                                 S.RESTORE_LOG_GROUP, S.DUMP_LOG_GROUP)]),
        logs_key_use(),
        Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=[
            data(D.OUT_DB_SECRET_ARN), data(D.OUT_ADMIN_SECRET_ARN),
            If(S.HAS_EMAIL, Ref(S.EMAIL_SECRET_ARN), NoValue)]),
        # The pipeline's manager and Keycloak revisions run the images it pushed to the data stack's repositories.
        Statement(Effect=Allow, Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage,
                                        ecr.GetDownloadUrlForLayer],
                  Resource=[data(D.OUT_ECR_REPOSITORY_ARN), data(D.OUT_KEYCLOAK_ECR_REPOSITORY_ARN)]),
        # Resource "*": ecr:GetAuthorizationToken has no resource type; the token alone grants nothing.
        Statement(Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
    ], _docker_hub_cache())
    # PostgreSQL mounts the manager's /storage too: OpenRemote's data exports are written by the
    # database server (COPY ... TO) and read by the manager from the same path.
    _role(t, S.POSTGRES_TASK_ROLE, [_mount(D.OUT_POSTGRES_ACCESS_POINT_ARN, D.OUT_MANAGER_ACCESS_POINT_ARN)])
    _role(t, S.MANAGER_TASK_ROLE, [_mount(D.OUT_MANAGER_ACCESS_POINT_ARN)])
    # Keycloak calls no AWS API; its role exists for ECS Exec (exec_access adds the permissions).
    _role(t, S.KEYCLOAK_TASK_ROLE, [])
    # herd-cfn restore's task: the root of the file system, only through the two access points at "/".
    _role(t, S.RESTORE_TASK_ROLE,
          [_mount(D.OUT_RESTORE_POSTGRES_ACCESS_POINT_ARN, D.OUT_RESTORE_MANAGER_ACCESS_POINT_ARN,
                  # ...and the dump task (service/dumps.py), whose task definition mounts /dumps only.
                  D.OUT_DUMPS_ACCESS_POINT_ARN)])


def _docker_hub_cache() -> If:
    """Docker Hub's images through ECR's cache: a pull, and for an image not cached yet the import from Docker
    Hub into the repository ECR creates then (templates/docker_hub.py); the cache's repositories only."""
    return If(S.USES_DOCKER_HUB_CACHE, iam.Policy(PolicyName="docker-hub-cache", PolicyDocument=PolicyDocument(
        Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Action=[ecr.Action(a.split(":")[1]) for a in
                                  (*docker_hub.PULL_ACTIONS, *docker_hub.FIRST_PULL_ACTIONS)],
            Resource=[docker_hub.cached_repositories()])])), NoValue)


def arn(role: str) -> GetAtt:
    return GetAtt(role, "Arn")
