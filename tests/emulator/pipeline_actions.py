"""The pipeline stack's Build and Deploy actions, played against the emulator as CodePipeline runs them.

Build (CodeBuild): the deployed project's buildspec (read back from the emulator's CodeBuild, not from this
repository) runs in one bash, phase after phase (``tests.templates.test_buildspec.script``), in the application's
checkout, with the environment CodeBuild gives it: the project's environment variables, the pipeline action's
(``#{SourceVariables.CommitId}`` resolved to the pushed commit), CodeBuild's own (``CODEBUILD_RESOLVED_SOURCE_VERSION``,
``AWS_REGION``...), the account's credentials, and the real AWS CLI pointed at the emulator (``AWS_ENDPOINT_URL``);
``docker`` is tests/emulator/fake_docker.py. The artifacts are the buildspec's ``artifacts.files``.

Deploy (CodeDeployToECS, CodePipeline's "Amazon ECS and CodeDeploy blue-green" action reference and its
"Image definitions file reference"): the image URI of ``imageDetail.json`` replaces ``<Image1ContainerName>`` in
the task definition template, which is registered as a new revision; its ARN replaces ``<TASK_DEFINITION>`` in the
appspec template; a CodeDeploy deployment of the action's application and deployment group is created with that
appspec as its revision. Not played: artifact zips in S3 (the files are handed over directly) and the action's
wait for the deployment (tests/emulator/codedeploy_driver.py plays the deployment).
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


@dataclass
class Build:
    result: subprocess.CompletedProcess
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def image_uri(self) -> str:
        return json.loads(self.artifacts["imageDetail.json"])["ImageURI"]


@dataclass
class DeploymentRequest:
    deployment_id: str
    task_definition_arn: str
    appspec: str


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
            for name in buildspec["artifacts"]["files"]:
                artifacts[Path(name).name] = (checkout / name).read_text()  # discard-paths: yes
        return Build(result, artifacts)

    # --- Deploy (CodeDeployToECS) ---------------------------------------------------------------------------
    def deploy(self, build: Build) -> DeploymentRequest:
        configuration = self.action("CodeDeployToECS")["configuration"]
        image_placeholder = f"<{configuration['Image1ContainerName']}>"
        template = build.artifacts[configuration["TaskDefinitionTemplatePath"]]
        if image_placeholder not in template:
            raise ValueError(f"{configuration['TaskDefinitionTemplatePath']} has no {image_placeholder}")
        task_definition = json.loads(template.replace(image_placeholder, build.image_uri))
        arn = self.deployed.client("ecs").register_task_definition(**task_definition)["taskDefinition"][
            "taskDefinitionArn"]
        appspec = build.artifacts[configuration["AppSpecTemplatePath"]]
        if TASK_DEFINITION_PLACEHOLDER not in appspec:
            raise ValueError(f"{configuration['AppSpecTemplatePath']} has no {TASK_DEFINITION_PLACEHOLDER}")
        appspec = appspec.replace(TASK_DEFINITION_PLACEHOLDER, arn)
        deployment = self.deployed.client("codedeploy").create_deployment(
            applicationName=configuration["ApplicationName"], deploymentGroupName=configuration["DeploymentGroupName"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec}})
        return DeploymentRequest(deployment["deploymentId"], arn, appspec)
