"""herd_cfn.emulator.fixes.ecr_pull_through_cache: the two ECR resource types of the Docker Hub cache made by
CloudFormation, read back through ECR's API as AWS documents it; and the secret the emulator seeds as an
account's prerequisite."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from herd_cfn.emulator.server import account_session

ACCOUNT, REGION = "222222222222", "eu-west-1"
PREFIX = "herd/docker-hub"
LOGIN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"


def _client(aws, service: str):
    return account_session(aws.endpoint_url, ACCOUNT, REGION).client(service, endpoint_url=aws.endpoint_url)


def _template(description: str = "cached", upstream: str = "registry-1.docker.io", prefix: str = PREFIX) -> str:
    return json.dumps({
        "Parameters": {"Login": {"Type": "String", "Default": ""}},
        "Conditions": {"Cache": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Login"}, ""]}]}},
        "Resources": {
            "Repositories": {"Type": "AWS::ECR::RepositoryCreationTemplate", "Condition": "Cache", "Properties": {
                "Prefix": prefix, "AppliedFor": ["PULL_THROUGH_CACHE"], "Description": description,
                "EncryptionConfiguration": {"EncryptionType": "AES256"}, "ImageTagMutability": "MUTABLE"}},
            "Rule": {"Type": "AWS::ECR::PullThroughCacheRule", "Condition": "Cache", "DependsOn": ["Repositories"],
                     "Properties": {"EcrRepositoryPrefix": prefix, "UpstreamRegistry": "docker-hub",
                                    "UpstreamRegistryUrl": upstream, "CredentialArn": {"Ref": "Login"}}},
            "Topic": {"Type": "AWS::SNS::Topic"},
        },
        "Outputs": {
            "Rule": {"Condition": "Cache", "Value": {"Ref": "Rule"}},
            "Template": {"Condition": "Cache", "Value": {"Ref": "Repositories"}},
            "CreatedAt": {"Condition": "Cache", "Value": {"Fn::GetAtt": ["Repositories", "CreatedAt"]}},
            "UpdatedAt": {"Condition": "Cache", "Value": {"Fn::GetAtt": ["Repositories", "UpdatedAt"]}},
        },
    })


def _stack(cfn, name: str = "cache", login: str = LOGIN, action: str = "create_stack", **template) -> dict:
    getattr(cfn, action)(StackName=name, TemplateBody=_template(**template),
                         Parameters=[{"ParameterKey": "Login", "ParameterValue": login}])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_ref_is_the_prefix_and_both_read_back_as_the_api_shows_them(aws):
    outputs = _stack(_client(aws, "cloudformation"))
    assert outputs["Rule"] == outputs["Template"] == PREFIX  # Ref: EcrRepositoryPrefix, Prefix
    ecr = _client(aws, "ecr")
    (rule,) = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert {k: rule[k] for k in ("ecrRepositoryPrefix", "upstreamRegistryUrl", "upstreamRegistry", "credentialArn",
                                 "registryId")} == {
        "ecrRepositoryPrefix": PREFIX, "upstreamRegistryUrl": "registry-1.docker.io", "upstreamRegistry": "docker-hub",
        "credentialArn": LOGIN, "registryId": ACCOUNT}
    assert rule["createdAt"] == rule["updatedAt"]
    (template,) = ecr.describe_repository_creation_templates(prefixes=[PREFIX])["repositoryCreationTemplates"]
    assert template["appliedFor"] == ["PULL_THROUGH_CACHE"] and template["description"] == "cached"
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert template["imageTagMutability"] == "MUTABLE"
    assert ecr.describe_repository_creation_templates()["registryId"] == ACCOUNT


def test_without_the_login_the_condition_leaves_both_out(aws):
    outputs = _stack(_client(aws, "cloudformation"), login="")
    assert outputs == {}
    ecr = _client(aws, "ecr")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_a_prefix_asked_for_that_has_nothing_is_an_error(aws):
    ecr = _client(aws, "ecr")
    with pytest.raises(ClientError) as rule:
        ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["nothing-here"])
    assert rule.value.response["Error"]["Code"] == "PullThroughCacheRuleNotFoundException"
    with pytest.raises(ClientError) as template:
        ecr.describe_repository_creation_templates(prefixes=["nothing-here"])
    assert template.value.response["Error"]["Code"] == "TemplateNotFoundException"


def test_a_second_rule_for_the_same_prefix_is_refused(aws):
    cfn = _client(aws, "cloudformation")
    _stack(cfn)
    with pytest.raises(ClientError) as caught:
        _stack(cfn, name="again")
    # AWS fails the second stack (CREATE_FAILED); moto's CloudFormation answers CreateStack with the error.
    assert "TemplateAlreadyExistsException" in str(caught.value)
    assert len(_client(aws, "ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"]) == 1


def test_the_template_updates_in_place_and_the_rule_is_replaced(aws):
    cfn = _client(aws, "cloudformation")
    before = _stack(cfn)
    after = _stack(cfn, action="update_stack", description="cached images", upstream="registry-1.docker.io:443")
    assert after["CreatedAt"] == before["CreatedAt"] and after["UpdatedAt"] > before["UpdatedAt"]
    ecr = _client(aws, "ecr")
    (template,) = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert template["description"] == "cached images"
    (rule,) = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert rule["upstreamRegistryUrl"] == "registry-1.docker.io:443"


def test_deleting_the_stack_deletes_both(aws):
    cfn = _client(aws, "cloudformation")
    _stack(cfn)
    cfn.delete_stack(StackName="cache")
    ecr = _client(aws, "ecr")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_a_rule_whose_login_does_not_exist_is_recorded_anyway(aws):
    # AWS refuses it (SecretNotFoundException); the emulator records it (the fix's docstring says why) and
    # `herd-cfn doctor` is what reports the missing secret.
    _stack(_client(aws, "cloudformation"))
    with pytest.raises(ClientError):
        _client(aws, "secretsmanager").describe_secret(SecretId=LOGIN)
    (rule,) = _client(aws, "ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert rule["credentialArn"] == LOGIN


def _seed(aws, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{aws.endpoint_url}/herd-emulator/secret", data=json.dumps(body).encode(),
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_emulator_seeds_a_login_with_the_complete_arn_the_parameters_name(aws):
    assert _seed(aws, {"arn": LOGIN}) == (200, {"created": True})
    assert _seed(aws, {"arn": LOGIN}) == (200, {"created": False})  # the second time it is there already
    secrets = _client(aws, "secretsmanager")
    described = secrets.describe_secret(SecretId=LOGIN)
    assert (described["ARN"], described["Name"]) == (LOGIN, "ecr-pullthroughcache/docker-hub")
    assert "Tags" not in described or described["Tags"] == []
    assert set(json.loads(secrets.get_secret_value(SecretId=LOGIN)["SecretString"])) == {"username", "accessToken"}
    status, body = _seed(aws, {"name": "x"})
    assert status == 400 and "expected arn" in body["error"]
