"""Gates every registered stack must pass: cfn-lint clean, under CloudFormation's size and count
quotas, deterministic, and committed to output/ exactly as the code builds it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cfn_flip import load_yaml

from herd_cfn.build import lint, render
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT

STACKS = registry.all_stacks()
IDS = [s.name for s in STACKS]

# CloudFormation quotas (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)
MAX_BODY_BYTES = 51_200
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200


@pytest.fixture(scope="module")
def project():
    return load_project(ROOT / "parameters")


@pytest.mark.parametrize("stack", STACKS, ids=IDS)
def test_cfn_lint_finds_nothing(stack, project):
    regions = sorted({env.region for env in project.environments.values()}
                     | {project.settings.administrator_region})
    # The template as the project's parameters files shape it (plugin settings), as output/ has it.
    findings = lint.lint_template(stack.for_project(project).template_body(), stack.name, regions)
    assert findings == [], "\n".join(map(str, findings))


def test_cfn_lint_gate_can_fail():
    """The gate is live: a broken template produces a finding."""
    body = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n" \
           "    Properties:\n      NoSuchProperty: 1\n"
    findings = lint.lint_template(body, "broken", ["eu-west-1"])
    assert [f.rule for f in findings] == ["E3002"]


@pytest.mark.parametrize("stack", STACKS, ids=IDS)
def test_within_cloudformation_quotas(stack, project):
    body = stack.for_project(project).template_body()
    assert len(body.encode()) < MAX_BODY_BYTES, f"{stack.name} is {len(body.encode())} bytes"
    template = load_yaml(body)
    assert len(template["Resources"]) <= MAX_RESOURCES
    assert len(template.get("Parameters", {})) <= MAX_PARAMETERS
    assert len(template.get("Outputs", {})) <= MAX_OUTPUTS


@pytest.mark.parametrize("stack", STACKS, ids=IDS)
def test_template_is_deterministic_across_processes(stack):
    """Two builds in two fresh interpreters give identical bytes (no set or hash ordering leaks in)."""
    code = (
        "import sys; from herd_cfn.templates import registry; "
        f"sys.stdout.write(registry.get({stack.name!r}).template_body())"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                       env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop() == stack.template_body()


def test_committed_output_is_up_to_date(project):
    artifacts = render.render(project, list(STACKS))
    assert render.stale(artifacts, ROOT / "output") == []
    assert render.orphans(artifacts, ROOT / "output") == []


@pytest.mark.parametrize("stack", STACKS, ids=IDS)
def test_every_parameter_has_a_description(stack):
    parameters = load_yaml(stack.template_body()).get("Parameters", {})
    assert all(p.get("Description") for p in parameters.values())


@pytest.mark.parametrize("stack", [s for s in STACKS if s.scope == "stackset"], ids=lambda s: s.name)
def test_exports_follow_the_naming_module(stack):
    from herd_cfn import names

    outputs = load_yaml(stack.template_body()).get("Outputs", {})
    for key, output in outputs.items():
        if "Export" in output:
            assert output["Export"]["Name"] == names.export_name(stack.name, key)


@pytest.mark.parametrize("stack", STACKS, ids=IDS)
def test_every_checkov_skip_gives_a_reason(stack):
    for name, resource in load_yaml(stack.template_body())["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV"), (name, skip)
            assert len(skip.get("comment", "")) >= 30, f"{stack.name}.{name}: skip {skip['id']} needs a real reason"


def test_lint_gate_over_all_cores_reports_each_stacks_findings():
    """lint_stacks (the benchmark's and `python -m herd_cfn.build.lint`'s gate) forks workers: findings of a
    broken stack come back named, in stack order, and clean stacks add none."""
    from troposphere import Template
    from troposphere.sqs import Queue

    from herd_cfn.templates.base import StackDefinition

    def broken(t: Template) -> None:
        t.add_resource(Queue("Queue", MessageRetentionPeriod=10))  # SQS keeps messages 60 s at least

    bad = StackDefinition(name="broken", description="a queue that keeps messages too briefly", build=broken)
    findings = lint.lint_stacks([registry.get("network"), bad, registry.get("data")], ["eu-west-1"])
    assert findings and {f.stack for f in findings} == {"broken"}
    assert all(f.severity in ("error", "warning") for f in findings)
