"""A load balancer has a network interface in each of its subnets.

Gap: moto's ELBv2 creates no network interfaces for a load balancer, so code that finds a load balancer's
private addresses the documented way (the appspec hooks reach the ALB from inside the VPC) found none.
AWS: the Elastic Load Balancing user guide ("Elastic Load Balancing creates a network interface for each
Availability Zone you enable", one per subnet) and the AWS Knowledge Center article "What are the source IP
addresses of traffic that Elastic Load Balancing sends to my web servers?": the interfaces are found with
``describe-network-interfaces --filters Name=description,Values="ELB app/<name>/<id>"`` (``net/`` for a network
load balancer), that is ``ELB`` and the part of the load balancer's ARN after ``loadbalancer/``. Each has a
private address of its subnet and the load balancer's security groups; deleting the load balancer deletes them.
"""

from __future__ import annotations

from typing import Any


def description(load_balancer_arn: str) -> str:
    return "ELB " + load_balancer_arn.split(":loadbalancer/", 1)[1]


def _create_interfaces(balancer: Any, ec2_backend: Any) -> None:
    from .ecs_run_task_fargate import free_ip

    for subnet in balancer.subnets:
        eni = ec2_backend.create_network_interface(
            subnet=subnet, private_ip_address=free_ip(subnet), group_ids=list(balancer.security_groups or []),
            description=description(balancer.arn))
        eni.status = "in-use"


def _delete_interfaces(arn: str, ec2_backend: Any) -> None:
    wanted = description(arn)
    for eni_id in [i for i, eni in ec2_backend.enis.items() if eni.description == wanted]:
        ec2_backend.delete_network_interface(eni_id)


def install() -> None:
    from moto.elbv2.models import ELBv2Backend

    if getattr(ELBv2Backend.create_load_balancer, "_herd_interfaces", False):
        return
    original_create, original_delete = ELBv2Backend.create_load_balancer, ELBv2Backend.delete_load_balancer

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original_create(self, *args, **kwargs)  # the ARN is final here (elbv2_load_balancers)
        _create_interfaces(balancer, self.ec2_backend)
        return balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        if arn in self.load_balancers:
            _delete_interfaces(arn, self.ec2_backend)
        original_delete(self, arn)

    create_load_balancer._herd_interfaces = True  # type: ignore[attr-defined]
    ELBv2Backend.create_load_balancer = create_load_balancer
    ELBv2Backend.delete_load_balancer = delete_load_balancer
