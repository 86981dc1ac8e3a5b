"""A later rollout or deploy of the service stack keeps Keycloak on the image the pipeline deployed (issue 13,
item 3).

On the emulator: network, data, edge and service deploy as plain stacks; the pipeline's ECS action is done the
way AWS documents it (``ecs_standard_deploy`` of tests/emulator/pipeline_actions.py: a copy of the service's
revision with the image of imagedefinitions.json, then UpdateService); Keycloak's size changes in the parameters
file and the service stack is deployed again. The new revision keeps the pipeline's image and takes the new size.
Without the live read the same update puts OpenRemote's image back (the themes gone until the next pipeline run),
which the control test shows.
"""

from __future__ import annotations

import io
import json

import pytest

from herd_cfn import names
from herd_cfn.build import artifacts
from herd_cfn.operations import keycloak_image
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.deploy import Target, deploy
from herd_cfn.operations.local import EMULATOR_ROLE_NAME
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.waiting import EMULATOR_POLLING
from herd_cfn.templates import registry
from tests.emulator.pipeline_actions import ecs_standard_deploy
from tests.rollout_support import DEV, REGION, set_env_value, use_emulator_certificate

S, D = names.Service, names.Data


def _context(url: str) -> AwsContext:
    return AwsContext(endpoint_url=url, role_name=EMULATOR_ROLE_NAME, polling=EMULATOR_POLLING)


def _client(ctx: AwsContext, service: str):
    return ctx.client(ctx.session(DEV, REGION), service)


def _keycloak_task(ctx: AwsContext) -> dict:
    ecs = _client(ctx, "ecs")
    (service,) = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.KEYCLOAK_SERVICE_NAME])["services"]
    return ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]


def _image(task: dict) -> str:
    return next(c["image"] for c in task["containerDefinitions"] if c["name"] == S.KEYCLOAK_CONTAINER)


def _pipeline_image(ctx: AwsContext) -> str:
    exports = {e["Name"]: e["Value"] for e in _client(ctx, "cloudformation").list_exports()["Exports"]}
    return f"{exports[names.export_name(names.DATA, D.OUT_KEYCLOAK_ECR_REPOSITORY_URI)]}:0123456789ab"


def _ecs_action(ctx: AwsContext, image: str) -> None:
    """What CodePipeline's ECS action does with the buildspec's imagedefinitions.json for ``image``."""
    ecs_standard_deploy(_client(ctx, "ecs"), S.CLUSTER_NAME, S.KEYCLOAK_SERVICE_NAME,
                        json.dumps([{"name": S.KEYCLOAK_CONTAINER, "imageUri": image}]))


def _deploy_service(ctx: AwsContext, project_dir) -> str:
    stream = io.StringIO()
    service = registry.get(names.SERVICE)
    target = Target("dev", DEV, REGION, names.stack_name(names.SERVICE), service.tags("dev"))
    deploy(ctx, target, artifacts.load(project_dir / "output", service, "dev"), Progress(stream))
    return stream.getvalue()


def _more_keycloak_memory(project_dir) -> int:
    settings = json.loads((project_dir / "parameters" / "dev.json").read_text())["service"]["keycloak"]
    memory = settings["memory"] + 1024
    set_env_value(project_dir, "dev", "service", "keycloak", {**settings, "memory": memory})
    return memory


@pytest.fixture
def service_stack(aws, project_copy):
    ctx = _context(aws.endpoint_url)
    use_emulator_certificate(ctx, project_copy)
    cfn = _client(ctx, "cloudformation")
    for stack in (names.NETWORK, names.DATA, names.EDGE, names.SERVICE):
        built = artifacts.load(project_copy / "output", registry.get(stack), "dev")
        cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=built.template_body,
                         Parameters=built.parameter_list(), Capabilities=["CAPABILITY_NAMED_IAM"])
    return ctx, project_copy


def test_before_the_first_pipeline_run_the_parameters_files_image_stands(service_stack):
    ctx, project_dir = service_stack
    filed = artifacts.load(project_dir / "output", registry.get(names.SERVICE), "dev").parameters[S.KEYCLOAK_IMAGE]
    assert _image(_keycloak_task(ctx)) == filed
    assert keycloak_image.pipeline_image(ctx, DEV, REGION) is None
    log = _deploy_service(ctx, project_dir)
    assert "kept" not in log


def test_deploy_keeps_the_pipelines_keycloak_image_through_a_configuration_change(service_stack):
    ctx, project_dir = service_stack
    image = _pipeline_image(ctx)
    _ecs_action(ctx, image)
    assert keycloak_image.pipeline_image(ctx, DEV, REGION) == image
    filed = artifacts.load(project_dir / "output", registry.get(names.SERVICE), "dev").parameters[S.KEYCLOAK_IMAGE]
    memory = _more_keycloak_memory(project_dir)
    log = _deploy_service(ctx, project_dir)
    assert f"{S.KEYCLOAK_IMAGE}={image} (instead of the parameters file's {filed})" in log
    task = _keycloak_task(ctx)
    assert (_image(task), task["memory"]) == (image, str(memory)), "the new size, still the pipeline's image"


def test_without_the_live_read_the_update_puts_openremotes_image_back(service_stack, monkeypatch):
    """The failure the live read prevents, on the same emulator: the test above can fail."""
    ctx, project_dir = service_stack
    monkeypatch.setattr(keycloak_image, "keep_pipeline_image", lambda ctx, account, region, built, log, where: built)
    _ecs_action(ctx, _pipeline_image(ctx))
    _more_keycloak_memory(project_dir)
    _deploy_service(ctx, project_dir)
    filed = artifacts.load(project_dir / "output", registry.get(names.SERVICE), "dev").parameters[S.KEYCLOAK_IMAGE]
    assert _image(_keycloak_task(ctx)) == filed  # OpenRemote's image again (through the Docker Hub cache)


def test_an_image_from_elsewhere_is_not_kept(service_stack):
    """Someone pointed Keycloak at another image by hand: the parameters file wins, as before."""
    ctx, _ = service_stack
    _ecs_action(ctx, "quay.io/keycloak/keycloak:26.0")
    assert keycloak_image.pipeline_image(ctx, DEV, REGION) is None


def test_other_stacks_pass_through_untouched(tmp_path):
    built = artifacts.BuiltStack(registry.get(names.EDGE), "", {"A": "b"}, tmp_path, tmp_path)
    assert keycloak_image.keep_pipeline_image(None, DEV, REGION, built, print, "x") is built


def test_no_cluster_yet_means_no_pipeline_image(aws):
    """The first rollout of the service stack: the data stack's export exists, the cluster does not."""
    ctx = _context(aws.endpoint_url)
    assert keycloak_image.running_image(_client(ctx, "ecs")) is None


def test_the_printed_aws_cli_command_for_service_says_to_keep_the_pipelines_image(project_copy, capsys):
    """The offline command cannot read Keycloak's revision: it says which value to set, and from where."""
    from herd_cfn import cli

    assert cli.main(["deploy", "--print-aws-cli", "--env", "dev", "--stack", names.SERVICE,
                     "--parameters-dir", str(project_copy / "parameters"),
                     "--output-dir", str(project_copy / "output")]) == 0
    (note,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("# Once the pipeline")]
    assert S.KEYCLOAK_IMAGE in note and "describe-task-definition" in note
