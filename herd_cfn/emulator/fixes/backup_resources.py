"""``AWS::Backup::BackupVault``, ``BackupPlan`` (in moto's AWS Backup) and ``BackupSelection`` (recorded).

Gap: moto's CloudFormation has no model of these types: the data stack's vault and plan were skipped,
so ``backup.list_backup_plans`` was empty and ``herd-cfn restore`` found no vault.
AWS: the CloudFormation resource reference of AWS::Backup::BackupVault (Ref: the vault name; GetAtt
``BackupVaultName``, ``BackupVaultArn``), AWS::Backup::BackupPlan (Ref: the plan id; GetAtt
``BackupPlanId``, ``BackupPlanArn``, ``VersionId``; the plan updates in place with a new VersionId, as
UpdateBackupPlan does; ``BackupPlanRule`` is the API's ``Rules``, a rule's ``TargetBackupVault`` its
``TargetBackupVaultName``) and AWS::Backup::BackupSelection
(Ref: the selection id; GetAtt ``SelectionId``, ``Id``, ``BackupPlanId``; every change replaces it).
moto's AWS Backup has no selections and no vault access policies: a selection is recorded only, the
vault keeps its AccessPolicy on moto's model (``access_policy``) where no API reads it.
"""

from __future__ import annotations

import uuid
from typing import Any

from ._model import Recorded, Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.backup.models import backup_backends

    return backup_backends[account_id][region]


def _tags(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {t["Key"]: t["Value"] for t in tags}
    return dict(tags or {})


class BackupVault(Resource):
    TYPE = "AWS::Backup::BackupVault"
    NAME_PROPERTY = "BackupVaultName"
    ATTRIBUTES = ("BackupVaultName", "BackupVaultArn")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        vault = _backend(account_id, region).create_backup_vault(
            backup_vault_name=name, backup_vault_tags=_tags(properties.get("BackupVaultTags")),
            encryption_key_arn=properties.get("EncryptionKeyArn"), creator_request_id=None)
        vault.access_policy = properties.get("AccessPolicy")
        return cls(name, {"BackupVaultName": name, "BackupVaultArn": vault.backup_vault_arn})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if name != self.name or properties.get("EncryptionKeyArn") != self.properties.get("EncryptionKeyArn"):
            return super().update(name, properties)
        _backend(self.account_id, self.region_name).describe_backup_vault(name).access_policy = \
            properties.get("AccessPolicy")
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_backup_vault(self.ref)


def _plan_document(properties: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's BackupPlan property as the API's BackupPlan (BackupPlanRule -> Rules)."""
    plan = dict(properties["BackupPlan"])
    plan["Rules"] = []
    for rule in plan.pop("BackupPlanRule", []):
        if rule:  # AWS::NoValue leaves None in the list
            rule = dict(rule)
            rule["TargetBackupVaultName"] = rule.pop("TargetBackupVault")  # the API's name
            plan["Rules"].append(rule)
    return plan


class BackupPlan(Resource):
    TYPE = "AWS::Backup::BackupPlan"
    ATTRIBUTES = ("BackupPlanId", "BackupPlanArn", "VersionId")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        plan = _backend(account_id, region).create_backup_plan(
            backup_plan=_plan_document(properties), backup_plan_tags=_tags(properties.get("BackupPlanTags")),
            creator_request_id=None)
        return cls(plan.backup_plan_id, cls._attributes(plan))

    @staticmethod
    def _attributes(plan: Any) -> dict[str, str]:
        return {"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn,
                "VersionId": plan.version_id}

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        from moto.backup.models import Plan
        from moto.moto_api._internal import mock_random

        backend = _backend(self.account_id, self.region_name)
        plan = backend.plans[self.ref]
        # UpdateBackupPlan: the same plan id, the new document, a new version.
        replacement = Plan(backup_plan=_plan_document(properties), creator_request_id=None, backend=backend)
        plan.backup_plan = replacement.backup_plan
        plan.version_id = mock_random.get_random_string(length=48)
        self.attributes = self._attributes(plan)
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_backup_plan(self.ref)


class BackupSelection(Recorded):
    TYPE = "AWS::Backup::BackupSelection"
    ATTRIBUTES = ("SelectionId", "Id", "BackupPlanId")

    @classmethod
    def identifiers(cls, account_id: str, region: str, name: str, properties: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
        selection_id = str(uuid.uuid4())
        return selection_id, {"SelectionId": selection_id, "Id": selection_id,
                              "BackupPlanId": properties["BackupPlanId"]}

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        # Both properties require replacement.
        self.remove()
        return self.create(self.account_id, self.region_name, name, properties)


def install() -> None:
    register(BackupVault, BackupPlan, BackupSelection)
