"""``AWS::CodeBuild::Project``, ``AWS::CodeDeploy::Application``/``DeploymentGroup`` and
``AWS::CodePipeline::Pipeline`` in moto's CodeBuild, CodeDeploy and CodePipeline.

Gap: moto's CloudFormation has no model of these types (moto has a backend for each): the pipeline stack's
build project, CodeDeploy application and blue/green deployment group and the pipeline were skipped.
AWS: the CloudFormation resource reference of AWS::CodeBuild::Project (Ref: the project name; GetAtt
``Arn``), AWS::CodeDeploy::Application (Ref: the application name), AWS::CodeDeploy::DeploymentGroup
(Ref: the deployment group name) and AWS::CodePipeline::Pipeline (Ref: the pipeline name; GetAtt
``Version``), each created as its service's Create call takes the same properties in camelCase (action
``Configuration`` maps stay as written). Names replace them; the rest updates in place, as the Update
calls do.
"""

from __future__ import annotations

from typing import Any

from ._model import Resource, register

# CloudFormation names whose API name is not just the first letter lowered.
_API_NAMES = {"BuildSpec": "buildspec", "ECSServices": "ecsServices", "ECSService": "ecsService"}


def camel(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """CloudFormation's PascalCase as the APIs' camelCase; the values under ``keep`` keys unchanged."""
    if isinstance(value, list):
        return [camel(item, keep) for item in value if item is not None]  # AWS::NoValue in a list
    if not isinstance(value, dict):
        return value
    return {_API_NAMES.get(k, k[:1].lower() + k[1:]): v if k in keep else camel(v, keep) for k, v in value.items()}


class Project(Resource):
    TYPE = "AWS::CodeBuild::Project"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.codebuild.models import codebuild_backends

        return codebuild_backends[account_id][region]

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        api = camel(properties)
        project = cls._backend(account_id, region).create_project(
            project_name=name, description=api.get("description"), project_source=api["source"],
            artifacts=api["artifacts"], environment=api["environment"], service_role=api["serviceRole"],
            tags=api.get("tags"), cache=api.get("cache"), timeout=api.get("timeoutInMinutes"),
            queued_timeout=api.get("queuedTimeoutInMinutes"), source_version=api.get("sourceVersion"),
            logs_config=api.get("logsConfig"), vpc_config=api.get("vpcConfig"))
        return cls(name, {"Arn": project["arn"]})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if name != self.name:
            return super().update(name, properties)
        # UpdateProject: the same project (its ARN comes from the name) with the new settings.
        return self.create(self.account_id, self.region_name, name, properties)

    def remove(self) -> None:
        self._backend(self.account_id, self.region_name).delete_project(self.ref)


def _codedeploy(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


class Application(Resource):
    TYPE = "AWS::CodeDeploy::Application"
    NAME_PROPERTY = "ApplicationName"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        _codedeploy(account_id, region).create_application(
            name, properties.get("ComputePlatform", "Server"), camel(properties.get("Tags")) or [])
        return cls(name)

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        return self if name == self.name else super().update(name, properties)

    def remove(self) -> None:
        _codedeploy(self.account_id, self.region_name).applications.pop(self.ref, None)


class DeploymentGroup(Resource):
    TYPE = "AWS::CodeDeploy::DeploymentGroup"
    NAME_PROPERTY = "DeploymentGroupName"

    @staticmethod
    def _arguments(properties: dict[str, Any]) -> dict[str, Any]:
        api = camel(properties)
        return {
            "deployment_config_name": api.get("deploymentConfigName"),
            "ec2_tag_filters": api.get("ec2TagFilters"),
            "on_premises_instance_tag_filters": api.get("onPremisesInstanceTagFilters"),
            "auto_scaling_groups": api.get("autoScalingGroups"),
            "service_role_arn": api["serviceRoleArn"],
            "trigger_configurations": api.get("triggerConfigurations"),
            "alarm_configuration": api.get("alarmConfiguration"),
            "auto_rollback_configuration": api.get("autoRollbackConfiguration"),
            "outdated_instances_strategy": api.get("outdatedInstancesStrategy"),
            "deployment_style": api.get("deploymentStyle"),
            "blue_green_deployment_configuration": api.get("blueGreenDeploymentConfiguration"),
            "load_balancer_info": api.get("loadBalancerInfo"),
            "ec2_tag_set": api.get("ec2TagSet"),
            "ecs_services": api.get("ecsServices"),
            "on_premises_tag_set": api.get("onPremisesTagSet"),
            "tags": api.get("tags"),
            "termination_hook_enabled": api.get("terminationHookEnabled"),
        }

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        _codedeploy(account_id, region).create_deployment_group(
            properties["ApplicationName"], name, **cls._arguments(properties))
        return cls(name)

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if properties["ApplicationName"] != self.properties["ApplicationName"]:
            return super().update(name, properties)
        # UpdateDeploymentGroup: same id, new settings (and name).
        backend = _codedeploy(self.account_id, self.region_name)
        groups = backend.deployment_groups[properties["ApplicationName"]]
        group = groups.pop(self.ref)
        for attribute, value in self._arguments(properties).items():
            if value is not None:
                setattr(group, attribute, value)
        group.deployment_group_name = name
        groups[name] = group
        self.ref = name
        return self

    def remove(self) -> None:
        backend = _codedeploy(self.account_id, self.region_name)
        backend.deployment_groups.get(self.properties["ApplicationName"], {}).pop(self.ref, None)


class Pipeline(Resource):
    TYPE = "AWS::CodePipeline::Pipeline"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Version",)
    # Properties of the resource that are not part of the API's pipeline structure.
    _NOT_API = ("RestartExecutionOnUpdate", "DisableInboundStageTransitions", "Tags", "Name")

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.codepipeline.models import codepipeline_backends

        return codepipeline_backends[account_id][region]

    @classmethod
    def _structure(cls, name: str, properties: dict[str, Any]) -> dict[str, Any]:
        pipeline = camel({k: v for k, v in properties.items() if k not in cls._NOT_API},
                         keep=frozenset({"Configuration"}))
        return {"name": name, **pipeline}

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        tags = camel(properties.get("Tags"))
        pipeline, _ = cls._backend(account_id, region).create_pipeline(cls._structure(name, properties), tags)
        return cls(name, {"Version": str(pipeline.get("version", 1))})

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if name != self.name:
            return super().update(name, properties)
        pipeline = self._backend(self.account_id, self.region_name).update_pipeline(
            self._structure(name, properties))
        self.attributes = {"Version": str(pipeline["version"])}
        return self

    def remove(self) -> None:
        self._backend(self.account_id, self.region_name).delete_pipeline(self.ref)


def install() -> None:
    register(Project, Application, DeploymentGroup, Pipeline)
