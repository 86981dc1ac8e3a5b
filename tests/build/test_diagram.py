"""The architecture picture is drawn from the templates: it holds the resources and the traffic paths
the templates hold, follows them when a template changes, and renders to identical bytes each time."""

from __future__ import annotations

import copy

import pytest

from herd_cfn import names
from herd_cfn.build import diagram, render
from herd_cfn.templates import registry
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def project():
    return load_project(ROOT / "parameters")


@pytest.fixture(scope="module")
def graph(project):
    return diagram.build_graph(project)


def node(graph: diagram.Graph, *fragments: str) -> str:
    """The one node whose label holds every fragment."""
    found = [n.id for n in graph.nodes.values() if all(f in n.label for f in fragments)]
    assert len(found) == 1, (fragments, found)
    return found[0]


def labels(graph: diagram.Graph, source: str, target: str) -> list[str]:
    return graph.edge_labels(source, target)


def _resources(resource_type: str):
    for stack in registry.stackset_stacks():
        for name, resource in stack.template_dict()["Resources"].items():
            if resource["Type"] == resource_type:
                yield stack.name, name, resource.get("Properties", {})


def test_every_key_resource_of_the_templates_is_drawn(graph):
    for resource_type in diagram.KEY_TYPES:
        for stack, name, _props in _resources(resource_type):
            assert f"{stack}.{name}" in graph.nodes, (resource_type, name)
    for _stack, _name, props in _resources("AWS::ECS::Service"):
        node(graph, "ECS Fargate service", props["ServiceName"])


def test_https_path(graph):
    alb = node(graph, "Application Load Balancer")
    keycloak = node(graph, "ECS Fargate service", "keycloak")
    manager = node(graph, "ECS Fargate service", "manager")
    assert "HTTPS 443" in labels(graph, diagram.INTERNET, alb)
    assert "HTTP 80 (redirect to HTTPS)" in labels(graph, diagram.INTERNET, alb)
    assert labels(graph, alb, keycloak) == ["HTTPS 443 /auth /auth/* → HTTP 8080"]
    assert "HTTPS 443 → HTTP 8080" in labels(graph, alb, manager)


def test_test_listener_is_drawn_for_operators_only(graph):
    alb = node(graph, "Application Load Balancer")
    assert labels(graph, diagram.OPERATORS, alb) == ["HTTPS 8443"]
    assert "HTTPS 8443" not in labels(graph, diagram.INTERNET, alb)


def test_mqtt_path_and_its_reconcile_function(graph):
    nlb = node(graph, "Network Load Balancer")
    manager = node(graph, "ECS Fargate service", "manager")
    reconcile = node(graph, "Lambda", "herd-mqtt-target-reconcile")
    assert labels(graph, diagram.DEVICES, nlb) == ["TLS 8883"]
    assert labels(graph, nlb, manager) == ["TLS 8883 → TCP 1883"]
    assert labels(graph, reconcile, manager) == ["registers the running task's IP\nin the MQTT target group"]


def test_inside_the_vpc(graph):
    postgres = node(graph, "ECS Fargate service", "postgresql")
    manager = node(graph, "ECS Fargate service", "manager")
    keycloak = node(graph, "ECS Fargate service", "keycloak")
    efs = node(graph, "EFS file system")
    secrets = node(graph, "Secrets Manager")
    assert labels(graph, manager, postgres) == ["tcp 5432"]
    assert labels(graph, keycloak, postgres) == ["tcp 5432"]
    assert labels(graph, manager, efs) == ["tcp 2049"]
    assert labels(graph, postgres, efs) == ["tcp 2049"]
    assert labels(graph, keycloak, efs) == [], "keycloak keeps nothing on EFS"
    for service in (postgres, manager, keycloak):
        assert labels(graph, service, secrets) == ["secrets"]


def test_delivery_path(graph, project):
    pipeline = node(graph, "CodePipeline")
    codebuild = node(graph, "CodeBuild")
    deploy = node(graph, "CodeDeploy blue/green")
    ecr = node(graph, "ECR repository", names.Data.ECR_REPOSITORY_NAME)
    keycloak_ecr = node(graph, "ECR repository", names.Data.KEYCLOAK_ECR_REPOSITORY_NAME)
    manager = node(graph, "ECS Fargate service", "manager")
    keycloak = node(graph, "ECS Fargate service", "keycloak")
    (source,) = labels(graph, diagram.GITHUB, pipeline)
    for env in project.environments.values():
        assert f"{env.pipeline.branch} ({env.name})" in source
    assert labels(graph, pipeline, codebuild) == ["build"]
    assert labels(graph, codebuild, ecr) == ["docker push <commit>"]
    assert labels(graph, pipeline, deploy) == ["deploy"]
    assert labels(graph, deploy, manager) == ["new task set, all-at-once traffic shift"]
    assert labels(graph, codebuild, keycloak_ecr) == ["docker push <commit>"]
    assert labels(graph, pipeline, keycloak) == ["rolling deploy (imagedefinitions.json)"]


def test_environment_values_are_shown(graph, project):
    vpc = graph.nodes[node(graph, "VPC")].label
    for env in project.environments.values():
        assert env.network.vpc_cidr in vpc
    assert "NAT gateways: dev 1 / prod 3" in vpc


def test_edges_follow_the_templates(project, monkeypatch):
    """Drop the /auth listener rule from the template the picture reads: its edge disappears."""
    rule_stack = next(s for s in registry.stackset_stacks()
                      if any(r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
                             for r in s.template_dict()["Resources"].values()))
    original = StackDefinition.template_dict

    def without_rules(self):
        data = original(self)
        if self.name != rule_stack.name:
            return data
        data = copy.deepcopy(data)
        data["Resources"] = {k: v for k, v in data["Resources"].items()
                             if v["Type"] != "AWS::ElasticLoadBalancingV2::ListenerRule"}
        return data

    monkeypatch.setattr(StackDefinition, "template_dict", without_rules)
    changed = diagram.build_graph(project)
    alb = node(changed, "Application Load Balancer")
    keycloak = node(changed, "ECS Fargate service", "keycloak")
    assert labels(changed, alb, keycloak) == []


def test_rendering_is_deterministic_and_holds_the_labels(graph, project):
    dot = diagram.to_dot(graph, project)
    assert dot == diagram.to_dot(diagram.build_graph(project), project)
    svg = diagram.render(dot, "svg")
    assert svg == diagram.render(dot, "svg")
    assert diagram.render(dot, "png") == diagram.render(dot, "png")
    text = svg.decode()
    for fragment in ("TLS 8883 → TCP 1883", "HTTPS 443 /auth /auth/* → HTTP 8080", "docker push &lt;commit&gt;",
                     "ECS Fargate service"):
        assert fragment in text, fragment


def test_committed_picture_is_current(project):
    """The DOT source byte for byte; SVG and PNG carry the marker of that source (their bytes depend on the
    machine's fonts and Graphviz build)."""
    artifacts = render.picture_artifacts(project)
    assert [a.source_marker is None for a in artifacts] == [True, False, False]
    for artifact in artifacts:
        assert artifact.is_current((ROOT / "output" / artifact.path).read_bytes()), artifact.path


def test_a_rendering_of_another_source_is_stale(project):
    svg = next(a for a in render.picture_artifacts(project) if a.path.suffix == ".svg")
    other = diagram.render("digraph { a -> b }\n", "svg")
    assert not svg.is_current(other)
    assert svg.is_current(svg.data)
