"""The pipeline stack's Build and Deploy actions, played against the emulator as CodePipeline runs them.

Build (CodeBuild): the deployed project's buildspec (read back from the emulator's CodeBuild, not from this
repository) runs in one bash, phase after phase (``tests.templates.test_buildspec.script``), in the application's
checkout, with the environment CodeBuild gives it: the project's environment variables, the pipeline action's
(``#{SourceVariables.CommitId}`` resolved to the pushed commit), CodeBuild's own (``CODEBUILD_RESOLVED_SOURCE_VERSION``,
``AWS_REGION``...), the account's credentials, and the real AWS CLI pointed at the emulator (``AWS_ENDPOINT_URL``);
``docker`` is tests/emulator/fake_docker.py. The action's output artifacts are collected as CodeBuild hands them
to CodePipeline: with one output artifact, the buildspec's ``artifacts.files``; with more, each is the buildspec's
``secondary-artifacts`` entry of the same name (docs/openremote-and-aws-facts.md, section 10).

Deploy, manager (CodeDeployToECS, CodePipeline's "Amazon ECS and CodeDeploy blue-green" action reference and its
"Image definitions file reference"): the image URI of ``imageDetail.json`` (from the artifact the action's
``Image1ArtifactName`` names) replaces ``<Image1ContainerName>`` in the task definition template, which is
registered as a new revision; its ARN replaces ``<TASK_DEFINITION>`` in the appspec template; a CodeDeploy
deployment of the action's application and deployment group is created with that appspec as its revision.

Deploy, Keycloak (ECS standard deployment, CodePipeline's "Amazon Elastic Container Service deploy action
reference", https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECS.html): the action's one
input artifact holds ``FileName`` (default ``imagedefinitions.json``: ``[{"name": container, "imageUri": ...}]``);
"the Amazon ECS standard deployment action ... creates its own revision of the task definition based on the
revision used by the Amazon ECS service": the service's current revision, read back, each named container's image
replaced, registered, and the service updated to it (:func:`ecs_standard_deploy`).

Not played: artifact zips in S3 (the files are handed over directly); the actions' waits (for the CodeDeploy
deployment: tests/emulator/codedeploy_driver.py plays it; for the ECS service's rolling deployment to become
stable, within ``DeploymentTimeout``); whether the ECS action copies the revision's tags (not documented).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.emulator import fake_docker
from tests.emulator.deployment import Deployed
from tests.templates.test_buildspec import AWS_CLI_DIR, script

TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"  # fixed by the action (it names no setting for it)
IMAGE_DEFINITIONS_DEFAULT = "imagedefinitions.json"  # the ECS action's FileName when the configuration has none
# What DescribeTaskDefinition returns and RegisterTaskDefinition refuses (the buildspec drops the same).
TASK_DEFINITION_READ_ONLY = ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
                             "registeredAt", "registeredBy", "deregisteredAt")


@dataclass
class Build:
    result: subprocess.CompletedProcess
    # {output artifact name: {file name in the artifact: content}}
    artifacts: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class DeploymentRequest:
    deployment_id: str
    task_definition_arn: str
    appspec: str
    image_uri: str  # imageDetail.json's


def _artifact_files(section: dict, checkout: Path) -> dict[str, str]:
    """The files of one buildspec artifact section, by the name they have in the artifact."""
    unsupported = sorted(set(section) - {"files", "discard-paths"})
    if unsupported or any(ch in f for f in section["files"] for ch in "*?["):
        raise NotImplementedError(f"buildspec artifacts: only literal files and discard-paths ({unsupported})")
    discard = section.get("discard-paths") in (True, "yes")  # YAML 1.1 reads an unquoted yes as true
    return {(Path(f).name if discard else f): (checkout / f).read_text() for f in section["files"]}


def output_artifacts(spec: dict, outputs: list[str], checkout: Path) -> dict[str, dict[str, str]]:
    """The build action's output artifacts from the buildspec's ``artifacts`` section (``spec``)."""
    if len(outputs) == 1:  # the primary artifact
        return {outputs[0]: _artifact_files({k: v for k, v in spec.items() if k != "secondary-artifacts"}, checkout)}
    secondary = spec.get("secondary-artifacts", {})
    missing = [name for name in outputs if name not in secondary]
    if missing:
        raise ValueError(f"buildspec artifacts.secondary-artifacts has no {missing} (the action's output artifacts)")
    return {name: _artifact_files(secondary[name], checkout) for name in outputs}


def ecs_standard_deploy(ecs, cluster: str, service: str, image_definitions: str) -> str:
    """What CodePipeline's ECS (standard) deploy action does with an image definitions file: a new revision of the
    service's current task definition with each named container's image replaced, then UpdateService to it.
    Returns the new revision's ARN."""
    (current,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    described = ecs.describe_task_definition(taskDefinition=current["taskDefinition"])["taskDefinition"]
    task = {k: v for k, v in described.items() if k not in TASK_DEFINITION_READ_ONLY}
    containers = {c["name"]: c for c in task["containerDefinitions"]}
    for definition in json.loads(image_definitions):
        if definition["name"] not in containers:
            raise ValueError(f"image definitions name container {definition['name']!r}; {described['family']} has "
                             f"{sorted(containers)}")
        containers[definition["name"]]["image"] = definition["imageUri"]
    arn = ecs.register_task_definition(**task)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
    return arn


class Pipeline:
    """The account's pipeline (the pipeline stack's CodePipeline), its actions found by provider."""

    def __init__(self, deployed: Deployed, pipeline_name: str, sandbox: Path) -> None:
        self.deployed = deployed
        self.definition = deployed.client("codepipeline").get_pipeline(name=pipeline_name)["pipeline"]
        self.sandbox = sandbox
        self.docker_state = sandbox / "docker-state"
        self.docker_state.mkdir(parents=True, exist_ok=True)
        fake_docker.install(sandbox / "bin")

    def action(self, provider: str) -> dict:
        (found,) = [a for stage in self.definition["stages"] for a in stage["actions"]
                    if a["actionTypeId"]["provider"] == provider]
        return found

    # --- Build ----------------------------------------------------------------------------------------------
    def _project_variables(self, project: dict) -> dict[str, str]:
        values = {}
        for variable in project["environment"].get("environmentVariables", []):
            kind, value = variable.get("type", "PLAINTEXT"), variable["value"]
            if kind == "SECRETS_MANAGER":  # <secret ARN>:<JSON key>
                arn, _, key = value.rpartition(":") if value.count(":") > 6 else (value, "", "")
                secret = self.deployed.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                value = json.loads(secret)[key] if key else secret
            elif kind != "PLAINTEXT":
                raise NotImplementedError(f"CodeBuild variable type {kind} ({variable['name']})")
            values[variable["name"]] = value
        return values

    @staticmethod
    def _action_variables(configuration: dict, variables: dict[str, str]) -> dict[str, str]:
        def resolve(value: str) -> str:
            return re.sub(r"#\{([\w.]+)\}", lambda m: variables[m.group(1)], value)

        listed = json.loads(configuration.get("EnvironmentVariables", "[]"))
        return {v["name"]: resolve(v["value"]) for v in listed}

    def environment(self, project: dict, commit: str) -> dict[str, str]:
        credentials = self.deployed.session.get_credentials().get_frozen_credentials()
        region = self.deployed.env.region
        return {
            "PATH": f"{self.sandbox / 'bin'}:{AWS_CLI_DIR}:/usr/bin:/bin",
            "HOME": str(self.sandbox),
            "DOCKER_LOG": str(self.sandbox / "docker.log"), "FAKE_DOCKER_STATE": str(self.docker_state),
            "AWS_ENDPOINT_URL": self.deployed.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
            "AWS_SESSION_TOKEN": credentials.token or "",
            # CodeBuild's own
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "CODEBUILD_RESOLVED_SOURCE_VERSION": commit,
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            **self._project_variables(project),
            **self._action_variables(self.action("CodeBuild")["configuration"],
                                     {"SourceVariables.CommitId": commit}),
        }

    def build(self, commit: str, checkout: Path) -> Build:
        name = self.action("CodeBuild")["configuration"]["ProjectName"]
        (project,) = self.deployed.client("codebuild").batch_get_projects(names=[name])["projects"]
        buildspec = yaml.safe_load(project["source"]["buildspec"])
        result = subprocess.run(["bash", "-c", script(buildspec)], cwd=checkout, env=self.environment(project, commit),
                                capture_output=True, text=True, timeout=120)
        artifacts = {}
        if result.returncode == 0:
            outputs = [a["name"] for a in self.action("CodeBuild")["outputArtifacts"]]
            artifacts = output_artifacts(buildspec["artifacts"], outputs, checkout)
        return Build(result, artifacts)

    # --- Deploy (CodeDeployToECS) ---------------------------------------------------------------------------
    def deploy(self, build: Build) -> DeploymentRequest:
        configuration = self.action("CodeDeployToECS")["configuration"]
        image_placeholder = f"<{configuration['Image1ContainerName']}>"
        image_uri = json.loads(build.artifacts[configuration["Image1ArtifactName"]]["imageDetail.json"])["ImageURI"]
        template = build.artifacts[configuration["TaskDefinitionTemplateArtifact"]][
            configuration["TaskDefinitionTemplatePath"]]
        if image_placeholder not in template:
            raise ValueError(f"{configuration['TaskDefinitionTemplatePath']} has no {image_placeholder}")
        task_definition = json.loads(template.replace(image_placeholder, image_uri))
        arn = self.deployed.client("ecs").register_task_definition(**task_definition)["taskDefinition"][
            "taskDefinitionArn"]
        appspec = build.artifacts[configuration["AppSpecTemplateArtifact"]][configuration["AppSpecTemplatePath"]]
        if TASK_DEFINITION_PLACEHOLDER not in appspec:
            raise ValueError(f"{configuration['AppSpecTemplatePath']} has no {TASK_DEFINITION_PLACEHOLDER}")
        appspec = appspec.replace(TASK_DEFINITION_PLACEHOLDER, arn)
        deployment = self.deployed.client("codedeploy").create_deployment(
            applicationName=configuration["ApplicationName"], deploymentGroupName=configuration["DeploymentGroupName"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec}})
        return DeploymentRequest(deployment["deploymentId"], arn, appspec, image_uri)

    # --- Deploy (ECS, standard) -----------------------------------------------------------------------------
    def deploy_ecs(self, build: Build) -> str:
        """The pipeline's ECS deploy action (Keycloak's): the new task definition revision's ARN."""
        action = self.action("ECS")
        configuration = action["configuration"]
        (artifact,) = action["inputArtifacts"]  # the action takes exactly one
        image_definitions = build.artifacts[artifact["name"]][configuration.get("FileName", IMAGE_DEFINITIONS_DEFAULT)]
        return ecs_standard_deploy(self.deployed.client("ecs"), configuration["ClusterName"],
                                   configuration["ServiceName"], image_definitions)
