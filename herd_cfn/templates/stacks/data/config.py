"""The ``data`` section of an environment's parameters file, and its rules."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from herd_cfn.errors import InputError
from herd_cfn.fields import LogRetentionDays, StrictModel

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


def validate_project(project) -> None:
    """Rules that need the environment around the data section (production or not)."""
    for env in project.environments.values():
        days = env.data.backup.daily_retention_days
        if env.production and days < PRODUCTION_MIN_DAILY_RETENTION_DAYS:
            raise InputError(str(env.file), "data.backup.daily_retention_days",
                             f"a production environment keeps daily backups at least "
                             f"{PRODUCTION_MIN_DAILY_RETENTION_DAYS} days, got {days}")
