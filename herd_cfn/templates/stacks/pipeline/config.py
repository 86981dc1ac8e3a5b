"""The ``pipeline`` section of an environment file: which repository and branch deploy to this account."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from herd_cfn import fields
from herd_cfn.errors import InputError
from herd_cfn.fields import LogRetentionDays, StrictModel, Text

COMPUTE_TYPES = ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE")

# GitHub: owner 1-39 letters, digits or inner hyphens; repository letters, digits, '.', '_', '-'.
REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
CONNECTION_ARN_PATTERN = (
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}"
)
RELATIVE_PATH_PATTERN = r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9._/-]+$"


def _not_a_clone_url(value: str) -> str:
    """What a user copies from GitHub's clone button; said before the character set refuses its ':'."""
    if value.endswith(".git") or "://" in value or value.startswith("git@"):
        raise ValueError(f"GitHub expects the repository as owner/name, without a URL or '.git' "
                         f"(e.g. herd-itt/openremote-custom), got {value[:200]!r}")
    return value


def _repository(value: str) -> str:
    if not re.fullmatch(REPOSITORY_PATTERN, value) or value.split("/")[0].endswith("-"):
        raise ValueError(f"must be a GitHub repository as owner/name, e.g. herd-itt/openremote-custom, got {value!r}")
    return value


def _branch(value: str) -> str:
    """The rules of `git check-ref-format --branch`, so a typo fails here and not as a pipeline that never runs."""
    problems = []
    if not value or value == "@":
        problems.append("must not be empty or '@'")
    if re.search(r"[\x00-\x20\x7f~^:?*\[\\]", value):
        problems.append("must not contain spaces, control characters or any of ~ ^ : ? * [ \\")
    if ".." in value or "@{" in value or "//" in value:
        problems.append("must not contain '..', '@{' or '//'")
    if value.startswith(("/", "-")) or value.endswith(("/", ".", ".lock")):
        problems.append("must not start with '/' or '-' nor end with '/', '.' or '.lock'")
    if any(part.startswith(".") for part in value.split("/")):
        problems.append("no path component may start with '.'")
    if problems:
        raise ValueError(f"{value!r} is not a valid git branch name: {'; '.join(problems)}")
    return value


def _pattern(pattern: str, what: str):
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return AfterValidator(check)


GitHubRepository = Annotated[
    str, AfterValidator(_not_a_clone_url),
    Text(140, r"[A-Za-z0-9._/-]", "letters, digits and . _ / -",
         "a GitHub owner/name: 39 and 100 characters"),
    AfterValidator(_repository)]
GitBranch = Annotated[str, Text(255, r"[^\x00-\x1f\x7f]", "characters other than control characters",
                                "a branch name, as CodePipeline allows"), AfterValidator(_branch)]
ConnectionArn = Annotated[str, Text(256, fields.ARN_CHARSET, fields.ARN_WORDS, "a CodeConnections connection ARN"),
                          _pattern(
    CONNECTION_ARN_PATTERN,
    "a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)")]
SecretArn = Annotated[str, fields.SECRET_ARN_TEXT, _pattern(
    fields.SECRET_ARN_PATTERN, "a complete Secrets Manager secret ARN, such as " + fields.SECRET_ARN_EXAMPLE)]
Email = Annotated[str, fields.EMAIL_TEXT, _pattern(fields.EMAIL_PATTERN, "an e-mail address")]
RelativePath = Annotated[str, Text(4096, r"[A-Za-z0-9._/-]", "letters, digits and . _ / -",
                                    "a path in the application repository"), _pattern(
    RELATIVE_PATH_PATTERN, "a relative path inside the application repository (no leading '/', no '..')")]


class PipelineConfig(StrictModel):
    repository: GitHubRepository = Field(description="The application repository on GitHub, owner/name")
    branch: GitBranch = Field(description="A push to this branch deploys to this account (dev: the dev branch; "
                                          "prod: the branch merges land on)")
    connection_arn: ConnectionArn | None = Field(
        None, description="An existing CodeConnections connection to GitHub; when absent the stack creates one, "
                          "which must be activated once in the console")
    require_approval: bool = Field(False, description="Wait for a manual approval between build and deploy")
    build_compute_type: Literal[COMPUTE_TYPES] = Field(  # type: ignore[valid-type]
        "BUILD_GENERAL1_MEDIUM", description="CodeBuild compute size; Gradle + Docker want at least MEDIUM")
    build_timeout_minutes: int = Field(60, ge=10, le=480, description="Stop a build that runs longer")
    dockerfile: RelativePath = Field("Dockerfile", description="Path of the Dockerfile in the application repository")
    docker_build_context: RelativePath = Field(".", description="Docker build context in the application repository")
    docker_hub_secret_arn: SecretArn | None = Field(
        None, description="Secrets Manager secret with JSON keys username and password, to pull from Docker Hub "
                          "without its anonymous pull limit")
    termination_wait_minutes: int = Field(
        0, ge=0, le=60, description="Minutes the old manager task keeps running after traffic moved. 0 (the "
                                    "default): the manager is a singleton, and an old task left running keeps "
                                    "its websocket and MQTT clients while the new one serves; the cost is no "
                                    "instant rollback by traffic shift after the deployment ended (redeploy "
                                    "the previous commit instead, see docs/deployments.md)")
    log_retention_days: LogRetentionDays = Field(30, description="Days to keep build and hook logs")
    notification_email: Email | None = Field(
        None, description="Address subscribed to pipeline notifications (confirm the subscription once)")


def validate_project(project) -> None:
    """Each environment deploys from its own branch: two pipelines on one branch would put every push to it
    (say, dev's) into both accounts, prod included, untested."""
    seen: dict[tuple[str, str], object] = {}
    for env in project.environments.values():
        source = (env.pipeline.repository.lower(), env.pipeline.branch)
        first = seen.setdefault(source, env)
        if first is not env:
            raise InputError(
                str(env.file), "pipeline.branch",
                f"branch {env.pipeline.branch!r} of {env.pipeline.repository} already deploys environment "
                f"{first.name!r} ({first.file}); give each environment its own branch")
