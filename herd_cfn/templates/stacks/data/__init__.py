"""The data stack: everything that holds state, kept apart so that nothing in it is lost when the
service or the pipeline is torn down or replaced.

- EFS (encrypted at rest, TLS and IAM enforced by the file system policy) with one access point per
  image that writes to it: PostgreSQL's data directory and the manager's ``/storage``;
- AWS Backup: a vault and a plan (daily, optionally weekly and monthly) for the file system;
- Secrets Manager secrets with generated passwords (database, OpenRemote admin, Keycloak admin);
- the ECR repositories of the custom manager image and of Keycloak with the custom project's themes, and
  ECR's pull-through cache of Docker Hub (``pull_cache``);
- the key and log group of ECS Exec sessions (``exec_sessions``);
- the key of the other stacks' log groups (``log_encryption``).

What the service stack must do with the exports: put tasks that mount EFS in the exported "EFS
client" security group; mount with ``transitEncryption: ENABLED`` and ``authorizationConfig``
``{accessPointId, iam: ENABLED}``; give the task role ``elasticfilesystem:ClientMount`` and
``ClientWrite`` on the file system ARN with the condition ``elasticfilesystem:AccessPointArn`` equal to
the task's access point ARN. Secrets are JSON; read the password with ``<secret arn>:password::``.
"""

from __future__ import annotations

import json
from functools import partial

from awacs import elasticfilesystem as efs_actions
from awacs.aws import Allow, Bool, Condition, Deny, Null, PolicyDocument, Principal, Statement
from awacs.backup import DeleteBackupVault, DeleteRecoveryPoint, UpdateRecoveryPointLifecycle
from awacs.sts import AssumeRole
from troposphere import (
    Equals,
    GetAtt,
    If,
    Not,
    NoValue,
    Ref,
    Select,
    Split,
    Sub,
    Template,
    backup,
    ec2,
    ecr,
    efs,
    iam,
    secretsmanager,
)

from herd_cfn import names
from herd_cfn.fields import LOG_RETENTION_DAYS
from herd_cfn.templates.base import Input, StackDefinition, optional_input
from herd_cfn.templates.helpers import RETAIN, name_tags, network, output, skip
from herd_cfn.templates.stacks.data import exec_sessions, log_encryption, pull_cache
from herd_cfn.templates.stacks.data.config import (
    CACHE_SECRET_PATTERN,
    EFS_IA_TRANSITIONS,
    EFS_THROUGHPUT_MODES,
    DataConfig,
    validate_project,
    warnings,
)

D = names.Data
NET = names.Network
NFS_PORT = 2049

# POSIX identities on the file system, one per image (EFS checks only numeric ids).
#
# openremote/postgresql runs as postgres = uid 70, gid 70. Its Dockerfile (openremote/postgresql, main,
# May 2026) builds FROM timescale/timescaledb-ha, whose Dockerfile creates postgres with
# `adduser --uid 1000`, and then runs `usermod -u 70 postgres && groupmod -g 70 postgres` "to match
# the old alpine postgres image" before `USER postgres`. So it is neither 1000 (timescaledb-ha) nor
# 999 (Debian's postgres image). The same Dockerfile sets PGDATA=/var/lib/postgresql/data (VOLUME
# there); the service mounts this access point at that path. The directory must belong to postgres
# with mode 0700 (initdb and the server refuse anything looser than 0750), which CreationInfo gives
# the access point's root when EFS creates it. The image's auto-upgrade (or-entrypoint.sh) works
# inside ${PGDATA}/old and ${PGDATA}/new, so it never needs the parent directory.
POSTGRES_UID = "70"
POSTGRES_GID = "70"
POSTGRES_DATA_PATH = "/postgresql"
POSTGRES_DATA_PERMISSIONS = "0700"
#
# openremote/manager runs as root: manager/Dockerfile in openremote/openremote (1.28.1, Aug 2026) says
# `USER root` and never switches back, and its entrypoint writes /storage (heap dumps, logs) directly.
# An access point enforcing uid/gid 0 would need elasticfilesystem:ClientRootAccess (EFS root-squashes
# otherwise), which the file system policy denies to everyone. Because EFS replaces the client's
# identity with the access point's for every operation, any non-root id works for a root process;
# 1000 is a plain unprivileged id that owns the manager's directory and nothing else.
MANAGER_UID = "1000"
MANAGER_GID = "1000"
MANAGER_STORAGE_PATH = "/manager-storage"
MANAGER_STORAGE_PERMISSIONS = "0750"
#
# `herd-cfn restore`: AWS Backup restores items of the source file system into a new directory
# aws-backup-restore_<time> at the root, which only a mount of "/" reaches. These access points give that
# mount the identity of each live directory's owner, so the restore task copies files as their owner:
# no root, no ClientRootAccess, and the file system policy stays as it is. EFS's root directory belongs
# to root (0755), so through them the task reads everything under "/" but writes only inside
# /postgresql (as 70) and /manager-storage (as 1000).
FILE_SYSTEM_ROOT = "/"
#
# pg_dump files (herd_cfn/templates/stacks/service/dumps.py), written by the dump task as PostgreSQL's
# uid 70 and read back by the same task for `herd-cfn restore --dump`. On EFS rather than S3: the
# PostgreSQL image has no AWS CLI to upload with, the daily AWS Backup of this file system (03:00 UTC,
# after the 02:30 dump) copies every dump off the file system with the vault's retention, and the
# task reaches EFS without NAT traffic. Retention of the files themselves: the dump task prunes them.
DUMPS_PATH = "/dumps"
DUMPS_PERMISSIONS = "0700"

# Database user of OpenRemote's images: POSTGRES_USER and OR_DB_USER both default to "postgres"
# (openremote/postgresql Dockerfile; manager/Dockerfile). The admin users are "admin" in both
# OpenRemote's master realm and Keycloak.
DB_USERNAME = "postgres"
ADMIN_USERNAME = "admin"
# Letters and digits only: the values end up in JDBC URLs, environment variables and shell lines of
# the images' entrypoints, where @ : / ? # % & $ ` " ' \ and spaces all break something. 32
# alphanumerics are still about 190 bits.
PASSWORD_LENGTH = 32

DAILY_SCHEDULE = "cron(0 3 * * ? *)"  # 03:00 UTC, after the European evening peak
WEEKLY_SCHEDULE = "cron(0 4 ? * SUN *)"
MONTHLY_SCHEDULE = "cron(0 5 1 * ? *)"


INPUTS = (
    # Conditions cannot use Fn::ImportValue, so the AZ count is a parameter; its value comes from the same
    # `network.az_count` the network stack is built from, so the two cannot disagree.
    Input(D.AZ_COUNT, "Number of availability zones the network stack spans (2 or 3): one mount target each",
          lambda env: env.network.az_count, allowed_values=("2", "3")),
    Input(D.EFS_THROUGHPUT_MODE, "EFS throughput mode", lambda env: env.data.efs_throughput_mode,
          allowed_values=EFS_THROUGHPUT_MODES),
    Input(D.EFS_TRANSITION_TO_IA, "Move files to EFS Infrequent Access after this long unread (NONE: never)",
          lambda env: env.data.efs_transition_to_ia, allowed_values=EFS_IA_TRANSITIONS),
    Input(D.BACKUP_DAILY_RETENTION, "Days to keep daily backups of the file system",
          lambda env: env.data.backup.daily_retention_days, type="Number", min_value=1, max_value=36500),
    Input(D.BACKUP_WEEKLY_RETENTION, "Days to keep weekly backups (0: no weekly backups)",
          lambda env: env.data.backup.weekly_retention_days, type="Number", min_value=0, max_value=36500),
    Input(D.BACKUP_MONTHLY_RETENTION, "Days to keep monthly backups (0: no monthly backups)",
          lambda env: env.data.backup.monthly_retention_days, type="Number", min_value=0, max_value=36500),
    Input(D.BACKUP_COLD_STORAGE_AFTER,
          "Days after which monthly backups move to cold storage (0: never; retention must be 90 days longer)",
          lambda env: env.data.backup.monthly_cold_storage_after_days, type="Number", min_value=0,
          max_value=36500),
    Input(D.ECR_IMAGES_TO_KEEP, "Images kept in each ECR repository (older ones expire)",
          lambda env: env.data.ecr_images_to_keep, type="Number", min_value=2, max_value=10000),
    Input(D.EXEC_LOG_RETENTION, "ECS Exec session log retention (days)", lambda env: env.data.exec_log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    optional_input(D.DOCKER_HUB_CACHE_LOGIN_ARN,
                   "Docker Hub login of ECR's pull-through cache (secret ecr-pullthroughcache/...); empty: no cache",
                   lambda env: env.data.docker_hub_cache_secret_arn, CACHE_SECRET_PATTERN),
)


def _as_dict(document: PolicyDocument) -> dict:
    """Properties typed as plain JSON (file system and vault policies) do not take awacs objects."""
    return json.loads(document.to_json())


def build(t: Template) -> None:
    t.add_condition(D.THREE_AZS, Equals(Ref(D.AZ_COUNT), "3"))
    t.add_condition(D.EFS_USES_IA, Not(Equals(Ref(D.EFS_TRANSITION_TO_IA), "NONE")))
    t.add_condition(D.WEEKLY_BACKUPS, Not(Equals(Ref(D.BACKUP_WEEKLY_RETENTION), "0")))
    t.add_condition(D.MONTHLY_BACKUPS, Not(Equals(Ref(D.BACKUP_MONTHLY_RETENTION), "0")))
    t.add_condition(D.MONTHLY_COLD_STORAGE, Not(Equals(Ref(D.BACKUP_COLD_STORAGE_AFTER), "0")))
    _security_groups(t)
    _file_system(t)
    _backup(t)
    _secrets(t)
    _repository(t, D.ECR_REPOSITORY, D.ECR_REPOSITORY_NAME)
    _repository(t, D.KEYCLOAK_ECR_REPOSITORY, D.KEYCLOAK_ECR_REPOSITORY_NAME)
    pull_cache.build(t)
    exec_sessions.build(t)
    log_encryption.build(t)
    _outputs(t)


def _security_groups(t: Template) -> None:
    vpc = network(NET.OUT_VPC_ID)
    t.add_resource(ec2.SecurityGroup(
        D.EFS_SECURITY_GROUP, VpcId=vpc, Tags=name_tags("efs"),
        GroupDescription="herd EFS mount targets: NFS only from the EFS client group",
        # Mount targets never open connections (replies pass because groups are stateful). A group
        # without an egress rule gets "allow all", so this rule, which matches no packet, replaces it.
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
            Description="Matches no traffic: mount targets need no egress",
        )],
    ))
    t.add_resource(ec2.SecurityGroup(
        D.EFS_CLIENT_SECURITY_GROUP, VpcId=vpc, Tags=name_tags("efs-client"),
        GroupDescription="herd EFS clients: attach to tasks that mount the file system",
        # Egress rules of all groups on a task add up, so this group opens NFS to EFS and nothing else
        # (no default "allow all" that would widen the task's own egress rules).
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=NFS_PORT, ToPort=NFS_PORT,
            DestinationSecurityGroupId=GetAtt(D.EFS_SECURITY_GROUP, "GroupId"),
            Description="NFS to the EFS mount targets",
        )],
    ))
    # A separate rule resource: inline, the two groups would reference each other (a cycle).
    t.add_resource(ec2.SecurityGroupIngress(
        D.EFS_INGRESS_FROM_CLIENTS, GroupId=GetAtt(D.EFS_SECURITY_GROUP, "GroupId"), IpProtocol="tcp",
        FromPort=NFS_PORT, ToPort=NFS_PORT, SourceSecurityGroupId=GetAtt(D.EFS_CLIENT_SECURITY_GROUP, "GroupId"),
        Description="NFS from tasks in the EFS client group",
    ))


def _file_system_policy() -> dict:
    client_actions = [efs_actions.ClientMount, efs_actions.ClientWrite, efs_actions.ClientRootAccess]
    # In a file system policy "*" is this file system: the policy cannot name anything else.
    this_file_system = "*"
    return _as_dict(PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="DenyUnencryptedTransport", Effect=Deny, Principal=Principal("AWS", "*"),
                  Action=client_actions, Resource=[this_file_system],
                  Condition=Condition(Bool("aws:SecureTransport", "false"))),
        # Only through an access point, so every write carries the POSIX identity set below.
        Statement(Sid="DenyMountWithoutAccessPoint", Effect=Deny, Principal=Principal("AWS", "*"),
                  Action=client_actions, Resource=[this_file_system],
                  Condition=Condition(Null("elasticfilesystem:AccessPointArn", "true"))),
        Statement(Sid="DenyRootAccess", Effect=Deny, Principal=Principal("AWS", "*"),
                  Action=[efs_actions.ClientRootAccess], Resource=[this_file_system]),
        # No Allow: with a policy in place EFS stops admitting anonymous clients, so a mount needs an
        # identity policy (the task role's ClientMount/ClientWrite) - that is the IAM authorization.
    ]))


def _file_system(t: Template) -> None:
    t.add_resource(efs.FileSystem(
        D.FILE_SYSTEM, **RETAIN, Encrypted=True, PerformanceMode="generalPurpose",
        ThroughputMode=Ref(D.EFS_THROUGHPUT_MODE),
        LifecyclePolicies=If(D.EFS_USES_IA, [
            efs.LifecyclePolicy(TransitionToIA=Ref(D.EFS_TRANSITION_TO_IA)),
            efs.LifecyclePolicy(TransitionToPrimaryStorageClass="AFTER_1_ACCESS"),
        ], NoValue),
        # EFS's own automatic backups would copy the same data into the default vault a second time;
        # the plan below (own vault, retention per environment) replaces them.
        BackupPolicy=efs.BackupPolicy(Status="DISABLED"),
        FileSystemPolicy=_file_system_policy(),
        FileSystemTags=name_tags("data"),
        Metadata=skip(("CKV_AWS_184", "Encrypted with the AWS managed key aws/elasticfilesystem: no key policy "
                        "to maintain and no key whose deletion would destroy the data. A customer managed key "
                        "is only needed for cross-account backup copies, which this platform does not make.")),
    ))
    private_subnets = Split(",", network(NET.OUT_PRIVATE_SUBNETS))
    for index, az in enumerate(NET.AZ_LETTERS):
        extra = {"Condition": D.THREE_AZS} if az == "C" else {}
        t.add_resource(efs.MountTarget(
            D.mount_target(az), FileSystemId=Ref(D.FILE_SYSTEM), SubnetId=Select(index, private_subnets),
            SecurityGroups=[GetAtt(D.EFS_SECURITY_GROUP, "GroupId")], **extra,
        ))
    _access_point(t, D.POSTGRES_ACCESS_POINT, "postgresql-data", POSTGRES_UID, POSTGRES_GID, POSTGRES_DATA_PATH,
                  POSTGRES_DATA_PERMISSIONS)
    _access_point(t, D.MANAGER_ACCESS_POINT, "manager-storage", MANAGER_UID, MANAGER_GID, MANAGER_STORAGE_PATH,
                  MANAGER_STORAGE_PERMISSIONS)
    _access_point(t, D.DUMPS_ACCESS_POINT, "dumps", POSTGRES_UID, POSTGRES_GID, DUMPS_PATH, DUMPS_PERMISSIONS)
    _root_access_point(t, D.RESTORE_POSTGRES_ACCESS_POINT, "restore-as-postgresql", POSTGRES_UID, POSTGRES_GID)
    _root_access_point(t, D.RESTORE_MANAGER_ACCESS_POINT, "restore-as-manager", MANAGER_UID, MANAGER_GID)


def _access_point(t: Template, logical_id: str, name: str, uid: str, gid: str, path: str, mode: str) -> None:
    t.add_resource(efs.AccessPoint(
        logical_id, **RETAIN, FileSystemId=Ref(D.FILE_SYSTEM), AccessPointTags=name_tags(name),
        PosixUser=efs.PosixUser(Uid=uid, Gid=gid),
        RootDirectory=efs.RootDirectory(
            Path=path, CreationInfo=efs.CreationInfo(OwnerUid=uid, OwnerGid=gid, Permissions=mode),
        ),
    ))


def _root_access_point(t: Template, logical_id: str, name: str, uid: str, gid: str) -> None:
    # No CreationInfo: "/" always exists, and EFS would never apply it there.
    t.add_resource(efs.AccessPoint(
        logical_id, **RETAIN, FileSystemId=Ref(D.FILE_SYSTEM), AccessPointTags=name_tags(name),
        PosixUser=efs.PosixUser(Uid=uid, Gid=gid), RootDirectory=efs.RootDirectory(Path=FILE_SYSTEM_ROOT),
    ))


def _backup_rule(name: str, schedule: str, retention: str, cold_storage: object = None
                 ) -> backup.BackupRuleResourceType:
    lifecycle = backup.LifecycleResourceType(DeleteAfterDays=Ref(retention))
    if cold_storage is not None:
        lifecycle.MoveToColdStorageAfterDays = cold_storage
    return backup.BackupRuleResourceType(
        RuleName=name, TargetBackupVault=Ref(D.BACKUP_VAULT), ScheduleExpression=schedule,
        # A backup that cannot start within an hour waits for the next day instead of running into the
        # busy hours; EFS backups of a few GB finish well within 12 hours.
        StartWindowMinutes=60, CompletionWindowMinutes=720,
        Lifecycle=lifecycle, RecoveryPointTags={"herd:backup-rule": name},
    )


def _backup(t: Template) -> None:
    t.add_resource(backup.BackupVault(
        D.BACKUP_VAULT, **RETAIN, BackupVaultName=D.BACKUP_VAULT_NAME,
        # Recovery points are deleted by their lifecycle only; a person (or a compromised role) must first
        # remove this policy, which is logged, to delete one by hand.
        AccessPolicy=_as_dict(PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Sid="DenyManualDeletion", Effect=Deny, Principal=Principal("AWS", "*"),
            Action=[DeleteRecoveryPoint, UpdateRecoveryPointLifecycle, DeleteBackupVault],
            # In a vault access policy "*" is this vault and its recovery points.
            Resource=["*"],
        )])),
        Metadata=skip(("CKV_AWS_166", "A vault is always encrypted; without EncryptionKeyArn AWS Backup uses the "
                        "AWS managed key aws/backup. A customer managed key is only needed for copies to "
                        "another account, which this platform does not make.")),
    ))
    t.add_resource(iam.Role(
        D.BACKUP_ROLE,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "backup.amazonaws.com"), Action=[AssumeRole],
        )]),
        # AWS's managed policies for the backup service role: AWS keeps them in step with what a backup or
        # restore of each resource type needs (for EFS: elasticfilesystem:Backup, Restore, tagging of
        # the restored file system). A hand-written copy would go stale, and we would find out during a
        # restore. They grant the backup service nothing outside AWS Backup's own work.
        ManagedPolicyArns=[
            Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"),
            Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"),
        ],
    ))
    rules = [
        _backup_rule("daily", DAILY_SCHEDULE, D.BACKUP_DAILY_RETENTION),
        If(D.WEEKLY_BACKUPS, _backup_rule("weekly", WEEKLY_SCHEDULE, D.BACKUP_WEEKLY_RETENTION), NoValue),
        If(D.MONTHLY_BACKUPS, _backup_rule(
            "monthly", MONTHLY_SCHEDULE, D.BACKUP_MONTHLY_RETENTION,
            If(D.MONTHLY_COLD_STORAGE, Ref(D.BACKUP_COLD_STORAGE_AFTER), NoValue),
        ), NoValue),
    ]
    t.add_resource(backup.BackupPlan(
        D.BACKUP_PLAN,
        BackupPlan=backup.BackupPlanResourceType(BackupPlanName=D.BACKUP_PLAN_NAME, BackupPlanRule=rules),
    ))
    t.add_resource(backup.BackupSelection(
        D.BACKUP_SELECTION, BackupPlanId=Ref(D.BACKUP_PLAN),
        BackupSelection=backup.BackupSelectionResourceType(
            SelectionName="efs", IamRoleArn=GetAtt(D.BACKUP_ROLE, "Arn"), Resources=[GetAtt(D.FILE_SYSTEM, "Arn")],
        ),
    ))


# checkov 3 runs CKV2_AWS_57 (rotation) and CKV_AWS_184 (EFS with a CMK) for Terraform only; the skips are
# here anyway so the decision is written next to the resource when the checks reach CloudFormation.
_SECRET_SKIPS = (
    ("CKV2_AWS_57", "No rotation: the images read these passwords only at start-up and PostgreSQL keeps its "
                    "own copy (POSTGRES_PASSWORD is applied once, by initdb), Keycloak and OpenRemote store "
                    "the admin passwords in the database. A rotation function would have to change the "
                    "password inside PostgreSQL/Keycloak and restart every task, which the applications do "
                    "not support."),
    ("CKV_AWS_149", "Encrypted with the AWS managed key aws/secretsmanager, which the ECS task execution role can "
                    "use without a key policy; a customer managed key adds cost and a policy to keep in step "
                    "with every role that reads the secret."),
)


def _secret(t: Template, logical_id: str, name: str, description: str, username: str) -> None:
    t.add_resource(secretsmanager.Secret(
        logical_id, **RETAIN, Name=name, Description=description,
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=json.dumps({D.SECRET_USERNAME_KEY: username}),
            GenerateStringKey=D.SECRET_PASSWORD_KEY, PasswordLength=PASSWORD_LENGTH,
            ExcludePunctuation=True, IncludeSpace=False, RequireEachIncludedType=True,
        ),
        Metadata=skip(*_SECRET_SKIPS),
    ))


def _secrets(t: Template) -> None:
    _secret(t, D.DB_SECRET, D.DB_SECRET_NAME, "PostgreSQL superuser of OpenRemote (postgresql, keycloak, manager)",
            DB_USERNAME)
    _secret(t, D.ADMIN_SECRET, D.ADMIN_SECRET_NAME, "OpenRemote admin user of the master realm (OR_ADMIN_PASSWORD)",
            ADMIN_USERNAME)
    # No Keycloak admin secret: Keycloak's admin password is the OpenRemote admin secret, as OpenRemote
    # requires (KeycloakAdminSecret was dropped; docs/teardown.md says how to delete the retained one).


_KEEP_PLACEHOLDER = "__IMAGES_TO_KEEP__"


def _lifecycle_policy_text() -> Sub:
    # An image matched by a rule's tag selection is never expired by a rule of lower priority (ECR's
    # lifecycle policy evaluation rules): the first rule selects the build cache, which is only ever one
    # image, so nothing expires it, while its superseded manifests become untagged and go after a day.
    rules = pull_cache.lifecycle_rules(_KEEP_PLACEHOLDER, "Keep the newest images (the running one and rollback "
                                       "targets)", always_kept_tag=D.BUILD_CACHE_TAG)
    text = json.dumps(rules, separators=(",", ":"), sort_keys=True)
    return Sub(text.replace(f'"{_KEEP_PLACEHOLDER}"', "${" + D.ECR_IMAGES_TO_KEEP + "}"))


def _repository(t: Template, logical_id: str, name: str) -> None:
    """One repository of images the pipeline builds; the manager's and Keycloak's are alike."""
    t.add_resource(ecr.Repository(
        logical_id, **RETAIN, RepositoryName=name,
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        # The pipeline tags each image with its commit id: a tag always means the same image, so a
        # rollback redeploys exactly what ran before. The one exception is the build cache, which each
        # build overwrites (ImageTagMutabilityExclusionFilter, ECR API reference).
        ImageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        ImageTagMutabilityExclusionFilters=[ecr.ImageTagMutabilityExclusionFilter(
            ImageTagMutabilityExclusionFilterType="WILDCARD",
            ImageTagMutabilityExclusionFilterValue=D.BUILD_CACHE_TAG)],
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="AES256"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=_lifecycle_policy_text()),
        Metadata=skip(("CKV_AWS_136", "Encrypted at rest with AES256 (ECR-managed keys). The image holds no "
                        "secrets (they come from Secrets Manager at run time); a KMS key would need grants for "
                        "CodeBuild and every ECS execution role for no gain in confidentiality."),
                      ("CKV_AWS_51", "Every tag is immutable except buildcache (IMMUTABLE_WITH_EXCLUSION), BuildKit's "
                                     "registry cache, which each build overwrites and nothing deploys; services run "
                                     "commit tags only.")),
    ))


def _outputs(t: Template) -> None:
    out = partial(output, t, names.DATA)
    out(D.OUT_FILE_SYSTEM_ID, Ref(D.FILE_SYSTEM), "EFS file system id")
    out(D.OUT_FILE_SYSTEM_ARN, GetAtt(D.FILE_SYSTEM, "Arn"),
           "EFS file system ARN (task roles: ClientMount/ClientWrite on it)")
    out(D.OUT_EFS_CLIENT_SECURITY_GROUP, GetAtt(D.EFS_CLIENT_SECURITY_GROUP, "GroupId"),
           "Security group for tasks that mount the file system")
    out(D.OUT_POSTGRES_ACCESS_POINT, Ref(D.POSTGRES_ACCESS_POINT),
           "Access point for PostgreSQL's PGDATA (uid/gid 70)")
    out(D.OUT_POSTGRES_ACCESS_POINT_ARN, GetAtt(D.POSTGRES_ACCESS_POINT, "Arn"),
           "ARN of the PostgreSQL access point")
    out(D.OUT_MANAGER_ACCESS_POINT, Ref(D.MANAGER_ACCESS_POINT), "Access point for the manager's /storage")
    out(D.OUT_MANAGER_ACCESS_POINT_ARN, GetAtt(D.MANAGER_ACCESS_POINT, "Arn"), "ARN of the manager access point")
    out(D.OUT_DB_SECRET_ARN, Ref(D.DB_SECRET), "Secret {username, password} of the PostgreSQL superuser")
    out(D.OUT_ADMIN_SECRET_ARN, Ref(D.ADMIN_SECRET), "Secret {username, password} of OpenRemote's admin")
    out(D.OUT_ECR_REPOSITORY_NAME, Ref(D.ECR_REPOSITORY), "ECR repository of the manager image")
    out(D.OUT_ECR_REPOSITORY_ARN, GetAtt(D.ECR_REPOSITORY, "Arn"), "ARN of the ECR repository")
    out(D.OUT_ECR_REPOSITORY_URI, GetAtt(D.ECR_REPOSITORY, "RepositoryUri"), "URI of the ECR repository")
    out(D.OUT_KEYCLOAK_ECR_REPOSITORY_ARN, GetAtt(D.KEYCLOAK_ECR_REPOSITORY, "Arn"), "ECR repository of Keycloak")
    out(D.OUT_KEYCLOAK_ECR_REPOSITORY_URI, GetAtt(D.KEYCLOAK_ECR_REPOSITORY, "RepositoryUri"),
        "URI of Keycloak's ECR repository")
    out(D.OUT_BACKUP_VAULT_NAME, Ref(D.BACKUP_VAULT), "AWS Backup vault holding the file system's backups")
    out(D.OUT_BACKUP_ROLE_ARN, GetAtt(D.BACKUP_ROLE, "Arn"), "Role AWS Backup uses for backups and restore jobs")
    out(D.OUT_EXEC_KEY_ARN, GetAtt(D.EXEC_KEY, "Arn"), "Key of ECS Exec sessions and their log group")
    out(D.OUT_LOGS_KEY_ARN, GetAtt(D.LOGS_KEY, "Arn"), "Key of the platform's log groups")
    out(D.OUT_DUMPS_ACCESS_POINT, Ref(D.DUMPS_ACCESS_POINT), "Access point of the database dumps (uid/gid 70)")
    out(D.OUT_DUMPS_ACCESS_POINT_ARN, GetAtt(D.DUMPS_ACCESS_POINT, "Arn"), "ARN of the dumps access point")
    for out_id, out_arn, access_point, owner in (
        (D.OUT_RESTORE_POSTGRES_ACCESS_POINT, D.OUT_RESTORE_POSTGRES_ACCESS_POINT_ARN,
         D.RESTORE_POSTGRES_ACCESS_POINT, "PostgreSQL (uid/gid 70)"),
        (D.OUT_RESTORE_MANAGER_ACCESS_POINT, D.OUT_RESTORE_MANAGER_ACCESS_POINT_ARN,
         D.RESTORE_MANAGER_ACCESS_POINT, "the manager's storage (uid/gid 1000)"),
    ):
        out(out_id, Ref(access_point), f"Access point at / as {owner}, for the restore task")
        out(out_arn, GetAtt(access_point, "Arn"), f"ARN of the access point at / as {owner}")


STACK = StackDefinition(
    name=names.DATA,
    description="EFS with access points, AWS Backup, generated secrets and the ECR repository (all retained)",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK,),
    config_key="data",
    config_model=DataConfig,
    validate_project=validate_project,
    warnings=warnings,
)
