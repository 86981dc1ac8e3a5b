"""``AWS::SecretsManager::Secret`` in Secrets Manager, with ``GenerateSecretString``.

Gap: moto's CloudFormation has no model of this type: it skipped the data stack's secrets ("No Moto
CloudFormation support"), so their ARNs were never exported and nothing could read a password.
AWS: the CloudFormation resource reference of AWS::SecretsManager::Secret (Ref and GetAtt ``Id``: the
secret's ARN; ``GenerateSecretString``: a password as GetRandomPassword makes it, stored under
``GenerateStringKey`` in the JSON of ``SecretStringTemplate``; Description, KmsKeyId and the secret's
value update in place, a new Name replaces the secret).
"""

from __future__ import annotations

import json
from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[account_id][region]


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


def secret_string(backend: Any, properties: dict[str, Any]) -> str | None:
    """The value CloudFormation stores: SecretString as given, or one GenerateSecretString makes."""
    generate = properties.get("GenerateSecretString")
    if not generate:
        return properties.get("SecretString")
    password = backend.get_random_password(
        password_length=int(generate.get("PasswordLength", 32)),
        exclude_characters=generate.get("ExcludeCharacters", ""),
        exclude_numbers=_bool(generate.get("ExcludeNumbers")),
        exclude_punctuation=_bool(generate.get("ExcludePunctuation")),
        exclude_uppercase=_bool(generate.get("ExcludeUppercase")),
        exclude_lowercase=_bool(generate.get("ExcludeLowercase")),
        include_space=_bool(generate.get("IncludeSpace")),
        require_each_included_type=_bool(generate.get("RequireEachIncludedType", True)),
    )
    password = json.loads(password)["RandomPassword"]
    template = generate.get("SecretStringTemplate")
    if template is None:
        return password
    value = json.loads(template)
    value[generate["GenerateStringKey"]] = password
    return json.dumps(value)


class Secret(Resource):
    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        backend = _backend(account_id, region)
        created = json.loads(backend.create_secret(
            name=name, secret_string=secret_string(backend, properties), secret_binary=None,
            description=properties.get("Description"), tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"), client_request_token=None,
            replica_regions=properties.get("ReplicaRegions") or [], force_overwrite=False))
        return cls(created["ARN"], {"Id": created["ARN"]})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if name != self.name:
            return super().update(name, properties)
        backend = _backend(self.account_id, self.region_name)
        value_changed = any(properties.get(k) != self.properties.get(k)
                            for k in ("SecretString", "GenerateSecretString"))
        backend.update_secret(
            secret_id=self.ref, secret_string=secret_string(backend, properties) if value_changed else None,
            kms_key_id=properties.get("KmsKeyId"), description=properties.get("Description"))
        return self

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_secret(
            secret_id=self.ref, recovery_window_in_days=None, force_delete_without_recovery=True)


def install() -> None:
    register(Secret)
