"""AWS Backup recovery points and restore jobs: on-demand backups, the backup plan's runs, restores.

Gap: moto's AWS Backup (5.2.5) has vaults and plans but no backup jobs, recovery points or restore jobs:
``list-recovery-points-by-backup-vault``, ``describe-recovery-point``, ``start-restore-job`` and
``describe-restore-job`` are not routed at all, so ``herd-cfn restore`` could not run on the emulator.
AWS: the AWS Backup API reference of StartBackupJob, DescribeBackupJob, ListRecoveryPointsByBackupVault,
DescribeRecoveryPoint, StartRestoreJob, DescribeRestoreJob and ListRestoreJobs. A recovery point of an
EFS file system is ``arn:aws:backup:<region>:<account>:recovery-point:<id>``, Status COMPLETED once its
backup job finished; a restore job of EFS with ``newFileSystem=false`` restores into the source file
system (CreatedResourceArn: that file system) and ends COMPLETED.
What the emulator does instead of time passing: a backup job completes at once; each backup plan rule
has run once for each resource of each selection of its plan (one recovery point per rule and resource,
in the rule's vault, CreatedBy the plan and rule), as after the plan's first backup window; a restore job
of an existing recovery point completes at once (no data moves: the emulator keeps no file contents).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

# The routes moto's AWS Backup lacks (botocore's request URIs; moto finds the action from method + URI).
# Starting a job has no trailing slash, listing has one (flask routes the two forms apart).
URL_PATHS = (
    "{0}/backup-jobs$",
    "{0}/backup-jobs/$",
    "{0}/backup-jobs/(?P<id>[^/]+)$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$",
    "{0}/restore-jobs$",
    "{0}/restore-jobs/$",
    "{0}/restore-jobs/(?P<id>[^/]+)$",
)


def _state(backend: Any) -> dict[str, dict[str, dict[str, Any]]]:
    if not hasattr(backend, "herd_backup_state"):
        backend.herd_backup_state = {"points": {}, "backup_jobs": {}, "restore_jobs": {}}
    return backend.herd_backup_state


def _not_found(message: str) -> Any:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ResourceNotFoundException", message)


def _resource_type(arn: str) -> str:
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    return {"elasticfilesystem": "EFS", "rds": "RDS", "dynamodb": "DynamoDB", "ec2": "EC2", "s3": "S3"}.get(
        service, service.upper())


def record_point(backend: Any, vault_name: str, resource_arn: str, role_arn: str,
                 created_by: dict[str, str] | None = None) -> dict[str, Any]:
    """A COMPLETED recovery point of ``resource_arn`` in ``vault_name``."""
    vault = backend.describe_backup_vault(vault_name)
    now = time.time()
    arn = f"arn:aws:backup:{backend.region_name}:{backend.account_id}:recovery-point:{str(uuid.uuid4()).upper()}"
    point = {
        "RecoveryPointArn": arn, "BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn,
        "ResourceArn": resource_arn, "ResourceType": _resource_type(resource_arn), "IamRoleArn": role_arn,
        "Status": "COMPLETED", "CreationDate": now, "CompletionDate": now, "BackupSizeInBytes": 0,
        "IsEncrypted": True, "StorageClass": "WARM", "ResourceName": resource_arn.rsplit("/", 1)[-1],
        "CreatedBy": created_by or {},
    }
    _state(backend)["points"][arn] = point
    return point


def run_plans(backend: Any) -> None:
    """Each rule of each plan has run once for every resource its plan's selections name."""
    from ._model import RECORDED

    points = _state(backend)["points"].values()
    done = {(p["CreatedBy"].get("BackupRuleId"), p["ResourceArn"]) for p in points}
    for selection in RECORDED.get("AWS::Backup::BackupSelection", {}).values():
        if (selection.get("AccountId"), selection.get("Region")) != (backend.account_id, backend.region_name):
            continue
        plan = backend.plans.get(selection.get("BackupPlanId"))
        if plan is None or plan.deletion_date:
            continue
        document = selection.get("BackupSelection") or {}
        for rule in plan.backup_plan.get("Rules", []):
            for resource in document.get("Resources") or []:
                if (rule["RuleId"], resource) in done:
                    continue
                created_by = {"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn,
                              "BackupPlanVersion": plan.version_id, "BackupRuleId": rule["RuleId"]}
                try:
                    record_point(backend, rule["TargetBackupVaultName"], resource,
                                 document.get("IamRoleArn", ""), created_by)
                except Exception:  # a rule whose vault is gone backs up nothing
                    continue


def _point(backend: Any, vault_name: str, arn: str) -> dict[str, Any]:
    run_plans(backend)
    point = _state(backend)["points"].get(arn)
    if point is None or point["BackupVaultName"] != vault_name:
        raise _not_found(f"Recovery point {arn} not found in vault {vault_name}")
    return point


# --- the responses (methods of moto's BackupResponse) ---------------------------------------------
def start_backup_job(self: Any) -> str:
    params = json.loads(self.body or "{}")
    backend = self.backup_backend
    point = record_point(backend, params["BackupVaultName"], params["ResourceArn"], params.get("IamRoleArn", ""))
    job_id = str(uuid.uuid4()).upper()
    _state(backend)["backup_jobs"][job_id] = {
        "AccountId": backend.account_id, "BackupJobId": job_id, "State": "COMPLETED", "PercentDone": "100.0",
        **{k: point[k] for k in ("BackupVaultName", "BackupVaultArn", "RecoveryPointArn", "ResourceArn",
                                 "ResourceType", "IamRoleArn", "CreationDate", "CompletionDate")},
    }
    return json.dumps({"BackupJobId": job_id, "RecoveryPointArn": point["RecoveryPointArn"],
                       "CreationDate": point["CreationDate"]})


def describe_backup_job(self: Any) -> str:
    job_id = self.uri_match["backupJobId"]
    job = _state(self.backup_backend)["backup_jobs"].get(job_id)
    if job is None:
        raise _not_found(f"Backup job {job_id} not found")
    return json.dumps(job)


def list_backup_jobs(self: Any) -> str:
    return json.dumps({"BackupJobs": list(_state(self.backup_backend)["backup_jobs"].values())})


def list_recovery_points_by_backup_vault(self: Any) -> str:
    from urllib.parse import unquote

    backend = self.backup_backend
    name = unquote(self.uri_match["backupVaultName"])
    backend.describe_backup_vault(name)  # ResourceNotFoundException for an unknown vault
    run_plans(backend)
    points = [p for p in _state(backend)["points"].values() if p["BackupVaultName"] == name]
    return json.dumps({"RecoveryPoints": points})


def describe_recovery_point(self: Any) -> str:
    from urllib.parse import unquote

    point = _point(self.backup_backend, unquote(self.uri_match["backupVaultName"]),
                   unquote(self.uri_match["recoveryPointArn"]))
    return json.dumps(point)


def start_restore_job(self: Any) -> str:
    params = json.loads(self.body or "{}")
    backend = self.backup_backend
    run_plans(backend)
    arn = params.get("RecoveryPointArn", "")
    point = _state(backend)["points"].get(arn)
    if point is None:
        raise _not_found(f"Recovery point {arn} not found")
    metadata = params.get("Metadata") or {}
    created = point["ResourceArn"]
    if str(metadata.get("newFileSystem", "false")).lower() == "true":
        created = f"{created.rsplit('/', 1)[0]}/fs-{uuid.uuid4().hex[:8]}"
    now = time.time()
    job_id = str(uuid.uuid4()).upper()
    _state(backend)["restore_jobs"][job_id] = {
        "AccountId": backend.account_id, "RestoreJobId": job_id, "RecoveryPointArn": arn,
        "SourceResourceArn": point["ResourceArn"], "BackupVaultArn": point["BackupVaultArn"],
        "CreationDate": now, "CompletionDate": now, "Status": "COMPLETED", "PercentDone": "100.0",
        "IamRoleArn": params.get("IamRoleArn", ""), "CreatedResourceArn": created,
        "ResourceType": params.get("ResourceType") or point["ResourceType"],
        "RecoveryPointCreationDate": point["CreationDate"],
        "StatusMessage": "emulator: completed at once; no files were copied",
    }
    point["LastRestoreTime"] = now
    return json.dumps({"RestoreJobId": job_id})


def describe_restore_job(self: Any) -> str:
    job_id = self.uri_match["restoreJobId"]
    job = _state(self.backup_backend)["restore_jobs"].get(job_id)
    if job is None:
        raise _not_found(f"Restore job {job_id} not found")
    return json.dumps(job)


def list_restore_jobs(self: Any) -> str:
    return json.dumps({"RestoreJobs": list(_state(self.backup_backend)["restore_jobs"].values())})


RESPONSES = (start_backup_job, describe_backup_job, list_backup_jobs, list_recovery_points_by_backup_vault,
             describe_recovery_point, start_restore_job, describe_restore_job, list_restore_jobs)


def install() -> None:
    from moto.backup import urls
    from moto.backup.responses import BackupResponse

    for path in URL_PATHS:
        urls.url_paths.setdefault(path, BackupResponse.dispatch)
    for response in RESPONSES:
        setattr(BackupResponse, response.__name__, response)
