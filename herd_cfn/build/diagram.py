"""The architecture picture, generated from the templates themselves (never drawn by hand).

Nodes are the resources that matter to a reader (load balancers, ECS services, EFS, ECR, the
pipeline…); edges are derived from what the templates say: listeners and listener rules to target
groups to ECS services (HTTPS and MQTT traffic), security-group ingress between the owners of the
groups (PostgreSQL, NFS, the hook's test-listener probe), the pipeline's stages and the ECR repository
its build pushes to, CodeDeploy's service, AWS Backup's selection. Cross-stack references are followed
through Fn::ImportValue to the exporting stack's resource. Per-environment values (AZ and NAT counts,
CIDRs, branches) come from each environment's parameter values, with the Conditions evaluated.

The picture is written as DOT (reviewable text) and rendered with Graphviz's ``dot`` to SVG and PNG.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.config.environments import Project
from herd_cfn.templates import registry

INTERNET = "internet"
OPERATORS = "operators"
DEVICES = "devices"
GITHUB = "github"
STACKSETS = "stacksets"

# Resource types drawn as nodes, with the short kind shown in the label.
KEY_TYPES = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EFS::FileSystem": "EFS file system",
    "AWS::Backup::BackupPlan": "AWS Backup plan",
    "AWS::ECR::Repository": "ECR repository",
    "AWS::ECS::Service": "ECS Fargate service",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::Lambda::Function": "Lambda",
    "AWS::CodePipeline::Pipeline": "CodePipeline",
    "AWS::CodeBuild::Project": "CodeBuild",
    "AWS::CodeDeploy::DeploymentGroup": "CodeDeploy blue/green",
    "AWS::ServiceDiscovery::PrivateDnsNamespace": "Cloud Map namespace",
    "AWS::SNS::Topic": "SNS topic",
}
SECRETS = "AWS::SecretsManager::Secret"  # drawn as one node per stack


@dataclass(frozen=True, order=True)
class Node:
    id: str
    label: str
    group: str  # the stack it belongs to, or "" for things outside AWS


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    label: str
    kind: str  # https, mqtt, internal, pipeline, ops


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)

    def add_edge(self, source: str, target: str, label: str, kind: str) -> None:
        if source in self.nodes and target in self.nodes and source != target:
            self.edges.add(Edge(source, target, label, kind))

    def edge_labels(self, source: str, target: str) -> list[str]:
        return sorted(e.label for e in self.edges if e.source == source and e.target == target)


class _Templates:
    """All StackSet templates, with references resolved across stacks through their exports."""

    def __init__(self, templates: Mapping[str, dict]) -> None:
        self.templates = templates
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if isinstance(export, str):
                    self.exports[export] = (stack, output["Value"])

    def resources(self, stack: str) -> dict[str, dict]:
        return self.templates[stack].get("Resources", {})

    def targets(self, stack: str, expr: Any) -> set[tuple[str, str]]:
        """The resources (stack, logical id) an expression refers to, through imports and Fn::If."""
        if isinstance(expr, list):
            return set().union(*(self.targets(stack, item) for item in expr))
        if not isinstance(expr, dict):
            return set()
        if "Ref" in expr:
            return {(stack, expr["Ref"])} if expr["Ref"] in self.resources(stack) else set()
        if "Fn::GetAtt" in expr:
            attribute = expr["Fn::GetAtt"]
            name = attribute[0] if isinstance(attribute, list) else attribute.split(".")[0]
            return {(stack, name)} if name in self.resources(stack) else set()
        if "Fn::ImportValue" in expr and isinstance(expr["Fn::ImportValue"], str):
            exporter = self.exports.get(expr["Fn::ImportValue"])
            return self.targets(*exporter) if exporter else set()
        if "Fn::Sub" in expr:
            return self._sub_targets(stack, expr["Fn::Sub"])
        return set().union(*(self.targets(stack, value) for value in expr.values()))

    def _sub_targets(self, stack: str, sub: Any) -> set[tuple[str, str]]:
        text = sub if isinstance(sub, str) else sub[0]
        found = {(stack, name) for name in self.resources(stack)
                 if "${" + name + "}" in text or "${" + name + "." in text}
        return found | self.targets(stack, sub[1]) if isinstance(sub, list) else found

    def of_type(self, resource_type: str) -> Iterable[tuple[str, str, dict]]:
        for stack in self.templates:
            for name, resource in self.resources(stack).items():
                if resource["Type"] == resource_type:
                    yield stack, name, resource.get("Properties", {})


def _node_id(stack: str, name: str) -> str:
    return f"{stack}.{name}"


def _per_env(values: Mapping[str, str]) -> str:
    """'1' when all environments agree, else 'dev 1 / prod 3'."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return distinct.pop()
    return " / ".join(f"{env} {value}" for env, value in values.items())


def build_graph(project: Project) -> Graph:
    stacks = [s.for_project(project) for s in registry.stackset_stacks()]
    templates = {s.name: s.template_dict() for s in stacks}
    evaluated = {
        env.name: {s.name: Evaluated(templates[s.name], s.parameter_values(env)) for s in stacks}
        for env in project.environments.values()
    }
    refs = _Templates(templates)
    graph = Graph()
    graph.nodes.update({node.id: node for node in (
        Node(INTERNET, "Users (browsers, apps)", ""),
        Node(OPERATORS, "Operators\n(admin CIDR)", ""),
        Node(DEVICES, "IoT devices (MQTT)", ""),
        Node(GITHUB, "GitHub repository\n(custom OpenRemote project)", ""),
        Node(STACKSETS, "CloudFormation StackSets\n" + ", ".join(names.stackset_name(s.name) for s in stacks),
             names.STACKSET_ADMINISTRATION),
    )})
    for stack in templates:
        _resource_nodes(graph, refs, evaluated, stack)
    _traffic_edges(graph, refs)
    _security_group_edges(graph, refs)
    _pipeline_edges(graph, refs, evaluated)
    _rolling_deploy_edges(graph, refs)
    _data_edges(graph, refs)
    graph.add_edge(STACKSETS, next((n for n in sorted(graph.nodes) if n.endswith(".Vpc")), ""),
                   "one stack instance per account,\n" + " then ".join(project.environments), "ops")
    return graph


def _resource_nodes(graph: Graph, refs: _Templates, evaluated: dict, stack: str) -> None:
    """A node per key resource of ``stack`` (KEY_TYPES), and one for all its secrets."""
    secrets = []
    for name, resource in refs.resources(stack).items():
        props = resource.get("Properties", {})
        if resource["Type"] == SECRETS:
            secrets.append(props.get("Name", name))
        kind = KEY_TYPES.get(resource["Type"])
        if not kind:
            continue
        kind, detail = _describe(refs, evaluated, stack, resource["Type"], props, kind)
        label = f"{kind}\n{detail}" if detail else kind
        graph.nodes[_node_id(stack, name)] = Node(_node_id(stack, name), f"{label}\n[{name}]", stack)
    if secrets:
        node_id = _node_id(stack, "Secrets")
        graph.nodes[node_id] = Node(node_id, "Secrets Manager\n" + "\n".join(sorted(map(str, secrets))), stack)


def _describe(refs: _Templates, evaluated: dict, stack: str, kind_of: str, props: dict, kind: str
              ) -> tuple[str, str]:
    """The label (kind, detail) of one key resource, with per-environment values where they differ."""
    def count(resource_type: str) -> str:
        return _per_env({env: str(len(ev[stack].of_type(resource_type))) for env, ev in evaluated.items()})

    if kind_of == "AWS::EC2::VPC":
        cidrs = {env: ev[stack].values.get(names.Network.VPC_CIDR, "") for env, ev in evaluated.items()}
        return kind, (f"{_per_env(cidrs)}\nsubnets: {count('AWS::EC2::Subnet')}, "
                      f"NAT gateways: {count('AWS::EC2::NatGateway')}")
    if kind_of == "AWS::ECS::Service":
        code_deploy = props.get("DeploymentController", {}).get("Type", "ECS") == "CODE_DEPLOY"
        return kind, str(props.get("ServiceName", "")) + (" (deployed by CodeDeploy)" if code_deploy else "")
    if kind_of == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        return {"network": "Network Load Balancer"}.get(props.get("Type"), "Application Load Balancer"), ""
    if kind_of == "AWS::Lambda::Function":
        return kind, str(props.get("FunctionName", ""))
    if kind_of == "AWS::EFS::FileSystem":
        points = [p.get("RootDirectory", {}).get("Path", "") for _, _, p in refs.of_type("AWS::EFS::AccessPoint")]
        return kind, "access points " + ", ".join(sorted(points)) if points else ""
    if kind_of == "AWS::ECR::Repository":
        return kind, str(props.get("RepositoryName", ""))
    return kind, ""


def _open_to_the_world(refs: _Templates, lb: tuple[str, str], port: Any) -> bool:
    """Whether the load balancer's security groups admit ``port`` from 0.0.0.0/0 (or it has none)."""
    groups = refs.targets(lb[0], refs.resources(lb[0])[lb[1]].get("Properties", {}).get("SecurityGroups"))
    if not groups:
        return True
    for stack, name in groups:
        for rule in refs.resources(stack)[name].get("Properties", {}).get("SecurityGroupIngress", []):
            if rule.get("FromPort") == port and rule.get("CidrIp") == "0.0.0.0/0":
                return True
    return False


def _listener_label(props: dict, conditions: list | None = None) -> str:
    label = f"{props.get('Protocol', '')} {props.get('Port', '')}".strip()
    for condition in conditions or []:
        values = condition.get("PathPatternConfig", {}).get("Values") or condition.get("Values") or []
        if values:
            label += " " + " ".join(values)
    return label


def _services_of_target_group(refs: _Templates, target_group: tuple[str, str]) -> set[tuple[str, str]]:
    services = set()
    for stack, name, props in refs.of_type("AWS::ECS::Service"):
        for lb in props.get("LoadBalancers", []):
            if target_group in refs.targets(stack, lb.get("TargetGroupArn")):
                services.add((stack, name))
    return services


def _traffic_edges(graph: Graph, refs: _Templates) -> None:
    listeners = {(stack, name): props
                 for stack, name, props in refs.of_type("AWS::ElasticLoadBalancingV2::Listener")}
    for (stack, _name), props in listeners.items():
        _inbound_edges(graph, refs, stack, props)
    for listener, tg, label in _routes(refs, listeners):
        lbs = refs.targets(listener[0], listeners.get(listener, {}).get("LoadBalancerArn"))
        tg_props = refs.resources(tg[0])[tg[1]].get("Properties", {})
        port = f" → {tg_props.get('Protocol', '')} {tg_props.get('Port', '')}".rstrip()
        kind = "mqtt" if tg_props.get("Protocol") in ("TCP", "TLS") else "https"
        services = _services_of_target_group(refs, tg) or _reconciled_services(graph, refs, tg)
        for lb in lbs:
            for service in services:
                graph.add_edge(_node_id(*lb), _node_id(*service), f"{label}{port}", kind)


def _inbound_edges(graph: Graph, refs: _Templates, stack: str, props: Mapping[str, Any]) -> None:
    """Who reaches an internet-facing listener: devices (TLS/TCP), anyone (HTTPS) or operators (a CIDR)."""
    for lb in refs.targets(stack, props.get("LoadBalancerArn")):
        if refs.resources(lb[0])[lb[1]].get("Properties", {}).get("Scheme") != "internet-facing":
            continue
        source = DEVICES if props.get("Protocol") in ("TLS", "TCP") else INTERNET
        if not _open_to_the_world(refs, lb, props.get("Port")):
            source = OPERATORS
        kind = "mqtt" if source == DEVICES else "https"
        redirect = any(a.get("Type") == "redirect" for a in props.get("DefaultActions", []))
        graph.add_edge(source, _node_id(*lb), _listener_label(props) + (" (redirect to HTTPS)" if redirect else ""),
                       kind)


def _routes(refs: _Templates, listeners: Mapping[tuple[str, str], Mapping[str, Any]]
            ) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    """(listener, target group, label) of every default action and listener rule."""
    routes = []
    for (stack, name), props in listeners.items():
        for action in props.get("DefaultActions", []):
            # A forward action names one target group, or several with weights (ForwardConfig).
            for tg in refs.targets(stack, [action.get("TargetGroupArn"), action.get("ForwardConfig")]):
                routes.append(((stack, name), tg, _listener_label(props)))
    for stack, _name, props in refs.of_type("AWS::ElasticLoadBalancingV2::ListenerRule"):
        for listener in refs.targets(stack, props.get("ListenerArn")):
            for action in props.get("Actions", []):
                for tg in refs.targets(stack, [action.get("TargetGroupArn"), action.get("ForwardConfig")]):
                    routes.append((listener, tg, _listener_label(listeners.get(listener, {}),
                                                                 props.get("Conditions"))))
    return routes


def _reconciled_services(graph: Graph, refs: _Templates, tg: tuple[str, str]) -> set[tuple[str, str]]:
    """An ``ip`` target group ECS does not manage: the Lambda that keeps its targets names the service."""
    services = set()
    for stack, name, props in refs.of_type("AWS::Lambda::Function"):
        variables = props.get("Environment", {}).get("Variables", {})
        if not any(tg in refs.targets(stack, v) for v in variables.values()):
            continue
        graph.add_edge(_node_id(stack, name), _node_id(*tg[:1], tg[1]), "", "internal")
        for s_stack, s_name, s_props in refs.of_type("AWS::ECS::Service"):
            if s_props.get("ServiceName") == variables.get("SERVICE_NAME"):
                services.add((s_stack, s_name))
                graph.add_edge(_node_id(stack, name), _node_id(s_stack, s_name),
                               "registers the running task's IP\nin the MQTT target group", "ops")
    return services


def _security_group_owners(refs: _Templates) -> dict[tuple[str, str], set[tuple[str, str]]]:
    owners: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def own(stack: str, groups: Any, owner: tuple[str, str]) -> None:
        for group in refs.targets(stack, groups):
            owners.setdefault(group, set()).add(owner)

    for stack, name, props in refs.of_type("AWS::ECS::Service"):
        own(stack, props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {}).get("SecurityGroups"),
            (stack, name))
    for stack, name, props in refs.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        own(stack, props.get("SecurityGroups"), (stack, name))
    for stack, name, props in refs.of_type("AWS::Lambda::Function"):
        own(stack, props.get("VpcConfig", {}).get("SecurityGroupIds"), (stack, name))
    for stack, _name, props in refs.of_type("AWS::EFS::MountTarget"):
        for fs in refs.targets(stack, props.get("FileSystemId")):
            own(stack, props.get("SecurityGroups"), fs)
    return owners


def _security_group_edges(graph: Graph, refs: _Templates) -> None:
    owners = _security_group_owners(refs)
    rules: list[tuple[str, Any, dict]] = []  # (stack, target group expr, rule)
    for stack, name, props in refs.of_type("AWS::EC2::SecurityGroup"):
        rules.extend((stack, {"Ref": name}, rule) for rule in props.get("SecurityGroupIngress", []))
    rules.extend((stack, props.get("GroupId"), props)
                 for stack, _name, props in refs.of_type("AWS::EC2::SecurityGroupIngress"))
    for stack, target_expr, rule in rules:
        if "SourceSecurityGroupId" not in rule:
            continue
        port = rule.get("FromPort")
        if isinstance(port, dict):  # an imported port: show where it comes from
            port = "test listener port"
        for target_group in refs.targets(stack, target_expr):
            targets = owners.get(target_group, ())
            for source_group in refs.targets(stack, rule["SourceSecurityGroupId"]):
                for source, label in _rule_sources(refs, owners, source_group, port):
                    for target in targets:
                        graph.add_edge(_node_id(*source), _node_id(*target), label, "internal")


def _rule_sources(refs: _Templates, owners: Mapping[tuple[str, str], set[tuple[str, str]]],
                  group: tuple[str, str], port: Any) -> list[tuple[tuple[str, str], str]]:
    """What a rule's source group stands for: the resources that own it (load balancers aside: their
    traffic is drawn from the listeners), or, for the data stack's EFS client group, the tasks that attach it."""
    if group not in owners:
        return [(client, f"NFS {port}") for client in _attachers(refs, group)]
    return [(source, f"tcp {port}") for source in owners[group]
            if refs.resources(source[0])[source[1]]["Type"] != "AWS::ElasticLoadBalancingV2::LoadBalancer"]


def _attachers(refs: _Templates, group: tuple[str, str]) -> set[tuple[str, str]]:
    found = set()
    for stack, name, props in refs.of_type("AWS::ECS::Service"):
        groups = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {}).get("SecurityGroups")
        if group in refs.targets(stack, groups):
            found.add((stack, name))
    return found


def _pipeline_edges(graph: Graph, refs: _Templates, evaluated: Mapping[str, Mapping[str, Evaluated]]) -> None:
    for stack, name, props in refs.of_type("AWS::CodePipeline::Pipeline"):
        for stage in props.get("Stages", []):
            for action in (stage.get("Actions", []) if isinstance(stage, dict) and "Actions" in stage else []):
                _action_edges(graph, refs, evaluated, (stack, name), action)
    for stack, name, props in refs.of_type("AWS::CodeDeploy::DeploymentGroup"):
        for service in props.get("ECSServices", []):
            for target in _service_by_name(refs, stack, service.get("ServiceName")):
                graph.add_edge(_node_id(stack, name), _node_id(*target),
                               "new task set, all-at-once traffic shift", "pipeline")
    for stack, name, props in refs.of_type("AWS::CodeBuild::Project"):
        # The variables may sit in an Fn::If (optional Docker Hub login): look through the whole block.
        for target in refs.targets(stack, props.get("Environment", {})):
            if refs.resources(target[0])[target[1]]["Type"] == "AWS::ECR::Repository":
                graph.add_edge(_node_id(stack, name), _node_id(*target), "docker push <commit>", "pipeline")


def _action_edges(graph: Graph, refs: _Templates, evaluated: Mapping[str, Mapping[str, Evaluated]],
                  pipeline: tuple[str, str], action: Mapping[str, Any]) -> None:
    """What one pipeline action starts: the push that triggers the source, the build, the deployment."""
    stack, node = pipeline[0], _node_id(*pipeline)
    provider = action.get("ActionTypeId", {}).get("Provider")
    config = action.get("Configuration", {})
    if provider == "CodeStarSourceConnection":
        branch_param = config.get("BranchName", {}).get("Ref")
        branches = {env: ev[stack].values.get(branch_param, "?") for env, ev in evaluated.items()}
        graph.add_edge(GITHUB, node, "push / merge to " + " · ".join(f"{b} ({env})" for env, b in branches.items()),
                       "pipeline")
    for target in refs.targets(stack, config.get("ProjectName")):
        graph.add_edge(node, _node_id(*target), "build", "pipeline")
    if provider == "CodeDeployToECS":
        application = refs.targets(stack, config.get("ApplicationName"))
        for group_stack, group_name, group in refs.of_type("AWS::CodeDeploy::DeploymentGroup"):
            if refs.targets(stack, group.get("ApplicationName")) & application:
                graph.add_edge(node, _node_id(group_stack, group_name), "deploy", "pipeline")


def _rolling_deploy_edges(graph: Graph, refs: _Templates) -> None:
    """CodePipeline's ECS (standard) deploy actions: the pipeline updates the named service itself."""
    for stack, name, props in refs.of_type("AWS::CodePipeline::Pipeline"):
        for stage in props.get("Stages", []):
            for action in (stage.get("Actions", []) if isinstance(stage, dict) and "Actions" in stage else []):
                if action.get("ActionTypeId", {}).get("Provider") != "ECS":
                    continue
                service_name = action.get("Configuration", {}).get("ServiceName")
                for s_stack, s_name, s_props in refs.of_type("AWS::ECS::Service"):
                    if s_props.get("ServiceName") == service_name:
                        graph.add_edge(_node_id(stack, name), _node_id(s_stack, s_name),
                                       "rolling deploy (imagedefinitions.json)", "pipeline")


def _service_by_name(refs: _Templates, stack: str, expr: Any) -> set[tuple[str, str]]:
    found = set()
    for target in refs.targets(stack, expr):
        if refs.resources(target[0])[target[1]]["Type"] == "AWS::ECS::Service":
            found.add(target)
    return found


def _data_edges(graph: Graph, refs: _Templates) -> None:
    for stack, _name, props in refs.of_type("AWS::Backup::BackupSelection"):
        plans = refs.targets(stack, props.get("BackupPlanId"))
        for resource in refs.targets(stack, props.get("BackupSelection", {}).get("Resources")):
            for plan in plans:
                graph.add_edge(_node_id(*plan), _node_id(*resource), "backs up", "ops")
    task_definitions = {(s, n): p for s, n, p in refs.of_type("AWS::ECS::TaskDefinition")}
    for stack, name, props in refs.of_type("AWS::ECS::Service"):
        definition = props.get("TaskDefinition")
        found = refs.targets(stack, definition)
        if isinstance(definition, str):  # by family (the CODE_DEPLOY-controlled manager)
            found = {k for k, p in task_definitions.items() if p.get("Family") == definition}
        secret_stacks = set()
        for td in found:
            for container in task_definitions.get(td, {}).get("ContainerDefinitions", []):
                for secret in container.get("Secrets", []):
                    secret_stacks |= {s for s, _n in refs.targets(td[0], secret.get("ValueFrom"))}
        for secret_stack in secret_stacks:
            graph.add_edge(_node_id(stack, name), _node_id(secret_stack, "Secrets"), "secrets", "internal")


_EDGE_STYLE = {
    "https": 'color="#1f77b4", fontcolor="#1f77b4", penwidth=2',
    "mqtt": 'color="#2ca02c", fontcolor="#2ca02c", penwidth=2',
    "internal": 'color="#555555", fontcolor="#555555"',
    "pipeline": 'color="#d62728", fontcolor="#d62728", penwidth=1.5',
    "ops": 'color="#9467bd", fontcolor="#9467bd", style=dashed',
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph, project: Project) -> str:
    """Deterministic DOT: everything sorted, no hashes or timestamps."""
    envs = project.environments.values()
    accounts = " · ".join(f"{e.name}: {e.account_id} ({e.domain})" for e in envs)
    lines = [
        "digraph herd {",
        '  graph [rankdir=LR, fontname="DejaVu Sans", fontsize=12, compound=true, newrank=true, nodesep=0.35,'
        ' ranksep=0.9, label="herd-cfn architecture, generated from output/templates (edges: blue HTTPS,'
        ' green MQTT, red delivery, grey inside the VPC, dashed operations)", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f7f7f7", fontname="DejaVu Sans", fontsize=10];',
        '  edge [fontname="DejaVu Sans", fontsize=9];',
    ]
    outside = sorted(n for n in graph.nodes.values() if n.group == "")
    for node in outside:
        lines.append(f"  {_quote(node.id)} [label={_quote(node.label)}, shape=oval, fillcolor=\"#ffffff\"];")
    admin = sorted(n for n in graph.nodes.values() if n.group == names.STACKSET_ADMINISTRATION)
    lines.append("  subgraph cluster_administrator {")
    lines.append(f"    label={_quote('administrator account ' + project.settings.administrator_account_id)};")
    lines.append('    style="rounded,dashed";')
    for node in admin:
        lines.append(f"    {_quote(node.id)} [label={_quote(node.label)}];")
    lines.append("  }")
    lines.append("  subgraph cluster_account {")
    lines.append(f"    label={_quote('each target account (one per environment) - ' + accounts)};")
    lines.append('    style="rounded"; color="#888888";')
    for stack in [s.name for s in registry.stackset_stacks()]:
        members = sorted(n for n in graph.nodes.values() if n.group == stack)
        if not members:
            continue
        lines.append(f"    subgraph {_quote('cluster_' + stack)} {{")
        lines.append(f"      label={_quote(stack + ' stack')}; style=\"rounded,filled\"; fillcolor=\"#eef3fa\";")
        for node in members:
            lines.append(f"      {_quote(node.id)} [label={_quote(node.label)}];")
        lines.append("    }")
    lines.append("  }")
    for edge in sorted(graph.edges):
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [label={_quote(edge.label)}, "
                     f"{_EDGE_STYLE[edge.kind]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizMissing(RuntimeError):
    pass


def source_marker(dot: str) -> bytes:
    """Written into each rendering, so a check can tell which DOT source a picture was drawn from."""
    return b"herd-cfn-source-sha256:" + hashlib.sha256(dot.encode()).hexdigest().encode()


def _mark_svg(svg: bytes, marker: bytes) -> bytes:
    head, sep, rest = svg.partition(b"?>\n")
    return head + sep + b"<!-- " + marker + b" -->\n" + rest if sep else b"<!-- " + marker + b" -->\n" + svg


def _mark_png(png: bytes, marker: bytes) -> bytes:
    """A tEXt chunk before IEND (PNG spec 11.3.4.3): keyword, NUL, Latin-1 text."""
    body = b"tEXt" + b"Comment\x00" + marker
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def render(dot: str, fmt: str) -> bytes:
    """Render with Graphviz's dot (Debian package graphviz; scripts/setup.sh installs it), marked with
    the source it was drawn from."""
    executable = shutil.which("dot")
    if not executable:
        raise GraphvizMissing("Graphviz's `dot` is not installed: run scripts/setup.sh, or "
                              "`apt-get install graphviz`, to draw output/architecture.*")
    result = subprocess.run([executable, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=True)
    mark = {"svg": _mark_svg, "png": _mark_png}[fmt]
    return mark(result.stdout, source_marker(dot))
