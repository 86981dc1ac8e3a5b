"""The ``data`` section of an environment's parameters file, and its rules."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from herd_cfn import fields
from herd_cfn.errors import InputError
from herd_cfn.fields import LogRetentionDays, StrictModel, Text, matching
from herd_cfn.templates import docker_hub

# AWS Backup refuses a lifecycle whose DeleteAfterDays is less than MoveToColdStorageAfterDays + 90.
COLD_STORAGE_MINIMUM_DAYS = 90
# A production database restorable for at least a month: long enough to notice a bad change and go back.
PRODUCTION_MIN_DAILY_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36500

ThroughputMode = Literal["elastic", "bursting"]
# AWS::EFS::FileSystem LifecyclePolicy TransitionToIA values, plus NONE for "stay in Standard".
IaTransition = Literal[
    "NONE", "AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS",
    "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS",
]
EFS_THROUGHPUT_MODES: tuple[str, ...] = get_args(ThroughputMode)
EFS_IA_TRANSITIONS: tuple[str, ...] = get_args(IaTransition)

# ECR's pull-through cache of Docker Hub (herd_cfn/templates/docker_hub.py). The secret holds the JSON keys
# "username" and "accessToken" (a Docker Hub access token); AWS::ECR::PullThroughCacheRule's CredentialArn
# takes at most 612 characters and only a secret whose name starts with "ecr-pullthroughcache/", in the
# rule's own account and region (AWS: "Creating a pull through cache rule in Amazon ECR").
CACHE_SECRET_KEY = "data.docker_hub_cache_secret_arn"
CACHE_SECRET_EXAMPLE = (f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{docker_hub.SECRET_NAME_PREFIX}"
                        "docker-hub-AbCdEf (the complete ARN)")
CACHE_SECRET_PATTERN = (r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:"
                        + docker_hub.SECRET_NAME_PREFIX + r"[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}")


def _cache_secret_name(value: str) -> str:
    name = value.split(":secret:", 1)[1]
    if not name.startswith(docker_hub.SECRET_NAME_PREFIX):
        raise ValueError(f"the secret's name must start with {docker_hub.SECRET_NAME_PREFIX!r}: Amazon ECR takes no "
                         f"other secret for a pull-through cache rule; got the name {name!r} (create one named "
                         f"{docker_hub.SECRET_NAME_PREFIX}docker-hub)")
    return value


CacheSecretArn = Annotated[str, Text(612, fields.ARN_CHARSET, fields.ARN_WORDS,
                                     "AWS::ECR::PullThroughCacheRule CredentialArn"),
                           matching(fields.SECRET_ARN_PATTERN, CACHE_SECRET_EXAMPLE),
                           AfterValidator(_cache_secret_name)]


class BackupConfig(StrictModel):
    daily_retention_days: int = Field(ge=1, le=MAX_RETENTION_DAYS,
                                      description="Days to keep the daily backup of the file system")
    weekly_retention_days: int = Field(0, ge=0, le=MAX_RETENTION_DAYS,
                                       description="Days to keep a weekly backup (Sunday); 0 = no weekly backups")
    monthly_retention_days: int = Field(0, ge=0, le=MAX_RETENTION_DAYS,
                                        description="Days to keep a monthly backup (the 1st); 0 = no monthly backups")
    monthly_cold_storage_after_days: int = Field(
        0, ge=0, le=MAX_RETENTION_DAYS,
        description="Move monthly backups to cold storage after this many days; 0 = never. AWS Backup then "
                    "keeps them at least 90 days in cold storage.",
    )

    @model_validator(mode="after")
    def _rules(self) -> BackupConfig:
        if 0 < self.weekly_retention_days < 7:
            raise ValueError(f"weekly_retention_days must be 0 (no weekly backups) or at least 7, so one weekly "
                             f"backup lives until the next, got {self.weekly_retention_days}")
        if 0 < self.monthly_retention_days < 31:
            raise ValueError(f"monthly_retention_days must be 0 (no monthly backups) or at least 31, so one "
                             f"monthly backup lives until the next, got {self.monthly_retention_days}")
        cold = self.monthly_cold_storage_after_days
        if cold and not self.monthly_retention_days:
            raise ValueError("monthly_cold_storage_after_days needs monthly backups: set monthly_retention_days "
                             "or set monthly_cold_storage_after_days to 0")
        if cold and self.monthly_retention_days < cold + COLD_STORAGE_MINIMUM_DAYS:
            raise ValueError(
                f"monthly_retention_days ({self.monthly_retention_days}) must be at least "
                f"monthly_cold_storage_after_days + {COLD_STORAGE_MINIMUM_DAYS} ({cold + COLD_STORAGE_MINIMUM_DAYS}): "
                "AWS Backup keeps a recovery point at least 90 days in cold storage"
            )
        return self


class DataConfig(StrictModel):
    efs_throughput_mode: ThroughputMode = Field(
        "elastic", description="EFS throughput: elastic (pay per use, no burst credits to run out of; suits a "
                               "database) or bursting (throughput grows with the stored size)",
    )
    efs_transition_to_ia: IaTransition = Field(
        "AFTER_30_DAYS", description="Move files unread this long to EFS Infrequent Access (first read moves "
                                     "them back); NONE keeps everything in Standard",
    )
    backup: BackupConfig = Field(description="AWS Backup plan of the file system")
    ecr_images_to_keep: int = Field(ge=2, le=10000, description="Images kept in each ECR repository (manager, "
                                                                "Keycloak); at least 2 (the running image and the "
                                                                "one a rollback returns to); the build cache counts "
                                                                "among the manager's but never expires")
    exec_log_retention_days: LogRetentionDays = Field(
        365, description="Retention (days) of the ECS Exec session log /herd/exec: who did what in a task")
    docker_hub_cache_secret_arn: CacheSecretArn | None = Field(
        None, description="Secrets Manager secret (JSON keys username, accessToken: a Docker Hub access token), "
                          f"named {docker_hub.SECRET_NAME_PREFIX}..., in this environment's account and region: "
                          "ECR caches Docker Hub's images with it and tasks and builds pull them from ECR; none = "
                          "they pull from Docker Hub anonymously, within its pull limit")


def validate_project(project) -> None:
    """Rules that need the environment around the data section (production or not, its account)."""
    for env in project.environments.values():
        days = env.data.backup.daily_retention_days
        if env.production and days < PRODUCTION_MIN_DAILY_RETENTION_DAYS:
            raise InputError(str(env.file), "data.backup.daily_retention_days",
                             f"a production environment keeps daily backups at least "
                             f"{PRODUCTION_MIN_DAILY_RETENTION_DAYS} days, got {days}")
        _cache_secret_in_account(env)


def _cache_secret_in_account(env) -> None:
    arn = env.data.docker_hub_cache_secret_arn
    if not arn:
        return
    region, account = arn.split(":")[3:5]
    if (account, region) != (env.account_id, env.region):
        raise InputError(str(env.file), CACHE_SECRET_KEY,
                         f"the secret must be in this environment's account {env.account_id} and region "
                         f"{env.region}, as ECR requires for a pull-through cache rule; got account {account}, "
                         f"region {region}")


def warnings(project) -> list[str]:
    """The build's warning lines: environments whose tasks and builds pull from Docker Hub anonymously."""
    return [f"{env.file}: {CACHE_SECRET_KEY} is not set: no ECR pull-through cache in {env.name}; its tasks pull "
            f"their Docker Hub images from Docker Hub itself, anonymously (10 pulls an hour per IP address), and so "
            f"does the image build (docs/operating.md, 'Docker Hub pull limits')"
            for env in project.environments.values() if not docker_hub.enabled(env)]
