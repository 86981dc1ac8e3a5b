"""``AWS::ECR::PullThroughCacheRule`` and ``AWS::ECR::RepositoryCreationTemplate`` in moto's ECR, read back
with ``ecr:DescribePullThroughCacheRules`` and ``ecr:DescribeRepositoryCreationTemplates``.

Gap: moto 5.2.5's ECR has neither pull-through cache rules nor repository creation templates, as API or
as CloudFormation model: its CloudFormation skipped both types of the data stack with a warning ("not
supported by moto's CloudFormation implementation"), so the Docker Hub cache was never there.
AWS: the CloudFormation resource references (Ref of a rule is its EcrRepositoryPrefix, of a template its
Prefix; every property of a rule is create-only, so any change replaces it; a template's Prefix is
create-only and its other properties update in place, GetAtt CreatedAt and UpdatedAt) and the ECR API
reference: CreatePullThroughCacheRule fails with PullThroughCacheRuleAlreadyExistsException for a prefix
that has a rule, CreateRepositoryCreationTemplate with TemplateAlreadyExistsException likewise;
DescribePullThroughCacheRules and DescribeRepositoryCreationTemplates list them (all, or the prefixes
asked for: PullThroughCacheRuleNotFoundException, TemplateNotFoundException for one that is not there).
Where the emulator differs: AWS also refuses a rule whose credentialArn names no secret of the rule's
account and region (SecretNotFoundException); the emulator records the rule anyway. moto creates a
stack's resources inside CreateStack and has no failed-stack state, so a refused resource leaves a
half-made stack whose every read fails; and the tests that roll the data stack out through a plain
endpoint have no secret (as they have no hosted zone). The secret is a prerequisite of the account:
``--local`` seeds the one the parameters name (``POST /herd-emulator/secret``), ``herd-cfn doctor``
checks that it exists.
Not emulated: a pull through the cache (the emulator runs no containers), so ECR creates no repository.
"""

from __future__ import annotations

import datetime
from typing import Any

from ._model import Resource, register


def _state(account_id: str, region: str) -> dict[str, dict[str, dict[str, Any]]]:
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account_id][region]
    if not hasattr(backend, "herd_pull_through_cache"):
        backend.herd_pull_through_cache = {"rules": {}, "templates": {}}
    return backend.herd_pull_through_cache


def _error(code: str, message: str) -> Exception:
    """ECR's error, as an answer of the ECR API."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _refused(code: str, message: str) -> Exception:
    """ECR's error while CloudFormation creates a resource. moto creates a stack's resources inside the
    CreateStack call, so the call answers it (resources created before stay); AWS answers CreateStack at
    once and fails the stack instead (CREATE_FAILED, then rolled back)."""
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=f"{code}: {message}")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class PullThroughCacheRule(Resource):
    TYPE = "AWS::ECR::PullThroughCacheRule"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        rules = _state(account_id, region)["rules"]
        prefix = properties["EcrRepositoryPrefix"]
        if prefix in rules:
            raise _refused("PullThroughCacheRuleAlreadyExistsException",
                         f"A pull through cache rule with the prefix '{prefix}' already exists")
        credential = properties.get("CredentialArn")
        now = _now()
        rule = {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": properties["UpstreamRegistryUrl"],
                "registryId": account_id, "createdAt": now, "updatedAt": now,
                "credentialArn": credential, "upstreamRegistry": properties.get("UpstreamRegistry"),
                "customRoleArn": properties.get("CustomRoleArn"),
                "upstreamRepositoryPrefix": properties.get("UpstreamRepositoryPrefix")}
        rules[prefix] = {k: v for k, v in rule.items() if v is not None}
        return cls(prefix)

    def remove(self) -> None:
        _state(self.account_id, self.region_name)["rules"].pop(self.ref, None)


_TEMPLATE_FIELDS = {"Description": "description", "ImageTagMutability": "imageTagMutability",
                    "LifecyclePolicy": "lifecyclePolicy", "RepositoryPolicy": "repositoryPolicy",
                    "AppliedFor": "appliedFor", "CustomRoleArn": "customRoleArn"}


def _template(properties: dict[str, Any]) -> dict[str, Any]:
    """The template as the API shows it."""
    shown: dict[str, Any] = {"prefix": properties["Prefix"]}
    shown.update({api: properties[cfn] for cfn, api in _TEMPLATE_FIELDS.items() if cfn in properties})
    encryption = properties.get("EncryptionConfiguration")
    if encryption:
        shown["encryptionConfiguration"] = {"encryptionType": encryption["EncryptionType"],
                                            **({"kmsKey": encryption["KmsKey"]} if "KmsKey" in encryption else {})}
    if "ResourceTags" in properties:
        shown["resourceTags"] = properties["ResourceTags"]
    return shown


class RepositoryCreationTemplate(Resource):
    TYPE = "AWS::ECR::RepositoryCreationTemplate"
    ATTRIBUTES = ("CreatedAt", "UpdatedAt")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        templates = _state(account_id, region)["templates"]
        prefix = properties["Prefix"]
        if prefix in templates:
            raise _refused("TemplateAlreadyExistsException", f"A repository creation template with the prefix "
                                                           f"'{prefix}' already exists")
        now = _now()
        templates[prefix] = {**_template(properties), "createdAt": now, "updatedAt": now}
        return cls(prefix, {"CreatedAt": now.isoformat(), "UpdatedAt": now.isoformat()})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if properties["Prefix"] != self.ref:
            return super().update(name, properties)
        templates = _state(self.account_id, self.region_name)["templates"]
        now = _now()
        templates[self.ref] = {**_template(properties), "createdAt": templates[self.ref]["createdAt"],
                               "updatedAt": now}
        self.attributes["UpdatedAt"] = now.isoformat()
        return self

    def remove(self) -> None:
        _state(self.account_id, self.region_name)["templates"].pop(self.ref, None)


def _listed(found: dict[str, dict[str, Any]], wanted: list[str] | None, missing: str, what: str) -> list[dict]:
    if not wanted:
        return list(found.values())
    absent = [prefix for prefix in wanted if prefix not in found]
    if absent:
        raise _error(missing, f"No {what} with the prefix '{absent[0]}' exists in the registry")
    return [found[prefix] for prefix in wanted]


def describe_pull_through_cache_rules(self: Any) -> Any:
    from moto.core.responses import ActionResult

    rules = _listed(_state(self.current_account, self.region)["rules"], self._get_param("ecrRepositoryPrefixes"),
                    "PullThroughCacheRuleNotFoundException", "pull through cache rule")
    return ActionResult({"pullThroughCacheRules": rules})


def describe_repository_creation_templates(self: Any) -> Any:
    from moto.core.responses import ActionResult

    templates = _listed(_state(self.current_account, self.region)["templates"], self._get_param("prefixes"),
                        "TemplateNotFoundException", "repository creation template")
    return ActionResult({"registryId": self.current_account, "repositoryCreationTemplates": templates})


def install() -> None:
    from moto.ecr.responses import ECRResponse

    register(PullThroughCacheRule, RepositoryCreationTemplate)
    ECRResponse.describe_pull_through_cache_rules = describe_pull_through_cache_rules  # type: ignore[attr-defined]
    ECRResponse.describe_repository_creation_templates = (  # type: ignore[attr-defined]
        describe_repository_creation_templates)
