"""The restore task of ``herd-cfn restore``: a one-off Fargate task that moves files restored by AWS
Backup into the live directories while both services are scaled to 0.

It mounts the file system's root twice, through the data stack's two access points at "/" (as
PostgreSQL's uid 70 and as the manager's uid 1000), so every file it writes belongs to the owner of the
directory it lands in and nothing runs as root on EFS. Its command comes from ``herd-cfn restore`` at run
time (herd_cfn/restore.py); the task definition's own command refuses to run without one.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Region, Template, ec2, ecs, logs

from herd_cfn.templates.helpers import ANYWHERE, HTTPS, RETAIN, D, N, S, cidr_rule, data, logs_key, network
from herd_cfn.templates.stacks.service import roles

# busybox has sh, find, mv and cp -a, which is all the restore needs. ECR Public serves Docker's official
# images without Docker Hub's pull limits; a pinned version so a restore runs the tool it was tested with.
IMAGE = "public.ecr.aws/docker/library/busybox:1.37.0"
CPU = "256"
MEMORY = "512"
AS_POSTGRES_MOUNT = "/mnt/as-postgresql"
AS_MANAGER_MOUNT = "/mnt/as-manager"
VOLUMES = ((D.OUT_RESTORE_POSTGRES_ACCESS_POINT, "as-postgresql", AS_POSTGRES_MOUNT),
           (D.OUT_RESTORE_MANAGER_ACCESS_POINT, "as-manager", AS_MANAGER_MOUNT))
NO_COMMAND = ["sh", "-c", "echo 'herd-restore runs only with the command herd-cfn restore gives it' >&2; exit 2"]


def build(t: Template) -> None:
    # Egress only: HTTPS to pull the image and send logs (through NAT); NFS comes with the EFS client group.
    t.add_resource(ec2.SecurityGroup(
        S.RESTORE_SG, GroupDescription="herd restore task (no ingress)", VpcId=network(N.OUT_VPC_ID),
        SecurityGroupEgress=[cidr_rule(HTTPS, ANYWHERE, "ECR Public, CloudWatch Logs")],
    ))
    t.add_resource(logs.LogGroup(
        S.RESTORE_LOG_GROUP, **RETAIN, LogGroupName=S.log_group(S.RESTORE_CONTAINER),
        RetentionInDays=Ref(S.LOG_RETENTION),
        KmsKeyId=logs_key(),
    ))
    t.add_resource(ecs.TaskDefinition(
        S.RESTORE_TASK, Family=S.RESTORE_TASK_FAMILY, RequiresCompatibilities=["FARGATE"], NetworkMode="awsvpc",
        Cpu=CPU, Memory=MEMORY, ExecutionRoleArn=roles.arn(S.EXECUTION_ROLE),
        TaskRoleArn=roles.arn(S.RESTORE_TASK_ROLE),
        Volumes=[ecs.Volume(Name=name, EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
            FilesystemId=data(D.OUT_FILE_SYSTEM_ID), TransitEncryption="ENABLED",
            AuthorizationConfig=ecs.AuthorizationConfig(AccessPointId=data(access_point), IAM="ENABLED"),
        )) for access_point, name, _ in VOLUMES],
        ContainerDefinitions=[ecs.ContainerDefinition(
            Name=S.RESTORE_CONTAINER, Image=IMAGE, Essential=True, Command=NO_COMMAND,
            ReadonlyRootFilesystem=True,
            MountPoints=[ecs.MountPoint(SourceVolume=name, ContainerPath=path) for _, name, path in VOLUMES],
            LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(S.RESTORE_LOG_GROUP), "awslogs-region": Region,
                "awslogs-stream-prefix": S.RESTORE_CONTAINER}),
        )],
    ))


def security_group() -> GetAtt:
    return GetAtt(S.RESTORE_SG, "GroupId")
