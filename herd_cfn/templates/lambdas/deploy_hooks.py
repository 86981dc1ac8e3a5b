"""The manager is a singleton: hand over from the old task to the new one without both driving devices.

Deployed inline (``herd_cfn.templates.lambdas.inline_source("deploy_hooks")``) as ``index.handler`` on
python3.12 with the standard library and the runtime's boto3 only, inside the VPC (the BeforeAllowTraffic
hook's subnets and security group: HTTPS to the ALB and to AWS APIs).

appspec allows one function per lifecycle event, so this one function serves three callers:
- ``BeforeInstall`` (the service has one task set: the replacement does not exist yet). Runs the dump task
  (``pg_dump``, named after the deployment) and waits for exit code 0, re-invoking itself with the task's
  ARN when its own 15 minutes run short; then quiesces: through the serving manager, disables every
  enabled agent (``agentDisabled`` = true) and every enabled global and realm ruleset, after writing
  which ones to RECORD_KEY in the pipeline's artifact bucket. The flags live in the database, so the new
  manager starts with them off. JavaScript rulesets cannot be updated through the API (OpenRemote 1.28.1
  answers 400): they are reported and left alone. Asset rulesets have no list endpoint: left alone.
- ``AfterAllowTraffic`` (two task sets: traffic has moved). Points MQTT at the new task (invokes the
  reconcile function) and re-enables exactly the recorded items through the new manager. The old task
  still runs until CodeDeploy terminates it, with its agents stopped: OpenRemote applies a write in the
  manager that receives it (no clustering), and reads the flags from the database only at start.
- EventBridge "CodeDeploy Deployment State-change Notification" FAILURE or STOP of the recorded deployment:
  waits until the service has one task set again (rollback done), then re-enables through the manager
  that serves. The record is deleted after a complete re-enable; every step is idempotent.
A hook reports Succeeded or Failed with PutLifecycleEventHookExecutionStatus. Failed at BeforeInstall stops
the deployment before any new task starts.

The manager is reached like users reach it: HTTPS to the ALB's private IPs on the production listener
(443, SNI and certificate check for DOMAIN), so "the manager that serves" is whichever task set
CodeDeploy routes production traffic to; ``/auth`` goes to Keycloak. A 502/503/504 on the first call
means no manager serves: nothing to quiesce. Token: password grant of the master admin with CLIENT_ID.

Environment: CLUSTER_NAME, SERVICE_NAME, DUMP_TASK_FAMILY, SUBNETS, SECURITY_GROUPS (comma-separated),
LOAD_BALANCER_ARN, DOMAIN, API_PORT (default 443), ADMIN_SECRET_ARN, RECORD_BUCKET, RECONCILE_FUNCTION.
IAM: see ``herd_cfn.templates.lambdas.DEPLOY_HOOKS_IAM``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
import urllib.parse

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8}, connect_timeout=5, read_timeout=30)
# The manager itself logs in to Keycloak as the master admin with admin-cli (KeycloakIdentityProvider). The
# client "openremote" allows the password grant only in dev mode. Risk: the manager accepts a token only
# when its aud holds "openremote" (Keycloak's audience mapper adds it for the admin's openremote roles):
# not verified against a running Keycloak. If it is refused, BeforeInstall fails and nothing is deployed.
CLIENT_ID = "admin-cli"
RECORD_KEY = "deploy-hooks/quiesced.json"
RESERVE_SECONDS = 300  # of the function's time, kept for quiescing and reporting after the dump
POLL_SECONDS = 15
NOT_SERVING = (502, 503, 504)  # the ALB's answers when no target is healthy
AGENT = "/api/master/asset/%s/attribute/agentDisabled"


class HttpError(RuntimeError):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def clients():
    """boto3 clients; an endpoint URL in AWS_ENDPOINT_URL (honoured by boto3 itself) points them elsewhere."""
    names = ("ecs", "ec2", "s3", "secretsmanager", "codedeploy", "lambda")
    return {name: boto3.client(name, config=RETRY_CONFIG) for name in names}


class Manager:
    """OpenRemote's REST API through the ALB's private IPs, logged in as the master admin."""

    def __init__(self, aws):
        self.host, self.port, self.token = os.environ["DOMAIN"], int(os.environ.get("API_PORT", 443)), None
        arn = os.environ["LOAD_BALANCER_ARN"].split(":loadbalancer/", 1)[1]
        found = aws["ec2"].describe_network_interfaces(Filters=[{"Name": "description", "Values": ["ELB " + arn]}])
        self.ips = sorted(i["PrivateIpAddress"] for i in found["NetworkInterfaces"])
        secret = aws["secretsmanager"].get_secret_value(SecretId=os.environ["ADMIN_SECRET_ARN"])["SecretString"]
        self.password = json.loads(secret)["password"]

    def login(self):
        form = {"grant_type": "password", "client_id": CLIENT_ID, "username": "admin", "password": self.password}
        self.token = self.call("POST", "/auth/realms/master/protocol/openid-connect/token",
                               urllib.parse.urlencode(form))["access_token"]

    def call(self, method, path, body=None):
        headers = {"Host": self.host, "Connection": "close"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = b""
        if body is not None:
            form = isinstance(body, str)
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
            data = (body if form else json.dumps(body)).encode()
        headers["Content-Length"] = str(len(data))
        request = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        error = "no network interfaces found for the load balancer"
        for ip in self.ips:
            try:
                with (socket.create_connection((ip, self.port), timeout=20) as raw,
                      ssl.create_default_context().wrap_socket(raw, server_hostname=self.host) as tls):
                    tls.sendall(request.encode() + data)
                    response = http.client.HTTPResponse(tls)
                    response.begin()
                    text = response.read()
            except (OSError, http.client.HTTPException) as failure:
                error = repr(failure)
                continue
            if response.status >= 300:
                raise HttpError(response.status, f"{method} {path}: HTTP {response.status} {text[:300]!r}")
            return json.loads(text) if text.strip() else None
        raise HttpError(0, f"{method} {path}: {error}")


def enabled_items(api):
    """(agent ids, ruleset paths) of what is enabled now; JavaScript rulesets reported, not returned."""
    agents, rulesets = [], []
    realms = [r["name"] for r in api.call("GET", "/api/master/realm")]
    for realm in realms:
        query = {"types": ["Agent"], "realm": {"name": realm}}
        for agent in api.call("POST", "/api/master/asset/query", query):
            if not (agent.get("attributes", {}).get("agentDisabled") or {}).get("value"):
                agents.append(agent["id"])
    lists = [("/api/master/rules", "/api/master/rules/")]
    lists += [("/api/master/rules/realm/for/" + realm, "/api/master/rules/realm/") for realm in realms]
    for listing, prefix in lists:
        for ruleset in api.call("GET", listing):
            if not ruleset.get("enabled", True):
                continue
            if ruleset.get("lang") == "JAVASCRIPT":
                print(f"ruleset {ruleset['id']} ({ruleset.get('name')}) is JavaScript: the API cannot disable it")
            else:
                rulesets.append(prefix + str(ruleset["id"]))
    return agents, rulesets


def set_ruleset(api, path, enabled):
    ruleset = api.call("GET", path)
    if ruleset.get("enabled") != enabled:
        ruleset["enabled"] = enabled
        api.call("PUT", path, ruleset)


def load(aws):
    try:
        body = aws["s3"].get_object(Bucket=os.environ["RECORD_BUCKET"], Key=RECORD_KEY)["Body"].read()
    except aws["s3"].exceptions.NoSuchKey:
        return None
    return json.loads(body)


def save(aws, record):
    aws["s3"].put_object(Bucket=os.environ["RECORD_BUCKET"], Key=RECORD_KEY, Body=json.dumps(record).encode())


def quiesce(aws, deployment):
    api = Manager(aws)
    try:
        api.login()
        agents, rulesets = enabled_items(api)
    except HttpError as error:
        if error.status not in NOT_SERVING:
            raise
        print(f"no manager serves ({error}): nothing to quiesce")
        agents, rulesets = [], []
    # A record not yet re-enabled (a lost failure event) is kept: its items are still off.
    old = load(aws) or {"agents": [], "rulesets": []}
    record = {"deployment": deployment, "agents": sorted(set(old["agents"] + agents)),
              "rulesets": sorted(set(old["rulesets"] + rulesets))}
    save(aws, record)  # before the first write, so whatever gets disabled is re-enabled later
    for agent in agents:
        api.call("PUT", AGENT % agent, True)
    for path in rulesets:
        set_ruleset(api, path, False)
    print(f"disabled {len(agents)} agent(s) and {len(rulesets)} ruleset(s); recorded in {RECORD_KEY}")


def release(aws):
    """Re-enables the recorded items through the serving manager; an item deleted meanwhile is skipped."""
    record = load(aws)
    if not record:
        print("nothing recorded: nothing to re-enable")
        return
    api = Manager(aws)
    api.login()
    for path, enable in [(AGENT % a, lambda p: api.call("PUT", p, False)) for a in record["agents"]] + [
            (p, lambda p: set_ruleset(api, p, True)) for p in record["rulesets"]]:
        try:
            enable(path)
        except HttpError as error:
            if error.status != 404:
                raise
            print(f"{path} no longer exists")
    aws["s3"].delete_object(Bucket=os.environ["RECORD_BUCKET"], Key=RECORD_KEY)
    print(f"re-enabled {len(record['agents'])} agent(s) and {len(record['rulesets'])} ruleset(s)")


def task_sets(aws):
    found = aws["ecs"].describe_services(cluster=os.environ["CLUSTER_NAME"], services=[os.environ["SERVICE_NAME"]])
    return found["services"][0].get("taskSets", [])


def dump(aws, event, deadline):
    """The dump task's ARN once it stopped with exit code 0; None when the deadline came first."""
    ecs, cluster, task = aws["ecs"], os.environ["CLUSTER_NAME"], event.get("DumpTask")
    if not task:
        started = ecs.run_task(
            cluster=cluster, taskDefinition=os.environ["DUMP_TASK_FAMILY"], launchType="FARGATE", count=1,
            startedBy="herd-deploy-hooks", networkConfiguration={"awsvpcConfiguration": {
                "subnets": os.environ["SUBNETS"].split(","), "securityGroups": os.environ["SECURITY_GROUPS"].split(","),
                "assignPublicIp": "DISABLED"}},
            overrides={"containerOverrides": [{"name": "dump", "environment": [
                {"name": "DUMP_LABEL", "value": event["DeploymentId"]}]}]})
        if not started.get("tasks"):
            raise RuntimeError(f"the dump task did not start: {started.get('failures')}")
        task = event["DumpTask"] = started["tasks"][0]["taskArn"]  # a continuation waits for this one
        print(f"dump task {task} started")
    while True:
        found = ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]
        if found.get("lastStatus") == "STOPPED":
            codes = [c.get("exitCode") for c in found.get("containers", [])]
            if codes != [0]:
                raise RuntimeError(f"dump task {task} stopped with exit code {codes}: {found.get('stoppedReason')}")
            print(f"dump task {task} finished (exit code 0)")
            return task
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def before_install(aws, event, context, deadline):
    if dump(aws, event, deadline) is None:
        # Lambda stops a function after 15 minutes; CodeDeploy waits for the hook's report up to its own limit.
        print(f"dump still running: continuing in a new invocation of {context.function_name}")
        aws["lambda"].invoke(FunctionName=context.function_name, InvocationType="Event", Payload=json.dumps(event))
        return False
    quiesce(aws, event["DeploymentId"])
    return True


def after_allow_traffic(aws):
    answer = aws["lambda"].invoke(FunctionName=os.environ["RECONCILE_FUNCTION"], Payload=b'{"source":"deploy-hooks"}')
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not (result or {}).get("wanted"):
        raise RuntimeError(f"MQTT target reconcile failed: {result}")
    release(aws)


def after_failure(aws, detail, deadline):
    record = load(aws)
    if not record or record["deployment"] != detail.get("deploymentId"):
        print(f"deployment {detail.get('deploymentId')} {detail.get('state')}: it quiesced nothing recorded")
        return
    while len(task_sets(aws)) > 1:  # the replacement still runs: it must not be the one re-enabling
        if time.monotonic() > deadline:
            raise RuntimeError("the replacement task set is still there; EventBridge retries this invocation")
        time.sleep(POLL_SECONDS)
    release(aws)


def handler(event, context):
    aws = clients()
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    if "detail" in event:
        return after_failure(aws, event["detail"], deadline)
    status, hook = "Failed", "BeforeInstall"
    try:
        if len(task_sets(aws)) > 1:
            hook = "AfterAllowTraffic"
            after_allow_traffic(aws)
        elif not before_install(aws, event, context, deadline):
            return {"status": "continued"}
        status = "Succeeded"
    except Exception as error:
        print(f"{hook} failed: {error!r}")
    print(f"{hook}: report {status} for deployment {event['DeploymentId']}")
    aws["codedeploy"].put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status)
    return {"status": status}
