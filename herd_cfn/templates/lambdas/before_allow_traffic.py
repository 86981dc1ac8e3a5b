"""The appspec ``BeforeAllowTraffic`` hook: is the replacement task set healthy behind the ALB's test listener?

Deployed inline (``herd_cfn.templates.lambdas.inline_source("before_allow_traffic")``) as ``index.handler`` on
python3.12 with the standard library and the runtime's boto3 only.

The test listener admits only an admin CIDR on an internet-facing ALB, and a Lambda outside a VPC
has unknown public IPs. So this function runs INSIDE the VPC (private subnets, its own security
group, admitted by the ALB's security group on the test listener port) and connects to the ALB's
PRIVATE IPs, found as the load balancer's network interfaces (description ``ELB app/<name>/<id>``).
TLS uses the environment's domain for SNI and certificate verification while connecting to an IP,
so a wrong certificate fails the check just as it would for a user. ``GET HEALTH_PATH`` must answer
HTTP 200 from any ALB node; OpenRemote answers ``/api/master/info`` without login.

The probe is retried until HEALTH_TIMEOUT_SECONDS (capped by the Lambda's remaining time less a
margin), then the function reports Succeeded or Failed with PutLifecycleEventHookExecutionStatus;
any exception also reports Failed, so CodeDeploy rolls back instead of waiting out the hook's hour.

Environment: LOAD_BALANCER_ARN, TEST_LISTENER_PORT, HEALTH_HOSTNAME (the domain; not HOSTNAME,
which shells and containers set to the machine name), HEALTH_PATH (default /api/master/info),
HEALTH_TIMEOUT_SECONDS (default 240), HEALTH_INTERVAL_SECONDS (default 10).
IAM: see ``herd_cfn.templates.lambdas.BEFORE_ALLOW_TRAFFIC_IAM``.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import time

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8}, connect_timeout=5, read_timeout=20)
MARGIN_SECONDS = 20  # left for reporting the result before Lambda's own timeout
PROBE_TIMEOUT_SECONDS = 10


def clients():
    """boto3 clients; an endpoint URL in AWS_ENDPOINT_URL (honoured by boto3 itself) points them elsewhere."""
    return {name: boto3.client(name, config=RETRY_CONFIG) for name in ("ec2", "codedeploy")}


def probe(ip, port, hostname, path, timeout):
    """HTTP status of ``GET path`` over TLS to ip:port, verifying the certificate against ``hostname``."""
    context = ssl.create_default_context()
    with (
        socket.create_connection((ip, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n\r\n".encode())
        response = http.client.HTTPResponse(tls)
        response.begin()
        return response.status


def load_balancer_ips(ec2, load_balancer_arn):
    description = "ELB " + load_balancer_arn.split(":loadbalancer/", 1)[1]
    found = ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": [description]}])
    return sorted(i["PrivateIpAddress"] for i in found["NetworkInterfaces"])


def healthy(ec2, deadline):
    port, hostname = int(os.environ["TEST_LISTENER_PORT"]), os.environ["HEALTH_HOSTNAME"]
    path = os.environ.get("HEALTH_PATH", "/api/master/info")
    interval = float(os.environ.get("HEALTH_INTERVAL_SECONDS", 10))
    while True:
        ips = load_balancer_ips(ec2, os.environ["LOAD_BALANCER_ARN"])
        if not ips:
            print("no network interfaces found for the load balancer")
        for ip in ips:
            timeout = min(PROBE_TIMEOUT_SECONDS, max(deadline - time.monotonic(), 1))
            try:
                status = probe(ip, port, hostname, path, timeout)
            except (OSError, http.client.HTTPException) as error:
                print(f"GET https://{hostname}:{port}{path} via {ip}: {error!r}")
                continue
            print(f"GET https://{hostname}:{port}{path} via {ip}: HTTP {status}")
            if status == 200:
                return True
        if time.monotonic() + interval > deadline:
            return False
        time.sleep(interval)


def handler(event, context):
    aws = clients()
    budget = float(os.environ.get("HEALTH_TIMEOUT_SECONDS", 240))
    if context is not None:
        budget = min(budget, context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)
    status = "Failed"
    try:
        if healthy(aws["ec2"], time.monotonic() + budget):
            status = "Succeeded"
        else:
            print(f"replacement not healthy within {budget:.0f}s")
    except Exception as error:
        print(f"health check failed: {error!r}")
    print(f"report {status} for deployment {event['DeploymentId']}")
    aws["codedeploy"].put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status}
