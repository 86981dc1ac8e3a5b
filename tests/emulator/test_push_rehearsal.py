"""A push rehearsed end to end on the emulator: two git pushes of the application, each built by the deployed
CodeBuild project's buildspec, the manager deployed blue/green by CodeDeploy with the real hook functions and
Keycloak by the pipeline's ECS action.

Every stack of output/ (rolled out as a StackSet) is deployed unchanged to the dev account of one emulator for the
module. Then, per push (tests/emulator/pipeline_actions.py): the Build action runs the buildspec in bash with a
fake ``docker`` whose push puts the image's manifest into the emulator's ECR (the manager's, the Keycloak image,
the build cache) and the real AWS CLI against the emulator, and hands over the output artifacts Build and
KeycloakImage (the buildspec's secondary artifacts of those names); the CodeDeployToECS action registers
taskdef.json and fills the appspec's placeholder; the ECS action registers a revision of the Keycloak service's
task definition with the image of imagedefinitions.json and updates the service to it; a test driver plays
CodeDeploy's ECS lifecycle and Lambda's Invoke of the appspec's hook functions, whose code is
herd_cfn/templates/lambdas/ unchanged (tests/emulator/codedeploy_driver.py says which parts it plays); the ALB's
listeners, the manager tasks behind them and OpenRemote's API are played on 127.0.0.1 by the emulator's routing
state (tests/emulator/alb_network.py).

What this cannot show: a real docker build of the application and of the Keycloak image (and BuildKit's cache),
real CodeDeploy (its waits, its rollback, its own calls to ECS), ECS's rolling deployment of Keycloak, Lambda's
runtime, and the network between them; see README "What cannot be tested here".
"""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import yaml

from herd_cfn import names
from herd_cfn.emulator.server import LocalAws
from herd_cfn.templates.registry import load_project, stackset_stacks
from tests.conftest import ROOT
from tests.emulator.alb_network import Alb
from tests.emulator.codedeploy_driver import CodeDeployDriver, LambdaPlayer
from tests.emulator.deployment import deploy
from tests.emulator.pipeline_actions import Pipeline
from tests.template_support import parameter_values
from tests.templates.test_lambda_before_allow_traffic import make_pki

E, D, P = names.Edge, names.Data, names.Pipeline
ENV = "dev"
COMMITS = ("1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5")
DOCKERFILE = "FROM openremote/manager:1.28.1\nCOPY deployment/build/image /deployment\n# commit {commit}\n"


class Rehearsal:
    """The deployed environment, the players, and what was observed after each push."""

    def __init__(self, deployed, pipeline: Pipeline, alb: Alb, lambdas: LambdaPlayer) -> None:
        self.deployed, self.pipeline, self.alb, self.lambdas = deployed, pipeline, alb, lambdas
        self.driver = CodeDeployDriver(deployed, lambdas, alb)
        edge = deployed.outputs(names.EDGE)
        elbv2 = deployed.client("elbv2")
        self.groups = {
            "blue": edge[E.OUT_BLUE_TARGET_GROUP_ARN],
            "green": elbv2.describe_target_groups(Names=[edge[E.OUT_GREEN_TARGET_GROUP_NAME]])["TargetGroups"][0][
                "TargetGroupArn"],
            "mqtt": edge[E.OUT_MQTT_TARGET_GROUP_ARN],
        }
        self.listeners = {"production": edge[E.OUT_HTTPS_LISTENER_ARN], "test": edge[E.OUT_TEST_LISTENER_ARN]}
        self.pushes: list[dict] = []
        self.initial: dict = {}  # before the first push

    def targets(self, group: str) -> list[tuple[str, int]]:
        health = self.deployed.client("elbv2").describe_target_health(TargetGroupArn=self.groups[group])
        return sorted((d["Target"]["Id"], d["Target"]["Port"]) for d in health["TargetHealthDescriptions"])

    def forwards_to(self, listener: str) -> str:
        (found,) = self.deployed.client("elbv2").describe_listeners(ListenerArns=[self.listeners[listener]])[
            "Listeners"]
        groups = found["DefaultActions"][-1]["ForwardConfig"]["TargetGroups"]
        weights = {g["TargetGroupArn"]: g["Weight"] for g in groups}
        (live,) = [name for name, arn in self.groups.items() if weights.get(arn) == 100]
        return live

    def task_sets(self) -> list[dict]:
        service = self.deployed.outputs(names.SERVICE)
        (found,) = self.deployed.client("ecs").describe_services(
            cluster=service[names.Service.OUT_CLUSTER_NAME],
            services=[service[names.Service.OUT_MANAGER_SERVICE_NAME]])["services"]
        return found["taskSets"]

    def keycloak_task_definition(self) -> str:
        """The task definition the Keycloak service runs now."""
        cluster = self.deployed.outputs(names.SERVICE)[names.Service.OUT_CLUSTER_NAME]
        (found,) = self.deployed.client("ecs").describe_services(
            cluster=cluster, services=[names.Service.KEYCLOAK_SERVICE_NAME])["services"]
        return found["taskDefinition"]

    def image_digest(self, tag: str) -> str:
        """The digest of ``tag`` in the manager's repository."""
        name = self.deployed.outputs(names.DATA)[D.OUT_ECR_REPOSITORY_NAME]
        (image,) = self.deployed.client("ecr").describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])[
            "imageDetails"]
        return image["imageDigest"]

    def push(self, commit: str, workspace) -> dict:
        checkout = workspace / commit[:12]
        (checkout / "deployment/build/image").mkdir(parents=True)
        (checkout / "Dockerfile").write_text(DOCKERFILE.format(commit=commit))
        log = self.pipeline.sandbox / "docker.log"
        log.write_text("")
        requests, invocations = len(self.alb.requests), len(self.lambdas.invocations)
        build = self.pipeline.build(commit, checkout)
        assert build.result.returncode == 0, build.result.stderr
        request = self.pipeline.deploy(build)
        keycloak = self.pipeline.deploy_ecs(build)  # beside the manager's action (same run order)
        deployment = self.driver.run(request.deployment_id)
        observed = {
            "commit": commit, "checkout": checkout, "build": build, "request": request, "deployment": deployment,
            "keycloak": keycloak, "keycloak_service": self.keycloak_task_definition(),
            "build_cache": self.image_digest(names.Data.BUILD_CACHE_TAG),
            "docker": log.read_text().splitlines(), "requests": self.alb.requests[requests:],
            "invocations": self.lambdas.invocations[invocations:], "task_sets": self.task_sets(),
            "production": self.forwards_to("production"), "test": self.forwards_to("test"),
            **{group: self.targets(group) for group in self.groups},
        }
        self.pushes.append(observed)
        return observed


def _schedule_targets(deployed) -> list[str]:
    """The Lambda functions the account's scheduled EventBridge rules invoke."""
    events = deployed.client("events")
    return [t["Arn"] for rule in events.list_rules()["Rules"] if rule.get("ScheduleExpression")
            for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"] if ":lambda:" in t["Arn"]]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    server = LocalAws().start()
    alb = None
    try:
        server.reset()  # moto's state is per process: forget what other test modules of this worker left behind
        env = load_project(ROOT / "parameters").environment(ENV)
        deployed = deploy(server.endpoint_url, env, [s.name for s in stackset_stacks()])
        pki = make_pki(tmp_path_factory.mktemp("pki"), parameter_values(names.EDGE, ENV)[E.DOMAIN])
        secret = deployed.client("secretsmanager").get_secret_value(SecretId=deployed.outputs(names.DATA)[
            D.OUT_ADMIN_SECRET_ARN])
        alb = Alb(deployed, deployed.outputs(names.EDGE)[E.OUT_LOAD_BALANCER_ARN], pki,
                  json.loads(secret["SecretString"])["password"])
        lambdas = LambdaPlayer(deployed, alb, str(pki / "ca.pem"))
        workspace = tmp_path_factory.mktemp("pushes")
        pipeline = Pipeline(deployed, deployed.outputs(names.PIPELINE)[P.OUT_PIPELINE_NAME], workspace / "codebuild")
        result = Rehearsal(deployed, pipeline, alb, lambdas)
        # Before any push: the service's first task set runs the stack's public image (ECS starts it), and the
        # reconcile function's schedule has pointed MQTT at it.
        (first,) = result.task_sets()
        result.initial["task_set"] = first
        for task in result.driver.tasks(deployed.outputs(names.SERVICE)[names.Service.OUT_CLUSTER_NAME], first):
            alb.task_started(result.driver.task_ip(task), result.driver.image(first["taskDefinition"], "manager"))
        for function in _schedule_targets(deployed):
            lambdas.call(function, {"source": "aws.events", "detail-type": "Scheduled Event"})
        result.initial["mqtt"] = result.targets("mqtt")
        result.initial["blue"] = result.targets("blue")
        result.initial["keycloak"] = result.keycloak_task_definition()
        for commit in COMMITS:
            result.push(commit, workspace)
        yield result
    finally:
        if alb is not None:
            alb.close()
        server.stop()


def _ip(pair: list[tuple[str, int]]) -> str:
    (only,) = pair
    return only[0]


# --- before the first push ------------------------------------------------------------------------------------

def test_before_any_push_blue_serves_and_mqtt_follows_it(rehearsal):
    (blue_task,) = rehearsal.initial["blue"]
    assert blue_task[1] == 8080
    assert rehearsal.initial["mqtt"] == [(blue_task[0], 1883)], "the reconcile schedule pointed MQTT at blue"
    family = names.Service.MANAGER_TASK_FAMILY
    assert rehearsal.initial["task_set"]["taskDefinition"].endswith(f":task-definition/{family}:1")


# --- the build --------------------------------------------------------------------------------------------------

def test_the_build_logs_in_builds_and_pushes_the_commits_image(rehearsal):
    first = rehearsal.pushes[0]
    repository = rehearsal.deployed.outputs(names.DATA)[D.OUT_ECR_REPOSITORY_URI]
    image = f"{repository}:{first['commit'][:12]}"
    assert first["request"].image_uri == image
    registry = repository.split("/")[0]
    mirror = f"{registry}/{names.Data.DOCKER_HUB_CACHE_PREFIX}"  # dev pulls Docker Hub through ECR's cache
    cache = f"{repository}:{names.Data.BUILD_CACHE_TAG}"
    calls = first["docker"]
    assert calls[:3] == [
        f"login --username AWS --password-stdin {registry}",
        "buildx create --name herd --driver docker-container "
        f"--driver-opt image={mirror}/moby/buildkit:v0.32.2 --use --bootstrap",
        f"buildx build --file Dockerfile --tag {image} --build-arg GIT_COMMIT={first['commit']} "
        f"--build-arg DOCKER_HUB_MIRROR={mirror} --cache-from type=registry,ref={cache} "
        f"--cache-to type=registry,ref={cache},mode=max,image-manifest=true,oci-mediatypes=true "
        "--provenance=false --push .",
    ]
    keycloak = rehearsal.deployed.outputs(names.DATA)[D.OUT_KEYCLOAK_ECR_REPOSITORY_URI]
    assert calls[3].startswith(f"buildx build --file - --tag {keycloak}:{first['commit'][:12]} ")
    assert len(calls) == 4, "buildx pushes: no separate docker push"


def test_each_push_put_the_built_image_into_ecr(rehearsal):
    ecr = rehearsal.deployed.client("ecr")
    name = rehearsal.deployed.outputs(names.DATA)[D.OUT_ECR_REPOSITORY_NAME]
    images = {i["imageTags"][0]: i for i in ecr.describe_images(repositoryName=name)["imageDetails"]}
    assert set(images) == {c[:12] for c in COMMITS} | {names.Data.BUILD_CACHE_TAG}
    for push in rehearsal.pushes:
        tag = push["commit"][:12]
        (image,) = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": tag}])["images"]
        manifest = json.loads(image["imageManifest"])
        # the fake's one layer is the commit's Dockerfile, its config names the commit (--build-arg GIT_COMMIT)
        dockerfile = (push["checkout"] / "Dockerfile").read_bytes()
        assert manifest["layers"][0]["digest"] == "sha256:" + hashlib.sha256(dockerfile).hexdigest()
        # moto derives the digest from the layers (AWS: from the manifest's bytes): compare with docker's report
        assert f"{tag}: digest: {images[tag]['imageDigest']} size: " in push["build"].result.stdout


# --- the deploy action ------------------------------------------------------------------------------------------

def test_taskdef_registers_a_revision_with_the_pushed_image(rehearsal):
    ecs = rehearsal.deployed.client("ecs")
    for number, push in enumerate(rehearsal.pushes, start=2):  # revision 1 is the service stack's
        template = json.loads(push["build"].artifacts[P.BUILD_ARTIFACT]["taskdef.json"])
        assert [c["image"] for c in template["containerDefinitions"] if c["name"] == "manager"] == ["<IMAGE1_NAME>"]
        registered = ecs.describe_task_definition(taskDefinition=push["request"].task_definition_arn)["taskDefinition"]
        assert registered["revision"] == number
        manager = [c for c in registered["containerDefinitions"] if c["name"] == "manager"]
        assert manager[0]["image"] == push["request"].image_uri
        # everything else is the newest revision's, as the buildspec read it
        assert (registered["cpu"], registered["memory"]) == (template["cpu"], template["memory"])


def test_the_appspec_placeholder_is_filled_with_the_registered_revision(rehearsal):
    for push in rehearsal.pushes:
        produced = push["build"].artifacts[P.BUILD_ARTIFACT]["appspec.yaml"]
        assert produced.count("<TASK_DEFINITION>") == 1
        assert yaml.safe_load(produced) == yaml.safe_load((ROOT / "appspec.yaml").read_text())
        revision = rehearsal.deployed.client("codedeploy").get_deployment(deploymentId=push["request"].deployment_id)[
            "deploymentInfo"]["revision"]
        deployed = yaml.safe_load(revision["appSpecContent"]["content"])
        properties = deployed["Resources"][0]["TargetService"]["Properties"]
        assert properties["TaskDefinition"] == push["request"].task_definition_arn
        assert "<" not in revision["appSpecContent"]["content"]


def test_the_build_cache_moved_with_each_push(rehearsal):
    """BuildKit exports a new cache manifest under the one mutable tag per build (the fake: one per Dockerfile)."""
    first, second = (push["build_cache"] for push in rehearsal.pushes)
    assert first != second
    assert rehearsal.image_digest(names.Data.BUILD_CACHE_TAG) == second


# --- the Keycloak deploy action (ECS, rolling) ------------------------------------------------------------------

def _keycloak_image(task: dict) -> str:
    (image,) = [c["image"] for c in task["containerDefinitions"] if c["name"] == names.Service.KEYCLOAK_CONTAINER]
    return image


def test_each_push_deploys_the_keycloak_image_from_the_builds_imagedefinitions(rehearsal):
    ecs, ecr = rehearsal.deployed.client("ecs"), rehearsal.deployed.client("ecr")
    repository = rehearsal.deployed.outputs(names.DATA)[D.OUT_KEYCLOAK_ECR_REPOSITORY_URI]
    previous = ecs.describe_task_definition(taskDefinition=rehearsal.initial["keycloak"])["taskDefinition"]
    assert previous["family"] == names.Service.KEYCLOAK_TASK_FAMILY
    for push in rehearsal.pushes:
        image = f"{repository}:{push['commit'][:12]}"
        produced = push["build"].artifacts[P.KEYCLOAK_ARTIFACT][P.IMAGE_DEFINITIONS_FILE]
        assert json.loads(produced) == [{"name": names.Service.KEYCLOAK_CONTAINER, "imageUri": image}]
        assert push["keycloak_service"] == push["keycloak"], "the service runs the action's revision"
        task = ecs.describe_task_definition(taskDefinition=push["keycloak"])["taskDefinition"]
        assert (task["family"], task["revision"]) == (previous["family"], previous["revision"] + 1)
        assert _keycloak_image(task) == image
        # the rest is the revision the service ran before the action
        assert (task["cpu"], task["memory"], task["taskRoleArn"]) == (
            previous["cpu"], previous["memory"], previous["taskRoleArn"])
        assert [c["name"] for c in task["containerDefinitions"]] == [
            c["name"] for c in previous["containerDefinitions"]]
        (found,) = ecr.describe_images(repositoryName=repository.split("/", 1)[1],
                                       imageIds=[{"imageTag": push["commit"][:12]}])["imageDetails"]
        assert found["imageDigest"].startswith("sha256:")
        previous = task


# --- the blue/green deployments ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("push", "serving", "idle"), [(0, "green", "blue"), (1, "blue", "green")])
def test_each_push_moves_both_listeners_and_mqtt_to_the_new_task(rehearsal, push, serving, idle):
    observed = rehearsal.pushes[push]
    deployment = observed["deployment"]
    assert deployment.hooks == dict.fromkeys(("BeforeInstall", "BeforeAllowTraffic", "AfterAllowTraffic"),
                                             "Succeeded")
    (task_set,) = observed["task_sets"]  # the original was deleted at the end
    assert task_set["id"] == deployment.replacement["id"] and task_set["status"] == "PRIMARY"
    assert task_set["taskDefinition"] == observed["request"].task_definition_arn
    assert task_set["externalId"] == deployment.deployment_id
    assert task_set["loadBalancers"][0]["targetGroupArn"] == rehearsal.groups[serving]
    assert (observed["production"], observed["test"]) == (serving, serving)
    new_ip = _ip(observed[serving])
    assert observed[serving] == [(new_ip, 8080)] and observed[idle] == []
    assert observed["mqtt"] == [(new_ip, 1883)], "the NLB's MQTT target is the new task"
    before = rehearsal.pushes[push - 1][idle] if push else rehearsal.initial["blue"]
    assert new_ip != _ip(before)


def _hooks(push: dict) -> dict[str, str]:
    """{lifecycle event: function} of the appspec the deployment ran."""
    content = yaml.safe_load(push["request"].appspec)
    return {event: function for entry in content["Hooks"] for event, function in entry.items()}


@pytest.mark.parametrize("push", [0, 1])
def test_before_allow_traffic_probed_the_replacement_through_the_test_listener(rehearsal, push):
    observed = rehearsal.pushes[push]
    new_ip = _ip(observed["mqtt"])
    test_port = int(rehearsal.deployed.outputs(names.EDGE)[E.OUT_TEST_LISTENER_PORT])
    probes = [r for r in observed["requests"] if r[3] == "/api/master/info"]
    assert probes == [(test_port, new_ip, "GET", "/api/master/info")]
    (hook,) = [i for i in observed["invocations"] if i.function == _hooks(observed)["BeforeAllowTraffic"]]
    assert hook.result == {"status": "Succeeded"}
    domain = parameter_values(names.EDGE, ENV)[E.DOMAIN]
    assert any(f"GET https://{domain}:{test_port}/api/master/info via " in line and line.endswith("HTTP 200")
               for line in hook.output)


@pytest.mark.parametrize("push", [0, 1])
def test_before_install_dumped_the_database_and_quiesced_through_the_old_manager(rehearsal, push):
    observed = rehearsal.pushes[push]
    deployment_id = observed["deployment"].deployment_id
    ecs = rehearsal.deployed.client("ecs")
    cluster = rehearsal.deployed.outputs(names.SERVICE)[names.Service.OUT_CLUSTER_NAME]
    dumps = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster, startedBy="herd-deploy-hooks")[
        "taskArns"])["tasks"]
    labels = [e["value"] for t in dumps for o in t["overrides"]["containerOverrides"] for e in o.get("environment", [])
              if e["name"] == "DUMP_LABEL"]
    assert deployment_id in labels and all(t["lastStatus"] == "STOPPED" for t in dumps)
    old_ip = _ip(rehearsal.pushes[push - 1]["mqtt"] if push else rehearsal.initial["mqtt"])
    new_ip = _ip(observed["mqtt"])
    writes = [(port, ip) for port, ip, method, _ in observed["requests"] if method == "PUT"]
    disabled = [w for w in writes if w[1] == old_ip]
    # Agents and rulesets were disabled through the manager that served (production listener, 443) before the new
    # task started, and re-enabled through the new one after traffic moved.
    assert disabled and writes == disabled + [(443, new_ip)] * len(disabled)
    assert set(disabled) == {(443, old_ip)}


def test_no_agent_or_ruleset_ever_ran_in_two_managers_and_all_run_again(rehearsal):
    platform = rehearsal.alb.platform
    assert platform.violations == []
    (running,) = platform.managers.values()  # the old tasks stopped at the end of each deployment
    assert running.name == _ip(rehearsal.pushes[-1]["mqtt"])
    assert running.agents == {"agentMaster1", "agentBuilding1"}
    bucket = rehearsal.deployed.outputs(names.PIPELINE)[P.OUT_ARTIFACT_BUCKET]
    assert rehearsal.deployed.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0, "record deleted"


def test_the_hooks_ran_in_order_and_after_allow_traffic_invoked_the_reconcile_function(rehearsal):
    for push in rehearsal.pushes:
        hooks = _hooks(push)
        configuration = rehearsal.deployed.client("lambda").get_function_configuration(
            FunctionName=hooks["AfterAllowTraffic"])
        reconcile = configuration["Environment"]["Variables"]["RECONCILE_FUNCTION"].rsplit(":", 1)[1]
        assert [i.function for i in push["invocations"]] == [
            hooks["BeforeInstall"], hooks["BeforeAllowTraffic"], hooks["AfterAllowTraffic"], reconcile]
        assert all(i.error is None for i in push["invocations"])
