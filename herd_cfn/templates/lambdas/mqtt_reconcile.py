"""Keep the NLB's MQTT target group equal to the private IPs of the manager's running primary tasks.

Deployed inline (``herd_cfn.templates.lambdas.inline_source("mqtt_reconcile")``) as ``index.handler`` on
python3.12; boto3 comes from the Lambda runtime, so this module imports nothing else.

Why it exists: the manager runs under the CODE_DEPLOY deployment controller, which lets an ECS service
have one blue/green target-group pair only (the ALB's). The NLB's ``ip`` target group for MQTT (8883 TLS
-> 1883) is therefore not managed by ECS; this function manages it.

Which tasks: during blue/green the service has two task sets. MQTT follows the one whose target group
the ALB's production listener (LISTENER_ARN) forwards to: CodeDeploy moves the listener at
AllowTraffic, and the replacement task set may become PRIMARY only after the AfterAllowTraffic hook
has run, so following PRIMARY alone left MQTT on the old task until the next event or schedule.
Without that listener, or when no task set has its target group, the PRIMARY one counts (the
replacement becomes PRIMARY when traffic moves). A task belongs to a task set when its ``startedBy``
equals the task set's id (``ecs-svc/...``), as for a service deployment. Without task sets (ECS
controller) every running task of the service counts.

Invocations (all reconcile fully; the event's detail is only logged):
- EventBridge "ECS Task State Change" for the manager service, and an EventBridge schedule;
- the appspec ``AfterAllowTraffic`` hook (event has DeploymentId and LifecycleEventHookExecutionId):
  reports Succeeded, or Failed when reconciling raised or no primary task is running, so the hook
  never hangs until CodeDeploy's one-hour timeout.

Environment: CLUSTER_NAME, SERVICE_NAME, TARGET_GROUP_ARN, TARGET_PORT (default 1883), LISTENER_ARN
(optional: the ALB's production listener).
Transient API errors (throttling, 5xx) are retried by botocore's standard retry mode.
IAM: see ``herd_cfn.templates.lambdas.MQTT_RECONCILE_IAM``.
"""

from __future__ import annotations

import os

import boto3
from botocore.config import Config

DEFAULT_PORT = 1883
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8}, connect_timeout=5, read_timeout=20)


def clients():
    """boto3 clients; an endpoint URL in AWS_ENDPOINT_URL (honoured by boto3 itself) points them elsewhere."""
    return {name: boto3.client(name, config=RETRY_CONFIG) for name in ("ecs", "elbv2", "codedeploy")}


def task_ip(task):
    for attachment in task.get("attachments", []):
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details", []):
                if detail.get("name") == "privateIPv4Address":
                    return detail["value"]
    for container in task.get("containers", []):
        for interface in container.get("networkInterfaces", []):
            if interface.get("privateIpv4Address"):
                return interface["privateIpv4Address"]
    return None


def live_target_group(elbv2, arn):
    """The target group the production listener sends traffic to (CodeDeploy keeps the other at weight 0)."""
    action = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][-1]
    groups = action.get("ForwardConfig", {}).get("TargetGroups") or [action]
    return max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"]


def primary_task_set(ecs, cluster, service, elbv2=None):
    """The task set behind the production listener's target group (given ``elbv2``), else the PRIMARY one."""
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not found:
        raise RuntimeError(f"service {service} not found in cluster {cluster}")
    sets = found[0].get("taskSets", [])
    listener = os.environ.get("LISTENER_ARN")
    group = sets and elbv2 and listener and live_target_group(elbv2, listener)
    serving = [t for t in sets if group and group in [b.get("targetGroupArn") for b in t.get("loadBalancers", [])]]
    return (serving or [t for t in sets if t["status"] == "PRIMARY"] or [None])[0]


def wanted_ips(ecs, cluster, service, elbv2=None):
    """Private IPs of the service's RUNNING tasks, restricted to the primary task set when there is one.

    A task set's tasks carry its id in ``startedBy``. ECS documents no API that lists a task set's
    tasks, so when no running task carries the id, the tasks of the primary task set's task definition
    are taken instead (a deployment registers a new revision, so the sets differ in it)."""
    primary = primary_task_set(ecs, cluster, service, elbv2)
    arns = []
    pages = ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=service, desiredStatus="RUNNING")
    for page in pages:
        arns += page["taskArns"]
    running = []
    for start in range(0, len(arns), 100):
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]
        running += [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    if primary:
        chosen = [t for t in running if t.get("startedBy") == primary["id"]]
        if not chosen:
            chosen = [t for t in running if t.get("taskDefinitionArn") == primary.get("taskDefinition")]
            print(f"no task started by {primary['id']}: matched by task definition {primary.get('taskDefinition')}")
        running = chosen
    ips = {ip for ip in map(task_ip, running) if ip}
    print(f"primary task set {primary['id'] if primary else '(none: ECS controller)'}: running task IPs {sorted(ips)}")
    return ips


def plan(wanted_ips, current_targets, port=DEFAULT_PORT):
    """(targets to register, targets to deregister) that make the group equal to ``wanted_ips`` on ``port``.

    ``current_targets`` are DescribeTargetHealth's TargetHealthDescriptions. A draining target is
    already on its way out: it is never deregistered again, and registered anew when it is wanted.
    """
    active = {
        (d["Target"]["Id"], d["Target"].get("Port", port))
        for d in current_targets
        if d.get("TargetHealth", {}).get("State") != "draining"
    }
    register = [{"Id": ip, "Port": port} for ip in sorted(wanted_ips) if (ip, port) not in active]
    deregister = [
        {"Id": ip, "Port": p} for ip, p in sorted(active) if ip not in wanted_ips or p != port
    ]
    return register, deregister


def reconcile(aws):
    cluster, service = os.environ["CLUSTER_NAME"], os.environ["SERVICE_NAME"]
    group, port = os.environ["TARGET_GROUP_ARN"], int(os.environ.get("TARGET_PORT", DEFAULT_PORT))
    wanted = wanted_ips(aws["ecs"], cluster, service, aws["elbv2"])
    current = aws["elbv2"].describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    register, deregister = plan(wanted, current, port)
    for target in register:
        print(f"register {target['Id']}:{port} in {group}")
    if register:
        aws["elbv2"].register_targets(TargetGroupArn=group, Targets=register)
    for target in deregister:
        print(f"deregister {target['Id']}:{target['Port']} from {group}")
    if deregister:
        aws["elbv2"].deregister_targets(TargetGroupArn=group, Targets=deregister)
    if not register and not deregister:
        print(f"targets already equal to {sorted(wanted)}: nothing to do")
    return {"wanted": sorted(wanted), "registered": register, "deregistered": deregister}


def handler(event, context):
    aws = clients()
    hook = event.get("LifecycleEventHookExecutionId")
    trigger = "AfterAllowTraffic hook" if hook else event.get("detail-type") or event.get("source") or "direct call"
    print(f"invoked by {trigger}")
    if not hook:
        return reconcile(aws)
    status = "Failed"
    try:
        result = reconcile(aws)
        if result["wanted"]:
            status = "Succeeded"
        else:
            print("no running primary task to point MQTT at")
    except Exception as error:
        print(f"reconcile failed: {error!r}")
    print(f"report {status} for deployment {event['DeploymentId']}")
    aws["codedeploy"].put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=hook, status=status
    )
    return {"status": status}
