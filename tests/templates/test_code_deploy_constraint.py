"""CloudFormation cannot change the task definition of an ECS service under the CODE_DEPLOY controller
("Unable to update task definition on services with a CODE_DEPLOY deployment controller"). The
service stack's answer: the manager service names its task definition by family only and depends on
nothing that carries the manager's configuration; the configuration lives in the separate task
definition resource of that family, whose new revisions the pipeline deploys.

These tests build two successive versions of the template (a manager setting changed in herd_cfn)
and check that the service resource stays byte-identical while the task definition changes, then
roll the same change out on moto (network, data, edge and service stacks of output/, unchanged, with
exports and imports).
"""

from __future__ import annotations

import json

import pytest

from herd_cfn import names
from herd_cfn.cli import build_templates_main
from herd_cfn.emulator.server import account_session
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks import service as service_stack
from herd_cfn.templates.stacks.service import plugins, tasks
from herd_cfn.templates.yaml_render import render_yaml
from tests.cli.test_plugin_settings import both, secret_arn
from tests.conftest import ROOT
from tests.template_support import imports, parameter_values
from tests.templates.test_data_stack import OUTPUT

S = names.Service
E = names.Edge
MANAGER_CONFIGURATION = {S.MANAGER_IMAGE, S.MANAGER_CPU, S.MANAGER_MEMORY, S.EMAIL_SECRET_ARN, S.SETUP_TYPE,
                         S.TIME_ZONE, S.DOMAIN, S.LOG_RETENTION, S.HAS_EMAIL}


def _changed_manager(original):
    """A later herd_cfn version: one more OR_* setting and a longer stop timeout for the manager."""
    def container() -> dict:
        settings = original()
        settings["Environment"] = [*settings["Environment"],
                                   tasks.ecs.Environment(Name="OR_WEBSERVER_DUMP_REQUESTS", Value="true")]
        settings["StopTimeout"] = 90
        return settings

    return container


def _build() -> dict:
    return json.loads(json.dumps(service_stack.STACK.template().to_dict()))


@pytest.fixture
def versions(monkeypatch) -> tuple[dict, dict]:
    before = _build()
    monkeypatch.setattr(tasks, "manager_container", _changed_manager(tasks.manager_container))
    return before, _build()


def test_configuration_change_leaves_the_service_byte_identical(versions):
    before, after = versions
    resource = S.MANAGER_SERVICE
    assert json.dumps(before["Resources"][resource], sort_keys=True) == \
        json.dumps(after["Resources"][resource], sort_keys=True)
    assert before["Resources"][S.MANAGER_TASK] != after["Resources"][S.MANAGER_TASK]
    (container,) = after["Resources"][S.MANAGER_TASK]["Properties"]["ContainerDefinitions"]
    assert {"Name": "OR_WEBSERVER_DUMP_REQUESTS", "Value": "true"} in container["Environment"]


def _references(node) -> set[str]:
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::If":
                found.add(value[0])
                found |= _references(value[1:])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                if not isinstance(value, str):
                    found |= _references(value[1])
            else:
                found |= _references(value)
    return found


def test_service_properties_depend_on_no_manager_parameter():
    """Parameter changes (image, CPU, memory, email secret...) cannot reach the service resource either."""
    template = _build()
    service = template["Resources"][S.MANAGER_SERVICE]
    referenced = _references(service["Properties"])
    assert referenced == {S.CLUSTER, S.MANAGER_SG}
    assert not referenced & set(template["Parameters"])
    # The blue target group, the subnets and the EFS client group come from other stacks, which a
    # manager setting does not touch; an export cannot even change while this stack imports it.
    assert imports(service["Properties"]) == {
        names.export_name(names.EDGE, E.OUT_BLUE_TARGET_GROUP_ARN),
        names.export_name(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS),
        names.export_name(names.DATA, names.Data.OUT_EFS_CLIENT_SECURITY_GROUP)}
    for resource in referenced:
        # What the service points at keeps its identity when the manager's configuration changes.
        assert not _references(template["Resources"][resource].get("Properties", {})) & MANAGER_CONFIGURATION
    # Ordering: the revision this template registers exists, as the family's newest, before the service.
    assert S.MANAGER_TASK in service["DependsOn"]
    assert service["Properties"]["TaskDefinition"] == S.MANAGER_TASK_FAMILY
    assert _references(template["Resources"][S.MANAGER_TASK]) >= {S.MANAGER_IMAGE, S.MANAGER_CPU, S.MANAGER_MEMORY}


# --- on moto ---------------------------------------------------------------------------------------

def _create(cfn, stack: str, body: str, parameters: dict[str, str]) -> dict:
    cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    return cfn.describe_stacks(StackName=names.stack_name(stack))["Stacks"][0]


@pytest.fixture
def deployed(aws):
    """network, data, edge and service as output/ has them, with dev's parameters (the emulator's fixes
    make moto create them as AWS does; the edge stack's hosted zone is the account's, made here)."""
    from herd_cfn.emulator.server import seed_hosted_zone
    from herd_cfn.templates.registry import load_project

    env = load_project(OUTPUT.parent / "parameters").environment("dev")
    session = account_session(aws.endpoint_url, env.account_id, env.region)
    cfn = session.client("cloudformation", endpoint_url=aws.endpoint_url)
    edge_parameters = parameter_values(names.EDGE, env.name)
    seed_hosted_zone(env.account_id, edge_parameters[E.HOSTED_ZONE_ID], edge_parameters[E.DOMAIN])
    stacks = {}
    for stack in (names.NETWORK, names.DATA, names.EDGE, names.SERVICE):
        body = (OUTPUT / "templates" / f"{stack}.yaml").read_text()
        stacks[stack] = _create(cfn, stack, body, parameter_values(stack, env.name))
        assert stacks[stack]["StackStatus"] == "CREATE_COMPLETE"
    return {"session": session, "cfn": cfn, "stack": stacks[names.SERVICE], "edge": stacks[names.EDGE],
            "parameters": parameter_values(names.SERVICE, env.name), "endpoint": aws.endpoint_url}


def _client(deployed, name: str):
    return deployed["session"].client(name, endpoint_url=deployed["endpoint"])


def _outputs(stack: dict) -> dict[str, str | None]:
    return {o["OutputKey"]: o.get("OutputValue") for o in stack["Outputs"]}


def test_edge_stack_creates_on_moto_unchanged(deployed):
    assert deployed["edge"]["StackStatus"] == "CREATE_COMPLETE"
    outputs = _outputs(deployed["edge"])
    elb = _client(deployed, "elbv2")
    (group,) = elb.describe_target_groups(TargetGroupArns=[outputs[E.OUT_MQTT_TARGET_GROUP_ARN]])["TargetGroups"]
    assert (group["Protocol"], group["Port"], group["TargetType"]) == ("TCP", 1883, "ip")
    listeners = elb.describe_listeners(LoadBalancerArn=outputs[E.OUT_LOAD_BALANCER_ARN])["Listeners"]
    assert sorted(listener["Port"] for listener in listeners) == [80, 443, 8443]
    # The full names the service stack's alarms use as CloudWatch dimensions, from the real ARNs.
    (blue,) = elb.describe_target_groups(Names=[outputs[E.OUT_BLUE_TARGET_GROUP_NAME]])["TargetGroups"]
    assert blue["TargetGroupArn"].endswith(":" + outputs[E.OUT_BLUE_TARGET_GROUP_FULL_NAME])
    assert outputs[E.OUT_BLUE_TARGET_GROUP_ARN] == blue["TargetGroupArn"]
    assert outputs[E.OUT_LOAD_BALANCER_ARN].endswith(":loadbalancer/" + outputs[E.OUT_LOAD_BALANCER_FULL_NAME])


def test_service_stack_creates_on_moto_unchanged(deployed):
    assert deployed["stack"]["StackStatus"] == "CREATE_COMPLETE"
    outputs = _outputs(deployed["stack"])
    exports = {e["Name"]: e.get("Value") for e in deployed["cfn"].list_exports()["Exports"]}
    assert exports[names.export_name(names.SERVICE, S.OUT_MANAGER_TASK_FAMILY)] == S.MANAGER_TASK_FAMILY
    assert outputs[S.OUT_CLUSTER_NAME] == S.CLUSTER_NAME
    # Ref of an AWS::CloudWatch::Alarm is the alarm's name.
    assert outputs[S.OUT_ROLLBACK_ALARM_NAMES].split(",") == [
        "herd-manager-unhealthy-blue", "herd-manager-unhealthy-green", "herd-manager-5xx"]

    ecs = _client(deployed, "ecs")
    services = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[
        S.POSTGRES_SERVICE_NAME, S.KEYCLOAK_SERVICE_NAME, S.MANAGER_SERVICE_NAME])["services"]
    by_name = {s["serviceName"]: s for s in services}
    assert by_name[S.MANAGER_SERVICE_NAME]["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert by_name[S.POSTGRES_SERVICE_NAME]["desiredCount"] == 1
    # The family-only task definition resolves to the revision this stack registered (DependsOn order).
    assert by_name[S.MANAGER_SERVICE_NAME]["taskDefinition"].endswith(f"/{S.MANAGER_TASK_FAMILY}:1")
    # The edge stack's values reached the service stack through the imports.
    edge = _outputs(deployed["edge"])
    ec2 = _client(deployed, "ec2")
    (manager_group,) = ec2.describe_security_groups(GroupIds=[outputs[S.OUT_MANAGER_SECURITY_GROUP]])["SecurityGroups"]
    sources = {(pair["GroupId"], rule["FromPort"]) for rule in manager_group["IpPermissions"]
               for pair in rule["UserIdGroupPairs"]}
    assert sources == {(edge[E.OUT_ALB_SECURITY_GROUP], S.MANAGER_HTTP_PORT),
                       (edge[E.OUT_NLB_SECURITY_GROUP], S.MANAGER_MQTT_PORT)}
    # The alarms' imported dimensions are the edge stack's full names.
    alarms = {a["AlarmName"]: a for a in _client(deployed, "cloudwatch").describe_alarms()["MetricAlarms"]}
    dimensions = {d["Name"]: d["Value"] for d in alarms["herd-manager-unhealthy-blue"]["Dimensions"]}
    assert dimensions == {"TargetGroup": edge[E.OUT_BLUE_TARGET_GROUP_FULL_NAME],
                          "LoadBalancer": edge[E.OUT_LOAD_BALANCER_FULL_NAME]}


def test_update_on_moto(deployed, monkeypatch):
    """A herd_cfn change to the manager plus a bigger manager size, rolled out as a stack update."""
    cfn, ecs = deployed["cfn"], _client(deployed, "ecs")
    before = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    monkeypatch.setattr(tasks, "manager_container", _changed_manager(tasks.manager_container))
    # The committed parameters' template (with their plugin settings), as output/ has it.
    stack = service_stack.STACK.for_project(load_project(ROOT / "parameters"))
    changed = render_yaml(json.loads(json.dumps(stack.template().to_dict())))
    parameters = {**deployed["parameters"], S.MANAGER_CPU: "2048", S.MANAGER_MEMORY: "4096"}
    cfn.update_stack(StackName=names.stack_name(names.SERVICE), TemplateBody=changed,
                     Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    stack = cfn.describe_stacks(StackName=names.stack_name(names.SERVICE))["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    newest = ecs.describe_task_definition(taskDefinition=S.MANAGER_TASK_FAMILY)["taskDefinition"]
    assert newest["revision"] == 2, "the changed configuration is the family's newest revision"
    assert (newest["cpu"], newest["memory"]) == ("2048", "4096")
    (container,) = newest["containerDefinitions"]
    assert {"name": "OR_WEBSERVER_DUMP_REQUESTS", "value": "true"} in container["environment"]
    assert container["stopTimeout"] == 90
    after = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    assert after["taskDefinition"] == before["taskDefinition"], "the running service is the pipeline's to change"


# --- plugin settings (parameters/<env>.json service.manager.environment/secrets) ---------------------

def _with_plugin_settings(params, secret: str | None = None) -> None:
    """A variable and a secret added to the manager in every environment (dev may name a real secret)."""
    both("manager", "environment", HERD_PLUGIN_LOG_LEVEL=lambda env: {"dev": "DEBUG", "prod": "INFO"}[env])(params)
    both("manager", "secrets", ACME_API_KEY=lambda env: (secret if secret and env == "dev" else secret_arn(env))
         + ":api_key::")(params)


def _project_template(params) -> dict:
    return json.loads(json.dumps(service_stack.STACK.for_project(load_project(params)).template_dict()))


def test_plugin_setting_leaves_the_service_byte_identical(project_copy):
    """Adding a variable in dev (and, as the rule wants, prod) registers a new task definition revision
    and leaves the CODE_DEPLOY service resource exactly as it was."""
    before = _project_template(ROOT / "parameters")
    _with_plugin_settings(project_copy / "parameters")
    after = _project_template(project_copy / "parameters")
    assert json.dumps(before["Resources"][S.MANAGER_SERVICE], sort_keys=True) == \
        json.dumps(after["Resources"][S.MANAGER_SERVICE], sort_keys=True)
    assert before["Resources"][S.MANAGER_TASK] != after["Resources"][S.MANAGER_TASK]
    assert "HERD_PLUGIN_LOG_LEVEL" not in json.dumps(before["Resources"][S.MANAGER_TASK])
    assert "HERD_PLUGIN_LOG_LEVEL" in json.dumps(after["Resources"][S.MANAGER_TASK])
    # Nothing the service refers to carries a plugin setting either (values change without a template change).
    plugin_parameters = set(after["Parameters"]) - set(before["Parameters"])
    assert plugin_parameters
    for resource in _references(after["Resources"][S.MANAGER_SERVICE]["Properties"]) | {S.MANAGER_SERVICE}:
        assert not _references(after["Resources"][resource].get("Properties", {})) & plugin_parameters


def _role_named_after(iam, logical_id: str) -> str:
    """The role CloudFormation named after its logical ID (moto's DescribeStackResource fails on this
    stack's skipped resources, so the role is found by its generated name)."""
    (role,) = [r["RoleName"] for r in iam.list_roles()["Roles"] if f"-{logical_id}-" in r["RoleName"]]
    return role


def test_plugin_setting_update_on_moto(deployed, project_copy):
    """The parameters-file change rolled out as a stack update: a new revision of herd-manager, the
    running service untouched (the pipeline deploys the revision), the execution role granted the secret."""
    cfn, ecs = deployed["cfn"], _client(deployed, "ecs")
    before = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    secret = _client(deployed, "secretsmanager").create_secret(
        Name="herd/acme", SecretString='{"api_key": "emulated"}')["ARN"]
    params, output = project_copy / "parameters", project_copy / "output"
    _with_plugin_settings(params, secret)
    assert build_templates_main(["--parameters-dir", str(params), "--output-dir", str(output),
                                 "--stack", names.SERVICE]) == 0
    body = (output / "templates" / f"{names.SERVICE}.yaml").read_text()
    values = json.loads((output / "parameters" / "dev" / f"{names.SERVICE}.json").read_text())
    assert {"ParameterKey": plugins.parameter_name("manager", "environment", "HERD_PLUGIN_LOG_LEVEL"),
            "ParameterValue": "DEBUG"} in values
    cfn.update_stack(StackName=names.stack_name(names.SERVICE), TemplateBody=body,
                     Capabilities=["CAPABILITY_NAMED_IAM"], Parameters=values)
    stack = cfn.describe_stacks(StackName=names.stack_name(names.SERVICE))["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    newest = ecs.describe_task_definition(taskDefinition=S.MANAGER_TASK_FAMILY)["taskDefinition"]
    assert newest["revision"] == 2, "the plugin settings are the family's newest revision"
    after = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    assert after["taskDefinition"] == before["taskDefinition"], "the running service is the pipeline's to change"
    # What the settings create in the container and the role is pinned by tests/templates/test_plugin_settings.py
    # (a fresh stack here would meet the retained log groups of this one, as on AWS).
