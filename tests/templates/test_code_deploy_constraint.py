"""CloudFormation cannot change the task definition of an ECS service under the CODE_DEPLOY controller
("Unable to update task definition on services with a CODE_DEPLOY deployment controller"). The
service stack's answer: the manager service names its task definition by family only and depends on
nothing that carries the manager's configuration; the configuration lives in the separate task
definition resource of that family, whose new revisions the pipeline deploys.

These tests build two successive versions of the template (a manager setting changed in herd_cfn)
and check that the service resource stays byte-identical while the task definition changes, then
roll the same change out on moto (network, data, edge and service stacks with exports and imports).
"""

from __future__ import annotations

import json

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.emulator.server import account_session
from herd_cfn.templates.stacks import service as service_stack
from herd_cfn.templates.stacks.service import tasks
from herd_cfn.templates.yaml_render import render_yaml
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

def _walk(node, replace):
    """The template with ``replace(node)`` applied wherever it returns something other than None."""
    if isinstance(node, list):
        return [_walk(item, replace) for item in node]
    if not isinstance(node, dict):
        return node
    replaced = replace(node)
    if replaced is not None:
        return replaced
    return {key: _walk(value, replace) for key, value in node.items()}


def for_moto_edge(body: str) -> tuple[str, list[str]]:
    """The edge template adapted to what moto 5.2.5 lacks; returns the body and what was changed.

    Each change is named so a test can pin it, and none is needed on AWS:
    - moto cannot GetAtt TargetGroupName/TargetGroupFullName: replaced by the parts of the ARN AWS
      documents for them (``targetgroup/<name>/<id>``).
    - moto cannot GetAtt LoadBalancerFullName either (the export's value is the unresolved expression
      as text): replaced by the ARN's ``app/<name>/<id>``, as AWS documents it.
    - moto creates every AWS::ElasticLoadBalancingV2::LoadBalancer as an application load balancer, so
      the NLB's TLS listener is refused ("must be one of HTTP, HTTPS"): removed.
    - moto's CloudFormation reads only TargetGroupArn of a forward action (KeyError on a ForwardConfig):
      the weighted blue/green pair of the manager listeners becomes a forward to the group weighted 100,
      chosen by the same condition. (moto's ModifyListener API does take ForwardConfig.)
    """
    template = json.loads(json.dumps(load_yaml(body)))
    changes: list[str] = []
    target_groups = {k for k, v in template["Resources"].items() if v["Type"].endswith("::TargetGroup")}

    def full_names(node: dict):
        attribute = node.get("Fn::GetAtt")
        if attribute == [E.ALB, "LoadBalancerFullName"]:
            changes.append(f"GetAtt {E.ALB}.LoadBalancerFullName")
            parts = {"Fn::Split": ["/", {"Ref": E.ALB}]}
            return {"Fn::Join": ["/", [{"Fn::Select": [i, parts]} for i in (1, 2, 3)]]}
        if not (attribute and attribute[0] in target_groups and attribute[1].startswith("TargetGroup")):
            return None
        parts = {"Fn::Split": ["/", {"Ref": attribute[0]}]}
        changes.append(f"GetAtt {attribute[0]}.{attribute[1]}")
        if attribute[1] == "TargetGroupName":
            return {"Fn::Select": [1, parts]}
        return {"Fn::Join": ["/", ["targetgroup", {"Fn::Select": [1, parts]}, {"Fn::Select": [2, parts]}]]}

    template = _walk(template, full_names)
    for listener in (E.HTTPS_LISTENER, E.TEST_LISTENER):
        (action,) = template["Resources"][listener]["Properties"]["DefaultActions"]
        blue, green = action.pop("ForwardConfig")["TargetGroups"]
        on_green = green["Weight"]["Fn::If"][0]
        action["TargetGroupArn"] = {"Fn::If": [on_green, green["TargetGroupArn"], blue["TargetGroupArn"]]}
        changes.append(f"{listener} ForwardConfig")
    del template["Resources"][E.MQTT_LISTENER]
    changes.append(f"removed {E.MQTT_LISTENER}")
    return json.dumps(template), changes


def for_moto_service(body: str, cfn, session, endpoint: str) -> tuple[str, list[str]]:
    """The service template adapted to what moto 5.2.5 lacks; returns the body and what was changed.

    Each change is named so a test can pin it, and none is needed on AWS:
    - moto's CloudFormation skips AWS::SecretsManager::Secret, so the data stack exports no secret ARNs:
      the test creates those secrets with the Secrets Manager API and puts their ARNs in place.
    - moto has no AWS::ServiceDiscovery::* in CloudFormation: namespace, services and the ECS services'
      ServiceRegistries are removed (moto's ECS ignores registries anyway).
    - moto resolves the exports before it creates resources in DependsOn order, so the manager service
      (family-only task definition) would be created before its task definition: for moto only it
      names the task definition resource. On AWS, DependsOn orders them.
    The edge stack's exports (target groups, security groups, alarm dimensions) import as they are.
    """
    template = json.loads(json.dumps(load_yaml(body)))
    changes: list[str] = []
    exports = {e["Name"] for e in cfn.list_exports()["Exports"] if e.get("Value")}
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    created: dict[str, str] = {}

    def missing_secret(node: dict):
        name = node.get("Fn::ImportValue")
        if not name or name in exports:
            return None
        if name not in created:
            try:
                created[name] = secrets.describe_secret(SecretId=name)["ARN"]
            except secrets.exceptions.ResourceNotFoundException:
                created[name] = secrets.create_secret(
                    Name=name, SecretString='{"username": "postgres", "password": "emulated"}')["ARN"]
            changes.append(f"secret {name}")
        return created[name]

    template = _walk(template, missing_secret)
    resources = template["Resources"]
    for name in [k for k, v in resources.items() if v["Type"].startswith("AWS::ServiceDiscovery::")]:
        del resources[name]
        changes.append(f"removed {name}")
    for resource in resources.values():
        if resource["Type"] == "AWS::ECS::Service" and resource["Properties"].pop("ServiceRegistries", None):
            changes.append("ServiceRegistries")
    resources[S.MANAGER_SERVICE]["Properties"]["TaskDefinition"] = {"Ref": S.MANAGER_TASK}
    changes.append("manager service names its task definition resource")
    return json.dumps(template), changes


def _create(cfn, stack: str, body: str, parameters: dict[str, str]) -> dict:
    cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    return cfn.describe_stacks(StackName=names.stack_name(stack))["Stacks"][0]


@pytest.fixture
def deployed(aws):
    from herd_cfn.templates.registry import load_project

    env = load_project(OUTPUT.parent / "parameters").environment("dev")
    session = account_session(aws.endpoint_url, env.account_id, env.region)
    cfn = session.client("cloudformation", endpoint_url=aws.endpoint_url)
    for stack in (names.NETWORK, names.DATA):
        parameters = parameter_values(stack, env.name)
        body = (OUTPUT / "templates" / f"{stack}.yaml").read_text()
        assert _create(cfn, stack, body, parameters)["StackStatus"] == "CREATE_COMPLETE"
    # moto's CloudFormation has no AWS::CertificateManager::Certificate: deploy the edge template's other
    # mode, an existing certificate (requested through moto's ACM API) and no hosted zone.
    edge_parameters = parameter_values(names.EDGE, env.name)
    acm = session.client("acm", endpoint_url=aws.endpoint_url)
    certificate = acm.request_certificate(DomainName=edge_parameters[E.DOMAIN],
                                          SubjectAlternativeNames=[f"mqtt.{edge_parameters[E.DOMAIN]}"])
    edge_parameters = {**edge_parameters, E.HOSTED_ZONE_ID: "", E.CERTIFICATE_ARN: certificate["CertificateArn"]}
    body, edge_changes = for_moto_edge((OUTPUT / "templates" / f"{names.EDGE}.yaml").read_text())
    edge = _create(cfn, names.EDGE, body, edge_parameters)
    assert edge["StackStatus"] == "CREATE_COMPLETE"
    parameters = parameter_values(names.SERVICE, env.name)
    body, changes = for_moto_service((OUTPUT / "templates" / f"{names.SERVICE}.yaml").read_text(), cfn, session,
                                     aws.endpoint_url)
    stack = _create(cfn, names.SERVICE, body, parameters)
    return {"session": session, "cfn": cfn, "stack": stack, "changes": changes, "parameters": parameters,
            "edge": edge, "edge_changes": edge_changes, "endpoint": aws.endpoint_url}


def _client(deployed, name: str):
    return deployed["session"].client(name, endpoint_url=deployed["endpoint"])


def _outputs(stack: dict) -> dict[str, str | None]:
    return {o["OutputKey"]: o.get("OutputValue") for o in stack["Outputs"]}


def test_edge_stack_creates_on_moto_with_only_the_named_adaptations(deployed):
    assert deployed["edge"]["StackStatus"] == "CREATE_COMPLETE"
    assert sorted(deployed["edge_changes"]) == sorted([
        *(f"GetAtt {tg}.TargetGroupName" for tg in (E.BLUE_TARGET_GROUP, E.GREEN_TARGET_GROUP)),
        *(f"GetAtt {tg}.TargetGroupFullName" for tg in (E.BLUE_TARGET_GROUP, E.GREEN_TARGET_GROUP)),
        f"GetAtt {E.ALB}.LoadBalancerFullName", f"removed {E.MQTT_LISTENER}",
        f"{E.HTTPS_LISTENER} ForwardConfig", f"{E.TEST_LISTENER} ForwardConfig",
    ])
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


def test_service_stack_creates_on_moto_with_only_the_named_adaptations(deployed):
    assert deployed["stack"]["StackStatus"] == "CREATE_COMPLETE"
    assert sorted(deployed["changes"]) == sorted([
        "secret " + names.export_name(names.DATA, names.Data.OUT_DB_SECRET_ARN),
        "secret " + names.export_name(names.DATA, names.Data.OUT_ADMIN_SECRET_ARN),
        f"removed {S.NAMESPACE_RESOURCE}", f"removed {S.POSTGRES_DISCOVERY}", f"removed {S.KEYCLOAK_DISCOVERY}",
        "ServiceRegistries", "ServiceRegistries",
        "manager service names its task definition resource",
    ])
    outputs = _outputs(deployed["stack"])
    exports = {e["Name"]: e.get("Value") for e in deployed["cfn"].list_exports()["Exports"]}
    assert exports[names.export_name(names.SERVICE, S.OUT_MANAGER_TASK_FAMILY)] == S.MANAGER_TASK_FAMILY
    assert outputs[S.OUT_CLUSTER_NAME] == S.CLUSTER_NAME
    # moto returns None for Ref of an AWS::CloudWatch::Alarm; AWS returns the alarm name.
    assert outputs[S.OUT_ROLLBACK_ALARM_NAMES] == "None,None,None"

    ecs = _client(deployed, "ecs")
    services = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[
        S.POSTGRES_SERVICE_NAME, S.KEYCLOAK_SERVICE_NAME, S.MANAGER_SERVICE_NAME])["services"]
    by_name = {s["serviceName"]: s for s in services}
    # moto's CloudFormation drops DeploymentController (like launch type and load balancers): every
    # service comes out ECS-controlled there. On AWS the manager is CODE_DEPLOY (checked in the template).
    assert by_name[S.MANAGER_SERVICE_NAME]["deploymentController"] == {"type": "ECS"}
    assert by_name[S.POSTGRES_SERVICE_NAME]["desiredCount"] == 1
    assert by_name[S.MANAGER_SERVICE_NAME]["taskDefinition"].endswith(f"/{S.MANAGER_TASK_FAMILY}:1")
    # The edge stack's values reached the service stack through the imports.
    edge = _outputs(deployed["edge"])
    function = _client(deployed, "lambda").get_function_configuration(FunctionName=S.RECONCILE_FUNCTION_NAME)
    assert function["Environment"]["Variables"]["TARGET_GROUP_ARN"] == edge[E.OUT_MQTT_TARGET_GROUP_ARN]
    ec2 = _client(deployed, "ec2")
    (manager_group,) = ec2.describe_security_groups(GroupIds=[outputs[S.OUT_MANAGER_SECURITY_GROUP]])["SecurityGroups"]
    sources = {(pair["GroupId"], rule["FromPort"]) for rule in manager_group["IpPermissions"]
               for pair in rule["UserIdGroupPairs"]}
    assert sources == {(edge[E.OUT_ALB_SECURITY_GROUP], S.MANAGER_HTTP_PORT),
                       (edge[E.OUT_NLB_SECURITY_GROUP], S.MANAGER_MQTT_PORT)}
    # The alarms' imported dimensions cannot be read back: moto's CloudFormation creates no
    # AWS::CloudWatch::Alarm in the account (DescribeAlarms is empty, Ref gives None). AWS creates them;
    # tests/templates/test_service_stack.py pins their dimensions to the edge stack's full-name exports.


def test_update_on_moto(deployed, monkeypatch):
    """A herd_cfn change to the manager plus a bigger manager size, rolled out as a stack update."""
    cfn, ecs = deployed["cfn"], _client(deployed, "ecs")
    before = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    monkeypatch.setattr(tasks, "manager_container", _changed_manager(tasks.manager_container))
    changed = render_yaml(json.loads(json.dumps(service_stack.STACK.template().to_dict())))
    body = json.loads(for_moto_service(changed, cfn, deployed["session"], deployed["endpoint"])[0])
    # moto cannot tell that the service did not change once it names the task definition resource;
    # on AWS the service keeps the constant family name and CloudFormation leaves it alone. Keep moto's
    # view equal to the creation's so only the task definition differs, as it does on AWS.
    body["Resources"][S.MANAGER_SERVICE]["Properties"]["TaskDefinition"] = before["taskDefinition"]
    parameters = {**deployed["parameters"], S.MANAGER_CPU: "2048", S.MANAGER_MEMORY: "4096"}
    cfn.update_stack(StackName=names.stack_name(names.SERVICE), TemplateBody=json.dumps(body),
                     Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    stack = cfn.describe_stacks(StackName=names.stack_name(names.SERVICE))["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    newest = ecs.describe_task_definition(taskDefinition=S.MANAGER_TASK_FAMILY)["taskDefinition"]
    assert newest["revision"] == 2, "the changed configuration is the family's newest revision"
    # moto's CloudFormation keeps Memory but drops Cpu of a task definition; AWS keeps both.
    assert newest["memory"] == "4096" and "cpu" not in newest
    # moto's update path registers the revision with emptied container definitions (no name, image or
    # environment); AWS registers them as written, which the template test above pins.
    (container,) = newest["containerDefinitions"]
    assert container["environment"] == []
    after = ecs.describe_services(cluster=S.CLUSTER_NAME, services=[S.MANAGER_SERVICE_NAME])["services"][0]
    assert after["taskDefinition"] == before["taskDefinition"], "the running service is the pipeline's to change"
