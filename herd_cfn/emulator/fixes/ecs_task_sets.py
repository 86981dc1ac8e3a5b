"""ECS task sets run their tasks behind their target groups; a CODE_DEPLOY service starts with a PRIMARY one.

Gap: moto 5.2.5's task sets run nothing a load balancer or the reconcile function could find. CreateTaskSet
started its tasks with ``startedBy`` = the account id and group ``family:...``, registered no target, and
the tasks, like RunTask's, moved one state further on each DescribeTasks until STOPPED, though a service's
tasks run until stopped; DeleteTaskSet left its tasks running and registered, and UpdateService's desired count
did not reach them; ListTasks ignored ``serviceName``; and a service created with the CODE_DEPLOY deployment
controller had no task set at all.
AWS: the Amazon ECS API reference of CreateService ("if the service uses the CODE_DEPLOY deployment
controller, the deploymentController, taskSets and deployments parameters will be returned"; the service's
first task set is PRIMARY), CreateTaskSet / DeleteTaskSet and TaskSet (``computedDesiredCount`` is the
service's desired count scaled by ``scale``, rounded up, and follows UpdateService's ``desiredCount``;
``externalId`` holds the CodeDeploy deployment id),
ListTasks (``serviceName`` filters on the service's tasks, whose ``group`` is ``service:<name>``), and the
developer guide on load balancing ("Amazon ECS ... register and deregister targets with your load balancer
when tasks are created and stopped"; awsvpc tasks register as ``ip`` targets on the container port).
``startedBy`` of a task set's tasks is the task set's id (``ecs-svc/...``), as for a service deployment: the
MQTT reconcile function relies on it (herd_cfn/templates/lambdas/mqtt_reconcile.py).
What stays the emulator's: tasks are RUNNING at once (no PROVISIONING/PENDING) and nothing runs in them.
"""

from __future__ import annotations

import math
from typing import Any


def _elbv2(backend: Any) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[backend.account_id][backend.region_name]


def _task_ip(task: Any) -> str | None:
    for attachment in task.attachments:
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return detail["value"]
    return None


def _targets(task_set: Any, tasks: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(target group ARN, target) of each task on each of the task set's load balancers."""
    return [(lb["targetGroupArn"], {"Id": ip, "Port": int(lb["containerPort"])})
            for lb in task_set.load_balancers if lb.get("targetGroupArn")
            for ip in filter(None, map(_task_ip, tasks))]


def tasks_of(backend: Any, task_set: Any) -> list[Any]:
    cluster = task_set.cluster.split("/")[-1]
    return [t for t in backend.tasks.get(cluster, {}).values() if t.started_by == task_set.id]


def _running(backend: Any, task_set: Any) -> list[Any]:
    return [t for t in tasks_of(backend, task_set) if t.desired_status != "STOPPED"]


def _stop(backend: Any, task_set: Any, tasks: list[Any], reason: str) -> None:
    elbv2 = _elbv2(backend)
    for group, target in _targets(task_set, tasks):
        if group in elbv2.target_groups and target["Id"] in elbv2.target_groups[group].targets:
            elbv2.deregister_targets(group, [target])
    for task in tasks:
        task.last_status = task.desired_status = "STOPPED"
        task.stopped_reason = reason


def scale_to(backend: Any, service: Any, task_set: Any) -> None:
    """Run the task set's share of the service's desired count: start the missing tasks and register them as
    targets, or stop (and deregister) the ones too many."""
    scale = task_set.scale or {"value": 100.0, "unit": "PERCENT"}
    count = math.ceil(service.desired_count * float(scale.get("value", 100)) / 100)
    running = _running(backend, task_set)
    if len(running) > count:
        _stop(backend, task_set, running[count:], "Scaling activity initiated by (deployment)")
    elif len(running) < count:
        tasks = backend.run_task(
            cluster_str=service.cluster_name, task_definition_str=task_set.task_definition,
            count=count - len(running), overrides=None, started_by=task_set.id, tags=None,
            launch_type=task_set.launch_type, networking_configuration=task_set.network_configuration,
            group=f"service:{service.name}", platform_version=task_set.platform_version)
        for task in tasks:
            task._transitions = []  # a service's task runs until it is stopped, whatever DescribeTasks is called
        for group, target in _targets(task_set, tasks):
            _elbv2(backend).register_targets(group, [target])
    task_set.computed_desired_count = count
    task_set.running_count, task_set.pending_count = len(_running(backend, task_set)), 0


def stop(backend: Any, task_set: Any, reason: str) -> None:
    """Stop the task set's tasks and deregister them from its target groups."""
    _stop(backend, task_set, _running(backend, task_set), reason)
    task_set.running_count = 0


def install() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend as Backend

    if getattr(Backend.create_task_set, "_herd_task_sets", False):
        return
    _install_task_sets(Backend)
    _install_stops_and_listing(Backend)


def _install_task_sets(Backend: Any) -> None:
    """Task sets start their tasks; a CODE_DEPLOY service starts with a PRIMARY one; a new desired count
    scales them."""
    create_service, create_task_set = Backend.create_service, Backend.create_task_set
    update_service = Backend.update_service

    def _create_task_set(self: Any, service: str, cluster_str: str, task_definition: str, *args: Any,
                         scale: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        # moto's own launch (with startedBy = the account) runs only with a scale: given none, then set.
        task_set = create_task_set(self, service, cluster_str, task_definition, *args, scale=None, **kwargs)
        task_set.scale = scale or {"value": 100.0, "unit": "PERCENT"}
        scale_to(self, self._get_service(cluster_str, service.split("/")[-1]), task_set)
        return task_set

    def _create_service(self: Any, cluster_str: str, service_name: str, *args: Any, **kwargs: Any) -> Any:
        service = create_service(self, cluster_str, service_name, *args, **kwargs)
        if service.deployment_controller.get("type") == "CODE_DEPLOY" and service.task_definition:
            first = self.create_task_set(service.name, cluster_str, service.task_definition,
                                     network_configuration=service.network_configuration,
                                     load_balancers=service.load_balancers, launch_type=service.launch_type,
                                     platform_version=service.platform_version)
            first.status = "PRIMARY"
        return service

    def _update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        service = update_service(self, service_properties)
        for task_set in service.task_sets:  # a new desired count scales every task set (CreateTaskSet: scale)
            scale_to(self, service, task_set)
        return service

    _create_task_set._herd_task_sets = True  # type: ignore[attr-defined]
    Backend.create_task_set = _create_task_set
    Backend.create_service = _create_service
    Backend.update_service = _update_service


def _install_stops_and_listing(Backend: Any) -> None:
    """Deleting a task set or its service stops its tasks; ListTasks filters by service name."""
    delete_task_set, delete_service, list_tasks = Backend.delete_task_set, Backend.delete_service, Backend.list_tasks

    def _delete_task_set(self: Any, cluster: str, service: str, task_set: str) -> Any:
        deleted = delete_task_set(self, cluster, service, task_set)
        stop(self, deleted, "Task set deleted")
        return deleted

    def _delete_service(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
        service = delete_service(self, cluster_name, service_name, force)
        for task_set in service.task_sets:
            stop(self, task_set, "Service deleted")
        return service

    def _list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
                    family: str | None = None, started_by: str | None = None, service_name: str | None = None,
                    desiredStatus: str | None = None) -> Any:
        tasks = list_tasks(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
        return tasks

    Backend.delete_task_set = _delete_task_set
    Backend.delete_service = _delete_service
    Backend.list_tasks = _list_tasks
