"""ECS services and task definitions keep the properties their template gives them.

Gap: moto's CloudFormation created AWS::ECS::Service with cluster, name, task definition and desired
count only: LoadBalancers, LaunchType, DeploymentController (the manager's CODE_DEPLOY), ServiceRegistries,
NetworkConfiguration, DeploymentConfiguration and the rest were lost, so every service came out an
ECS-controlled EC2 service without load balancers. AWS::ECS::TaskDefinition lost Cpu, NetworkMode,
RequiresCompatibilities, the roles and the runtime platform, and an update registered the new revision
with container definitions in CloudFormation's PascalCase, which the API reads as empty.
AWS: the CloudFormation resource reference of AWS::ECS::Service (Ref: the service ARN; GetAtt ``Name``,
``ServiceArn``; the properties as CreateService takes them; DesiredCount, TaskDefinition, LoadBalancers,
NetworkConfiguration, DeploymentConfiguration, ServiceRegistries and the like update in place, as
UpdateService does; ServiceName, Cluster, LaunchType and DeploymentController replace it) and of
AWS::ECS::TaskDefinition (Ref: the revision's ARN; the properties as RegisterTaskDefinition takes them;
a change registers a new revision).
"""

from __future__ import annotations

from typing import Any

SERVICE_ATTRIBUTES = ("Name", "ServiceArn")
# Service settings moto's model keeps as plain attributes (DescribeServices reads them back).
_PLAIN = {
    "DeploymentConfiguration": "deployment_configuration",
    "HealthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "EnableECSManagedTags": "enable_ecs_managed_tags",
    "EnableExecuteCommand": "enable_execute_command",
    "AvailabilityZoneRebalancing": "availability_zone_rebalancing",
    "PlacementConstraints": "placement_constraints",
    "PlacementStrategies": "placement_strategy",
    "CapacityProviderStrategy": "capacity_provider_strategy",
}


def _camel(value: Any) -> Any:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    return remap_nested_keys(value, pascal_to_camelcase)


def _name(value: Any, attribute: str) -> Any:
    return getattr(value, attribute) if hasattr(value, attribute) else value


def _service_arguments(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "load_balancers": _camel(properties.get("LoadBalancers") or []),
        "scheduling_strategy": properties.get("SchedulingStrategy"),
        "tags": _camel(properties.get("Tags")) or None,
        "deployment_controller": _camel(properties.get("DeploymentController")),
        "launch_type": properties.get("LaunchType"),
        "service_registries": _camel(properties.get("ServiceRegistries") or []),
        "platform_version": properties.get("PlatformVersion"),
        "propagate_tags": properties.get("PropagateTags") or "NONE",
        "network_configuration": _camel(properties.get("NetworkConfiguration")),
        "role_arn": properties.get("Role"),
    }


def _keep_plain(service: Any, properties: dict[str, Any]) -> None:
    for key, attribute in _PLAIN.items():
        if key in properties:
            setattr(service, attribute, _camel(properties[key]))


def install() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ecs.models import Service, TaskDefinition, ecs_backends

    @classmethod  # type: ignore[misc]
    def create_service(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                       **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        service = backend.create_service(
            _name(properties.get("Cluster", "default"), "name"), resource_name,
            properties.get("DesiredCount"), task_definition_str=_name(properties.get("TaskDefinition"), "arn"),
            **_service_arguments(properties))
        _keep_plain(service, properties)
        return service

    @classmethod  # type: ignore[misc]
    def update_service(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                       account_id: str, region_name: str) -> Any:
        properties = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        cluster = _name(properties.get("Cluster", "default"), "name")
        controller = _camel(properties.get("DeploymentController")) or {"type": "ECS"}
        if (new_resource_name != original_resource.name or cluster.split("/")[-1] != original_resource.cluster_name
                or properties.get("LaunchType") != original_resource.launch_type
                or controller != original_resource.deployment_controller):
            backend.delete_service(original_resource.cluster_name, original_resource.name, force=True)
            return create_service.__func__(cls, new_resource_name, cloudformation_json, account_id, region_name)
        arguments = _service_arguments(properties)
        service = backend.update_service({
            "cluster": cluster, "service": original_resource.name,
            "task_definition": _name(properties.get("TaskDefinition"), "arn"),
            "desired_count": properties.get("DesiredCount"),
            **{k: arguments[k] for k in ("load_balancers", "service_registries", "network_configuration",
                                         "platform_version", "propagate_tags")},
        })
        _keep_plain(service, properties)
        return service

    def service_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "Name":
            return self.name
        if attribute_name == "ServiceArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def register(account_id: str, region_name: str, properties: dict[str, Any]) -> Any:
        from moto.moto_api._internal import mock_random

        return ecs_backends[account_id][region_name].register_task_definition(
            family=properties.get("Family", f"task-definition-{int(mock_random.random() * 10**6)}"),
            container_definitions=_camel(properties.get("ContainerDefinitions", [])),
            volumes=_camel(properties.get("Volumes", [])),
            network_mode=properties.get("NetworkMode"),
            tags=_camel(properties.get("Tags")) or None,
            placement_constraints=_camel(properties.get("PlacementConstraints")),
            requires_compatibilities=properties.get("RequiresCompatibilities"),
            cpu=None if properties.get("Cpu") is None else str(properties["Cpu"]),
            memory=None if properties.get("Memory") is None else str(properties["Memory"]),
            task_role_arn=properties.get("TaskRoleArn"),
            execution_role_arn=properties.get("ExecutionRoleArn"),
            proxy_configuration=_camel(properties.get("ProxyConfiguration")),
            runtime_platform=_camel(properties.get("RuntimePlatform")),
            ipc_mode=properties.get("IpcMode"), pid_mode=properties.get("PidMode"),
            ephemeral_storage=_camel(properties.get("EphemeralStorage")),
        )

    @classmethod  # type: ignore[misc]
    def create_task_definition(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                               region_name: str, **kwargs: Any) -> Any:
        return register(account_id, region_name, cloudformation_json["Properties"])

    @classmethod  # type: ignore[misc]
    def update_task_definition(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                               account_id: str, region_name: str) -> Any:
        # Every property change replaces a task definition: CloudFormation registers the new revision,
        # then deletes (deregisters) the old one.
        new = register(account_id, region_name, cloudformation_json["Properties"])
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return new

    Service.create_from_cloudformation_json = create_service
    Service.update_from_cloudformation_json = update_service
    Service.has_cfn_attr = classmethod(lambda cls, attr: attr in SERVICE_ATTRIBUTES)
    Service.get_cfn_attribute = service_attribute
    TaskDefinition.create_from_cloudformation_json = create_task_definition
    TaskDefinition.update_from_cloudformation_json = update_task_definition
