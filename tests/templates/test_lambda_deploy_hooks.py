"""The deploy hooks: dump, quiesce, hand over, resume - run against a stub of OpenRemote's API and a model of
two managers sharing one database.

What comes from where:
- OpenRemote: an HTTPS server on 127.0.0.1 with a certificate for the domain from a test CA (trusted through
  SSL_CERT_FILE, as in the BeforeAllowTraffic tests). It answers the calls the function makes, with the
  shapes of OpenRemote 1.28.1 (research notes A1-A4): the token endpoint (password grant, client admin-cli),
  realms, the asset query, the agentDisabled attribute write, ruleset lists without and single rulesets
  with their rules, full-replacement PUT with optimistic locking, 400 for JavaScript rulesets, 503 when no
  manager serves. Behind it, a model of OpenRemote's own behaviour: a manager reads which agents and
  rulesets are enabled from the database when it starts, and applies a write only in the manager that
  received it (no clustering); the database is shared. The tests assert the safety property on that model
  after every request: no agent or ruleset ever runs in two managers at once.
- S3 (the record) and Secrets Manager (the admin password): moto on 127.0.0.1.
- ECS (run_task with awsvpc crashes in moto; task sets), EC2's ALB interfaces (moto would need a subnet
  holding 127.0.0.1), Lambda invoke and CodeDeploy's PutLifecycleEventHookExecutionStatus (not in moto):
  botocore Stubbers, which also check every request's parameters, in order.
"""

from __future__ import annotations

import http.server
import io
import json
import re
import ssl
import threading
import types
import urllib.parse

import boto3
import pytest
from botocore.stub import Stubber

from herd_cfn import names
from herd_cfn.templates.lambdas import deploy_hooks
from tests.templates.test_lambda_before_allow_traffic import DOMAIN, LB_ARN, pki  # noqa: F401 (fixture)

PASSWORD = "Adm1nPassw0rdFromTheSecret"
DEPLOYMENT = "d-NEW0001"
HOOK = {"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": "hook-exec-1"}
CLUSTER, SERVICE, BUCKET = "herd", "manager", "herd-artifacts"
DUMP_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/herd/0123456789abcdef0123456789abcdef"
RECONCILE = "arn:aws:lambda:eu-west-1:123456789012:function:herd-mqtt-target-reconcile"
ALB_ENIS = {"Name": "description", "Values": ["ELB app/herd-alb/50dc6c495c0c9188"]}


# --- OpenRemote, modelled ------------------------------------------------------------------------------------

class Manager:
    """One manager task: what it runs comes from the database at start, then from writes it receives."""

    def __init__(self, name, platform):
        self.name = name
        self.agents = {i for i, a in platform.agents.items() if not a["disabled"]}
        self.rulesets = {p for p, r in platform.rulesets.items() if r["enabled"]}


class Platform:
    def __init__(self):
        self.agents = {
            "agentMaster1": {"realm": "master", "disabled": False},
            "agentBuilding1": {"realm": "building", "disabled": False},
            "agentOff": {"realm": "building", "disabled": True},
        }
        self.rulesets = {
            "/api/master/rules/11": {"id": 11, "name": "global", "lang": "GROOVY", "enabled": True},
            "/api/master/rules/realm/21": {"id": 21, "name": "lights", "lang": "JSON", "enabled": True,
                                           "realm": "building"},
            "/api/master/rules/realm/22": {"id": 22, "name": "legacy", "lang": "JAVASCRIPT", "enabled": True,
                                           "realm": "building"},
            "/api/master/rules/realm/23": {"id": 23, "name": "off", "lang": "FLOW", "enabled": False,
                                           "realm": "building"},
        }
        for ruleset in self.rulesets.values():
            ruleset.update(version=1, rules="rules text", meta={})
        self.managers, self.serving, self.violations, self.log = {}, None, [], []
        self.lock = threading.Lock()

    def start(self, name):
        self.managers[name] = Manager(name, self)
        self.check(f"{name} started")

    def stop(self, name):
        del self.managers[name]
        if self.serving == name:
            self.serving = None

    def check(self, when):
        """The property: nothing runs in two managers at once (JavaScript rulesets excepted: the API cannot
        disable them, and the function says so)."""
        for kind in ("agents", "rulesets"):
            seen = {}
            for manager in self.managers.values():
                for item in getattr(manager, kind):
                    if item in seen and self.rulesets.get(item, {}).get("lang") != "JAVASCRIPT":
                        self.violations.append(f"{when}: {item} runs in {seen[item]} and {manager.name}")
                    seen[item] = manager.name


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method):
        platform = self.server.platform
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        platform.log.append((method, self.path, self.headers["Host"]))
        manager = platform.managers.get(platform.serving)
        if manager is None:
            return self._answer(503)  # the ALB without a healthy target
        if self.path == "/auth/realms/master/protocol/openid-connect/token":
            form = urllib.parse.parse_qs(data.decode())
            # In production Keycloak, of the two clients only admin-cli allows the password grant (notes A1).
            ok = form == {"grant_type": ["password"], "client_id": ["admin-cli"], "username": ["admin"],
                          "password": [self.server.password]}
            return self._answer(200, {"access_token": "token-1"}) if ok else self._answer(401, {"error": "x"})
        if self.headers["Authorization"] != "Bearer token-1" or not self.path.startswith("/api/master/"):
            return self._answer(401)
        body = json.loads(data) if data else None
        return self._api(platform, manager, method, self.path, body)

    def _api(self, platform, manager, method, path, body):
        if (method, path) == ("GET", "/api/master/realm"):
            return self._answer(200, [{"name": "master"}, {"name": "building"}])
        if (method, path) == ("POST", "/api/master/asset/query"):
            assert body["types"] == ["Agent"]
            return self._answer(200, [
                {"id": i, "type": "HTTPAgent", "realm": a["realm"],
                 "attributes": {"agentDisabled": {"name": "agentDisabled", "value": a["disabled"]}}}
                for i, a in platform.agents.items() if a["realm"] == body["realm"]["name"]])
        agent = re.fullmatch(r"/api/master/asset/(\w+)/attribute/agentDisabled", path)
        if agent and method == "PUT":
            return self._agent(platform, manager, agent.group(1), body)
        listing = re.fullmatch(r"/api/master/rules(?:/realm/for/(\w+))?", path)
        if listing and method == "GET":
            realm = listing.group(1)
            return self._answer(200, [
                {k: v for k, v in r.items() if k != "rules"} for p, r in platform.rulesets.items()
                if (realm is None and "/realm/" not in p) or (realm and r.get("realm") == realm)])
        if path in platform.rulesets:
            return self._ruleset(platform, manager, method, path, body)
        return self._answer(404)

    def _agent(self, platform, manager, agent_id, disabled):
        if agent_id not in platform.agents:
            return self._answer(404)
        assert isinstance(disabled, bool)
        platform.agents[agent_id]["disabled"] = disabled
        (manager.agents.discard if disabled else manager.agents.add)(agent_id)
        platform.check(f"PUT agentDisabled={disabled} of {agent_id} via {manager.name}")
        return self._answer(200, {"ref": {"id": agent_id, "name": "agentDisabled"}, "failure": None})

    def _ruleset(self, platform, manager, method, path, body):
        stored = platform.rulesets[path]
        if method == "GET":
            return self._answer(200, stored)
        if stored["lang"] == "JAVASCRIPT":
            return self._answer(400, {"message": "JavaScript rules are legacy and cannot be created or updated"})
        # A complete replacement with the current version (optimistic locking), as OpenRemote's merge needs.
        if body.get("version") != stored["version"] or body.get("rules") is None or body.get("id") != stored["id"]:
            return self._answer(409)
        stored.update(body, version=stored["version"] + 1)
        (manager.rulesets.add if body["enabled"] else manager.rulesets.discard)(path)
        platform.check(f"PUT {path} enabled={body['enabled']} via {manager.name}")
        return self._answer(204)

    def do_GET(self):
        with self.server.platform.lock:
            self._route("GET")

    def do_POST(self):
        with self.server.platform.lock:
            self._route("POST")

    def do_PUT(self):
        with self.server.platform.lock:
            self._route("PUT")


@pytest.fixture
def platform(pki, monkeypatch):  # noqa: F811 (the fixture imported above)
    platform = Platform()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.platform, server.password = platform, PASSWORD
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))
    monkeypatch.setenv("API_PORT", str(server.server_address[1]))
    yield platform
    server.shutdown()
    server.server_close()


# --- AWS -------------------------------------------------------------------------------------------------

@pytest.fixture
def moto(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    secret = boto3.client("secretsmanager").create_secret(
        Name="herd/openremote-admin", SecretString=json.dumps({"username": "admin", "password": PASSWORD}))
    for name, value in {
        "CLUSTER_NAME": CLUSTER, "SERVICE_NAME": SERVICE, "DUMP_TASK_FAMILY": "herd-dump",
        "SUBNETS": "subnet-a,subnet-b", "SECURITY_GROUPS": "sg-restore,sg-efs", "LOAD_BALANCER_ARN": LB_ARN,
        "DOMAIN": DOMAIN, "ADMIN_SECRET_ARN": secret["ARN"], "RECORD_BUCKET": BUCKET, "RECONCILE_FUNCTION": RECONCILE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(deploy_hooks, "POLL_SECONDS", 0)
    return aws


class Stubs:
    """The Stubber-backed clients, filled in the order the function calls AWS."""

    def __init__(self):
        self.clients = {n: boto3.client(n, endpoint_url="http://127.0.0.1:9") for n in ("ecs", "ec2", "codedeploy",
                                                                                         "lambda")}
        self.stubs = {n: Stubber(c) for n, c in self.clients.items()}

    def task_sets(self, count):
        sets = [{"id": f"ecs-svc/{n}", "status": "PRIMARY" if n == 0 else "ACTIVE"} for n in range(count)]
        self.stubs["ecs"].add_response("describe_services", {"services": [{"serviceName": SERVICE, "taskSets": sets}]},
                                       {"cluster": CLUSTER, "services": [SERVICE]})

    def alb(self, times=1):
        for _ in range(times):
            self.stubs["ec2"].add_response("describe_network_interfaces", {"NetworkInterfaces": [
                {"PrivateIpAddress": "127.0.0.1"}]}, {"Filters": [ALB_ENIS]})

    def dump(self, *statuses, exit_code=0, start=True):
        if start:
            self.stubs["ecs"].add_response("run_task", {"tasks": [{"taskArn": DUMP_TASK}]}, {
                "cluster": CLUSTER, "taskDefinition": "herd-dump", "launchType": "FARGATE", "count": 1,
                "startedBy": "herd-deploy-hooks", "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-restore", "sg-efs"],
                    "assignPublicIp": "DISABLED"}},
                # The container of the service stack's dump task definition.
                "overrides": {"containerOverrides": [{"name": names.Service.DUMP_CONTAINER, "environment": [
                    {"name": "DUMP_LABEL", "value": DEPLOYMENT}]}]}})
        for status in statuses:
            task = {"taskArn": DUMP_TASK, "lastStatus": status}
            if status == "STOPPED":
                task.update(containers=[{"name": names.Service.DUMP_CONTAINER, "exitCode": exit_code}],
                            stoppedReason="exited")
            self.stubs["ecs"].add_response("describe_tasks", {"tasks": [task]},
                                           {"cluster": CLUSTER, "tasks": [DUMP_TASK]})

    def report(self, status):
        self.stubs["codedeploy"].add_response(
            "put_lifecycle_event_hook_execution_status", {"lifecycleEventHookExecutionId": "hook-exec-1"},
            {"deploymentId": DEPLOYMENT, "lifecycleEventHookExecutionId": "hook-exec-1", "status": status})

    def reconcile(self, wanted):
        self.stubs["lambda"].add_response(
            "invoke", {"StatusCode": 200, "Payload": io.BytesIO(json.dumps({"wanted": wanted}).encode())},
            {"FunctionName": RECONCILE, "Payload": b'{"source":"deploy-hooks"}'})

    def run(self, monkeypatch, event, remaining_ms=900_000):
        real = {"s3": boto3.client("s3"), "secretsmanager": boto3.client("secretsmanager")}
        monkeypatch.setattr(deploy_hooks, "clients", lambda: {**real, **self.clients})
        context = types.SimpleNamespace(function_name="herd-manager-deploy-hooks",
                                        get_remaining_time_in_millis=lambda: remaining_ms)
        for stub in self.stubs.values():
            stub.activate()
        try:
            return deploy_hooks.handler(event, context)
        finally:
            for stub in self.stubs.values():
                stub.assert_no_pending_responses()
                stub.deactivate()


def record():
    try:
        return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=deploy_hooks.RECORD_KEY)["Body"].read())
    except boto3.client("s3").exceptions.NoSuchKey:
        return None


def before_install(platform, monkeypatch):
    stubs = Stubs()
    stubs.task_sets(1)
    stubs.dump("PROVISIONING", "RUNNING", "STOPPED")
    stubs.alb()
    stubs.report("Succeeded")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Succeeded"}


QUIESCED = {"agents": ["agentBuilding1", "agentMaster1"],
            "rulesets": ["/api/master/rules/11", "/api/master/rules/realm/21"]}


# --- the sequence ------------------------------------------------------------------------------------------

def test_a_deployment_never_runs_an_agent_or_ruleset_in_two_managers(platform, moto, monkeypatch, capsys):
    platform.start("blue")
    platform.serving = "blue"

    before_install(platform, monkeypatch)
    assert record() == {"deployment": DEPLOYMENT, **QUIESCED}
    assert platform.managers["blue"].agents == set()
    assert platform.managers["blue"].rulesets == {"/api/master/rules/realm/22"}  # JavaScript: the API refuses
    assert "ruleset 22 (legacy) is JavaScript: the API cannot disable it" in capsys.readouterr().out
    # The database holds the flags: the replacement starts with everything off.
    platform.start("green")
    assert platform.managers["green"].agents == set()
    platform.serving = "green"  # AllowTraffic

    stubs = Stubs()
    stubs.task_sets(2)  # the original task set runs until CodeDeploy terminates it after this hook
    stubs.reconcile(["10.20.1.15"])
    stubs.alb()
    stubs.report("Succeeded")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Succeeded"}

    assert platform.managers["green"].agents == {"agentMaster1", "agentBuilding1"}
    assert platform.managers["green"].rulesets >= {"/api/master/rules/11", "/api/master/rules/realm/21"}
    assert platform.managers["blue"].agents == set()  # still running, still quiet
    assert platform.agents["agentOff"]["disabled"] is True  # was off before: stays off
    assert platform.rulesets["/api/master/rules/realm/23"]["enabled"] is False
    platform.stop("blue")
    assert platform.violations == []
    assert record() is None
    # Every call went to the domain's name (Host, SNI) through the ALB's address.
    assert {host for _, _, host in platform.log} == {DOMAIN}


def test_a_failed_deployment_re_enables_through_the_manager_that_serves_once_the_replacement_is_gone(
        platform, moto, monkeypatch):
    platform.start("blue")
    platform.serving = "blue"
    before_install(platform, monkeypatch)
    platform.start("green")  # the replacement started, then BeforeAllowTraffic failed: CodeDeploy rolls back

    stubs = Stubs()
    stubs.task_sets(2)
    stubs.task_sets(1)
    stubs.alb()
    monkeypatch.setattr(deploy_hooks.time, "sleep", lambda _: platform.stop("green"))  # the rollback completes
    event = {"source": "aws.codedeploy", "detail-type": "CodeDeploy Deployment State-change Notification",
             "detail": {"deploymentId": DEPLOYMENT, "state": "FAILURE", "application": "herd-manager"}}
    stubs.run(monkeypatch, event)

    assert set(platform.managers) == {"blue"}
    assert platform.managers["blue"].agents == {"agentMaster1", "agentBuilding1"}
    assert not platform.agents["agentMaster1"]["disabled"]
    assert platform.rulesets["/api/master/rules/11"]["enabled"] is True
    assert platform.violations == []
    assert record() is None

    # The same event again (EventBridge may deliver twice): nothing recorded, nothing to do, no call.
    Stubs().run(monkeypatch, event)


def test_a_failure_event_of_another_deployment_touches_nothing(platform, moto, monkeypatch, capsys):
    platform.start("blue")
    platform.serving = "blue"
    before_install(platform, monkeypatch)
    event = {"detail": {"deploymentId": "d-OTHER", "state": "STOP"}}
    Stubs().run(monkeypatch, event)  # no AWS call beyond S3: the Stubbers hold no responses
    assert record()["deployment"] == DEPLOYMENT
    assert platform.managers["blue"].agents == set()


def test_a_record_left_by_a_lost_failure_event_is_kept_by_the_next_deployment(platform, moto, monkeypatch):
    boto3.client("s3").put_object(Bucket=BUCKET, Key=deploy_hooks.RECORD_KEY, Body=json.dumps(
        {"deployment": "d-OLD", "agents": ["agentOff"], "rulesets": []}).encode())
    platform.start("blue")
    platform.serving = "blue"
    before_install(platform, monkeypatch)
    assert record() == {"deployment": DEPLOYMENT, "agents": ["agentBuilding1", "agentMaster1", "agentOff"],
                        "rulesets": QUIESCED["rulesets"]}


# --- BeforeInstall's failures ------------------------------------------------------------------------------

def test_a_failed_dump_fails_the_hook_before_anything_is_disabled(platform, moto, monkeypatch, capsys):
    platform.start("blue")
    platform.serving = "blue"
    stubs = Stubs()
    stubs.task_sets(1)
    stubs.dump("STOPPED", exit_code=1)
    stubs.report("Failed")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Failed"}
    assert f"dump task {DUMP_TASK} stopped with exit code [1]" in capsys.readouterr().out
    assert platform.log == [] and record() is None


def test_a_dump_longer_than_one_invocation_continues_in_the_next(platform, moto, monkeypatch):
    platform.start("blue")
    platform.serving = "blue"
    stubs = Stubs()
    stubs.task_sets(1)
    stubs.dump("PROVISIONING")
    stubs.stubs["lambda"].add_response("invoke", {"StatusCode": 202}, {
        "FunctionName": "herd-manager-deploy-hooks", "InvocationType": "Event",
        "Payload": json.dumps({**HOOK, "DumpTask": DUMP_TASK})})
    # Less time left than the reserve: the first poll is the last one; no report yet.
    assert stubs.run(monkeypatch, dict(HOOK), remaining_ms=10_000) == {"status": "continued"}
    assert platform.log == []

    stubs = Stubs()  # the continuation waits for the same task, then quiesces and reports
    stubs.task_sets(1)
    stubs.dump("RUNNING", "STOPPED", start=False)
    stubs.alb()
    stubs.report("Succeeded")
    assert stubs.run(monkeypatch, {**HOOK, "DumpTask": DUMP_TASK}) == {"status": "Succeeded"}
    assert record()["agents"] == QUIESCED["agents"]


def test_a_refused_login_fails_the_hook_and_disables_nothing(platform, moto, monkeypatch, capsys):
    platform.start("blue")
    platform.serving = "blue"
    monkeypatch.setattr(deploy_hooks, "CLIENT_ID", "openremote")  # direct grants off in production
    stubs = Stubs()
    stubs.task_sets(1)
    stubs.dump("STOPPED")
    stubs.alb()
    stubs.report("Failed")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Failed"}
    assert "HTTP 401" in capsys.readouterr().out
    assert not any(a["disabled"] for i, a in platform.agents.items() if i != "agentOff")
    assert record() is None


def test_with_no_manager_serving_there_is_nothing_to_quiesce(platform, moto, monkeypatch, capsys):
    # A deployment that fixes a crashed manager must not be blocked by it: the ALB answers 503.
    stubs = Stubs()
    stubs.task_sets(1)
    stubs.dump("STOPPED")
    stubs.alb()
    stubs.report("Succeeded")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Succeeded"}
    assert "no manager serves" in capsys.readouterr().out
    assert record() == {"deployment": DEPLOYMENT, "agents": [], "rulesets": []}


def test_after_allow_traffic_fails_when_mqtt_cannot_be_pointed_at_the_new_task(platform, moto, monkeypatch):
    platform.start("green")
    platform.serving = "green"
    stubs = Stubs()
    stubs.task_sets(2)
    stubs.reconcile([])  # no running primary task
    stubs.report("Failed")  # CodeDeploy rolls back; the failure event then re-enables through the old manager
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Failed"}


def test_release_skips_an_agent_deleted_since_and_re_enables_the_rest(platform, moto, monkeypatch):
    platform.start("green")
    platform.serving = "green"
    for agent in QUIESCED["agents"]:
        platform.agents[agent]["disabled"] = True
    platform.managers["green"].agents.clear()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=deploy_hooks.RECORD_KEY, Body=json.dumps(
        {"deployment": DEPLOYMENT, "agents": ["agentGone", *QUIESCED["agents"]], "rulesets": []}).encode())
    stubs = Stubs()
    stubs.task_sets(2)
    stubs.reconcile(["10.20.1.15"])
    stubs.alb()
    stubs.report("Succeeded")
    assert stubs.run(monkeypatch, dict(HOOK)) == {"status": "Succeeded"}
    assert platform.managers["green"].agents == set(QUIESCED["agents"])
