"""``ecs:RunTask`` of a Fargate task definition with ``awsvpc`` networking.

Gap: moto's ``run_task`` adds up the containers' ``memory`` to place a task and fails with a TypeError
(HTTP 500) when a container has no container-level memory, which Fargate task definitions need not
have (the herd-restore task); past that, every awsvpc task failed with an AttributeError (moto's
network interface has no ``private_dns_name``), and its address was a random 10.x outside its subnet. Here a
task gets the first address of its subnet that no instance and no network interface uses (moto's network
interfaces do not take their addresses from the subnet's pool: counting them keeps two tasks apart).
AWS: the Amazon ECS developer guide, "Task definition parameters for Amazon ECS" (Fargate: task-level
``cpu`` and ``memory`` are required, container-level ``memory`` is optional) and "Fargate task networking"
(each task gets an elastic network interface with a private IPv4 address from the subnet it runs in;
DescribeTasks lists it in ``attachments[].details`` as ``privateIPv4Address``).
What stays moto's: a task started by RunTask moves one state further on each DescribeTasks until it is
STOPPED with exit code 0: the emulator records the run (task, overrides, network interface); it runs no
container.
"""

from __future__ import annotations

import contextvars
import ipaddress
from types import SimpleNamespace
from typing import Any

_next_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("herd_next_task_ip", default=None)


def _with_memory(container: dict[str, Any]) -> dict[str, Any]:
    """Placement counts container memory; a Fargate container without any counts as 0."""
    if any(container.get(k) for k in ("memory", "memoryReservation", "Memory", "MemoryReservation")):
        return container
    cleaned = {k: v for k, v in container.items() if k not in ("Memory", "MemoryReservation")}
    return {**cleaned, "memory": 0}


def free_ip(subnet: Any) -> str:
    """The first address of the subnet nobody uses (AWS reserves the first four and the last): neither an
    instance's nor a network interface's (each Fargate task and each load balancer node has one)."""
    used = set(getattr(subnet, "_subnet_ips", {}))
    used |= {str(eni.private_ip_address) for eni in subnet.ec2_backend.enis.values()
             if getattr(eni.subnet, "id", None) == subnet.id}
    hosts = list(ipaddress.ip_network(str(subnet.cidr_block)).hosts())
    for host in hosts[3:-1]:
        if str(host) not in used:
            return str(host)
    raise RuntimeError(f"no free address in subnet {subnet.id}")


def _subnet_ip(account_id: str, region: str, networking: dict[str, Any] | None) -> str | None:
    from moto.ec2.models import ec2_backends

    subnets = ((networking or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    if not subnets:
        return None
    try:
        return free_ip(ec2_backends[account_id][region].get_subnet(subnets[0]))
    except Exception:  # moto raises its own error for an unknown subnet, as before
        return None


def _private_dns_name(eni: Any) -> str:
    """EC2's private DNS name of an address: ip-10-20-1-5.<region>.compute.internal."""
    if eni.__dict__.get("_herd_private_dns_name"):
        return eni.__dict__["_herd_private_dns_name"]
    region = eni.ec2_backend.region_name
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{str(eni.private_ip_address).replace('.', '-')}.{suffix}"


def install() -> None:
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs import models

    if getattr(models.Task.__init__, "_herd_fargate", False):
        return
    calculate = models.EC2ContainerServiceBackend._calculate_task_resource_requirements

    def _calculate_task_resource_requirements(task_definition: Any) -> dict[str, Any]:
        containers = [_with_memory(c) for c in task_definition.container_definitions]
        return calculate(SimpleNamespace(container_definitions=containers))

    task_init = models.Task.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        cluster, backend = kwargs.get("cluster"), kwargs.get("backend")
        ip = None
        if cluster is not None and backend is not None:
            ip = _subnet_ip(backend.account_id, cluster.region_name, kwargs.get("networking_configuration"))
        token = _next_ip.set(ip)
        try:
            task_init(self, *args, **kwargs)
        finally:
            _next_ip.reset(token)

    random_private_ip = models.random_private_ip

    def task_ip(*args: Any, **kwargs: Any) -> str:
        return _next_ip.get() or random_private_ip(*args, **kwargs)

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = property(  # type: ignore[attr-defined]
            _private_dns_name, lambda eni, value: eni.__dict__.__setitem__("_herd_private_dns_name", value))
    __init__._herd_fargate = True  # type: ignore[attr-defined]
    models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign]
        _calculate_task_resource_requirements)
    models.Task.__init__ = __init__
    models.random_private_ip = task_ip
