"""A test driver that plays CodeDeploy's ECS blue/green deployment, and Lambda's Invoke of the hook functions,
against the emulator. Not product code: what it plays, AWS does.

What it plays of CodeDeploy (CodeDeploy user guide, "Deployments on an Amazon ECS compute platform" and "AppSpec
'hooks' section for an Amazon ECS deployment": Start, BeforeInstall, Install, AfterInstall, AllowTestTraffic,
AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic, End):
- reads the deployment's revision (the appspec the CodeDeployToECS action handed over) and its deployment group
  (the ECS service, the target group pair, the production and test listeners) from the emulator;
- runs each hook the appspec names once, in that order, by invoking the named Lambda function
  (:class:`LambdaPlayer`), with the event CodeDeploy sends (DeploymentId, LifecycleEventHookExecutionId), and goes
  on only when the function reported Succeeded with PutLifecycleEventHookExecutionStatus (what the function
  reported is read back from the emulator: fix ``codedeploy_lifecycle_hook_status``);
- Install: creates the replacement task set with ECS's CreateTaskSet: the appspec's task definition, container
  and port, the pair's target group that serves no production traffic, the service's network configuration and
  launch type, scale 100%, externalId = the deployment id; ECS (fix ``ecs_task_sets``) starts its task and
  registers it in that target group;
- AllowTestTraffic, then AllowTraffic: rewrites the test listener, then the production listener, to forward to the
  replacement's target group (weight 100, the original's 0: all at once, CodeDeployDefault.ECSAllAtOnce);
- End: makes the replacement task set PRIMARY and deletes the original one, whose task stops and leaves its
  target group.
What it does not play: the deployment's own state in CodeDeploy's API (GetDeployment stays "Created"); waiting
(the ready wait, a hook's one-hour timeout, the termination wait all pass at once); rollback (a hook that does
not report Succeeded stops the driver with :class:`HookFailed`, leaving everything as it is; CodeDeploy would
roll back and send the failure event); alarms; and how CodeDeploy itself calls ECS (it manages the task sets of a
CODE_DEPLOY service; the public CreateTaskSet is documented for the EXTERNAL controller, and moto takes it for
either). The pipeline's other deploy action, ECS's rolling deployment of Keycloak, involves no CodeDeploy: it is
played by tests/emulator/pipeline_actions.py up to UpdateService, not beyond.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import os
import types
import uuid
import zipfile
from dataclasses import dataclass, field

import boto3
import yaml

from herd_cfn.templates.lambdas import MODULES, PACKED_SOURCE_LIMIT, inline_source, packed_source
from tests.emulator.alb_network import Alb
from tests.emulator.deployment import Deployed

HOOK_ORDER = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")


class VirtualClock:
    """``time`` for a function: sleeping advances the monotonic clock at once (Lambda's wall time is not ours)."""

    def __init__(self) -> None:
        self.now, self.slept = 1000.0, 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@dataclass
class Invocation:
    function: str
    event: dict
    result: object = None
    error: str | None = None
    output: list[str] = field(default_factory=list)


def deployed_module(deployed: Deployed, function_name: str) -> str:
    """The herd_cfn.templates.lambdas module whose deployable source (packed or inline) is the function's index.py."""
    from moto.awslambda.models import lambda_backends

    function = lambda_backends[deployed.env.account_id][deployed.env.region].get_function(function_name)
    code = function.code_bytes if isinstance(function.code_bytes, bytes) else base64.b64decode(function.code_bytes)
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        index = archive.read("index.py").decode()
    matches = [m for m in MODULES if index in (packed_source(m), inline_source(m, budget=PACKED_SOURCE_LIMIT))]
    if len(matches) != 1:
        raise AssertionError(f"the deployed code of {function_name} is none of {MODULES}")
    return matches[0]


class LambdaPlayer:
    """Lambda's Invoke of the account's functions, played in this process.

    The function is looked up in the emulator's Lambda: its environment, handler and timeout are the deployed ones,
    and its code is the herd_cfn.templates.lambdas module whose packed source the deployed index.py is (checked),
    imported and called as ``handler(event, context)``. Like Lambda, it gives the function its environment
    variables, the account's credentials, AWS_REGION and a context (function name, remaining time); besides,
    AWS_ENDPOINT_URL of the emulator and SSL_CERT_FILE of the test CA. What differs from Lambda: the function runs in
    this process; its connections reach only the ALB (:meth:`Alb.create_connection` as its ``socket``); its clock is
    virtual (:class:`VirtualClock`); an Invoke the function makes itself (deploy_hooks invokes the reconcile
    function) comes back here, synchronously.
    """

    def __init__(self, deployed: Deployed, alb: Alb, ca_file: str) -> None:
        self.deployed, self.alb, self.ca_file = deployed, alb, ca_file
        self.client = deployed.client("lambda")
        self.invocations: list[Invocation] = []
        self.clock = VirtualClock()
        self._outer: dict[str, str] = {}  # the environment of the invocation under way (a function's own Invoke)

    def _environment(self, configuration: dict) -> dict[str, str]:
        credentials = self.deployed.session.get_credentials().get_frozen_credentials()
        return {**configuration.get("Environment", {}).get("Variables", {}),
                "AWS_ENDPOINT_URL": self.deployed.endpoint, "SSL_CERT_FILE": self.ca_file,
                "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token or "", "AWS_REGION": self.deployed.env.region,
                "AWS_DEFAULT_REGION": self.deployed.env.region,
                "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"]}

    @contextlib.contextmanager
    def _running(self, module, environment: dict[str, str]):
        """The function's environment (without its caller's), its VPC, clock and Invoke, while it runs."""
        saved_env = {k: os.environ.get(k) for k in {*environment, *self._outer}}
        outer, self._outer = self._outer, environment
        saved = {name: getattr(module, name) for name in ("socket", "time", "clients") if hasattr(module, name)}
        real_clients = saved["clients"]

        def clients():
            found = real_clients()
            if "lambda" in found:
                found["lambda"] = self  # the function's own Invoke calls come back to this player
            return found

        for key in outer:
            os.environ.pop(key, None)
        os.environ.update(environment)
        # A Lambda runtime makes its default session from this environment: not one this process made before.
        default_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None
        module.socket = types.SimpleNamespace(create_connection=self.alb.create_connection)
        module.time, module.clients = self.clock, clients
        try:
            yield
        finally:
            boto3.DEFAULT_SESSION = default_session
            self._outer = outer
            for name, value in saved.items():
                setattr(module, name, value)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def call(self, function: str, event: dict) -> Invocation:
        configuration = self.client.get_function_configuration(FunctionName=function)
        if configuration["Handler"] != "index.handler":
            raise AssertionError(f"{function}: handler {configuration['Handler']}, expected index.handler")
        module = importlib.import_module(f"herd_cfn.templates.lambdas.{deployed_module(self.deployed, function)}")
        context = types.SimpleNamespace(function_name=configuration["FunctionName"],
                                        get_remaining_time_in_millis=lambda: configuration["Timeout"] * 1000)
        invocation = Invocation(configuration["FunctionName"], event)
        self.invocations.append(invocation)
        output = io.StringIO()
        with self._running(module, self._environment(configuration)), contextlib.redirect_stdout(output):
            try:
                invocation.result = module.handler(event, context)
            except Exception as error:  # Lambda reports an unhandled error as FunctionError
                invocation.error = repr(error)
        invocation.output = output.getvalue().splitlines()
        return invocation

    def invoke(self, FunctionName: str, Payload=b"{}", InvocationType: str = "RequestResponse"):
        """lambda:Invoke as boto3 takes and answers it (the function's own calls)."""
        invocation = self.call(FunctionName, json.loads(Payload or b"{}"))
        answer = {"StatusCode": 202 if InvocationType == "Event" else 200,
                  "Payload": io.BytesIO(json.dumps(invocation.result).encode())}
        if invocation.error:
            answer.update(FunctionError="Unhandled",
                          Payload=io.BytesIO(json.dumps({"errorMessage": invocation.error}).encode()))
        return answer


class HookFailed(AssertionError):
    pass


@dataclass
class Plan:
    cluster: str
    service: str
    target_groups: list[str]
    production_listener: str
    test_listener: str
    task_definition: str
    container: str
    container_port: int
    hooks: dict[str, str]


@dataclass
class Deployment:
    deployment_id: str
    original: dict
    replacement: dict
    hooks: dict[str, str] = field(default_factory=dict)  # lifecycle event -> the status its function reported


class CodeDeployDriver:
    """Plays an ECS blue/green deployment that the CodeDeployToECS action created (see the module docstring)."""

    def __init__(self, deployed: Deployed, lambdas: LambdaPlayer, alb: Alb) -> None:
        self.deployed, self.lambdas, self.alb = deployed, lambdas, alb
        self.ecs, self.elbv2 = deployed.client("ecs"), deployed.client("elbv2")
        self.codedeploy = deployed.client("codedeploy")

    def _hook(self, deployment: Deployment, event: str, hooks: dict[str, str]) -> None:
        from herd_cfn.emulator.fixes.codedeploy_lifecycle_hook_status import hook_statuses

        if event not in hooks:
            return
        execution = str(uuid.uuid4())
        invocation = self.lambdas.call(hooks[event], {"DeploymentId": deployment.deployment_id,
                                                      "LifecycleEventHookExecutionId": execution})
        env = self.deployed.env
        status = hook_statuses(env.account_id, env.region, deployment.deployment_id).get(execution, "no report")
        deployment.hooks[event] = status
        if status != "Succeeded":
            raise HookFailed(f"{event} ({hooks[event]}): {status}; {invocation.error or ''}\n"
                             + "\n".join(invocation.output))

    def _forward(self, listener: str, to: str, other: str) -> None:
        self.elbv2.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": to, "Weight": 100}, {"TargetGroupArn": other, "Weight": 0}]}}])

    def tasks(self, cluster: str, task_set: dict) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=cluster, startedBy=task_set["id"], desiredStatus="RUNNING")["taskArns"]
        return self.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []

    @staticmethod
    def task_ip(task: dict) -> str:
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        return details["privateIPv4Address"]

    def image(self, task_definition: str, container: str) -> str:
        found = self.ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        (image,) = [c["image"] for c in found["containerDefinitions"] if c["name"] == container]
        return image

    def plan(self, deployment_id: str) -> Plan:
        """What CodeDeploy reads before it starts: the deployment group and the deployment's appspec."""
        info = self.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        group = self.codedeploy.get_deployment_group(applicationName=info["applicationName"],
                                                     deploymentGroupName=info["deploymentGroupName"])
        group = group["deploymentGroupInfo"]
        (ecs_service,) = group["ecsServices"]
        (pair,) = group["loadBalancerInfo"]["targetGroupPairInfoList"]
        groups = self.elbv2.describe_target_groups(Names=[g["name"] for g in pair["targetGroups"]])["TargetGroups"]
        appspec = yaml.safe_load(info["revision"]["appSpecContent"]["content"])
        (resource,) = appspec["Resources"]
        target = resource["TargetService"]["Properties"]
        unplayed = set(target) - {"TaskDefinition", "LoadBalancerInfo"}  # what herd-cfn's appspec uses
        if unplayed:
            raise NotImplementedError(f"the driver does not play the appspec's {sorted(unplayed)}")
        hooks = {event: function for entry in appspec.get("Hooks", []) for event, function in entry.items()}
        if set(hooks) - set(HOOK_ORDER):
            raise ValueError(f"appspec hooks not of an ECS deployment: {sorted(set(hooks) - set(HOOK_ORDER))}")
        (production,), (test,) = pair["prodTrafficRoute"]["listenerArns"], pair["testTrafficRoute"]["listenerArns"]
        return Plan(ecs_service["clusterName"], ecs_service["serviceName"], [g["TargetGroupArn"] for g in groups],
                    production, test, target["TaskDefinition"], target["LoadBalancerInfo"]["ContainerName"],
                    int(target["LoadBalancerInfo"]["ContainerPort"]), hooks)

    def run(self, deployment_id: str) -> Deployment:
        plan = self.plan(deployment_id)
        cluster, service_name = plan.cluster, plan.service
        (service,) = self.ecs.describe_services(cluster=cluster, services=[service_name])["services"]
        (original,) = service["taskSets"]  # a second one: a deployment is under way
        live = original["loadBalancers"][0]["targetGroupArn"]
        (other,) = [g for g in plan.target_groups if g != live]
        deployment = Deployment(deployment_id, original, {})

        self._hook(deployment, "BeforeInstall", plan.hooks)
        # Install
        replacement = self.ecs.create_task_set(
            cluster=cluster, service=service_name, taskDefinition=plan.task_definition, externalId=deployment_id,
            networkConfiguration=service["networkConfiguration"], launchType=service["launchType"],
            loadBalancers=[{"targetGroupArn": other, "containerName": plan.container,
                            "containerPort": plan.container_port}],
            scale={"value": 100.0, "unit": "PERCENT"})["taskSet"]
        deployment.replacement = replacement
        image = self.image(plan.task_definition, plan.container)
        for task in self.tasks(cluster, replacement):
            self.alb.task_started(self.task_ip(task), image)
        self._hook(deployment, "AfterInstall", plan.hooks)
        self._forward(plan.test_listener, other, live)  # AllowTestTraffic
        self._hook(deployment, "AfterAllowTestTraffic", plan.hooks)
        self._hook(deployment, "BeforeAllowTraffic", plan.hooks)
        self._forward(plan.production_listener, other, live)  # AllowTraffic
        self._hook(deployment, "AfterAllowTraffic", plan.hooks)
        # End: the replacement serves; after the termination wait the original goes.
        self.ecs.update_service_primary_task_set(cluster=cluster, service=service_name,
                                                 primaryTaskSet=replacement["taskSetArn"])
        stopping = self.tasks(cluster, original)
        self.ecs.delete_task_set(cluster=cluster, service=service_name, taskSet=original["taskSetArn"])
        for task in stopping:
            self.alb.task_stopped(self.task_ip(task))
        return deployment
