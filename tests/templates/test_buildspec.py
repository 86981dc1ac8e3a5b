"""buildspec.yml really runs: its phases' commands, in order, in one bash (as CodeBuild's buildspec 0.2
does), with a recording fake ``docker`` on PATH and the real AWS CLI against moto.

What cannot run here: docker and BuildKit themselves (the fake records argv, and the Dockerfile a build
reads from stdin, and succeeds) and CodeBuild's own machinery (the phases run one after another; a
failing command stops the build, as with ``on-failure: ABORT``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from herd_cfn import names
from herd_cfn.templates import registry
from herd_cfn.templates.stacks.pipeline import appspec_text, buildspec_text
from tests.conftest import ROOT

PHASES = ("install", "pre_build", "build", "post_build")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
REPOSITORY = names.Data.ECR_REPOSITORY_NAME
REPOSITORY_URI = f"{REGISTRY}/{REPOSITORY}"
KEYCLOAK_REPOSITORY = names.Data.KEYCLOAK_ECR_REPOSITORY_NAME
KEYCLOAK_REPOSITORY_URI = f"{REGISTRY}/{KEYCLOAK_REPOSITORY}"
KEYCLOAK_BASE = "openremote/keycloak:23.0.7.5"
TAG = COMMIT[:12]
CACHE_REF = f"{REPOSITORY_URI}:{names.Data.BUILD_CACHE_TAG}"
AWS_CLI_DIR = Path(sys.executable).parent  # the venv's bin holds the AWS CLI (awscli 1.x)

FAKE_DOCKER = """#!/usr/bin/env bash
# Records each call; `login --password-stdin` must receive the password on stdin, as real docker does, and
# `buildx build --file -` the Dockerfile (kept with the build context's listing for the test to read).
printf '%s\\n' "$*" >> "$DOCKER_LOG"
if [ "$1" = login ]; then
  password="$(cat)"
  [ -n "$password" ] || { echo "fake docker: no password on stdin" >&2; exit 1; }
  printf 'password:%s\\n' "$password" >> "$DOCKER_LOG"
fi
if [ "$1 $2" = "buildx build" ] && [[ " $* " == *" --file - "* ]]; then
  cat > "$DOCKER_LOG.dockerfile"
  context="${@: -1}"
  (cd "$context" && find . -type f | sort) > "$DOCKER_LOG.context"
fi
exit 0
"""


def script(buildspec: dict) -> str:
    """One bash script of every phase's commands; the first failing command ends it with its status."""
    lines = []
    for phase in PHASES:
        for command in buildspec["phases"].get(phase, {}).get("commands", []):
            lines += [command, '__status=$?; if [ "$__status" -ne 0 ]; then exit "$__status"; fi']
    return "\n".join(lines) + "\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The application repository's checkout, as CodeBuild unpacks it."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    return app


def build_env(aws, workdir: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        "PATH": f"{workdir.parent / 'bin'}:{AWS_CLI_DIR}:/usr/bin:/bin",
        "HOME": str(workdir.parent),
        "DOCKER_LOG": str(workdir.parent / "docker.log"),
        "AWS_ENDPOINT_URL": aws.endpoint_url,  # awscli 1.x honours it (botocore's service endpoint config)
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        # CodeBuild sets these.
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        # The project sets these (herd_cfn/templates/stacks/pipeline/).
        "REPOSITORY_URI": REPOSITORY_URI, "TASK_FAMILY": names.Service.MANAGER_TASK_FAMILY,
        "CONTAINER_NAME": names.Service.MANAGER_CONTAINER, "AWS_ACCOUNT_ID": ACCOUNT,
        "DOCKERFILE": "Dockerfile", "DOCKER_BUILD_CONTEXT": ".", "APPSPEC_YAML": appspec_text(),
        "KEYCLOAK_REPOSITORY_URI": KEYCLOAK_REPOSITORY_URI, "KEYCLOAK_BASE_IMAGE": KEYCLOAK_BASE,
        "KEYCLOAK_CONTAINER_NAME": names.Service.KEYCLOAK_CONTAINER,
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_buildspec(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    buildspec = yaml.safe_load(buildspec_text())
    assert buildspec["env"]["shell"] == "bash"
    return subprocess.run(["bash", "-c", script(buildspec)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def task_definition(image: str, cpu: str) -> dict:
    return {
        "family": names.Service.MANAGER_TASK_FAMILY, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": cpu, "memory": "2048",
        "containerDefinitions": [
            {"name": names.Service.MANAGER_CONTAINER, "image": image, "essential": True,
             "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
             "environment": [{"name": "OR_HOSTNAME", "value": "platform-dev.herd-itt.com"}]},
            {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
             "essential": False},
        ],
    }


def repository_settings(logical_id: str) -> dict:
    """CreateRepository's tag mutability arguments as the data stack's template sets them."""
    props = registry.get(names.DATA).template_dict()["Resources"][logical_id]["Properties"]
    return {"imageTagMutability": props["ImageTagMutability"], "imageTagMutabilityExclusionFilters": [
        {"filterType": f["ImageTagMutabilityExclusionFilterType"],
         "filter": f["ImageTagMutabilityExclusionFilterValue"]}
        for f in props["ImageTagMutabilityExclusionFilters"]]}


@pytest.fixture
def account(aws):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    ecr = session.client("ecr", endpoint_url=aws.endpoint_url)
    ecs = session.client("ecs", endpoint_url=aws.endpoint_url)
    ecr.create_repository(repositoryName=REPOSITORY, **repository_settings(names.Data.ECR_REPOSITORY))
    ecr.create_repository(repositoryName=KEYCLOAK_REPOSITORY, **repository_settings(names.Data.KEYCLOAK_ECR_REPOSITORY))
    ecs.register_task_definition(**task_definition("openremote/manager:1.28.1", cpu="512"))
    ecs.register_task_definition(**task_definition("openremote/manager:1.28.1", cpu="1024"))  # the newest
    return ecr, ecs


def test_builds_pushes_and_writes_the_deploy_artifacts(aws, account, workdir):
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr

    image_uri = f"{REPOSITORY_URI}:{COMMIT[:12]}"
    assert json.loads((workdir / "imageDetail.json").read_text()) == {"ImageURI": image_uri}

    taskdef = json.loads((workdir / "taskdef.json").read_text())
    assert taskdef["cpu"] == "1024", "the newest revision of the family"
    manager, router = taskdef["containerDefinitions"]
    assert manager["image"] == "<IMAGE1_NAME>"
    assert router["image"].startswith("public.ecr.aws/"), "other containers keep their image"
    assert manager["environment"] == [{"name": "OR_HOSTNAME", "value": "platform-dev.herd-itt.com"}]
    for read_only in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                      "registeredAt", "registeredBy", "deregisteredAt"):
        assert read_only not in taskdef

    # What CodeDeployToECS does with it: substitute the image, register a new revision.
    registered = json.dumps(taskdef).replace("<IMAGE1_NAME>", image_uri)
    cli = subprocess.run(["aws", "ecs", "register-task-definition", "--cli-input-json", registered],
                         env=build_env(aws, workdir), capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["taskDefinition"]["revision"] == 3

    # The repository's appspec.yaml without its comments (herd_cfn.templates.stacks.pipeline.appspec_text).
    assert yaml.safe_load((workdir / "appspec.yaml").read_text()) == yaml.safe_load((ROOT / "appspec.yaml").read_text())
    assert not (workdir / "taskdef-current.json").exists()

    assert json.loads((workdir / names.Pipeline.IMAGE_DEFINITIONS_FILE).read_text()) == [
        {"name": names.Service.KEYCLOAK_CONTAINER, "imageUri": f"{KEYCLOAK_REPOSITORY_URI}:{TAG}"}]

    calls = (workdir.parent / "docker.log").read_text().splitlines()
    assert calls[0] == f"login --username AWS --password-stdin {REGISTRY}"
    assert calls[1] == f"password:{ACCOUNT}-auth-token"  # moto's token, piped from aws ecr get-login-password
    # A builder that can export a registry cache: the engine's own (docker driver) cannot.
    assert calls[2] == ("buildx create --name herd --driver docker-container "
                        "--driver-opt image=docker.io/moby/buildkit:v0.32.2 --use --bootstrap")
    assert calls[3] == (
        f"buildx build --file Dockerfile --tag {image_uri} --build-arg GIT_COMMIT={COMMIT} "
        "--build-arg DOCKER_HUB_MIRROR=docker.io "  # no mirror set: Docker Hub itself
        f"--cache-from type=registry,ref={CACHE_REF} "
        f"--cache-to type=registry,ref={CACHE_REF},mode=max,image-manifest=true,oci-mediatypes=true "
        "--provenance=false --push .")
    assert calls[4].startswith(f"buildx build --file - --tag {KEYCLOAK_REPOSITORY_URI}:{TAG} "
                               f"--build-arg KEYCLOAK_BASE_IMAGE={KEYCLOAK_BASE} --provenance=false --push /")
    assert len(calls) == 5, "buildx pushes: no separate docker push"


def test_the_registry_cache_is_the_tag_the_lifecycle_policy_keeps():
    """One name in names.py, in the buildspec's cache reference and in the data stack's keep rule."""
    text = buildspec_text()
    assert f'CACHE_REF="$REPOSITORY_URI:{names.Data.BUILD_CACHE_TAG}"' in text
    cache_to = next(line for line in text.splitlines() if "--cache-to" in line)
    for option in ("type=registry", "mode=max", "image-manifest=true", "oci-mediatypes=true"):
        assert option in cache_to
    assert "--cache-from \"type=registry,ref=$CACHE_REF\"" in text


def test_the_cache_tag_is_overwritten_where_commit_tags_are_immutable(aws, account):
    """The manager repository as the data stack creates it, in moto's ECR (which implements the exclusion)."""
    ecr, _ = account

    def put(tag: str, digest_char: str):
        # moto derives an image's digest from its layers' digests (AWS: from the manifest), so each differs there.
        blob = {"digest": "sha256:" + digest_char * 64, "size": 1}
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob}]})
        return ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag=tag)

    put(names.Data.BUILD_CACHE_TAG, "a")
    put(names.Data.BUILD_CACHE_TAG, "b")  # the next build's cache replaces it
    commit_image = put(TAG, "c")["image"]["imageId"]["imageDigest"]
    # AWS answers ImageTagAlreadyExistsException; moto answers ImageAlreadyExistsException for the same refusal.
    with pytest.raises((ecr.exceptions.ImageTagAlreadyExistsException, ecr.exceptions.ImageAlreadyExistsException)):
        put(TAG, "d")
    tagged = {tag: image["imageDigest"] for image in ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
              for tag in image.get("imageTags", [])}
    assert tagged[TAG] == commit_image, "the commit tag still names its first image"
    assert set(tagged) == {TAG, names.Data.BUILD_CACHE_TAG}


def test_pipeline_commit_id_wins_over_codebuilds(aws, account, workdir):
    result = run_buildspec(build_env(aws, workdir, COMMIT_ID="fedcba9876543210fedc"), workdir)
    assert result.returncode == 0, result.stderr
    assert json.loads((workdir / "imageDetail.json").read_text())["ImageURI"].endswith(":fedcba987654")


def _push_image(ecr, repository: str, tag: str) -> None:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + "a" * 64}, "layers": []})
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)


def test_images_already_in_ecr_are_not_built_again(aws, account, workdir):
    """Re-running the pipeline for the same commit only rolls out the newest task definition (and the same
    Keycloak image again)."""
    ecr, _ = account
    _push_image(ecr, REPOSITORY, TAG)
    _push_image(ecr, KEYCLOAK_REPOSITORY, TAG)
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr
    assert not (workdir.parent / "docker.log").exists(), "no login, builder, build or push"
    assert result.stdout.count("already in ECR") == 2
    assert json.loads((workdir / "imageDetail.json").read_text())["ImageURI"] == f"{REPOSITORY_URI}:{TAG}"
    definitions = json.loads((workdir / "imagedefinitions.json").read_text())
    assert definitions[0]["imageUri"] == f"{KEYCLOAK_REPOSITORY_URI}:{TAG}"


def test_only_the_missing_image_is_built(aws, account, workdir):
    """A commit built before the Keycloak image existed (the first run after this change) gets only that one."""
    ecr, _ = account
    _push_image(ecr, REPOSITORY, TAG)
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr
    builds = [c for c in (workdir.parent / "docker.log").read_text().splitlines() if c.startswith("buildx build")]
    assert len(builds) == 1 and f"--tag {KEYCLOAK_REPOSITORY_URI}:{TAG}" in builds[0]


def _theme(workdir: Path, name: str) -> None:
    theme = workdir / "deployment" / "keycloak" / "themes" / name / "login"
    theme.mkdir(parents=True)
    (theme / "theme.properties").write_text("parent=openremote\n")


def test_keycloak_image_adds_the_projects_themes_to_openremotes_image(aws, account, workdir):
    _theme(workdir, "herd")
    _theme(workdir, "herd-dark")
    (workdir / "deployment" / "keycloak" / "themes" / "README.md").write_text("themes\n")
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr
    assert "Keycloak themes: ./herd ./herd-dark" in result.stdout
    build = (workdir.parent / "docker.log").read_text().splitlines()[-1]
    assert build.endswith(" deployment/keycloak/themes"), "the themes directory is the build context"
    dockerfile = (workdir.parent / "docker.log.dockerfile").read_text().splitlines()
    # OpenRemote's Keycloak image reads themes from /deployment/keycloak/themes (its Dockerfile symlinks
    # /opt/keycloak/themes there).
    assert dockerfile == ["ARG KEYCLOAK_BASE_IMAGE", "FROM ${KEYCLOAK_BASE_IMAGE}",
                          "COPY . /deployment/keycloak/themes/"]
    assert (workdir.parent / "docker.log.context").read_text().splitlines() == [
        "./README.md", "./herd-dark/login/theme.properties", "./herd/login/theme.properties"]


@pytest.mark.parametrize("layout", ["none", "readme only"])
def test_a_project_without_themes_gets_openremotes_keycloak_image_as_is(aws, account, workdir, layout):
    """openremote/custom-project ships deployment/keycloak/themes with only a README: no theme directory."""
    if layout == "readme only":
        (workdir / "deployment" / "keycloak" / "themes").mkdir(parents=True)
        (workdir / "deployment" / "keycloak" / "themes" / "README.md").write_text("themes\n")
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr
    assert f"the Keycloak image is {KEYCLOAK_BASE} unchanged" in result.stdout
    build = (workdir.parent / "docker.log").read_text().splitlines()[-1]
    assert f"--tag {KEYCLOAK_REPOSITORY_URI}:{TAG}" in build
    assert not build.endswith("deployment/keycloak/themes")
    assert (workdir.parent / "docker.log.context").read_text() == "", "an empty context: nothing added"
    assert json.loads((workdir / "imagedefinitions.json").read_text()) == [
        {"name": names.Service.KEYCLOAK_CONTAINER, "imageUri": f"{KEYCLOAK_REPOSITORY_URI}:{TAG}"}]


def test_docker_hub_login_when_credentials_are_given(aws, account, workdir):
    env = build_env(aws, workdir, DOCKERHUB_USERNAME="herd", DOCKERHUB_PASSWORD="s3cret")
    result = run_buildspec(env, workdir)
    assert result.returncode == 0, result.stderr
    calls = (workdir.parent / "docker.log").read_text().splitlines()
    assert "login --username herd --password-stdin" in calls
    assert calls[calls.index("login --username herd --password-stdin") + 1] == "password:s3cret"
    assert "s3cret" not in result.stdout + result.stderr


def test_docker_hub_base_images_through_the_cache_when_the_project_says_so(aws, account, workdir):
    """The pipeline stack sets DOCKER_HUB_MIRROR to ECR's cache; the one ECR login covers it (same registry)."""
    mirror = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{names.Data.DOCKER_HUB_CACHE_PREFIX}"
    result = run_buildspec(build_env(aws, workdir, DOCKER_HUB_MIRROR=mirror), workdir)
    assert result.returncode == 0, result.stderr
    calls = (workdir.parent / "docker.log").read_text().splitlines()
    (build,) = [call for call in calls if call.startswith("buildx build --file Dockerfile ")]
    assert f" --build-arg DOCKER_HUB_MIRROR={mirror} " in build
    (login,) = [call for call in calls if call.startswith("login ")]
    assert login.endswith(" " + mirror.split("/")[0])


    (builder,) = [call for call in calls if call.startswith("buildx create ")]
    assert f" image={mirror}/moby/buildkit:" in builder
@pytest.mark.parametrize("variable", ["REPOSITORY_URI", "TASK_FAMILY", "CONTAINER_NAME", "APPSPEC_YAML",
                                      "KEYCLOAK_REPOSITORY_URI", "KEYCLOAK_BASE_IMAGE", "KEYCLOAK_CONTAINER_NAME"])
def test_a_missing_variable_stops_the_build_and_names_it(aws, account, workdir, variable):
    result = run_buildspec(build_env(aws, workdir, **{variable: None}), workdir)
    assert result.returncode != 0
    assert f"{variable}: set {variable}" in result.stderr
    assert not (workdir.parent / "docker.log").exists()
    assert not (workdir / "imageDetail.json").exists()


def test_no_commit_id_stops_the_build(aws, account, workdir):
    result = run_buildspec(build_env(aws, workdir, CODEBUILD_RESOLVED_SOURCE_VERSION=None), workdir)
    assert result.returncode != 0
    assert "COMMIT_ID: set COMMIT_ID" in result.stderr


def test_a_missing_dockerfile_is_reported(aws, account, workdir):
    (workdir / "Dockerfile").unlink()
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode != 0
    assert "no Dockerfile in the application repository" in result.stderr


def test_a_task_definition_without_the_container_fails(aws, account, workdir):
    result = run_buildspec(build_env(aws, workdir, CONTAINER_NAME="web"), workdir)
    assert result.returncode != 0
    assert "has no container 'web' (found: manager, log-router)" in result.stderr
    assert not (workdir / "taskdef.json").exists()


def test_a_failed_docker_build_leaves_no_deploy_artifacts(aws, account, workdir):
    failing = workdir.parent / "bin" / "docker"
    failing.write_text('#!/usr/bin/env bash\n[ "$1 $2" = "buildx build" ] && exit 1\ncat >/dev/null; exit 0\n')
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 1
    assert not (workdir / "imageDetail.json").exists()
    assert not (workdir / "imagedefinitions.json").exists()


def test_secondary_artifacts_are_the_pipelines_output_artifacts(aws, account, workdir):
    """CodePipeline hands each output artifact of the build action the secondary artifact of its name."""
    artifacts = yaml.safe_load(buildspec_text())["artifacts"]
    template = registry.get(names.PIPELINE).template_dict()
    stages = template["Resources"][names.Pipeline.PIPELINE]["Properties"]["Stages"]
    build = next(s for s in stages if isinstance(s, dict) and s["Name"] == "Build")["Actions"][0]
    assert set(artifacts["secondary-artifacts"]) == {a["Name"] for a in build["OutputArtifacts"]}
    assert artifacts["files"] == artifacts["secondary-artifacts"][names.Pipeline.BUILD_ARTIFACT]["files"]
    assert artifacts["secondary-artifacts"][names.Pipeline.KEYCLOAK_ARTIFACT]["files"] == [
        names.Pipeline.IMAGE_DEFINITIONS_FILE]
    result = run_buildspec(build_env(aws, workdir), workdir)
    assert result.returncode == 0, result.stderr
    for spec in artifacts["secondary-artifacts"].values():
        for file in spec["files"]:
            assert (workdir / file).is_file(), file


def test_the_fake_docker_shadows_any_real_one(workdir):
    path = f"{workdir.parent / 'bin'}:{AWS_CLI_DIR}:/usr/bin:/bin"
    assert shutil.which("docker", path=path) == str(workdir.parent / "bin" / "docker")
    assert shutil.which("aws", path=path) == str(AWS_CLI_DIR / "aws")
    assert os.access(workdir.parent / "bin" / "docker", os.X_OK)
