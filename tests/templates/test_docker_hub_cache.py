"""ECR's pull-through cache of Docker Hub: the data stack's rule and repository template, the images the
tasks and the build pull, the roles' permissions, both with the cache (the committed parameters) and
without it (the fallback: no rule, Docker Hub references, no cache permissions, a build warning)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.cli import build_templates_main
from herd_cfn.templates import docker_hub, registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.service import restore
from tests.template_support import parameter_values

D, S, P = names.Data, names.Service, names.Pipeline
DEV_ACCOUNT, PROD_ACCOUNT, REGION = "222222222222", "333333333333", "eu-west-1"
DEV_MIRROR = f"{DEV_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/herd/docker-hub"
CACHED = f"arn:aws:ecr:{REGION}:{DEV_ACCOUNT}:repository/herd/docker-hub/*"
FIRST_PULL = {"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
PULL = {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


def template(stack: str) -> dict:
    return load_yaml(registry.get(stack).template_body())


# --- which images go through the cache ----------------------------------------------------------------

@pytest.mark.parametrize(("reference", "path"), [
    ("openremote/manager:1.28.1", "openremote/manager:1.28.1"),
    ("postgres:17", "library/postgres:17"),  # an official image: ECR wants library/ (AWS, pulling through a rule)
    ("docker.io/openremote/keycloak:23.0.7.5", "openremote/keycloak:23.0.7.5"),
    ("index.docker.io/library/busybox:1.37.0", "library/busybox:1.37.0"),
    ("docker.io/busybox:1.37.0", "library/busybox:1.37.0"),
    ("openremote/manager@sha256:" + "a" * 64, "openremote/manager@sha256:" + "a" * 64),
    ("public.ecr.aws/docker/library/busybox:1.37.0", None),
    ("ghcr.io/openremote/manager:1.28.1", None),
    ("localhost/manager:1", None),
    ("localhost:5000/manager:1", None),
])
def test_docker_hub_paths_as_docker_reads_references(reference, path):
    assert docker_hub.docker_hub_path(reference) == path


def test_the_committed_environments_pull_openremote_images_through_their_own_accounts_cache():
    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        values = parameter_values(names.SERVICE, env)
        mirror = f"{account}.dkr.ecr.{REGION}.amazonaws.com/herd/docker-hub"
        assert values[S.DOCKER_HUB_MIRROR] == mirror == parameter_values(names.PIPELINE, env)[P.DOCKER_HUB_MIRROR]
        assert values[S.MANAGER_IMAGE] == f"{mirror}/openremote/manager:1.28.1"
        assert values[S.KEYCLOAK_IMAGE] == f"{mirror}/openremote/keycloak:23.0.7.5"
        assert values[S.POSTGRES_IMAGE] == f"{mirror}/openremote/postgresql:17.9.0.1-slim"


def test_the_dump_task_runs_the_postgres_image_and_the_restore_task_stays_on_ecr_public():
    resources = template(names.SERVICE)["Resources"]
    (dump,) = resources[S.DUMP_TASK]["Properties"]["ContainerDefinitions"]
    assert dump["Image"] == {"Ref": S.POSTGRES_IMAGE}  # so the dump goes through the cache with PostgreSQL
    (restore_container,) = resources[S.RESTORE_TASK]["Properties"]["ContainerDefinitions"]
    assert restore_container["Image"] == restore.IMAGE and docker_hub.docker_hub_path(restore.IMAGE) is None


def test_a_region_of_another_partition_gets_its_own_registry_domain(project_copy):
    env = load_project(project_copy / "parameters").environment("dev")
    china = type("Env", (), {"account_id": DEV_ACCOUNT, "region": "cn-north-1", "data": env.data})()
    assert docker_hub.mirror(china) == f"{DEV_ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/herd/docker-hub"


# --- the data stack -----------------------------------------------------------------------------------

def test_rule_for_docker_hub_with_the_environments_secret_and_a_template_for_its_repositories():
    data = template(names.DATA)
    secret = parameter_values(names.DATA, "dev")[D.DOCKER_HUB_CACHE_LOGIN_ARN]
    assert secret == f"arn:aws:secretsmanager:{REGION}:{DEV_ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    resources = Evaluated(data, parameter_values(names.DATA, "dev")).resources()
    rule = resources[D.DOCKER_HUB_CACHE_RULE]
    assert rule["Properties"] == {
        "EcrRepositoryPrefix": "herd/docker-hub", "UpstreamRegistry": "docker-hub",
        "UpstreamRegistryUrl": "registry-1.docker.io",  # CreatePullThroughCacheRule: Docker Hub's URL
        "CredentialArn": secret}
    assert rule["DependsOn"] == [D.DOCKER_HUB_CACHE_REPOSITORIES]
    repositories = resources[D.DOCKER_HUB_CACHE_REPOSITORIES]["Properties"]
    assert repositories["Prefix"] == rule["Properties"]["EcrRepositoryPrefix"]
    assert repositories["AppliedFor"] == ["PULL_THROUGH_CACHE"]
    assert repositories["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    # Without KMS keys or resource tags ECR's service-linked role creates the repositories: no custom role.
    assert "CustomRoleArn" not in repositories and "ResourceTags" not in repositories
    lifecycle = json.loads(repositories["LifecyclePolicy"])
    assert len(repositories["LifecyclePolicy"]) >= 100  # the template's minimum length
    untagged, kept = lifecycle["rules"]
    assert untagged["selection"]["tagStatus"] == "untagged" and untagged["selection"]["countNumber"] == 1
    assert kept["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}
    assert kept["rulePriority"] > untagged["rulePriority"]  # ECR: the "any" rule has the highest number


def test_without_a_secret_the_data_stack_has_no_cache():
    data = template(names.DATA)
    assert data["Parameters"][D.DOCKER_HUB_CACHE_LOGIN_ARN]["Default"] == ""
    resources = Evaluated(data, parameter_values(names.DATA, "dev", **{D.DOCKER_HUB_CACHE_LOGIN_ARN: ""})).resources()
    assert D.DOCKER_HUB_CACHE_RULE not in resources and D.DOCKER_HUB_CACHE_REPOSITORIES not in resources
    assert D.ECR_REPOSITORY in resources


def test_the_secret_parameter_takes_only_ecr_pull_through_cache_secrets():
    import re

    pattern = template(names.DATA)["Parameters"][D.DOCKER_HUB_CACHE_LOGIN_ARN]["AllowedPattern"]
    good = f"arn:aws:secretsmanager:{REGION}:{DEV_ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    assert re.fullmatch(pattern, good) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, good.replace("ecr-pullthroughcache/", ""))


# --- the roles ------------------------------------------------------------------------------------------

def _cache_statements(statements: list) -> list[dict]:
    return [s for s in statements if FIRST_PULL & set(s.get("Action", []))]


def _execution_statements(values: dict) -> list[dict]:
    role = Evaluated(template(names.SERVICE), values).resources()[S.EXECUTION_ROLE]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _sub(resources: list) -> list[str]:
    """The ARN a Sub resolves to in the dev account."""
    return [r["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::Region}", REGION)
            .replace("${AWS::AccountId}", DEV_ACCOUNT) for r in resources]


def test_the_execution_role_may_pull_and_first_pull_only_under_the_cache_prefix():
    (statement,) = _cache_statements(_execution_statements(parameter_values(names.SERVICE, "dev")))
    assert set(statement["Action"]) == PULL | FIRST_PULL
    assert _sub(statement["Resource"]) == [CACHED]


def test_without_the_cache_the_execution_role_has_no_cache_permissions():
    values = parameter_values(names.SERVICE, "dev", **{S.DOCKER_HUB_MIRROR: docker_hub.DIRECT})
    statements = _execution_statements(values)
    assert _cache_statements(statements) == []
    assert not [s for s in statements if any("docker-hub" in json.dumps(r) for r in s["Resource"])]


@pytest.mark.parametrize("mirror", [DEV_MIRROR, docker_hub.DIRECT])
def test_the_build_gets_the_mirror_and_the_cache_permissions_only_with_the_cache(mirror):
    ev = Evaluated(template(names.PIPELINE), parameter_values(names.PIPELINE, "dev", **{P.DOCKER_HUB_MIRROR: mirror}))
    project = ev.resources()[P.BUILD_PROJECT]["Properties"]
    variables = {v["Name"]: v for v in project["Environment"]["EnvironmentVariables"]}
    assert variables["DOCKER_HUB_MIRROR"] == {"Name": "DOCKER_HUB_MIRROR", "Type": "PLAINTEXT", "Value": mirror}
    (policy,) = ev.resources()[P.BUILD_ROLE]["Properties"]["Policies"]
    cache = _cache_statements(policy["PolicyDocument"]["Statement"])
    if mirror == docker_hub.DIRECT:
        assert cache == []
    else:
        (statement,) = cache
        assert set(statement["Action"]) == PULL | FIRST_PULL and _sub(statement["Resource"]) == [CACHED]


def test_the_mirror_parameter_refuses_anything_but_docker_hub_or_the_cache():
    import re

    for stack in (names.SERVICE, names.PIPELINE):
        pattern = template(stack)["Parameters"][names.DOCKER_HUB_MIRROR]["AllowedPattern"]
        assert re.fullmatch(pattern, "docker.io") and re.fullmatch(pattern, DEV_MIRROR)
        assert not re.fullmatch(pattern, "ghcr.io") and not re.fullmatch(pattern, f"{DEV_MIRROR}/x")


# --- the fallback, through the real build -------------------------------------------------------------

def _without_secret(project: Path, env: str) -> None:
    path = project / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    del data["data"]["docker_hub_cache_secret_arn"]
    path.write_text(json.dumps(data, indent=2) + "\n")


def _values(project: Path, env: str, stack: str) -> dict[str, str]:
    rows = json.loads((project / "output" / "parameters" / env / f"{stack}.json").read_text())
    return {row["ParameterKey"]: row["ParameterValue"] for row in rows}


def test_without_a_secret_the_build_warns_and_the_tasks_pull_from_docker_hub(project_copy, capsys):
    _without_secret(project_copy, "dev")
    code = build_templates_main(["--parameters-dir", str(project_copy / "parameters"),
                                 "--output-dir", str(project_copy / "output")])
    captured = capsys.readouterr()
    assert code == 0
    (warning,) = captured.err.splitlines()
    assert warning.startswith(f"warning: {project_copy / 'parameters' / 'dev.json'}: "
                              "data.docker_hub_cache_secret_arn is not set: no ECR pull-through cache in dev")
    assert "anonymously" in warning and "docs/operating.md" in warning
    service = _values(project_copy, "dev", names.SERVICE)
    assert service[S.MANAGER_IMAGE] == "openremote/manager:1.28.1"
    assert service[S.POSTGRES_IMAGE] == "openremote/postgresql:17.9.0.1-slim"
    pipeline = _values(project_copy, "dev", names.PIPELINE)
    assert service[S.DOCKER_HUB_MIRROR] == "docker.io" == pipeline[P.DOCKER_HUB_MIRROR]
    assert _values(project_copy, "dev", names.DATA)[D.DOCKER_HUB_CACHE_LOGIN_ARN] == ""
    # prod keeps its cache: one template, the choice is each environment's.
    assert _values(project_copy, "prod", names.SERVICE)[S.MANAGER_IMAGE].startswith(f"{PROD_ACCOUNT}.dkr.ecr.")


def test_with_the_cache_everywhere_the_build_says_nothing(project_copy, capsys):
    assert build_templates_main(["--parameters-dir", str(project_copy / "parameters"),
                                 "--output-dir", str(project_copy / "output"), "--check"]) == 0
    assert capsys.readouterr().err == ""


def test_an_image_of_another_registry_is_never_rewritten(project_copy):
    path = project_copy / "parameters" / "dev.json"
    data = json.loads(path.read_text())
    data["service"]["keycloak_image"] = "ghcr.io/herd-itt/keycloak:23.0.7.5"
    path.write_text(json.dumps(data))
    env = load_project(project_copy / "parameters").environment("dev")
    values = registry.get(names.SERVICE).parameter_values(env)
    assert values[S.KEYCLOAK_IMAGE] == "ghcr.io/herd-itt/keycloak:23.0.7.5"
    assert values[S.MANAGER_IMAGE] == f"{DEV_MIRROR}/openremote/manager:1.28.1"


# --- who may create them ---------------------------------------------------------------------------------

def _granted_actions(document: dict) -> list[str]:
    return [a for s in document["Statement"] if s["Effect"] == "Allow"
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]


@pytest.mark.parametrize("resource_type", ["AWS::ECR::PullThroughCacheRule", "AWS::ECR::RepositoryCreationTemplate"])
def test_the_stackset_execution_role_may_do_what_cloudformation_does_for_the_cache(resource_type):
    """CloudFormation's handlers of both types call these actions as the StackSet execution role (the
    resource schema's handler permissions, which cfn-lint ships); a narrower role fails the data stack."""
    from fnmatch import fnmatchcase

    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema["handlers"]
    needed = {a for step in ("create", "update", "delete") for a in handlers.get(step, {}).get("permissions", [])}
    # iam:PassRole only for a CustomRoleArn, which neither resource has.
    needed.discard("iam:PassRole")
    role = template(names.STACKSET_EXECUTION)["Resources"][names.Bootstrap.EXECUTION_ROLE]["Properties"]
    granted = [a for policy in role["Policies"] for a in _granted_actions(policy["PolicyDocument"])]
    assert {"ecr:CreatePullThroughCacheRule", "ecr:CreateRepositoryCreationTemplate"} & needed
    assert [a for a in sorted(needed) if not any(fnmatchcase(a, g) for g in granted)] == []
    resources = template(names.DATA)["Resources"]
    assert not [r for r in resources.values() if r["Type"] == resource_type and "CustomRoleArn" in r["Properties"]]
